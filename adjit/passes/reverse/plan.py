"""plan: what the reverse sweep records, recomputes and keeps, mixed into
`transform.ReverseTransformer`.

Input: the transformer's state (the ANF tree, types, active variables, the
namer, `ArrayFacts`, the private and stable arrays). Output, as methods and
functions:

* `instrument`: trip counters for loops whose trip count is not known before
  they start (`while`, `for` left by `break`);
* `make_plan`: per loop, record or recompute (`recompute.LoopPlan`), then
  what to push (`tbr.ToBeRecorded`), as `self.plan`, `self.tbr`,
  `self.restored`;
* `take_snapshots`: the nests `snapshot` keeps instead of recomputing,
  installed and planned with, or all dropped if the plan does not hold to
  their conditions; `self.snapshot_owner` says which loop refills each
  buffer.

Split from `reverse.py`, which emits the sweeps from this plan.
"""

from __future__ import annotations

import ast

import numpy as np

from adjit.passes.ir.build import statement as _parse_statement
from adjit.passes.ir.naming import Namer
from adjit.passes.reverse.recompute import RECOMPUTE, LoopPlan
from adjit.passes.reverse.snapshot import candidates as snapshot_candidates
from adjit.passes.reverse.snapshot import install as install_snapshot
from adjit.passes.reverse.snapshot import still_valid as snapshot_holds
from adjit.passes.reverse.snapshot import uninstall as uninstall_snapshot
from adjit.passes.analysis.statements import is_break_test
from adjit.passes.reverse.tbr import MAIN, ToBeRecorded
from adjit.rules.numpy import CREATION
from adjit.rules.registry import INT, is_array


def with_origin(nodes, origin):
    """`nodes`, each given `origin` (the user's line) unless it has one."""
    for node in nodes:
        if getattr(node, "origin", None) is None:
            node.origin = origin
    return nodes


def instrument(tree: ast.FunctionDef, namer: Namer) -> dict[int, str]:
    """Count the iterations of loops whose trip count is not known before
    they start (`while`, `for` left by `break`): `_trips1 = 0` before the
    loop, `_trips1 = _trips1 + 1` first in its body. Returns id(loop) -> name."""
    counters: dict[int, str] = {}

    def visit(statements: list[ast.stmt]) -> list[ast.stmt]:
        out = []
        for node in statements:
            if isinstance(node, ast.If):
                node.body, node.orelse = visit(node.body), visit(node.orelse)
            elif isinstance(node, (ast.For, ast.While)):
                node.body = visit(node.body)
                counted = isinstance(node, ast.While) or any(
                    is_break_test(inner) for inner in node.body)
                if counted:
                    counter = namer.fresh("trips")
                    counters[id(node)] = counter
                    origin = getattr(node, "origin", node.lineno)
                    start = _parse_statement(f"{counter} = 0")
                    step = _parse_statement(f"{counter} = {counter} + 1")
                    out.extend(with_origin([start], origin))
                    node.body.insert(0, with_origin([step], origin)[0])
            out.append(node)
        return out

    tree.body = visit(tree.body)
    return counters


class ReversePlanning:
    def make_plan(self, snapshots=()) -> None:
        """Decide, per loop, record or recompute (`recompute`), then what to
        push (`tbr`)."""
        types, tree = self.types, self.tree
        while True:
            self.restored = self.restored_arrays() - set(self.private) - self.stable
            self.plan = LoopPlan(tree, self.active, self.counters,
                                 self.arrays.mutable - self.restored - set(self.private)
                                 - self.stable, self.restored, self.private,
                                 {name for name, kind in types.items() if kind == INT},
                                 snapshots)
            recorded = {array for array, (loop, _) in self.private.items()
                        if self.plan.mode.get(loop) != RECOMPUTE}
            if not recorded:
                break
            for array in recorded:
                del self.private[array]
        self.tbr = ToBeRecorded(self.plan, {name for name, kind in types.items()
                                            if is_array(kind)},
                                {name for name, kind in types.items() if kind == INT})
        self.tbr.block(tree.body, set(), MAIN)
        for key, body in self.plan.recompute_slice.items():
            self.tbr.block(body, set(), key)

    def take_snapshots(self) -> None:
        """Keep, instead of recomputing, the nests `snapshot` finds worth it;
        plan again with them, and drop them all if that plan does not hold
        to their conditions after all."""
        found = snapshot_candidates(self.tree, self.plan, self.tbr, self.types, self.namer)
        if not found:
            return
        for snapshot in found:
            install_snapshot(self.tree, snapshot, self.types)
        self.make_plan(found)
        if not all(snapshot_holds(self.tree, self.plan, self.tbr, snapshot)
                   for snapshot in found):
            for snapshot in found:
                uninstall_snapshot(self.tree, snapshot)
            self.make_plan()
            return
        for snapshot in found:
            parent = snapshot.parent
            if parent is not None:
                for buffer in snapshot.buffers:
                    self.snapshot_owner[buffer] = id(parent)


def creations_in_loops(statements: list[ast.stmt], in_loop: bool) -> set[int]:
    """ids of the array-creating assignments that run inside a loop."""
    found = set()
    for node in statements:
        if isinstance(node, ast.Assign) and in_loop and isinstance(node.value, ast.Call) \
                and getattr(node.value.primitive, "key", None) in (*CREATION, np.copy):
            found.add(id(node))
        elif isinstance(node, ast.If):
            found |= creations_in_loops(node.body + node.orelse, in_loop)
        elif isinstance(node, (ast.For, ast.While)):
            found |= creations_in_loops(node.body, True)
    return found
