"""scatter: the shifted increments of an adjoint array leave their loop.

Input: a generated reverse-mode `FunctionDef` after `optimize`, the ranks of
its adjoint arrays (`adjoint name -> rank`) and the function's `Namer`.
Output: an equivalent function in which every *simple loop*
(`loopforms.is_simple_loop`) that adds into one adjoint array at two or
more offsets of its index - the reverse sweep of a stencil,

    for i in range(n - 2, 0, -1):
        ...
        _b_u[_t14] += _b_t7            # _t14 = i + 1
        _b_u[_t10] += _b_t7            # _t10 = i - 1
        _b_u[i] += _b_t19 + _b_t3

keeps the increments at its first offset (0 where there is one) and writes
the others into scratch arrays of the adjoint's shape, at the element they
are meant for; one loop per offset then adds them in:

    _b_u_at_p1 = np.empty_like(_b_u)            # beside `_b_u`'s allocation
    ...
    for i in range(n - 2, 0, -1):
        ...
        _b_u_at_p1[_t14] = _b_t7
        _b_u_at_m1[_t10] = _b_t7
        _b_u[i] += _b_t19 + _b_t3
    for i in range(n - 2, 0, -1):
        _b_u[i + 1] += _b_u_at_p1[i + 1]
    for i in range(n - 2, 0, -1):
        _b_u[i - 1] += _b_u_at_m1[i - 1]

Offsets whose one increment each adds the same name (a symmetric
stencil: `_b_u[i + 1] += _b_t7`, `_b_u[i - 1] += _b_t7`) share one scratch
array, stored once per iteration at the first offset's element
(`_b_u_at_m1_p1[i - 1] = _b_t7`), which both gather loops read
(`_b_u[i + 1] += _b_u_at_m1_p1[i - 1]`): one store stream less, and one
array less in the loop's working set (12% of the heat stencil's gradient
at n = 2000).

Why: increments at several offsets make neighbouring iterations
read-modify-write the same element, a dependence through memory that keeps
LLVM from vectorising the loop (it cannot reorder them). After the split,
each loop writes each element at most once.

When: the array is allocated once at the top level of the function
(`np.zeros_like`, `np.zeros`, `np.copy`) and used everywhere else only
through full-rank element reads and writes, as the whole value added into
another array (`_b_u0 += _b_u`) and in the `return` (no view of it exists,
nothing aliases it); in the loop it is touched only by `+=`/`-=`
of values that do not read it; every index has one component that is the
loop index plus a constant (directly, or through a name the body binds once
to `i + c` before it is used), provably never negative (`loopforms.
never_negative`: a negative index wraps around, and two iterations would
share a scratch element), and its other components are the same in every
increment and not rebound in the loop; no loop around it is a `prange`
loop. Every increment then commutes with the rest of the body,
so delaying it to after the loop changes nothing but the order of the
floating-point additions into each element.
"""

from __future__ import annotations

import ast
import copy

from adjit.passes.ir.build import name as name_node
from adjit.passes.analysis.loopforms import (add_origin, is_simple_loop, loops_with_ancestors,
                                    lowest_index, mentions, names_in, never_negative,
                                    nonnegative_names, stored_names)
from adjit.passes.ir.fold import integer_constant
from adjit.passes.optimize.ascending import _summed
from adjit.passes.analysis.parallel import is_parallel
from adjit.passes.ir.render import comment

_FRESH_ARRAYS = {"zeros_like", "zeros", "copy"}


def split_shifted_increments(function: ast.FunctionDef, ranks: dict[str, int],
                             namer) -> ast.FunctionDef:
    allocations = _allocations(function, ranks)
    nonnegative = nonnegative_names(function)
    for loop, ancestors, block in list(loops_with_ancestors(function.body)):
        if any(is_parallel(outer) for outer, _ in ancestors) or not is_simple_loop(loop) \
                or names_in(loop.iter) & stored_names(loop.body):
            continue       # (the gather loops re-evaluate the range after the loop)
        lowest = lowest_index(loop)
        for array in sorted(set(allocations) & _incremented_arrays(loop)):
            plan = _plan(loop, array, ranks[array])
            # every moved element `i + c` must be >= 0: a negative index wraps
            # around, and two iterations would store into one scratch element
            if plan is not None and lowest is not None and all(
                    never_negative(lowest, offset, nonnegative)
                    for offset in plan[0].values()):
                _split(function, loop, block, array, plan, allocations, namer)
    return function


# ---- which arrays qualify ---------------------------------------------------------

def private_adjoint_arrays(function: ast.FunctionDef, ranks: dict[str, int]) -> set[str]:
    """The adjoint arrays made fresh once at the top level that no other
    name or view refers to (touched only by full-rank element reads and
    writes, read whole by `+=`, returned)."""
    return set(_allocations(function, ranks))


def _allocations(function: ast.FunctionDef, ranks: dict[str, int]) -> dict[str, ast.stmt]:
    """Adjoint arrays made fresh once at the top level and never aliased:
    name -> the statement that makes them."""
    made: dict[str, ast.stmt] = {}
    for node in function.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ranks and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) \
                and isinstance(node.value.func.value, ast.Name) \
                and node.value.func.value.id == "np" \
                and node.value.func.attr in _FRESH_ARRAYS:
            made.setdefault(node.targets[0].id, node)
    uses: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id in made:
            uses[node.id] = uses.get(node.id, 0) + 1
    allowed: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in made and _full_rank(node.slice, ranks[node.value.id]):
            allowed[node.value.id] = allowed.get(node.value.id, 0) + 1
        elif isinstance(node, ast.AugAssign):
            # `_b_u0 += _b_u`, `_b_u0 += _b_v + _b_u`: read whole into another
            # array, no alias
            for term in _summed(node.value):
                if isinstance(term, ast.Name) and term.id in made:
                    allowed[term.id] = allowed.get(term.id, 0) + 1
            # `_b_u += rt.unbroadcast(...)`: a whole-array increment outside
            # the loops, from values that do not read the array
            if isinstance(node.target, ast.Name) and node.target.id in made \
                    and not mentions(node.value, node.target.id):
                allowed[node.target.id] = allowed.get(node.target.id, 0) + 1
        elif isinstance(node, ast.Return) and node.value is not None:
            for element in (node.value.elts if isinstance(node.value, ast.Tuple)
                            else [node.value]):
                if isinstance(element, ast.Name) and element.id in made:
                    allowed[element.id] = allowed.get(element.id, 0) + 1
    for array, statement in made.items():
        allowed[array] = allowed.get(array, 0) + 1          # its own allocation
        if uses.get(array, 0) != allowed[array] or mentions(statement.value, array):
            made[array] = None
    return {array: statement for array, statement in made.items() if statement is not None}


def _full_rank(index: ast.expr, rank: int) -> bool:
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return len(parts) == rank and not any(
        isinstance(part, ast.Slice) or (isinstance(part, ast.Constant) and part.value is None)
        for part in parts)


def _incremented_arrays(loop: ast.For) -> set[str]:
    return {node.target.value.id for node in loop.body
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript)
            and isinstance(node.target.value, ast.Name)}


# ---- planning one loop --------------------------------------------------------------

def _plan(loop: ast.For, array: str, rank: int):
    """{position in the body: (offset, the varying component's position)}
    for the increments of `array`, or None when the loop does not qualify."""
    index_name = loop.target.id
    rebound = stored_names(loop.body)
    shifts: dict[str, int] = {index_name: 0}      # names holding `i + c`
    bound_once = _bound_once(loop.body)
    increments: dict[int, int] = {}
    fixed_parts = None
    varying_at = None
    for position, node in enumerate(loop.body):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in bound_once:
            offset = _offset_of(node.value, index_name)
            if offset is not None:
                shifts[node.targets[0].id] = offset
        if not mentions(node, array):
            continue
        if not (isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub))
                and isinstance(node.target, ast.Subscript)
                and isinstance(node.target.value, ast.Name) and node.target.value.id == array
                and not mentions(node.value, array)):
            return None
        parts = node.target.slice.elts if isinstance(node.target.slice, ast.Tuple) \
            else [node.target.slice]
        if len(parts) != rank:
            return None
        varying = [k for k, part in enumerate(parts)
                   if isinstance(part, ast.Name) and part.id in shifts]
        if len(varying) != 1:
            return None
        others = [ast.dump(part) for k, part in enumerate(parts) if k != varying[0]]
        if any(name in rebound for k, part in enumerate(parts) if k != varying[0]
               for name in names_in(part)):
            return None
        if fixed_parts is None:
            fixed_parts, varying_at = others, varying[0]
        elif others != fixed_parts or varying[0] != varying_at:
            return None
        increments[position] = shifts[parts[varying[0]].id]
    if len(set(increments.values())) < 2:
        return None
    return increments, varying_at


def _bound_once(body: list[ast.stmt]) -> set[str]:
    counts: dict[str, int] = {}
    for node in body:
        for name in stored_names([node]):
            counts[name] = counts.get(name, 0) + 1
    return {name for name, count in counts.items() if count == 1}


def _offset_of(value: ast.expr, index_name: str) -> int | None:
    """c for `i + c`, `c + i`, `i - c` (c an int literal), else None."""
    if not isinstance(value, ast.BinOp) or not isinstance(value.op, (ast.Add, ast.Sub)):
        return None
    left, right = value.left, value.right
    if isinstance(left, ast.Name) and left.id == index_name:
        constant = integer_constant(right)
        if constant is None:
            return None
        return constant if isinstance(value.op, ast.Add) else -constant
    if isinstance(value.op, ast.Add) and isinstance(right, ast.Name) \
            and right.id == index_name:
        return integer_constant(left)
    return None




# ---- rewriting --------------------------------------------------------------------

def _split(function, loop, block, array, plan, allocations, namer) -> None:
    increments, varying_at = plan
    offsets = sorted(set(increments.values()), key=lambda c: (c != 0, abs(c), c))
    kept, moved = offsets[0], offsets[1:]
    # offset -> (its scratch array, the offset whose element it is stored at)
    home = {}
    for group in _shared_groups(loop, increments, moved):
        suffix = "_".join(_spelled(offset) for offset in group)
        shared = namer.unique(f"{array}_at_{suffix}")
        home.update({offset: (shared, group[0]) for offset in group})
    for offset in moved:
        if offset not in home:
            home[offset] = (namer.unique(f"{array}_at_{_spelled(offset)}"), offset)
    # the index of the first moved increment: its fixed components serve all
    template = loop.body[next(p for p, c in increments.items() if c == moved[0])]
    stored: set[str] = set()
    removed: set[int] = set()
    for position, offset in increments.items():
        if offset == kept:
            continue
        node = loop.body[position]
        scratch, stored_at = home[offset]
        if stored_at != offset:
            removed.add(position)      # the same value, stored once for its group
            continue
        target = copy.deepcopy(node.target)
        target.value = name_node(scratch)
        if scratch in stored:
            replacement = ast.AugAssign(target, node.op, node.value)
        else:
            stored.add(scratch)
            value = node.value if isinstance(node.op, ast.Add) else \
                ast.UnaryOp(ast.USub(), node.value)
            target.ctx = ast.Store()
            replacement = ast.Assign([target], value)
        replacement.origin = getattr(node, "origin", None)
        loop.body[position] = replacement
    loop.body[:] = [node for position, node in enumerate(loop.body) if position not in removed]
    # one gather loop per moved offset, right after the loop
    gathers = [comment(f"the shifted increments of {array}, added after the loop "
                       "(docs/performance.md#stencils)")]
    for offset in moved:
        scratch, stored_at = home[offset]
        body = [ast.AugAssign(
            ast.Subscript(name_node(array), _shifted_index(template, varying_at, loop, offset),
                          ast.Store()), ast.Add(),
            ast.Subscript(name_node(scratch),
                          _shifted_index(template, varying_at, loop, stored_at), ast.Load()))]
        gathers.extend(add_origin([ast.For(name_node(loop.target.id, store=True),
                                           copy.deepcopy(loop.iter), body, [])],
                                  getattr(template, "origin", None)))
    position = next(k for k, node in enumerate(block) if node is loop)
    block[position + 1:position + 1] = gathers
    # the scratch arrays, beside the adjoint's allocation
    made = allocations[array]
    at = next(k for k, node in enumerate(function.body) if node is made)
    scratches = sorted({scratch for scratch, _ in home.values()})
    function.body[at + 1:at + 1] = add_origin(
        [ast.Assign([name_node(scratch, store=True)],
                    ast.Call(ast.Attribute(name_node("np"), "empty_like", ast.Load()),
                             [name_node(array)], [])) for scratch in scratches],
        getattr(made, "origin", None))


def _shared_groups(loop: ast.For, increments: dict[int, int], moved: list[int]):
    """Moved offsets whose one increment each adds the same name (`_b_u[i + 1]
    += _b_t7` and `_b_u[i - 1] += _b_t7`, a symmetric stencil): one scratch
    array can hold that value for all of them, stored once per iteration at
    the first one's element. The name is bound at most once in the body,
    before the first of them (or not at all), so it holds one value there."""
    bound = stored_names(loop.body)
    bound_once = _bound_once(loop.body)
    by_value: dict[tuple[str, str], list[int]] = {}
    positions: dict[int, list[int]] = {}
    for position, offset in increments.items():
        positions.setdefault(offset, []).append(position)
    for offset in moved:
        if len(positions[offset]) != 1:
            continue
        node = loop.body[positions[offset][0]]
        if isinstance(node.value, ast.Name) and \
                (node.value.id not in bound or node.value.id in bound_once):
            by_value.setdefault((node.value.id, type(node.op).__name__), []).append(offset)
    groups = []
    for offsets in by_value.values():
        if len(offsets) < 2:
            continue
        first = min(positions[offset][0] for offset in offsets)
        name = loop.body[first].value.id
        binding = [k for k, node in enumerate(loop.body) if name in stored_names([node])]
        if all(k < first for k in binding):
            groups.append(offsets)
    return groups


def _spelled(offset: int) -> str:
    return f"{'p' if offset > 0 else 'm'}{abs(offset)}"


def _shifted_index(template: ast.AugAssign, varying_at: int, loop: ast.For, offset: int):
    parts = copy.deepcopy(template.target.slice)
    shifted = _index_plus(loop.target.id, offset)
    if isinstance(parts, ast.Tuple):
        parts.elts[varying_at] = shifted
        return parts
    return shifted


def _index_plus(index_name: str, offset: int) -> ast.expr:
    if offset == 0:
        return name_node(index_name)
    return ast.BinOp(name_node(index_name), ast.Add() if offset > 0 else ast.Sub(),
                     ast.Constant(abs(offset)))
