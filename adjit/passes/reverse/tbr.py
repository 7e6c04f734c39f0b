"""tbr: the to-be-recorded analysis - which overwritten values to push.

Input: an instrumented ANF block, the `LoopPlan`, and a *context*: `MAIN`
for the function's forward sweep, or a recomputed loop, for the slice its
reverse sweep re-runs in every iteration.
Output: `pushes[(context, id(statement))]`: the names whose old values the
forward sweep pushes right before that statement (its target for an
assignment; loop-written names saved once before a recomputed loop; the
index saved before a recorded loop), which the reverse sweep pops at the
mirror point.

The analysis runs forward over the block with `required`: the names whose
*current* value the reverse sweep will read (Hascoet's TBR set). Assigning a
required name pushes it first; after a statement, the names its adjoint
reads become required. Accumulations `s = s + e` add nothing (the adjoint of
`+` reads no values), so they are never recorded. Loops iterate to a fixed
point: what an iteration requires at its end is required at its start.

An integer step `k = k + c` (or `k - c`, `c` an int constant) of a
required `k` is never pushed: the reverse sweep undoes it exactly
(`k = k - c`) at its mirror point (`inverted`), so `k` stays required after
it (a later overwrite pushes it). Counters such as ADBench's `index += 1`
then cost no tape at all.
"""

from __future__ import annotations

import ast

from adjit.passes.reverse.recompute import RECOMPUTE, LoopPlan, is_anchor
from adjit.passes.analysis.statements import adjoint_reads, is_break_test, names_in, writes

MAIN = "main"


class ToBeRecorded:
    def __init__(self, plan: LoopPlan, arrays: set[str] = frozenset(),
                 integers: set[str] = frozenset()):
        self.plan = plan
        self.integers = set(integers)
        # array variables are never pushed: an element write that the reverse
        # sweep must undo records the old element itself (`reverse`)
        self.arrays = set(arrays)
        self.pushes: dict[tuple[object, int], list[str]] = {}
        # (context, id of an integer step) -> the statement that undoes it
        self.inverted: dict[tuple[object, int], ast.Assign] = {}

    # Pushes are keyed by the original statement, so that the reverse sweep,
    # which walks the original code, finds what a sliced copy pushed.
    def pushed(self, context, node: ast.stmt) -> list[str]:
        return self.pushes.get((context, id(getattr(node, "original", node))), [])

    def mark(self, context, node: ast.stmt, names) -> None:
        names = set(names) - self.arrays
        if names:
            key = (context, id(getattr(node, "original", node)))
            marked = self.pushes.setdefault(key, [])
            marked.extend(sorted(set(names) - set(marked)))

    def pushes_inside(self, context, node: ast.stmt) -> bool:
        return any((context, id(getattr(inner, "original", inner))) in self.pushes
                   or (context, id(getattr(inner, "original", inner))) in self.inverted
                   for inner in ast.walk(node))

    def inverse(self, context, node: ast.stmt) -> ast.Assign | None:
        """The statement that undoes the integer step `node`, if it is one
        that the reverse sweep undoes instead of popping."""
        return self.inverted.get((context, id(getattr(node, "original", node))))

    def _inverse_of(self, node: ast.Assign) -> ast.Assign | None:
        target, value = node.targets[0].id, node.value
        if target in self.integers and isinstance(value, ast.BinOp) \
                and isinstance(value.op, (ast.Add, ast.Sub)) \
                and isinstance(value.left, ast.Name) and value.left.id == target \
                and isinstance(value.right, ast.Constant) and type(value.right.value) is int:
            undo = ast.Sub() if isinstance(value.op, ast.Add) else ast.Add()
            return ast.Assign([ast.Name(target, ast.Store())],
                              ast.BinOp(ast.Name(target, ast.Load()), undo,
                                        ast.Constant(value.right.value)))
        return None

    def block(self, statements: list[ast.stmt], required: set[str], context) -> set[str]:
        """Mark the pushes of `statements`; returns `required` after them."""
        required = set(required)
        for node in statements:
            required = self.statement(node, required, context)
        return required

    def statement(self, node: ast.stmt, required: set[str], context) -> set[str]:
        plan = self.plan
        if is_anchor(node):
            original = node.original
            if isinstance(original, ast.Assign):
                return required | adjoint_reads(original, plan.active)
            return self.statement(original, required, context)   # a recomputed loop
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            # an element write: the adjoint never reads a tape's values
            return required | adjoint_reads(node, plan.active)
        if isinstance(node, ast.Assign):
            target = node.targets[0].id
            inverse = self._inverse_of(node) if target in required else None
            if inverse is not None:
                self.inverted[(context, id(getattr(node, "original", node)))] = inverse
                return required | adjoint_reads(node, plan.active)
            if target in required:
                self.mark(context, node, [target])
                required = required - {target}
            return required | adjoint_reads(node, plan.active)
        if isinstance(node, ast.If):
            if is_break_test(node):
                return required
            after = (self.block(node.body, required, context)
                     | self.block(node.orelse, required, context))
            # The reverse sweep re-reads the test when a branch has adjoints
            # or pops to do.
            if plan.has_adjoint(node) or self.pushes_inside(context, node):
                after |= names_in(node.test)
            return after
        if isinstance(node, (ast.For, ast.While)):
            if not plan.has_adjoint(node):
                # no adjoint inside, but it may overwrite a value an earlier
                # adjoint reads (`c = 2.0; s = c * x; for ...: c += 1.0`):
                # save those once before the loop, restore them after
                loop_writes = writes(getattr(node, "original", node))
                self.mark(context, node, required & loop_writes)
                return required - loop_writes
            if plan.mode_of(node) == RECOMPUTE:
                loop_writes = writes(getattr(node, "original", node))
                self.mark(context, node, required & loop_writes)
                return (required - loop_writes) | plan.needs[id(getattr(node, "original", node))]
            return self.recorded_loop(node, required, context)
        return required

    def recorded_loop(self, loop, required: set[str], context) -> set[str]:
        # the index, and the values re-run at the top of each reversed
        # iteration, are regenerated: never pushed inside, saved once outside
        index = {loop.target.id} if isinstance(loop, ast.For) else set()
        regenerated = self.plan.regenerated.get(id(getattr(loop, "original", loop)), [])
        index |= {node.targets[0].id for node in regenerated}
        self.mark(context, loop, required & index)
        # what they read must hold its end-of-iteration value at the top of
        # each reversed iteration (a stepped int the loop writes, too)
        head = (required | names_in(ast.Module(regenerated, []))) - index
        while True:
            end = self.block(loop.body, head, context)
            grown = head | (end - index)
            if grown == head:
                break
            head = grown
        return head | self.plan.needs[id(getattr(loop, "original", loop))]
