"""Errors that adjit raises at users.

Every error about the user's code carries a *location* (file, line, column),
names the construct and gives a hint, so that it reads like a compiler
diagnostic instead of an internal traceback:

    model.py:12:8: `try` statement is not supported by adjit
      hint: move the code that may fail out of the differentiated function
      see: docs/limitations.md#statements
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIMITATIONS_DOC = "docs/limitations.md"


@dataclass(frozen=True)
class Location:
    """Where a construct sits in the user's source (line is 1-based, in the
    file); for code of a function inlined into another, `called_from` holds
    the calls that led there, innermost first (`file:line:col: text`)."""

    filename: str
    line: int
    column: int
    called_from: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}"


class AdjitError(Exception):
    """Base class of every error adjit raises on purpose."""


class LocatedError(AdjitError):
    """An error about one construct of the user's code."""

    def __init__(self, message: str, location: Location | None = None,
                 hint: str | None = None, source_line: str | None = None,
                 doc_anchor: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        self.source_line = source_line
        self.doc_anchor = doc_anchor
        super().__init__(self._render())

    @classmethod
    def at(cls, parsed, node, message: str, hint: str, doc_anchor: str):
        """The error about `node` of the parsed function `parsed` (a
        `ParsedFunction`), its line quoted."""
        return cls(message, parsed.location(node), hint=hint,
                   source_line=parsed.line_text(node), doc_anchor=doc_anchor)

    def _render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        lines = [f"{where}{self.message}"]
        if self.source_line:
            lines.append(f"    {self.source_line.rstrip()}")
            if self.location is not None:
                indent = len(self.source_line) - len(self.source_line.lstrip())
                caret_at = max(self.location.column, indent)
                lines.append("    " + " " * caret_at + "^")
        for call in self.location.called_from if self.location else ():
            lines.append(f"  called from {call}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        if self.doc_anchor:
            lines.append(f"  see: {LIMITATIONS_DOC}#{self.doc_anchor}")
        return "\n".join(lines)


    def in_user_terms(self, user_names: dict[str, str]) -> "LocatedError":
        """The same error, with the names adjit gave to an inlined
        function's variables (`_helper_total`) spelled as the user wrote
        them (`total`)."""
        self.message = re.sub(r"`(\w+)`", lambda m: f"`{user_names.get(m.group(1), m.group(1))}`",
                              self.message)
        self.args = (self._render(),)
        return self


class UnsupportedSyntaxError(LocatedError):
    """The function uses a construct that adjit refuses before transforming."""


class DifferentiationError(LocatedError):
    """The function is valid Python in the subset, but cannot be differentiated
    as asked (a missing rule, a non-scalar output, a non-float `wrt`...)."""


class MissingRuleError(DifferentiationError):
    """A function with custom rules has none for the mode asked (`mode` is
    "forward" or "reverse"): `adjit.gradcheck` checks the other mode only."""

    def __init__(self, message: str, mode: str, hint: str | None = None):
        self.mode = mode
        super().__init__(message, None, hint=hint)


class ShapeError(AdjitError):
    """A tangent or cotangent that does not match its primal: another shape,
    an array for a scalar (or the reverse), or elements that are not floats.
    Raised before the derivative uses it (by compiled code too, which is
    why the message is built here from three plain arguments)."""

    def __init__(self, what: str, found, expected):
        self.what, self.found, self.expected = what, found, expected
        super().__init__(f"{what} is {_described(found)}, expected {_described(expected)}")


def _described(shape) -> str:
    """A shape as words: `()` "a scalar", `(3,)` "an array of shape (3,)";
    a string as it is."""
    if isinstance(shape, str):
        return shape
    shape = tuple(int(size) for size in shape)
    return "a scalar" if shape == () else f"an array of shape {shape}"


class GradcheckError(AdjitError):
    """Analytical derivatives disagree with finite differences."""
