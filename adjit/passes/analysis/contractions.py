"""contractions: matrix products, outer products and sums along an axis
with array results, as element loops (a part of `lower`).

Input: an ANF statement `t = A @ B` (or `np.dot(A, B)`; matrix by matrix,
matrix by vector, vector by matrix), `t = np.outer(a, b)` or
`t = np.sum(A, axis)` with a constant axis, inside a loop, `t` reached by
no other name; the `lower` pass at work (its names, types, extents).
Output (`emit_contraction`): the setup (extents; `rt.inner_extent`
checking that a product's inner extents agree), the allocation of `t` -
before the outermost loop that changes none of its extents, else in the
loop - and a nest over the elements of `t` whose body sums the terms along
the contracted dimension into a scalar:

    for _i1 in range(_n4):                  # t = X.T @ r
        _sum2 = 0.0
        for _k2 in range(_n10):
            _t14 = X[_k2, _i1]              # a transpose read through its operand
            _t15 = r[_k2]
            _t16 = _t14 * _t15
            _sum2 = _sum2 + _t16
        t[_i1] = _sum2

Operands are array names, transposes bound once (read through the array
they transpose, whose extents then stay fixed where the transpose is bound
in the loop), rows of a stack of slots (`_stack_A[_slot_A]`), and view
temporaries read only there. Anything else raises `Unlowerable`, and the
statement stays whole (the `arrays` checks then refuse it in a loop).
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from adjit.passes.analysis.element_loops import (LoopWriter, index_parts, int_atom, name_of,
                                                 primitive_call)
from adjit.passes.analysis.parallel import is_parallel
from adjit.passes.ir.fold import integer_constant
from adjit.rules.registry import is_array
from adjit.runtime import helpers as rt


class Unlowerable(Exception):
    """A statement `lower` leaves whole, and why."""


def is_contraction(value: ast.expr) -> bool:
    return product(value) is not None or _outer(value) or _axis_sum(value) is not None


def plan_contraction(lowering, value: ast.expr, statements, k, taken: set[int]):
    """(kind, operands, axis) for `emit_contraction`; each operand is
    (base, index parts, the base dimension of each of its own)."""
    if product(value) is not None:
        operands = [_operand(lowering, a, statements, k, taken) for a in product(value)]
        ranks = tuple(len(dims) for _, _, dims in operands)
        if ranks not in ((2, 2), (2, 1), (1, 2)):
            raise Unlowerable(f"a product of arrays of {ranks[0]} and {ranks[1]} dimensions")
        return "matmul", operands, None
    if _outer(value):
        operands = [_operand(lowering, a, statements, k, taken) for a in value.args]
        if any(len(dims) != 1 for _, _, dims in operands):
            raise Unlowerable("an outer product of other than vectors")
        return "outer", operands, None
    operand = _operand(lowering, value.args[0], statements, k, taken)
    axis = _axis_sum(value)
    rank = len(operand[2])
    if not -rank <= axis < rank:
        raise Unlowerable("an axis out of range")
    return "sum", [operand], axis % rank


def _operand(lowering, atom: ast.expr, statements, k, taken: set[int]):
    """An operand of a matrix product as (base, index parts, the base
    dimension of each of its own dimensions): `A` -> (A, [:, :], [0, 1]);
    `X.T` bound once to `_t3` -> (X, [:, :], [1, 0]); a row of a stack
    of slots `_stack_A[_slot_A]` -> (_stack_A, [_slot_A, :, :], [1, 2]).
    A view temporary read only here (`_t2 = q[i]`) is read through."""
    if isinstance(atom, ast.Name):
        definition = lowering.fusable(atom.id, statements, k)
        if definition is not None and isinstance(definition.value, ast.Subscript):
            taken.add(id(definition))
            atom = definition.value
    if isinstance(atom, ast.Name) and atom.id in lowering.transposes:
        base = lowering.transposes[atom.id]
        if lowering.rank(base) != 2:
            raise Unlowerable("a transpose of other than a matrix")
        return base, [ast.Slice(), ast.Slice()], [1, 0]
    if isinstance(atom, ast.Name) and is_array(lowering.types.get(atom.id)):
        rank = lowering.rank(atom.id)
        return atom.id, [ast.Slice()] * rank, list(range(rank))
    if isinstance(atom, ast.Subscript) and isinstance(atom.value, ast.Name) \
            and is_array(lowering.types.get(atom.value.id)):
        base = atom.value.id
        parts = index_parts(atom.slice)
        parts += [ast.Slice()] * (lowering.rank(base) - len(parts))
        if len(parts) > lowering.rank(base) or any(
                isinstance(p, ast.Constant) and p.value is None for p in parts) or any(
                isinstance(p, ast.Slice) and (p.lower or p.upper or p.step)
                for p in parts):
            raise Unlowerable("an operand that is a part of an array")
        return base, parts, [d for d, p in enumerate(parts) if isinstance(p, ast.Slice)]
    raise Unlowerable("an operand that is not an array")

def emit_contraction(lowering, node: ast.Assign, target: str, contraction,
                     loops) -> list[ast.stmt]:
    """A contraction with an array result as a loop over each element of
    the result whose body sums the terms along the contracted dimension:

    * `t = A @ B` (or `np.dot`; matrix by matrix, matrix by vector,
      vector by matrix): `t[i, j] = sum over k of A[i, k] * B[k, j]`,
      the inner extents checked to agree (`rt.inner_extent`, a
      `ValueError` like NumPy's);
    * `t = np.outer(a, b)`: `t[i, j] = a[i] * b[j]`, no sum;
    * `t = np.sum(A, axis)`: `t[i] = sum over k of A[i, k]` (axis 1)."""
    kind, operands, axis = contraction
    writer = LoopWriter(lowering, node)

    def length(operand, dim: int):
        # through a transpose (`_t3 = X.T`), the extent is read from `X`,
        # which the loops around may not rebind even where they bind `_t3`
        base, _, dims = operand
        return writer.length(base, dims[dim])

    position = name_of(lowering.namer.fresh("k"))
    if kind == "matmul":
        left, right = operands
        left_rank, right_rank = len(left[2]), len(right[2])
        inner = writer.setup_value(primitive_call(rt.inner_extent, [
            int_atom(length(left, left_rank - 1)), int_atom(length(right, 0))]))
        extents = ([length(left, 0)] if left_rank == 2 else []) \
            + ([length(right, 1)] if right_rank == 2 else [])
    elif kind == "outer":
        inner = None
        extents = [length(operands[0], 0), length(operands[1], 0)]
    else:
        rank = len(operands[0][2])
        inner = length(operands[0], axis)
        extents = [length(operands[0], dim) for dim in range(rank) if dim != axis]
    variables = [name_of(lowering.loop_variable(dim)) for dim in range(len(extents))]
    terms: list[ast.stmt] = []

    def element(operand, positions: list[ast.expr]) -> ast.expr:
        base, parts, dims = operand
        index = list(parts)
        for dim, place in zip(dims, positions):
            index[dim] = place
        index = [copy.deepcopy(part) for part in index]
        temp = lowering.namer.temp()
        terms.append(writer.assign(temp, ast.Subscript(
            name_of(base), index[0] if len(index) == 1 else ast.Tuple(index, ast.Load()),
            ast.Load())))
        return name_of(temp)

    if kind == "sum":
        term = element(operands[0], variables[:axis] + [position] + variables[axis:])
    else:
        if kind == "matmul":
            a = element(left, variables[:1] * (left_rank == 2) + [position])
            b = element(right, [position] + variables[-1:] * (right_rank == 2))
        else:
            a, b = element(operands[0], variables[:1]), element(operands[1], variables[1:])
        product = lowering.namer.temp()
        terms.append(writer.assign(product, ast.BinOp(a, ast.Mult(), b)))
        term = name_of(product)
    store = ast.Subscript(name_of(target), variables[0] if len(variables) == 1 else
                          ast.Tuple(variables, ast.Load()), ast.Store())
    if inner is None:
        body = terms + [writer.assign(store, term)]
    else:
        total = lowering.namer.fresh("sum")
        terms.append(writer.assign(total, ast.BinOp(name_of(total), ast.Add(), term)))
        body = [writer.assign(total, ast.Constant(0.0)),
                _loop(node, position.id, inner, terms),
                writer.assign(store, name_of(total))]
    for dim in range(len(extents) - 1, -1, -1):
        body = [_loop(node, variables[dim].id, extents[dim], body)]
    shape = [int_atom(e) for e in extents]
    allocation = writer.assign(target, primitive_call(np.empty, [
        shape[0] if len(shape) == 1 else ast.Tuple(shape, ast.Load())]))
    loop_depth = lowering.hoist_depth(writer.setup_reads, loops)
    if loop_depth < len(loops) and not any(is_parallel(loop)
                                           for loop in loops[loop_depth:]):
        writer.setup.append(allocation)
        lowering.extents_of[target] = extents
    else:
        body.insert(0, allocation)
    if loop_depth < len(loops):
        lowering.before.setdefault(id(loops[loop_depth]), []).extend(writer.setup)
        return body
    return writer.setup + body

def _loop(node: ast.Assign, variable: str, extent, body) -> ast.For:
    loop = ast.For(name_of(variable, store=True),
                   ast.Call(name_of("range"), [int_atom(extent)], []), body, [])
    ast.copy_location(loop, node)
    loop.origin = getattr(node, "origin", node.lineno)
    return loop


def product(value: ast.expr) -> list[ast.Name] | None:
    """The two operands of `a @ b` or `np.dot(a, b)` (names, or indexed
    names), or None."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult):
        operands = [value.left, value.right]
    elif isinstance(value, ast.Call) and getattr(value, "primitive", None) is not None \
            and value.primitive.key is np.dot and len(value.args) == 2 and not value.keywords:
        operands = list(value.args)
    else:
        return None
    return operands if all(isinstance(a, ast.Name) or (
        isinstance(a, ast.Subscript) and isinstance(a.value, ast.Name)) for a in operands) \
        else None


def _outer(value: ast.expr) -> bool:
    """`np.outer(a, b)` of two names (or indexed names)."""
    return isinstance(value, ast.Call) and getattr(value, "primitive", None) is not None \
        and value.primitive.key is np.outer and len(value.args) == 2 and not value.keywords \
        and all(isinstance(a, (ast.Name, ast.Subscript)) for a in value.args)


def _axis_sum(value: ast.expr) -> int | None:
    """The constant axis of `np.sum(A, axis)` (`axis=` spelled or not),
    or None."""
    if not (isinstance(value, ast.Call) and getattr(value, "primitive", None) is not None
            and value.primitive.key is np.sum and len(value.args) >= 1
            and isinstance(value.args[0], (ast.Name, ast.Subscript))):
        return None
    axes = value.args[1:] + [k.value for k in value.keywords if k.arg == "axis"]
    if len(axes) != 1 or len(value.args) + len(value.keywords) != 2:
        return None
    return integer_constant(axes[0])
