"""reserve: the capacity checks of the forward sweep's tapes.

Input: forward-sweep statements holding pushes (`_tape_f[_top_f] = v;
_top_f += 1`, see `transform.ReverseTransformer.push`) and the tapes' tops.
Output: the same statements with checks

    if _top_f + k > _tape_f.shape[0]:
        _tape_f = rt.grow(_tape_f, _top_f + k)

placed so that every push has room when it runs: before each run of pushes
(`with_reserves`), once before a counted innermost loop for all of its
iterations (`before_loop`), and once before a whole loop nest when the
trip counts of its loops are the same on every pass and bound its pushes
(`before_nest`), the checks inside it then removed.

Why the nest: a tape grown by doubling while a nest runs is copied about
once more in all and allocated anew each time; for a 200-step stencil
that stores every state, the copies and the page faults of the new
memory cost more than the primal itself. One reservation of the exact
size allocates once. A check inside a loop also costs Numba a reload of
the tape every iteration.

Every bound emitted here is an upper bound: trip counts of loops summed
with other terms are clamped at zero, and both branches of an `if` count.
An underestimate would write past the end of the tape, so a nest whose
pushes cannot be bounded this way keeps its inner checks.
"""

from __future__ import annotations

import ast

from adjit.passes.ir.build import statement
from adjit.passes.analysis.loopforms import stored_names
from adjit.passes.analysis.statements import names_in


def trip_count_text(arguments: list[ast.expr]) -> str:
    """Source of an upper bound on len(range(*arguments)) (negative when the
    loop runs no iteration, which only makes a reserve a no-op)."""
    texts = [ast.unparse(argument) for argument in arguments]
    if len(texts) == 1:
        return texts[0]
    if len(texts) == 2 or texts[2] == "1":
        return f"({texts[1]} - {texts[0]})"
    return f"rt.trip_count({', '.join(texts)})"


class Reservations:
    def __init__(self, top_of: dict[str, str]):
        self.top_of = top_of          # tape name -> its top's name

    def is_push(self, node: ast.stmt) -> bool:
        return isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript) \
            and isinstance(node.targets[0].value, ast.Name) \
            and node.targets[0].value.id in self.top_of

    def check(self, tape: str, needed: str) -> ast.stmt:
        node = statement(f"if {needed} > {tape}.shape[0]:\n"
                         f"    {tape} = rt.grow({tape}, {needed})")
        node.is_reserve = True
        return node

    def reserve(self, statements: list[ast.stmt], multiplier: str | None = None):
        """Checks for the pushes directly in `statements` (nested loops
        reserve their own), `multiplier` times over."""
        counts: dict[str, int] = {}
        for node in statements:
            for inner in _direct_statements(node):
                if self.is_push(inner):
                    tape = inner.targets[0].value.id
                    counts[tape] = counts.get(tape, 0) + 1
        checks = []
        for tape, count in sorted(counts.items()):
            top = self.top_of[tape]
            if multiplier is None:
                needed = f"{top} + {count}"
            else:
                needed = f"{top} + {multiplier}" if count == 1 else \
                    f"{top} + {count} * {multiplier}"
            checks.append(self.check(tape, needed))
        return checks

    def with_reserves(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        """`statements` with a capacity check before each run of pushes.

        A nested loop reserves for itself (exactly, when its trip count is
        known), so the pushes after it need a check of their own: a run of
        pushes ends at every statement that contains a loop."""
        out: list[ast.stmt] = []
        run: list[ast.stmt] = []
        for node in statements:
            if any(isinstance(inner, (ast.For, ast.While)) for inner in ast.walk(node)):
                out.extend(self.reserve(run) + run)
                run = []
                if isinstance(node, ast.If):
                    node.body = self.with_reserves(node.body)
                    node.orelse = self.with_reserves(node.orelse)
                out.append(node)
            else:
                run.append(node)
        return out + self.reserve(run) + run

    def before_loop(self, loop: ast.For, body: list[ast.stmt]) -> list[ast.stmt]:
        """The checks before a counted loop without inner loops."""
        return self.reserve(body, multiplier=trip_count_text(loop.iter.args))

    def before_nest(self, loop: ast.For, body: list[ast.stmt]) -> list[ast.stmt] | None:
        """The checks before a counted loop whose (already reserved) `body`
        holds loops, covering every push of the nest, with the checks
        inside `body` removed; None when its pushes have no bound known
        before it starts (then `body` is left as it is)."""
        bound = self._bound(body, stored_names([loop]))
        if bound is None:
            return None
        _remove_checks(body)
        trip = trip_count_text(loop.iter.args)
        checks = []
        for tape, terms in sorted(bound.items()):
            checks.append(self.check(tape, f"{self.top_of[tape]} + {trip} * "
                                           f"({_render(terms, clamp=len(terms) > 1)})"))
        return checks

    def _bound(self, statements: list[ast.stmt], rebound: set[str]
               ) -> dict[str, list] | None:
        """Per tape, terms whose sum bounds the pushes of one run of
        `statements`, given that the names `rebound` change between runs
        (a loop bound reading one is not known in advance): None if none.
        A term is 1 (a push) or `(trip count text, terms of its body)`."""
        terms: dict[str, list[str]] = {}
        for node in statements:
            if getattr(node, "is_reserve", False):
                continue
            if self.is_push(node):
                terms.setdefault(node.targets[0].value.id, []).append(1)
            elif isinstance(node, ast.If):
                for branch in (node.body, node.orelse):
                    inner = self._bound(branch, rebound)
                    if inner is None:
                        return None
                    for tape, more in inner.items():
                        terms.setdefault(tape, []).extend(more)
            elif isinstance(node, ast.For):
                inner = self._bound(node.body, rebound)
                if inner is None or (inner and names_in(node.iter) & rebound):
                    return None
                trip = trip_count_text(node.iter.args)
                for tape, more in inner.items():
                    if more:
                        terms.setdefault(tape, []).append((trip, more))
            elif isinstance(node, ast.While):
                if any(self.is_push(inner) for inner in ast.walk(node)):
                    return None
        return terms


def _render(terms: list, clamp: bool) -> str:
    """The sum of `terms` as source. A loop's trip count is clamped at zero
    where its term is added to others (a negative count must not cancel
    them); alone it need not be, its factor being a non-negative count."""
    ones = sum(1 for term in terms if term == 1)
    texts = []
    for term in terms:
        if term == 1:
            continue
        trip, body = term
        count = _render(body, clamp=True)
        factor = f"max({trip}, 0)" if clamp else trip
        texts.append(factor if count == "1" else f"{factor} * {_parenthesised(count)}")
    return " + ".join(texts + ([str(ones)] if ones else [])) or "0"


def _parenthesised(text: str) -> str:
    return text if text.isidentifier() or text.isdigit() else f"({text})"


def _remove_checks(statements: list[ast.stmt]) -> None:
    statements[:] = [node for node in statements if not getattr(node, "is_reserve", False)]
    for node in statements:
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                _remove_checks(block)


def _direct_statements(node: ast.stmt):
    """`node` and what its `if` branches hold, not what nested loops hold."""
    yield node
    if isinstance(node, ast.If):
        for inner in node.body + node.orelse:
            yield from _direct_statements(inner)
