"""block_pops: a reversed loop's restoring pops become one block copy.

Input: a generated reverse-mode `FunctionDef` after `optimize` (host code:
device tapes are not touched), before `ascending`.
Output: the same function where a *simple loop* (`loopforms`) of the form

    for i in range(_t20 - 1, 0, -1):              # range(1, _t20) reversed
        _b_t21 = _b_u[i]
        _b_u[i] = 0.0
        _top_f -= 1
        u[i] = _tape_f[_top_f]                    # restores the old u[i]
        _b_v[i] += _b_t21

has its pops taken out and done before it, in one block copy:

    _count1 = max(_t20 - 1, 0)
    _top_f -= _count1
    for _k1 in range(_count1):
        u[1 + _k1] = _tape_f[_top_f + _k1]
    for i in range(_t20 - 1, 0, -1):
        _b_t21 = _b_u[i]
        _b_u[i] = 0.0
        _b_v[i] += _b_t21

when

* the loop steps down by one over `range(a, b)` reversed, with `a`
  provably >= 0 (`loopforms.never_negative`: an element index wraps around
  below 0, a slice bound does not), and nothing in the body rebinds a name
  the bounds read;
* it pops once per iteration, `TOP -= 1` then `A[..., i] = TAPE[TOP]`:
  the element the iteration's loop index names, the other components of
  the index not rebound in the body;
* no other statement of the body mentions `TOP`, `TAPE` or `A`, and the
  arrays it indexes are made fresh in this function and reached by no
  other name (adjoints, scratch arrays: none is a view of `A`), so moving
  the restores before the rest changes nothing the rest reads;
* no read of the loop index after the loop can see its last value.

Why: the forward sweep pushed `A[i]` for i = a, a+1, ..., b-1, so the
tape holds those elements in that order just below `TOP`. One block copy
is a `memcpy` (LLVM recognises the loop) where the loop did a scalar load
and store interleaved with the adjoint's work per iteration,
and the rest of the loop, now free of the tape, can run upwards
(`ascending`) and be fused with the next one (`handoff`). In the heat
stencil's gradient this is the loop undoing `u[i] = v[i]` in every step.
"""

from __future__ import annotations

import ast
import copy

from adjit.passes.optimize.ascending import _index_seen_after, _unaliased_fresh_arrays
from adjit.passes.ir.build import statement
from adjit.passes.analysis.loopforms import (add_origin, is_comment, is_simple_loop,
                                    loops_with_ancestors, names_in, nonnegative_names,
                                    never_negative, range_arguments, stored_names)
from adjit.passes.ir.fold import fold, integer_constant


def pop_in_blocks(function: ast.FunctionDef, ranks: dict[str, int], namer
                  ) -> ast.FunctionDef:
    nonnegative = nonnegative_names(function)
    fresh = _unaliased_fresh_arrays(function, ranks)
    for loop, _, block in list(loops_with_ancestors(function.body)):
        if not is_simple_loop(loop):
            continue
        bounds = _forward_bounds(loop)
        pop = _restoring_pop(loop)
        if bounds is None or pop is None or _index_seen_after(function, loop):
            continue
        start, stop = bounds
        if not never_negative(start, 0, nonnegative) or \
                names_in(start, stop) & stored_names(loop.body):
            continue
        step, restore = pop
        top, tape = step.target.id, restore.value.value.id
        if ranks.get(restore.targets[0].value.id) != len(_parts(restore.targets[0].slice)):
            continue                             # an element, not a row, is restored
        rest = [node for node in loop.body if node is not step and node is not restore]
        if any(_mentions(node, {top, tape, restore.targets[0].value.id}) for node in rest) \
                or not _subscripted(rest) <= fresh:
            continue
        loop.body = rest
        block[block.index(loop):block.index(loop)] = _block_copy(
            restore, start, stop, top, tape, namer, nonnegative)
    return function


def _forward_bounds(loop: ast.For) -> tuple[ast.expr, ast.expr] | None:
    """`range(b - 1, a - 1, -1)` (the reversal of `range(a, b)`): (a, b)."""
    arguments = range_arguments(loop)
    if arguments is None or len(arguments) != 3 or integer_constant(arguments[2]) != -1:
        return None
    last, before_first, _ = arguments
    return _plus(before_first, 1), _plus(last, 1)


def _linear(node: ast.expr) -> tuple[ast.expr | None, int]:
    """`node` as `base + c` (base None for a constant)."""
    constant = integer_constant(node)
    if constant is not None:
        return None, constant
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        offset = integer_constant(node.right)
        if offset is not None:
            base, inner = _linear(node.left)
            return base, inner + (offset if isinstance(node.op, ast.Add) else -offset)
    return node, 0


def _spelled(base: ast.expr | None, offset: int) -> ast.expr:
    if base is None:
        return ast.Constant(offset)
    if offset == 0:
        return copy.deepcopy(base)
    return ast.BinOp(copy.deepcopy(base), ast.Add() if offset > 0 else ast.Sub(),
                     ast.Constant(abs(offset)))


def _plus(node: ast.expr, offset: int) -> ast.expr:
    base, constant = _linear(node)
    return _spelled(base, constant + offset)


def _difference(stop: ast.expr, start: ast.expr) -> ast.expr:
    (stop_base, stop_offset), (start_base, start_offset) = _linear(stop), _linear(start)
    if start_base is None:
        return _spelled(stop_base, stop_offset - start_offset)
    if stop_base is not None and ast.dump(stop_base) == ast.dump(start_base):
        return ast.Constant(stop_offset - start_offset)
    return fold(ast.BinOp(copy.deepcopy(stop), ast.Sub(), copy.deepcopy(start)))


def _restoring_pop(loop: ast.For) -> tuple[ast.AugAssign, ast.Assign] | None:
    """The loop's one pop, `TOP -= 1` then `A[..., i] = TAPE[TOP]`."""
    body = [node for node in loop.body if not is_comment(node)]
    index = loop.target.id
    found = []
    for step, restore in zip(body, body[1:]):
        if isinstance(step, ast.AugAssign) and isinstance(step.op, ast.Sub) \
                and isinstance(step.target, ast.Name) and integer_constant(step.value) == 1 \
                and isinstance(restore, ast.Assign) \
                and isinstance(restore.targets[0], ast.Subscript) \
                and isinstance(restore.targets[0].value, ast.Name) \
                and isinstance(restore.value, ast.Subscript) \
                and isinstance(restore.value.value, ast.Name) \
                and isinstance(restore.value.slice, ast.Name) \
                and restore.value.slice.id == step.target.id:
            found.append((step, restore))
    if len(found) != 1:
        return None
    step, restore = found[0]
    parts = _parts(restore.targets[0].slice)
    last = parts[-1]
    if not isinstance(last, ast.Name) or last.id != index:
        return None
    if any(isinstance(part, ast.Slice) or names_in(part) & (stored_names(loop.body) | {index})
           for part in parts[:-1]):
        return None
    return step, restore


def _block_copy(restore: ast.Assign, start: ast.expr, stop: ast.expr, top: str,
                tape: str, namer, nonnegative: set[str]) -> list[ast.stmt]:
    element = restore.targets[0]
    count = namer.fresh("count")
    first = integer_constant(start)
    trips = ast.unparse(_difference(stop, start))
    array = element.value.id
    # a range that runs backwards from its start is empty: no pops
    known = trips if never_negative(_difference(stop, start), 0, nonnegative) \
        else f"max({trips}, 0)"
    offset = namer.fresh("k")
    target = f"{ast.unparse(start)} + {offset}" if first != 0 else offset
    parts = [ast.unparse(part) for part in _parts(element.slice)[:-1]] + [target]
    # a loop, not a slice assignment: Numba compiles a slice copy (with its
    # broadcasting checks and their messages) in seconds, a loop in
    # milliseconds, and LLVM makes the same memcpy of both
    code = [statement(f"{count} = {known}"),
            statement(f"{top} -= {count}"),
            statement(f"for {offset} in range({count}):\n"
                      f"    {array}[{', '.join(parts)}] = {tape}[{top} + {offset}]")]
    return add_origin(code, getattr(restore, "origin", None))


def _parts(index: ast.expr) -> list[ast.expr]:
    return list(index.elts) if isinstance(index, ast.Tuple) else [index]


def _subscripted(statements: list[ast.stmt]) -> set[str]:
    """The arrays the statements index (none of them may be a view of the
    restored array: only arrays no other name reaches qualify)."""
    return {inner.value.id for node in statements for inner in ast.walk(node)
            if isinstance(inner, ast.Subscript) and isinstance(inner.value, ast.Name)}


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return bool(names_in(node) & names)


