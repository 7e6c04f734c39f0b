"""recompute: decide, per loop, whether its reverse sweep records or recomputes.

Input: an instrumented ANF `FunctionDef` (see `reverse.instrument`) and its
active variables.
Output: a `LoopPlan` holding, for every loop:

* `mode[loop]`: `RECOMPUTE` when the values its adjoint needs can be
  recomputed from the loop index and data the loop never writes - the
  reverse sweep then re-executes, in each reversed iteration, the *slice*
  of the body that produces those values, and nothing about the loop is
  recorded; `RECORD` otherwise (loop-carried values, values loaded from
  arrays that change (`arrays.ArrayFacts.mutable`), `while` loops and
  loops left by `break`), where the forward sweep pushes what the
  to-be-recorded analysis (`tbr`) says;
* `needs[loop]`: the primal names the loop's reverse sweep reads from
  outside it (bounds, trip counter and, for recomputed loops, the slice's
  inputs), which must hold their loop-time values when it runs;
* `recompute_slice[loop]`: for recomputed loops, the statements to re-run,
  with *anchors* (see `anchor`) where a statement that is not re-run still
  needs values kept for its adjoint.

Slices are backward data slices (liveness where a statement is *live* if
it defines a needed value): leaves are the original statement objects,
compound statements are copies whose `original` attribute points back.
"""

from __future__ import annotations

import ast
import copy

from adjit.passes.analysis.statements import (adjoint_reads, assigned_name, is_break_test, names_in,
                                     reads, writes, writes_block)

from adjit.rules.random import is_draw

RECORD, RECOMPUTE = "record", "recompute"


class LoopPlan:
    def __init__(self, tree: ast.FunctionDef, active: set[str],
                 counters: dict[int, str], mutable: set[str] = frozenset(),
                 restored: set[str] = frozenset(),
                 private: dict[str, tuple[int, int]] | None = None,
                 integers: set[str] = frozenset(), snapshots=()):
        self.active = active
        # int variables: a step `k = k + 1` is undone exactly (see `tbr`)
        self.integers = set(integers)
        self.counters = counters            # id(loop) -> trip counter name
        # arrays whose elements change (see `arrays`): never re-read
        self.mutable = set(mutable)
        # arrays whose element writes record the old element (see `reverse`):
        # a loop with such writes records
        self.restored = set(restored)
        # scratch arrays private to a loop's iterations (see `private`):
        # array -> (id of that loop, id of the loop that fills it)
        self.private = dict(private or {})
        self._filled_by = {}
        # loop id -> the `snapshot.Snapshot` whose nest its slice copies back
        self.snapshots = {id(snapshot.loop): snapshot for snapshot in snapshots}
        for array, (_, filler) in self.private.items():
            self._filled_by.setdefault(filler, set()).add(array)
        self.mode: dict[int, str] = {}
        self.needs: dict[int, set[str]] = {}
        self.recompute_slice: dict[int, list[ast.stmt]] = {}
        # recorded loops: statements re-run at the top of each reversed
        # iteration instead of being pushed (see `_regenerable`)
        self.regenerated: dict[int, list[ast.Assign]] = {}
        self._decide(tree.body)

    # -- queries ----------------------------------------------------------
    def mode_of(self, loop: ast.stmt) -> str:
        return self.mode[id(_original(loop))]

    def has_adjoint(self, node: ast.stmt) -> bool:
        """Does the reverse sweep do anything for this statement? (For a
        sliced copy: for the statement it was sliced from.)"""
        return any(isinstance(inner, ast.Assign) and assigned_name(inner) in self.active
                   for inner in ast.walk(_original(node)))

    def header_needs(self, loop: ast.stmt) -> set[str]:
        loop = _original(loop)
        counter = self.counters.get(id(loop))
        names = {counter} if counter else set()
        if isinstance(loop, ast.For):
            names |= names_in(loop.iter)
        return names

    # -- planning ---------------------------------------------------------
    def _decide(self, statements: list[ast.stmt]) -> None:
        """Plan inner loops first: a loop's slice depends on their modes."""
        for node in statements:
            if isinstance(node, ast.If):
                self._decide(node.body)
                self._decide(node.orelse)
            elif isinstance(node, (ast.For, ast.While)):
                self._decide(node.body)
                self._plan_loop(node)

    def _plan_loop(self, loop: ast.stmt) -> None:
        key = id(loop)
        self.mode[key] = RECORD
        self.needs[key] = self.header_needs(loop)
        if not isinstance(loop, ast.For) or not self.has_adjoint(loop):
            return
        restores = bool(_restoring_writes(loop) & self.restored)
        if id(loop) not in self.counters and not restores:
            body_slice, live_in = self.slice_block(loop.body, set(), with_adjoint=True)
            # restored arrays it writes without recording: no write stores
            # into an element a needed load read before it, so every load
            # re-run in the reverse sweep reads what it read going forward
            # (`loads_checked`: the writes were checked against that load)
            changed = writes_block(loop.body) - self.restored
            rewritten = writes_block(loop.body) & self.restored
            # a random draw run again draws another value: its loop records
            if not live_in & (changed | self.mutable) \
                    and not _unchecked_loads(body_slice, rewritten) \
                    and not _draws(body_slice):
                self.mode[key] = RECOMPUTE
                if key in self.snapshots:
                    body_slice, live_in = self._slice_with_snapshot(loop)
                self.recompute_slice[key] = body_slice
                self.needs[key] |= live_in - {loop.target.id}
                return
        regenerated = self._regenerable(loop)
        if regenerated:
            self.regenerated[key] = regenerated
            targets = {node.targets[0].id for node in regenerated}
            self.needs[key] |= set().union(*(reads(node) for node in regenerated)) \
                - targets - {loop.target.id}

    def _slice_with_snapshot(self, loop: ast.For):
        """The recompute slice of `loop` with its snapshot's copy back in
        place of the nest (see `snapshot`), and what it needs before. The
        buffers count as filled by the loop: outside it, nothing of them is
        needed."""
        snapshot = self.snapshots[id(loop)]
        position = next(k for k, node in enumerate(loop.body) if node is snapshot.target)
        restores = snapshot.restores()
        for node in restores:
            if isinstance(node, ast.For):
                self.mode[id(node)] = RECOMPUTE
                self.needs[id(node)] = self.header_needs(node)
                self._filled_by[id(node)] = set(node.fills)
        self._filled_by.setdefault(id(loop), set()).update(snapshot.buffers)
        body = loop.body[:position] + restores + loop.body[position + 1:]
        return self.slice_block(body, set(), with_adjoint=True)

    def _regenerable(self, loop: ast.For) -> list[ast.Assign]:
        """Arithmetic statements and element reads at the top level of a
        recorded loop's body whose inputs are the loop index, data the loop
        never writes, earlier such statements, or an int the rest of the body
        only steps (`index += 1`), and whose value the reverse sweep reads:
        "recompute, don't record" inside a loop that must record others.

        They run at the top of each reversed iteration, where every value
        holds what it held at the end of that iteration going forward; a
        stepped int is read there as its end value minus the steps after the
        statement (`icf[ik, index - 1]`)."""
        written = writes_block(loop.body)
        written -= {array for array in self.restored - _restoring_writes(loop)
                    if not _unchecked_loads(loop.body, {array})}
        assignments: dict[str, int] = {}
        for node in ast.walk(ast.Module(loop.body, [])):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                assignments[name] = assignments.get(name, 0) + 1
        steps_after = self._steps_after(loop.body)
        available, read_before, candidates = set(), set(), []
        for position, node in enumerate(loop.body):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and (isinstance(node.value, (ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant))
                         or self._rereadable_element(node.value, written)):
                target = node.targets[0].id
                inputs = reads(node)
                offsets = steps_after[position]
                stepped = (inputs & written) - available
                # (never a step itself: `k = k - 1` re-run would step again)
                if assignments.get(target) == 1 and target not in read_before \
                        and target not in inputs and stepped <= set(offsets):
                    candidates.append(_shifted(node, {name: offsets[name] for name in stepped}))
                    available.add(target)
            read_before |= reads(node)
        needed = set().union(*(adjoint_reads(node, self.active)
                               for node in ast.walk(ast.Module(loop.body, []))
                               if isinstance(node, ast.Assign)))
        for node in ast.walk(ast.Module(loop.body, [])):
            if isinstance(node, (ast.For, ast.While)):   # bounds of reversed inner loops
                needed |= self.needs.get(id(node), set())
        kept = []
        for node in reversed(candidates):
            if node.targets[0].id in needed:
                kept.append(node)
                needed |= reads(node)
        kept.reverse()
        return kept

    def _steps_after(self, body: list[ast.stmt]) -> list[dict[str, int]]:
        """For each position of `body`: the ints that the statements after it
        write only by top-level constant steps, each with the sum of those
        steps (0 when nothing after writes it)."""
        offsets: dict[str, int] = {}
        blocked: set[str] = set()
        result: list[dict[str, int]] = []
        for node in reversed(body):
            result.append({name: offset for name, offset in offsets.items()})
            step = _integer_step(node, self.integers)
            if step is not None and step[0] not in blocked:
                offsets[step[0]] = offsets.get(step[0], 0) + step[1]
            else:
                for name in writes(node):
                    offsets.pop(name, None)
                    blocked.add(name)
        result.reverse()
        later: set[str] = set()          # what the statements after `position` write
        for position in range(len(body) - 1, -1, -1):
            # ints written nowhere after a position are at their end value there
            for name in self.integers - later:
                result[position].setdefault(name, 0)
            later |= writes(body[position])
        return result

    def _rereadable_element(self, value: ast.expr, written: set[str]) -> bool:
        """`x[i, j]` of an array whose elements, at every point of the
        reverse sweep, are what they were going forward (unchanged, or
        restored: see `reverse.restored_arrays`), and which the loop does
        not write, or writes only where no needed load read before
        (`written` leaves those out)."""
        return isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
            and value.value.id not in written and value.value.id not in self.mutable

    # -- slicing ----------------------------------------------------------
    def slice_block(self, statements: list[ast.stmt], needed: set[str],
                    with_adjoint: bool) -> tuple[list[ast.stmt], set[str]]:
        """The statements of `statements` that compute what is `needed` after
        them - and, `with_adjoint`, what the reverse sweep of these same
        statements reads. Returns them and what they need before."""
        needed = set(needed)
        kept: list[ast.stmt] = []
        for node in reversed(statements):
            if is_anchor(node):
                # a snapshot's stand-in for the nest it copies back: what
                # the nest's reverse sweep reads beside the copies
                if with_adjoint:
                    needed |= getattr(node, "adjoint_needs", set())
                kept.append(node)
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
                # an element write keeps the rest of the tape: it is kept when
                # the tape is needed, and kills nothing
                if with_adjoint:
                    needed |= adjoint_reads(node, self.active)
                if node.targets[0].value.id in needed:
                    kept.append(node)
                    needed |= reads(node)
            elif isinstance(node, ast.Assign):
                reads_back = adjoint_reads(node, self.active) if with_adjoint else set()
                needed |= reads_back
                target = node.targets[0].id
                if target in needed:
                    kept.append(node)
                    needed = (needed - {target}) | reads(node)
                elif reads_back:
                    kept.append(anchor(node))
            elif isinstance(node, ast.If):
                if is_break_test(node):   # keeps the iteration count exact
                    kept.append(node)
                    needed |= names_in(node.test)
                    continue
                body, needed_body = self.slice_block(node.body, needed, with_adjoint)
                orelse, needed_else = self.slice_block(node.orelse, needed, with_adjoint)
                needed = needed_body | needed_else
                if body or orelse or (with_adjoint and self.has_adjoint(node)):
                    kept.append(_copy_if(node, body, orelse))
                if body or orelse or (with_adjoint and self.has_adjoint(node)):
                    needed |= names_in(node.test)
            elif isinstance(node, (ast.For, ast.While)):
                needed, sliced = self._slice_loop(node, needed, with_adjoint)
                # a loop that fills a private array: nothing before it is needed
                needed -= self._filled_by.get(id(_original(node)), set())
                if sliced is not None:
                    kept.append(sliced)
                elif with_adjoint and self.has_adjoint(node):
                    kept.append(anchor(node))   # a recomputed loop: its saves
        kept.reverse()
        return kept, needed

    def _slice_loop(self, loop, needed: set[str], with_adjoint: bool):
        """(needed before the loop, the sliced loop or None)."""
        recorded = self.mode[id(loop)] == RECORD
        # A recorded loop's reverse replays its tape: with_adjoint, its forward
        # sweep must run. A recomputed one only needs its outside inputs.
        if with_adjoint and self.has_adjoint(loop):
            needed = needed | self.needs[id(loop)]
        adjoint_inside = with_adjoint and recorded
        index = {loop.target.id} if isinstance(loop, ast.For) else set()
        defines_needed = bool(writes(loop) & needed)
        if not defines_needed and not (adjoint_inside and self.has_adjoint(loop)):
            return needed, None
        loop_reads = names_in(loop.test) if isinstance(loop, ast.While) else names_in(loop.iter)
        head = set(needed) | (loop_reads if isinstance(loop, ast.While) else set())
        while True:
            body, needed_in = self.slice_block(loop.body, head, adjoint_inside)
            grown = head | (needed_in - index)
            if grown == head:
                break
            head = grown
        if not body:
            return needed, None
        sliced = copy.copy(loop)
        sliced.body = body
        sliced.original = _original(loop)
        sliced.records = adjoint_inside
        return (head - index) | loop_reads, sliced


def _restoring_writes(loop: ast.stmt) -> set[str]:
    """The arrays `loop` writes with element writes that record the element
    they replace (see `reverse.arrays._mark_restoring_writes`)."""
    return {node.targets[0].value.id for node in ast.walk(loop)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript)
            and isinstance(node.targets[0].value, ast.Name)
            and getattr(node, "restores_element", True)}


def _unchecked_loads(statements: list[ast.stmt], arrays: set[str]) -> bool:
    """Does a statement of `statements` (or a test or bound) read one of
    `arrays` without the check that no later write changes what it read
    (`loads_checked`, set by `reverse.arrays._mark_restoring_writes`)?"""
    for node in ast.walk(ast.Module(statements, [])):
        if isinstance(node, ast.Assign):
            parts = [node.value] + ([node.targets[0].slice]
                                    if isinstance(node.targets[0], ast.Subscript) else [])
        elif isinstance(node, (ast.If, ast.While)):
            parts = [node.test]
        elif isinstance(node, ast.For):
            parts = [node.iter]
        else:
            continue
        if any(names_in(part) & arrays for part in parts) \
                and not getattr(_original(node), "loads_checked", False):
            return True
    return False


def _draws(statements: list[ast.stmt]) -> bool:
    """Does running these statements again make a random draw?"""
    return any(isinstance(node, ast.Assign) and is_draw(node.value)
               for node in ast.walk(ast.Module(statements, [])))


def _integer_step(node: ast.stmt, integers: set[str]) -> tuple[str, int] | None:
    """`(k, c)` for `k = k + c` (or `k - c` as `(k, -c)`) with `k` an int and
    `c` an int constant; None otherwise."""
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
            and node.targets[0].id in integers and isinstance(node.value, ast.BinOp) \
            and isinstance(node.value.op, (ast.Add, ast.Sub)) \
            and isinstance(node.value.left, ast.Name) \
            and node.value.left.id == node.targets[0].id \
            and isinstance(node.value.right, ast.Constant) \
            and type(node.value.right.value) is int:
        sign = 1 if isinstance(node.value.op, ast.Add) else -1
        return node.targets[0].id, sign * node.value.right.value
    return None


def _shifted(node: ast.Assign, offsets: dict[str, int]) -> ast.Assign:
    """`node` reading each int `k` of `offsets` as `k - offset` (`node`
    itself when no offset is needed)."""
    offsets = {name: offset for name, offset in offsets.items() if offset}
    if not offsets:
        return node

    class Shift(ast.NodeTransformer):
        def visit_Name(self, name):
            if isinstance(name.ctx, ast.Load) and name.id in offsets:
                offset = offsets[name.id]
                return ast.BinOp(ast.Name(name.id, ast.Load()),
                                 ast.Sub() if offset > 0 else ast.Add(),
                                 ast.Constant(abs(offset)))
            return name

    return Shift().visit(copy.deepcopy(node))


def anchor(node: ast.stmt) -> ast.Pass:
    """A place holder for a statement the recomputation need not run but whose
    reverse sweep reads values there: the to-be-recorded analysis must see
    what it requires (and, for a recomputed loop, what it saves)."""
    placeholder = ast.Pass()
    placeholder.original = _original(node)
    placeholder.anchor = True
    return placeholder


def is_anchor(node: ast.stmt) -> bool:
    return getattr(node, "anchor", False)


def _original(node: ast.stmt) -> ast.stmt:
    return getattr(node, "original", node)


def _copy_if(node: ast.If, body, orelse) -> ast.If:
    if not body:
        test = ast.UnaryOp(ast.Not(), copy.deepcopy(node.test))
        if isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not):
            test = copy.deepcopy(node.test.operand)
        body, orelse = orelse, []
        sliced = ast.If(test, body, orelse)
    else:
        sliced = ast.If(node.test, body, orelse)
    ast.copy_location(sliced, node)
    sliced.origin = getattr(node, "origin", None)
    sliced.original = _original(node)
    return sliced
