"""counting: a reversed loop nest that steps an int counter back down runs
upwards, from the value the primal starts the counter at.

Input: a generated reverse-mode `FunctionDef` after `ascending`, the rank
of each array variable of the code it was generated from (adjoints
included) and its int variables. The reverse transformation marks a
reversed loop whose primal is preceded by `c = E` (`c` an int) with
`counter_starts = {c: E}` (`ReverseTransformer.note_counter_start`).
Output: the same function where such a nest,

    for i in range(d - 1, -1, -1):                # reverses `for i in range(d)`
        _t15 = i + 1
        _b_xcentered_i = 0.0
        for j in range(d - 1, _t15 - 1, -1):      # reverses `range(i + 1, d)`
            _t19 = icf[ik, index - 1]
            index = index - 1                     # undoes `index += 1`
            _b_icf[ik, index] += _b_t16 * _t20
            _b_xcentered_i += _b_t16 * _t19
        if d - 1 > _t15 - 1:
            _b_xcentered[i] += _b_xcentered_i

(GMM's packed triangle, reversed) runs in the primal's order:

    index = d
    for i in range(d):
        _t15 = i + 1
        _b_xcentered_i = 0.0
        for j in range(_t15, d):
            _t19 = icf[ik, index]
            _b_icf[ik, index] += _b_t16 * _t20
            _b_xcentered_i += _b_t16 * _t19
            index = index + 1
        if d - 1 > _t15 - 1:
            _b_xcentered[i] += _b_xcentered_i

(and `index = d` again after it where a later statement can read `index`
before binding it; a restore of `index` just before the nest, now dead,
is removed, with a snapshot buffer nothing else reads), when

* the outer loop and its one inner loop step down by one, the inner one a
  *simple loop* (`loopforms`), and the outer body holds only assignments,
  augmented assignments and `if` statements of such, besides the inner
  loop;
* `c` is stepped once per inner iteration, `c = c - 1`, and mentioned
  nowhere else in the nest but in the inner body; `E` reads only
  parameters never rebound, names bound once, at the function's top
  level, and indices of the reversed loops around the nest that nothing in
  them rebinds (in the iteration reversing one of the primal's, such an
  index holds that iteration's value), so `E` has the same value here as
  before the primal's nest;
* every other name the nest assigns is a generated temporary bound before
  it is read in its iteration, or a sum (`s += e`) nothing in the nest
  reads but the statements after the inner loop, when it is bound before
  it in the outer body; nothing after the inner loop reads a temporary of
  the inner loop;
* every array the nest writes is made fresh in this function, reached by
  no other name (`ascending`), only incremented and never read in the nest
  (so the order of the increments is all that changes);
* no read of either loop index after the nest can see its last value.

Why: iteration t of the nest, counted in the primal's order, reads the
counter at `E + t`: walking down, the reverse sweep computes it from a
value restored from the tape or a snapshot, which Numba cannot prove
non-negative, so every access through it keeps its wrap-around select;
walking up from `E` (`d`, a shape), it can. GMM's gradient (d = 10) ran
2.98x -> 2.47x the primal with its triangle walked this way
(docs/performance.md#why-gmm-misses). Only the order of additions into
sums and incremented elements changes.
"""

from __future__ import annotations

import ast
import copy
import re

from adjit.passes.optimize.ascending import (_ascending_bounds, _index_seen_after, _reverse_start,
                                    _unaliased_fresh_arrays)
from adjit.passes.analysis.loopforms import (add_origin, is_comment, is_simple_loop,
                                    loops_with_ancestors, names_in, remove_statements,
                                    statement_reads, stored_names)
from adjit.passes.ir.fold import integer_constant
from adjit.passes.ir.render import comment
from adjit.passes.reverse.snapshot import kept_note

_TEMPORARY = re.compile(r"_(b_)?t\d+$")


def count_upwards(function: ast.FunctionDef, ranks: dict[str, int], ints: set[str]
                  ) -> ast.FunctionDef:
    fresh = _unaliased_fresh_arrays(function, ranks)
    fixed = _fixed_names(function)
    start = _reverse_start(function)
    reverse_sweep = function.body[start:]
    for outer, ancestors, block in list(loops_with_ancestors(reverse_sweep)):
        starts = getattr(outer, "counter_starts", None)
        if not starts or _ascending_bounds(outer) is None:
            continue
        shape = _nest_shape(outer)
        if shape is None:
            continue
        before, inner, after = shape
        counter = _counter(inner, starts, ints)
        if counter is None or _ascending_bounds(inner) is None:
            continue
        first = starts[counter]
        if not names_in(first) <= fixed | _enclosing_indices(ancestors) \
                or not _independent(outer, before, inner, after, counter, fresh) \
                or _index_seen_after(function, outer) or _index_seen_after(function, inner):
            continue
        _flip(outer, inner, counter)
        reset = add_origin([ast.Assign([ast.Name(counter, ast.Store())], copy.deepcopy(first))],
                           getattr(outer, "origin", None))
        note = comment(f"walked in the primal's order, {counter} from where the primal starts "
                       "it (docs/architecture.md#vectorisable-reverse-sweeps)")
        position = block.index(outer)
        later = _live_after(function.body, outer, counter)
        block[position:position + 1] = [note] + reset + [outer] + \
            (copy.deepcopy(reset) if later else [])
        _drop_dead_restore(function, block, position + 1, counter)
        ast.copy_location(reset[0], outer)
        ast.fix_missing_locations(function)
    # (a nest at the top level of the reverse sweep changed this list, a copy)
    function.body[start:] = reverse_sweep
    return function


def _drop_dead_restore(function: ast.FunctionDef, block: list[ast.stmt], position: int,
                       counter: str) -> None:
    """The nest now sets the counter itself: a restore of it just before
    (`index = _snap_index[ik]`, with nothing between reading the counter)
    is dead, and so is a buffer that only that restore read."""
    for earlier in range(position - 1, -1, -1):
        node = block[earlier]
        if is_comment(node):
            continue
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id == counter \
                and not any(isinstance(inner, ast.Call) for inner in ast.walk(node.value)) \
                and counter not in names_in(node.value):
            del block[earlier]
            if isinstance(node.value, ast.Subscript) and isinstance(node.value.value, ast.Name):
                _drop_unread_buffer(function, node.value.value.id, counter)
            return
        if _first_use([node], counter) is not None or counter in stored_names([node]):
            return




def _drop_unread_buffer(function: ast.FunctionDef, buffer: str, counter: str) -> None:
    """Remove `buffer`'s allocation and element stores when nothing reads it."""
    stores, allocations = set(), set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript) \
                and isinstance(node.targets[0].value, ast.Name) \
                and node.targets[0].value.id == buffer and buffer not in names_in(node.value) \
                and buffer not in names_in(node.targets[0].slice):
            stores.add(id(node))
            stores.add(id(node.targets[0].value))
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id == buffer and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) \
                and isinstance(node.value.func.value, ast.Name) \
                and node.value.func.value.id == "np" \
                and node.value.func.attr in ("empty", "zeros"):
            allocations.add(id(node))
            allocations.add(id(node.targets[0]))
    if not allocations or any(isinstance(node, ast.Name) and node.id == buffer
                              and id(node) not in stores | allocations
                              for node in ast.walk(function)):
        return
    remove_statements(function.body, lambda node: id(node) in stores | allocations)
    for node in ast.walk(function):               # the snapshot's comment
        kept = getattr(node, "kept", None)
        if kept is not None and counter in kept[0]:
            names = [name for name in kept[0] if name != counter]
            node.kept = (names,) + kept[1:]
            node.value.value = kept_note(names, *kept[1:])


def _fixed_names(function: ast.FunctionDef) -> set[str]:
    """Names with one value wherever they are bound: parameters never
    rebound, and names bound once, by a statement at the function's top
    level (a binding inside a loop takes a value per iteration)."""
    parameters = {argument.arg for argument in function.args.posonlyargs + function.args.args}
    counts: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    top_level = {node.targets[0].id for node in function.body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    return {name for name in parameters if name not in counts} | \
        {name for name in top_level - parameters if counts.get(name) == 1}


def _enclosing_indices(ancestors) -> set[str]:
    """The indices of the reversed loops around the nest that nothing in
    them rebinds: each holds, in the iteration that reverses one of its
    primal's, that iteration's value."""
    found = set()
    for loop, _ in ancestors:
        if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) \
                and loop.target.id not in stored_names(loop.body):
            found.add(loop.target.id)
    return found


def _nest_shape(outer: ast.For):
    """(statements before, the inner loop, statements after) of the outer
    body, or None unless it is straight-line code around one simple loop."""
    body = [node for node in outer.body if not is_comment(node)]
    loops = [node for node in body if isinstance(node, (ast.For, ast.While))]
    if len(loops) != 1 or not is_simple_loop(loops[0]):
        return None
    inner = loops[0]
    position = body.index(inner)
    before, after = body[:position], body[position + 1:]
    if not all(_straight(node) for node in before + after):
        return None
    return before, inner, after


def _straight(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Assign, ast.AugAssign)):
        return True
    return isinstance(node, ast.If) and all(
        is_comment(inner) or isinstance(inner, (ast.Assign, ast.AugAssign))
        for inner in node.body + node.orelse)


def _counter(inner: ast.For, starts: dict[str, ast.expr], ints: set[str]) -> str | None:
    """The one name of `starts` the inner loop steps down by one."""
    found = [name for name in starts if name in ints
             and sum(_steps_down(node, name) for node in inner.body) == 1]
    return found[0] if len(found) == 1 else None


def _steps_down(node: ast.stmt, name: str) -> bool:
    """`name = name - 1` or `name -= 1`."""
    if isinstance(node, ast.AugAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name \
            and isinstance(node.op, ast.Sub) and integer_constant(node.value) == 1
    return isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
        and node.targets[0].id == name and isinstance(node.value, ast.BinOp) \
        and isinstance(node.value.op, ast.Sub) and isinstance(node.value.left, ast.Name) \
        and node.value.left.id == name and integer_constant(node.value.right) == 1


# ---- may the iterations run in the other order? -----------------------------------

def _independent(outer: ast.For, before, inner: ast.For, after, counter: str,
                 fresh: set[str]) -> bool:
    inner_body = [node for node in inner.body if not is_comment(node)]
    step = next(node for node in inner_body if _steps_down(node, counter))
    nest_statements = before + [inner] + after
    # the counter: stepped once, read only in the inner body
    if counter in _names_of(before + after) | names_in(outer.iter) | names_in(inner.iter) \
            or sum(counter in stored_names([node]) for node in inner_body) != 1:
        return False
    bound_in_nest = stored_names(nest_statements) - {counter}
    sums = _sums(nest_statements)
    locals_of_outer = {name for name in sums if name in stored_names(before)}
    # outer level: temporaries bound before they are read, sums
    assigned = set()
    for node in before + after:
        for statement in _flattened(node):
            if (statement_reads(statement) - assigned - {outer.target.id}) & bound_in_nest - sums:
                return False
            assigned |= stored_names([statement])
        if isinstance(node, ast.If) and names_in(node.test) & bound_in_nest - assigned:
            return False
    if not all(_TEMPORARY.match(name) or name in sums
               for name in stored_names(before + after)):
        return False
    if names_in(inner.iter) & (bound_in_nest - stored_names(before)):
        return False
    # inner level
    assigned = set(stored_names(before))
    for node in inner_body:
        if node is step:
            continue
        if (statement_reads(node) - assigned - {inner.target.id, outer.target.id, counter}) \
                & bound_in_nest - sums:
            return False
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if isinstance(target, ast.Name):
            name = target.id
            if name in sums:
                if not isinstance(node, ast.AugAssign):
                    return False
            elif not _TEMPORARY.match(name) or isinstance(node, ast.AugAssign):
                return False
            assigned.add(name)
    inner_bound = stored_names(inner_body) - {counter}
    if _names_of(after) & (inner_bound - locals_of_outer):
        return False                 # the value the last inner iteration left
    # sums: read nowhere in the nest but after the inner loop (locals of
    # the outer iteration), or nowhere at all
    for name in sums:
        readers = [node for node in _all_statements(nest_statements)
                   if name in statement_reads(node) and not _adds_to(node, name)]
        if name in locals_of_outer:
            if any(node not in _all_statements(after) for node in readers):
                return False
        elif readers:
            return False
    # arrays: fresh, only incremented, never read in the nest
    for node in _all_statements(nest_statements):
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if isinstance(target, ast.Subscript):
            array = target.value.id if isinstance(target.value, ast.Name) else None
            if array not in fresh or not isinstance(node, ast.AugAssign) \
                    or not isinstance(node.op, (ast.Add, ast.Sub)):
                return False
    written = {node.target.value.id for node in _all_statements(nest_statements)
               if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript)}
    reads = set()
    for node in _all_statements(nest_statements):
        reads |= names_in(node.value) | (names_in(node.targets[0]) if isinstance(node, ast.Assign)
                                       else names_in(node.target.slice)
                                       if isinstance(node.target, ast.Subscript) else set())
    for node in nest_statements:
        if isinstance(node, ast.If):
            reads |= names_in(node.test)
    reads |= names_in(outer.iter) | names_in(inner.iter)
    return not written & reads


def _adds_to(node: ast.stmt, name: str) -> bool:
    """`name += e` (or `-=`) with `e` not reading `name`."""
    return isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
        and node.target.id == name and isinstance(node.op, (ast.Add, ast.Sub)) \
        and name not in names_in(node.value)


def _sums(statements) -> set[str]:
    """Names the nest only adds to (`s += e`), apart from one binding
    before the inner loop."""
    found = set()
    for node in _all_statements(statements):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and isinstance(node.op, (ast.Add, ast.Sub)):
            found.add(node.target.id)
    return found


def _flattened(node: ast.stmt) -> list[ast.stmt]:
    if isinstance(node, ast.If):
        return [inner for inner in node.body + node.orelse if not is_comment(inner)]
    return [node]


def _all_statements(statements) -> list[ast.stmt]:
    out = []
    for node in statements:
        if isinstance(node, ast.For):
            out.extend(inner for inner in node.body if not is_comment(inner))
        else:
            out.extend(_flattened(node))
    return out






def _names_of(statements) -> set[str]:
    return {name for node in statements for name in names_in(node)}


def _live_after(body: list[ast.stmt], nest: ast.For, name: str) -> bool:
    """Can a statement run after `nest` read `name` before binding it
    again? Walks out from the nest's block: the rest of each block, then, in
    a loop's body, the body's start (its next iteration), then what follows
    the loop."""
    for block, position, is_loop_body in reversed(_path_to(body, nest, False) or []):
        seen = _first_use(block[position + 1:], name)
        if seen is not None:
            return seen == "read"
        if is_loop_body and _first_use(block[:position], name) == "read":
            return True
    return False


def _path_to(block: list[ast.stmt], target: ast.stmt, is_loop_body: bool):
    """[(block, position, whether it is a loop's body)] from `block` down
    to the one holding `target`."""
    for position, node in enumerate(block):
        if node is target:
            return [(block, position, is_loop_body)]
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                found = _path_to(inner, target, isinstance(node, (ast.For, ast.While))
                                 and field == "body")
                if found:
                    return [(block, position, is_loop_body)] + found
    return None


def _first_use(statements: list[ast.stmt], name: str) -> str | None:
    """"read" or "bound", whichever the statements do to `name` first; a
    binding inside an `if` or a loop may not happen, so the scan goes on
    past it; None for neither."""
    for node in statements:
        if isinstance(node, (ast.For, ast.While, ast.If)):
            header = node.iter if isinstance(node, ast.For) else node.test
            if _reads_name(header, name) or "read" in (_first_use(node.body, name),
                                                       _first_use(node.orelse, name)):
                return "read"
            continue
        if _reads_name(node, name) or (isinstance(node, ast.AugAssign)
                                       and isinstance(node.target, ast.Name)
                                       and node.target.id == name):
            return "read"
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id == name:
            return "bound"
    return None


def _reads_name(node: ast.AST, name: str) -> bool:
    return any(isinstance(inner, ast.Name) and inner.id == name
               and isinstance(inner.ctx, ast.Load) for inner in ast.walk(node))


# ---- the rewrite ------------------------------------------------------------------------

def _flip(outer: ast.For, inner: ast.For, counter: str) -> None:
    for loop in (outer, inner):
        first, stop = _ascending_bounds(loop)
        loop.iter = ast.Call(ast.Name("range", ast.Load()),
                             [stop] if integer_constant(first) == 0 else [first, stop], [])
    body = inner.body
    step = next(node for node in body if _steps_down(node, counter))
    position = body.index(step)
    before = [_AheadOfStep(counter).visit(node) for node in body[:position]]
    stepped = ast.Assign([ast.Name(counter, ast.Store())],
                         ast.BinOp(ast.Name(counter, ast.Load()), ast.Add(), ast.Constant(1)))
    stepped.origin = getattr(step, "origin", None)
    ast.copy_location(stepped, step)
    inner.body = before + body[position + 1:] + [stepped]


class _AheadOfStep(ast.NodeTransformer):
    """Reads of the counter before its step, which saw one more than the
    value the upward walk holds: `c - 1` becomes `c`, `c` becomes `c + 1`."""

    def __init__(self, counter: str):
        self.counter = counter

    def visit_BinOp(self, node: ast.BinOp):
        if isinstance(node.left, ast.Name) and node.left.id == self.counter \
                and isinstance(node.op, (ast.Add, ast.Sub)) \
                and integer_constant(node.right) is not None:
            offset = integer_constant(node.right) * (1 if isinstance(node.op, ast.Add) else -1)
            offset += 1
            if offset == 0:
                return ast.Name(self.counter, ast.Load())
            return ast.BinOp(ast.Name(self.counter, ast.Load()),
                             ast.Add() if offset > 0 else ast.Sub(), ast.Constant(abs(offset)))
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name):
        if node.id == self.counter and isinstance(node.ctx, ast.Load):
            return ast.BinOp(ast.Name(self.counter, ast.Load()), ast.Add(), ast.Constant(1))
        return node
