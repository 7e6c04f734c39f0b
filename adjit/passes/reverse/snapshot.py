"""snapshot: keep what a nest inside a recomputed loop computes, instead of
recomputing it in every reversed iteration.

Input: an instrumented ANF `FunctionDef`, its `LoopPlan` (`recompute`) and
the to-be-recorded analysis of that plan (`tbr`), its types and `Namer`.
Output: `Snapshot`s, each for a loop `L` the plan recomputes and a loop
nest `T` at the top level of `L`'s body that `L`'s recompute slice re-runs,
once `install`ed:

* `L`'s body, right after `T`, copies what `T` leaves behind into buffers
  with one row per iteration of `L` (`_snap_a[ik, j] = a[j]`, and
  `_snap_k[ik] = k` for an int `T` steps);
* the buffers are made once, at the top level of the function, as soon as
  their sizes are known (`_snap_a = np.empty((K, B))`);
* the plan, made again with the snapshot (`LoopPlan(snapshots=...)`), re-runs
  in each reversed iteration of `L` the copy back (`a[j] = _snap_a[ik, j]`)
  in place of `T` - and, of what comes before `T`, only what the adjoints
  still need.

ADBench's GMM is the case: per point and component, the centred point and
`Q` times it (a triangular nest, d(d-1)/2 multiply-adds) were computed going
forward and again going back; now the product is kept, K x d numbers per
point, as a hand-written gradient keeps it.

When (all checked here, or the loop keeps its recomputation):

* `L` is `for t in range(stop)`, or `range(c, stop)` with `c` a
  non-negative int (row `t` of a buffer is iteration `t`'s), not a `prange`,
  with `stop` a number or a name assigned once at the top level of the
  function (or a parameter), and so is every size of the buffers; every
  loop around `L` is recomputed too and none is a `prange` (the forward
  copy of `L` that a reversed iteration runs then fills the rows its
  reverse sweep reads, in the same iteration of every enclosing loop);
* `T` is a `for` nest (a loop inside it), without `while` or `break`, whose
  element writes all go to scratch arrays private to `L`'s iterations
  (`private`), 1-D float arrays made once with fixed sizes;
* of the names `T` assigns, the ones read later in `L`'s body, by `T`'s own
  reverse sweep at its end or by the forward re-run of `T` (an int it steps
  such as ADBench's `index`) are ints, and no loop index of the nest is
  read after it;
* the forward run of `T` pushes nothing: what its reverse sweep reads is
  regenerated in its reversed iterations, never changes, or is an int step
  undone from the end value the copy back restores.

Not for device code (`target="cuda"` allocates nothing) and not across
`prange` loops (one buffer would be shared by the threads).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from adjit.passes.ir.build import statement as _parse_statement
from adjit.passes.analysis.loopforms import loops_with_ancestors
from adjit.passes.analysis.parallel import is_parallel
from adjit.passes.reverse.recompute import RECOMPUTE, LoopPlan, anchor
from adjit.passes.ir.render import comment
from adjit.passes.analysis.statements import is_break_test, names_in, writes, writes_block
from adjit.rules.registry import FLOAT, INT, REGISTRY, array_type

import numpy as np

_FILLING = {"empty", "zeros", "ones"}


@dataclass
class Snapshot:
    """A nest `target` of loop `loop`'s body whose results are kept."""
    loop: ast.For
    target: ast.For
    parent: ast.stmt | None              # the loop around `loop`, if any
    arrays: dict[str, str]              # array -> its buffer
    integers: dict[str, str]            # int -> its buffer
    sizes: dict[str, str]               # array -> its length (a name or a number)
    rows: str                           # the number of iterations of `loop`, as text
    slot: str                           # the row of an iteration, as text
    column: str                         # the loop index of the copies
    # what the reverse sweep of `target` reads that the copy back does not set
    adjoint_needs: set[str] = field(default_factory=set)
    stores: list[ast.stmt] = field(default_factory=list)
    allocations: list[ast.stmt] = field(default_factory=list)

    @property
    def buffers(self) -> set[str]:
        return set(self.arrays.values()) | set(self.integers.values())

    def restores(self) -> list[ast.stmt]:
        """The copy back, for the recompute slice of `loop`: fresh statements
        each time (a plan owns its slices), the last one an anchor that
        stands for `target` (its reverse sweep's needs and saves)."""
        restored: list[ast.stmt] = []
        for array, buffer in self.arrays.items():
            restored.append(_parse_statement(
                f"for {self.column} in range({self.sizes[array]}):\n"
                f"    {array}[{self.column}] = {buffer}[{self.slot}, {self.column}]"))
            restored[-1].fills = {array}
        for integer, buffer in self.integers.items():
            restored.append(_parse_statement(f"{integer} = {buffer}[{self.slot}]"))
        for node in restored:
            ast.copy_location(node, self.target)
            node.origin = getattr(self.target, "origin", getattr(self.target, "lineno", None))
        stand_in = anchor(self.target)
        stand_in.adjoint_needs = set(self.adjoint_needs)
        restored.append(stand_in)
        return restored


def candidates(tree: ast.FunctionDef, plan: LoopPlan, tbr, types: dict[str, str],
               namer) -> list[Snapshot]:
    """The snapshots worth taking under `plan` (see the module docstring)."""
    fixed = _fixed_top_level(tree)
    found = []
    for loop, around, _ in loops_with_ancestors(tree.body):
        ancestors = [outer for outer, _ in around]
        key = id(loop)
        if plan.mode.get(key) != RECOMPUTE or not isinstance(loop, ast.For) \
                or is_parallel(loop) or any(is_parallel(outer) or not isinstance(outer, ast.For)
                                            or plan.mode.get(id(outer)) != RECOMPUTE
                                            for outer in ancestors):
            continue
        bounds = _range_bounds(loop, fixed)
        if bounds is None or names_in(loop.iter) & writes_block(loop.body):
            continue
        sliced = {id(getattr(node, "original", node)) for node in plan.recompute_slice[key]}
        for position, nest in enumerate(loop.body):
            if id(nest) not in sliced or not _is_nest(nest):
                continue
            snapshot = _plan_snapshot(tree, plan, tbr, types, namer, loop, position, nest,
                                      bounds, fixed, ancestors[-1] if ancestors else None)
            if snapshot is not None:
                found.append(snapshot)
                break                  # one nest per loop: the plan is made again
    return found


def install(tree: ast.FunctionDef, snapshot: Snapshot, types: dict[str, str]) -> None:
    """Put the copies after the nest and the buffers' allocations in the
    function; record the buffers' types."""
    position = next(k for k, node in enumerate(snapshot.loop.body) if node is snapshot.target)
    snapshot.loop.body[position + 1:position + 1] = snapshot.stores
    # (placed now, after any other snapshot's allocations moved the body)
    position = _allocation_position(tree, snapshot.rows, snapshot.sizes.values())
    tree.body[position:position] = snapshot.allocations
    for buffer in snapshot.arrays.values():
        types[buffer] = array_type(FLOAT, 2)
    for buffer in snapshot.integers.values():
        types[buffer] = array_type(INT, 1)
    types[snapshot.column] = INT


def uninstall(tree: ast.FunctionDef, snapshot: Snapshot) -> None:
    """Undo `install` (the plan refused the snapshot after all)."""
    stores = {id(node) for node in snapshot.stores}
    snapshot.loop.body[:] = [node for node in snapshot.loop.body if id(node) not in stores]
    made = {id(node) for node in snapshot.allocations}
    tree.body[:] = [node for node in tree.body if id(node) not in made]


def still_valid(tree: ast.FunctionDef, plan: LoopPlan, tbr, snapshot: Snapshot) -> bool:
    """After planning again: `L` and every loop around it still recomputed,
    and the stand-in for the nest needs nothing recorded."""
    for loop, around, _ in loops_with_ancestors(tree.body):
        if loop is snapshot.loop:
            return all(plan.mode.get(id(outer)) == RECOMPUTE
                       for outer in [outer for outer, _ in around] + [loop]) \
                and not _pushes_inside(tbr, id(loop), snapshot.target)
    return False


# ---- planning one snapshot ---------------------------------------------------------

def _plan_snapshot(tree, plan, tbr, types, namer, loop, position, nest, bounds, fixed,
                   parent):
    key = id(loop)
    # the nest's reverse sweep must find everything it reads regenerated
    if _pushes_inside(tbr, key, nest):
        return None
    arrays = []
    for node in ast.walk(nest):
        target = node.targets[0] if isinstance(node, ast.Assign) else \
            node.target if isinstance(node, ast.AugAssign) else None
        if isinstance(target, ast.Subscript):
            array = target.value.id if isinstance(target.value, ast.Name) else None
            if array is None or plan.private.get(array, (None,))[0] != key \
                    or types.get(array) != array_type(FLOAT, 1):
                return None
            if array not in arrays:
                arrays.append(array)
    if not arrays:
        return None
    sizes = {}
    bound_in_loop = {node.id for node in ast.walk(ast.Module(loop.body, []))
                     if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    for array in arrays:
        size = _fixed_size(tree, array, fixed)
        if size is None or array in bound_in_loop:
            return None
        sizes[array] = size
    assigned = {node.id for node in ast.walk(nest)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    indices = {node.target.id for node in ast.walk(nest) if isinstance(node, ast.For)}
    live_after = plan.slice_block(loop.body[position + 1:], set(), with_adjoint=True)[1]
    needed_before, _ = plan._slice_loop(nest, set(), with_adjoint=True)
    kept = (live_after | needed_before) & assigned
    if kept & indices or any(types.get(name) != INT for name in kept):
        return None
    integers = sorted(kept)
    rows, slot = bounds
    snapshot = Snapshot(
        loop=loop, target=nest, parent=parent,
        arrays={array: namer.unique(f"_snap_{array}") for array in arrays},
        integers={name: namer.unique(f"_snap_{name}") for name in integers},
        sizes=sizes, rows=rows, slot=slot, column=namer.unique("_j"),
        # (the copies themselves: the nest's reverse sweep starts from them)
        adjoint_needs=(needed_before - assigned) | set(arrays) | set(integers))
    column = snapshot.column
    origin = getattr(nest, "origin", getattr(nest, "lineno", None))
    for array, buffer in snapshot.arrays.items():
        snapshot.stores.append(_parse_statement(
            f"for {column} in range({sizes[array]}):\n"
            f"    {buffer}[{slot}, {column}] = {array}[{column}]"))
        snapshot.allocations.append(_parse_statement(
            f"{buffer} = np.empty(({rows}, {sizes[array]}))"))
    for integer, buffer in snapshot.integers.items():
        snapshot.stores.append(_parse_statement(f"{buffer}[{slot}] = {integer}"))
        snapshot.allocations.append(_parse_statement(f"{buffer} = np.empty({rows}, np.int64)"))
    for node in snapshot.allocations:
        node.value.primitive = REGISTRY.lookup(np.empty)
    lines = sorted({inner.origin for inner in ast.walk(nest)
                    if getattr(inner, "origin", None) is not None})
    span = f"line {lines[0]}" if len(lines) < 2 else f"lines {lines[0]}-{lines[-1]}"
    note = comment(kept_note(list(arrays) + integers, span, loop.target.id))
    note.kept = (list(arrays) + integers, span, loop.target.id)   # `counting` may drop an int
    snapshot.allocations.insert(0, note)
    for node in snapshot.stores + snapshot.allocations[1:]:
        ast.copy_location(node, nest)
        for inner in ast.walk(node):
            inner.origin = origin
    return snapshot


def kept_note(names: list[str], span: str, index: str) -> str:
    """The comment above a snapshot's buffers."""
    return (f"{' and '.join(names)} after {span}, kept per {index} for the reverse sweep "
            "(docs/performance.md#snapshots)")


def _pushes_inside(tbr, context, node: ast.stmt) -> bool:
    """Does the forward run of `node` in `context` push anything? (Its int
    steps, undone by the reverse sweep from their end values, push nothing.)"""
    return any((context, id(getattr(inner, "original", inner))) in tbr.pushes
               for inner in ast.walk(node))


def _is_nest(node: ast.stmt) -> bool:
    if not isinstance(node, ast.For):
        return False
    inner = [n for n in ast.walk(node) if n is not node]
    return any(isinstance(n, ast.For) for n in inner) and not any(
        isinstance(n, (ast.While, ast.Break)) or (isinstance(n, ast.If) and is_break_test(n))
        for n in inner)


def _range_bounds(loop: ast.For, fixed: set[str]) -> tuple[str, str] | None:
    """(rows, slot) as text for `range(stop)` / `range(c, stop)`, c >= 0."""
    call = loop.iter
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "range" and 1 <= len(call.args) <= 2 and not call.keywords):
        return None
    stop = call.args[-1]
    if not _is_fixed(stop, fixed):
        return None
    if len(call.args) == 2 and not (isinstance(call.args[0], ast.Constant)
                                    and type(call.args[0].value) is int
                                    and call.args[0].value >= 0):
        return None
    return ast.unparse(stop), loop.target.id


def _is_fixed(node: ast.expr, fixed: set[str]) -> bool:
    return (isinstance(node, ast.Constant) and type(node.value) is int) or \
        (isinstance(node, ast.Name) and node.id in fixed)


def _fixed_size(tree: ast.FunctionDef, array: str, fixed: set[str]) -> str | None:
    """The length `B` of `array = np.empty(B)` (zeros, ones), when fixed."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id == array and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) \
                and node.value.func.attr in _FILLING and len(node.value.args) == 1 \
                and _is_fixed(node.value.args[0], fixed):
            return ast.unparse(node.value.args[0])
    return None


def _fixed_top_level(tree: ast.FunctionDef) -> set[str]:
    """Parameters never assigned, and names assigned exactly once, by a
    statement at the top level of the function body."""
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    parameters = {a.arg for a in tree.args.posonlyargs + tree.args.args}
    top = {node.targets[0].id for node in tree.body
           if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    return {name for name in parameters if name not in counts} | \
        {name for name in top if counts.get(name) == 1}


def _allocation_position(tree: ast.FunctionDef, rows: str, sizes) -> int:
    """Right after the last top-level statement defining a name the buffer
    sizes read."""
    needed = names_in(ast.parse(rows, mode="eval")) | {size for size in sizes
                                                        if not size.isdigit()}
    position = 0
    for k, node in enumerate(tree.body):
        if writes(node) & needed:
            position = k + 1
    return position
