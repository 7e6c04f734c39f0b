"""Derivative rules of reductions along an axis that `resolve` spells as
runtime helpers (Numba has no np.prod, np.max or np.min along an axis, and
no `keepdims`), and of `np.expand_dims`.

* `rt.prod_along(x, k)`: np.prod along axis k. Its adjoint is the product
  of the other elements of each fibre (`rt.product_of_others_along`, exact
  at zeros), times the result's adjoint broadcast back along k;
* `rt.extremum_along(x, k, largest)`: np.max (largest) / np.min along k;
  the derivative goes to the element np.argmax / np.argmin picks in each
  fibre (`rt.spread_to_extremum_along`, `rt.take_at_extremum_along`);
* `rt.keep_dims(r, x[, k])`: the result `r` of a reduction of `x` in the
  shape `keepdims=True` gives;
* `np.expand_dims(a, k)`: a new axis of size 1 (the adjoint of a sum).

Arrays of any rank; a 1-D `x` reduced along its axis gives a float.
"""

from __future__ import annotations

import numpy as np

from adjit.rules.arrays import Operands, array_rule, constant_axis, rank, reduced_type
from adjit.rules.registry import (FLOAT, REGISTRY, array_type, element_type, int_result,
                                  nondifferentiable)
from adjit.runtime import helpers as rt


def _broadcast_back(o: Operands) -> str:
    """The result's adjoint, broadcastable against the reduced operand."""
    if rank(o.types[0]) == 1:
        return o.derived_target
    return f"np.expand_dims({o.derived_target}, {o.arguments[1]})"


def _prod_along_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    x, axis = o.arguments
    return [f"{o.derived[0]} += {_broadcast_back(o)} * "
            f"rt.product_of_others_along({x}, {axis})"]


def _prod_along_forward(o: Operands) -> str:
    x, axis = o.arguments
    product = f"rt.product_of_others_along({x}, {axis}) * {o.derived[0]}"
    return f"np.sum({product})" if rank(o.types[0]) == 1 else f"np.sum({product}, {axis})"


array_rule(rt.prod_along, "rt.prod_along", (2,), reduced_type, _prod_along_reverse,
           _prod_along_forward)


def _extremum_along_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    x, axis, largest = o.arguments
    return [f"{o.derived[0]} += rt.spread_to_extremum_along({x}, {o.derived_target}, "
            f"{axis}, {largest})"]


def _extremum_along_forward(o: Operands) -> str:
    x, axis, largest = o.arguments
    return f"rt.take_at_extremum_along({o.derived[0]}, {x}, {axis}, {largest})"


array_rule(rt.extremum_along, "rt.extremum_along", (3,), reduced_type,
           _extremum_along_reverse, _extremum_along_forward)


def _keep_dims_type(types: list[str], arguments) -> str:
    constant_axis(arguments, 2, rank(types[1]))
    return array_type(FLOAT, rank(types[1]))


def _keep_dims_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    if rank(o.types[0]) == 0:
        return [f"{o.derived[0]} += np.sum({o.derived_target})"]
    return [f"{o.derived[0]} += np.sum({o.derived_target}, {o.arguments[2]})"]


def _keep_dims_forward(o: Operands) -> str:
    if o.derived[0] is None:
        return f"np.zeros_like({o.target})"
    return f"rt.keep_dims({', '.join([o.derived[0], *o.arguments[1:]])})"


array_rule(rt.keep_dims, "rt.keep_dims", (2, 3), _keep_dims_type, _keep_dims_reverse,
           _keep_dims_forward)


def _expand_dims_type(types: list[str], arguments) -> str:
    constant_axis(arguments, 1, rank(types[0]) + 1)
    return array_type(element_type(types[0]), rank(types[0]) + 1)


def _expand_dims_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    if rank(o.types[0]) == 0:
        return [f"{o.derived[0]} += np.sum({o.derived_target})"]
    return [f"{o.derived[0]} += np.sum({o.derived_target}, {o.arguments[1]})"]


# the length of an axis (np.mean along an axis of an expression divides by it)
nondifferentiable(rt.axis_size, "rt.axis_size", arity=(2,), result_type=int_result)

# (registered first: of a float, np.expand_dims makes a 1-D array)
REGISTRY.register(np.expand_dims, "np.expand_dims", None, (2,),
                  result_type=lambda *types: array_type(FLOAT, 1))
array_rule(np.expand_dims, "np.expand_dims", (2,), _expand_dims_type, _expand_dims_reverse,
           lambda o: f"np.expand_dims({o.derived[0]}, {o.arguments[1]})")
