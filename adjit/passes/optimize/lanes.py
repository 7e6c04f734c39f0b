"""lanes: a scalar adjoint summed in an inner loop is summed per index.

Input: a generated reverse-mode `FunctionDef` (after `optimize`), the names
of its float scalar adjoints and the function's `Namer`.
Output: an equivalent function in which a scalar adjoint `s` that a
*simple loop* (`loopforms.is_simple_loop`) with a unit step only increments
(`s += e`, `s -= e`, `e` not reading `s`), inside a loop nest at the top
level of the function that mentions `s` nowhere else, is accumulated in an
array with one element per index of the inner loop, allocated before the
nest and summed into `s` after it:

    _b_dt_lanes = np.zeros(max(n - 2 + 1, 0))
    for step in range(steps - 1, -1, -1):
        for i in range(n - 2, 0, -1):
            ...
            _b_dt_lanes[i] += _b_t6 * _t7          # was: _b_dt += _b_t6 * _t7
    _b_dt += np.sum(_b_dt_lanes)

Why: `s += e` in a loop is a chain of dependent floating-point additions
(4 cycles each, whatever else the iteration does), and LLVM may not
reassociate them to vectorise; per-index lanes are independent
read-modify-writes that vectorise with the rest of the loop (the gradient
with respect to `dt` of a stencil, the parameter of a recurrence). Only the
order of the additions changes. The inner loop's bounds must be the same in
every iteration of the nest (names the nest never rebinds), so that one
array covers every index it visits; no loop of the nest may be a `prange`
loop.
"""

from __future__ import annotations

import ast

from adjit.passes.ir.build import name as name_node
from adjit.passes.ir.build import statement
from adjit.passes.analysis.loopforms import (add_origin, is_simple_loop,
                                    loops_with_ancestors, mentions, range_arguments,
                                    stored_names, unit_step)
from adjit.passes.ir.fold import integer_constant
from adjit.passes.analysis.parallel import is_parallel
from adjit.passes.ir.render import comment


def sum_in_lanes(function: ast.FunctionDef, scalar_adjoints: set[str], namer
                 ) -> ast.FunctionDef:
    for loop, ancestors, _ in list(loops_with_ancestors(function.body)):
        if not ancestors or any(is_parallel(outer) for outer, _ in ancestors) \
                or not is_simple_loop(loop) or unit_step(loop) is None:
            continue
        nest, nest_block = ancestors[0]
        if nest_block is not function.body:
            continue
        for accumulator in sorted(_accumulators(loop) & scalar_adjoints):
            if _only_in(nest, loop, accumulator) and \
                    not _names(range_arguments(loop)) & stored_names([nest]):
                _rewrite(function, nest, loop, accumulator, namer)
    return function


def _accumulators(loop: ast.For) -> set[str]:
    found, disqualified = set(), set()
    for node in loop.body:
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and isinstance(node.op, (ast.Add, ast.Sub)) \
                and not mentions(node.value, node.target.id):
            found.add(node.target.id)
        else:
            disqualified |= {inner.id for inner in ast.walk(node) if isinstance(inner, ast.Name)}
    return found - disqualified


def _only_in(nest: ast.stmt, loop: ast.For, accumulator: str) -> bool:
    """Is every mention of `accumulator` in `nest` inside `loop`?"""
    inside = sum(1 for node in ast.walk(loop)
                 if isinstance(node, ast.Name) and node.id == accumulator)
    total = sum(1 for node in ast.walk(nest)
                if isinstance(node, ast.Name) and node.id == accumulator)
    return inside == total


def _names(nodes: list[ast.expr]) -> set[str]:
    return {inner.id for node in nodes for inner in ast.walk(node)
            if isinstance(inner, ast.Name)}


def _lane_index_and_size(loop: ast.For) -> tuple[str, str]:
    """The lane of index `i` and the number of lanes, as source text: `i`
    itself when every index the loop visits is >= 0 (known from a literal
    bound), else `i` less the first index."""
    index = loop.target.id
    arguments = [ast.unparse(argument) for argument in range_arguments(loop)]
    if unit_step(loop) == 1:
        if len(arguments) == 1:
            return index, arguments[0]
        start = integer_constant(range_arguments(loop)[0])
        if start is not None and start >= 0:
            return index, arguments[1]
        return f"{index} - ({arguments[0]})", f"({arguments[1]}) - ({arguments[0]})"
    start, stop = range_arguments(loop)[:2]
    if integer_constant(stop) is not None and integer_constant(stop) >= -1:
        # the reverse sweep's `range(m - 1, ..., -1)` visits at most m lanes
        if isinstance(start, ast.BinOp) and isinstance(start.op, ast.Sub) \
                and integer_constant(start.right) == 1:
            return index, ast.unparse(start.left)
        return index, f"{arguments[0]} + 1"
    return f"({arguments[0]}) - {index}", f"({arguments[0]}) - ({arguments[1]})"


def _rewrite(function, nest, loop, accumulator, namer) -> None:
    lanes = namer.unique(f"{accumulator}_lanes")
    lane, size = _lane_index_and_size(loop)
    origin = None
    for position, node in enumerate(loop.body):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == accumulator:
            replaced = ast.AugAssign(ast.Subscript(name_node(lanes), ast.parse(
                lane, mode="eval").body, ast.Store()), node.op, node.value)
            origin = getattr(node, "origin", None)
            replaced.origin = origin
            loop.body[position] = replaced
    at = next(k for k, node in enumerate(function.body) if node is nest)
    function.body[at + 1:at + 1] = add_origin(
        [statement(f"{accumulator} += np.sum({lanes})")], origin)
    function.body[at:at] = [comment(f"{accumulator} is summed per index of an inner loop, "
                                    "then once (docs/performance.md#stencils)")] + add_origin(
        [statement(f"{lanes} = np.zeros(max({size}, 0))")], origin)
