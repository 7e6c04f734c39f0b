"""parse: a Python function object -> its `ast.FunctionDef`, located in its file.

Input: a plain Python function defined in a file (not in a REPL string).
Output: a `ParsedFunction` whose `tree` is an `ast.FunctionDef` with
decorators removed and every node's `lineno` equal to the line in the user's
file, so errors and `# from line N` comments point where the user looks.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field

from adjit.errors import DifferentiationError, Location


@dataclass
class ParsedFunction:
    """A user function's syntax tree and everything needed to read it."""

    name: str
    filename: str
    tree: ast.FunctionDef
    globals: dict
    closure: dict = field(default_factory=dict)
    source_lines: dict[int, str] = field(default_factory=dict)
    # filled by `resolve`: the global and closure numbers the function reads
    constants: dict[str, object] = field(default_factory=dict)
    # filled by `desugar`: fresh names generated so far (see `naming.Namer`)
    namer: object = None
    # the source is adjit's own generated derivative (differentiated again):
    # its tapes (arrays indexed by an integer top) are accepted
    generated: bool = False
    # the function object itself (`inline` refuses recursion)
    function: object = None
    # filled by `slots`: each stack of arrays, with the user's names of them
    stacks: dict[str, str] = field(default_factory=dict)

    def location(self, node: ast.AST) -> Location:
        return Location(self.filename, getattr(node, "lineno", self.tree.lineno),
                        getattr(node, "col_offset", 0))

    def line_text(self, node: ast.AST) -> str | None:
        return self.source_lines.get(getattr(node, "lineno", -1))


def parse_function(fn) -> ParsedFunction:
    """Read `fn`'s source and return it as a located `ast.FunctionDef`."""
    code = getattr(fn, "__code__", None)
    if code is None:
        raise DifferentiationError(
            f"{fn!r} is not a Python function, so adjit cannot read its source",
            hint="pass a function defined with `def` in a .py file")
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError) as error:
        raise DifferentiationError(
            f"cannot read the source of {fn.__qualname__}: {error}",
            hint="define the function in a .py file (not in an interactive "
                 "prompt or through exec)") from None
    source = textwrap.dedent("".join(lines))
    module = ast.parse(source)
    ast.increment_lineno(module, first_line - 1)
    # Dedenting shifted columns; restore them so carets land under the code.
    indent = len(lines[0]) - len(lines[0].lstrip())
    if indent:
        for node in ast.walk(module):
            if hasattr(node, "col_offset"):
                node.col_offset += indent
                if getattr(node, "end_col_offset", None) is not None:
                    node.end_col_offset += indent
    tree = module.body[0]
    if isinstance(tree, ast.AsyncFunctionDef):
        from adjit.errors import UnsupportedSyntaxError
        location = Location(code.co_filename, tree.lineno, tree.col_offset)
        raise UnsupportedSyntaxError(
            "`async def` is not supported by adjit", location,
            hint="differentiate a plain `def` function",
            source_line=lines[tree.lineno - first_line], doc_anchor="statements")
    if not isinstance(tree, ast.FunctionDef):
        location = Location(code.co_filename, first_line, 0)
        raise DifferentiationError(
            f"{fn.__qualname__} is not defined by a `def` statement", location,
            hint="adjit differentiates functions written with `def` "
                 "(a lambda cannot be read reliably)")
    tree.decorator_list = []
    closure = {}
    if fn.__closure__:
        closure = {name: cell.cell_contents
                   for name, cell in zip(code.co_freevars, fn.__closure__)
                   if _cell_is_set(cell)}
    return ParsedFunction(
        name=fn.__name__, filename=code.co_filename, tree=tree,
        globals=fn.__globals__, closure=closure,
        source_lines={first_line + k: text for k, text in enumerate(lines)},
        generated=getattr(fn, "__adjit_generated__", False), function=fn)


def _cell_is_set(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True
