"""Derivative rules of the runtime helpers that reverse and forward mode
emit, so that generated code can be differentiated again (`jit.hvp`,
`jit.jvp(jit.grad(f))`, `jit.vjp(jit.grad(f))`).

Most helpers are *linear* in one argument and take the others for their
shape or to pick elements (piecewise constant: no derivative); the
tangent applies the helper to the tangent, the adjoint applies its
transpose, another helper:

| helper | linear in | transpose |
| --- | --- | --- |
| `rt.unbroadcast(g, like)` | `g` | `rt.broadcast_like(b, g)` |
| `rt.broadcast_like(v, like)` | `v` | `rt.unbroadcast(b, v)` (`np.sum(b)` for a float `v`) |
| `rt.reshape_like(v, like)` | `v` | `rt.reshape_like(b, v)` |
| `rt.take_at_extremum(t, x, largest)` | `t` | `rt.spread_to_extremum(x, b, largest)` |
| `rt.spread_to_extremum(x, g, largest)` | `g` | `rt.take_at_extremum(b, x, largest)` |
| `rt.take_at_extremum_along(t, x, k, largest)` | `t` | `rt.spread_to_extremum_along(x, b, k, largest)` |
| `rt.spread_to_extremum_along(x, g, k, largest)` | `g` | `rt.take_at_extremum_along(b, x, k, largest)` |

`rt.product_of_others(x)` (and `_along(x, k)`) is not linear: its
Jacobian is symmetric, and `rt.product_of_others_jvp(x, v)` applies it,
for tangents and adjoints alike. That helper has no rule of its own: a
third derivative of np.prod is refused by `resolve`, located.

The elementwise partials of `x ** y` (`rt.pow_base_partial_elementwise`,
`rt.pow_exponent_partial_elementwise`) share the scalar helpers' templates.
"""

from __future__ import annotations

import ast

import numpy as np

from adjit.rules.arrays import (ELEMENTWISE_HELPERS, Operands, array_rule, rank,
                                reduced_type)
from adjit.rules.registry import (BOOL, FLOAT, INT, REGISTRY, array_type, element_type,
                                  is_array)
from adjit.runtime import helpers as rt


def linear_rule(helper, spelling: str, arity: tuple[int, ...], result_type,
                moved: int, transpose, reads_result: bool = True,
                shape_only: tuple[int, ...] = ()) -> None:
    """Register `helper`, linear in its argument `moved`: the tangent is the
    helper of the tangent, the adjoint `transpose(o)` (source text), which
    reads the result unless `reads_result` is False, and only the shape of
    the arguments `shape_only`."""
    def forward(o: Operands) -> str:
        if o.derived[moved] is None:
            return f"np.zeros_like({o.target})" if _array_result(o, result_type) else "0.0"
        arguments = list(o.arguments)
        arguments[moved] = o.derived[moved]
        return f"{spelling}({', '.join(arguments)})"

    def reverse(o: Operands) -> list[str]:
        if o.derived[moved] is None:
            return []
        return [f"{o.derived[moved]} += {transpose(o)}"]
    array_rule(helper, spelling, arity, result_type, reverse, forward, reads_result,
               shape_only)


def _array_result(o: Operands, result_type) -> bool:
    arguments = [ast.parse(text, mode="eval").body for text in o.arguments]
    return is_array(result_type(o.types, arguments))


def _like_second(types: list[str], arguments) -> str:
    return array_type(FLOAT, rank(types[1]))


def _widest(types: list[str], arguments) -> str:
    return array_type(FLOAT, max(rank(t) for t in types))


def _like_first(types: list[str], arguments) -> str:
    return array_type(FLOAT, rank(types[0]))


def _unbroadcast_back(o: Operands) -> str:
    adjoint, value = o.derived_target, o.arguments[0]
    return f"np.sum({adjoint})" if rank(o.types[0]) == 0 else \
        f"rt.unbroadcast({adjoint}, {value})"


# (these three read their operands' shapes only: the one they are linear in
# is transposed by shape, the other gives the shape)
linear_rule(rt.unbroadcast, "rt.unbroadcast", (2,), _like_second, 0,
            lambda o: f"rt.broadcast_like({o.derived_target}, {o.arguments[0]})",
            shape_only=(0, 1))
linear_rule(rt.broadcast_like, "rt.broadcast_like", (2,), _widest, 0, _unbroadcast_back,
            shape_only=(0, 1))
linear_rule(rt.reshape_like, "rt.reshape_like", (2,),
            lambda types, arguments: array_type(element_type(types[0]), rank(types[1])), 0,
            lambda o: f"rt.reshape_like({o.derived_target}, {o.arguments[0]})",
            shape_only=(0, 1))

linear_rule(rt.take_at_extremum, "rt.take_at_extremum", (3,),
            lambda types, arguments: FLOAT, 0,
            lambda o: f"rt.spread_to_extremum({o.arguments[1]}, {o.derived_target}, "
                      f"{o.arguments[2]})")
linear_rule(rt.spread_to_extremum, "rt.spread_to_extremum", (3,), _like_first, 1,
            lambda o: f"rt.take_at_extremum({o.derived_target}, {o.arguments[0]}, "
                      f"{o.arguments[2]})")
linear_rule(rt.take_at_extremum_along, "rt.take_at_extremum_along", (4,),
            lambda types, arguments: reduced_type(types[1:], arguments[1:]), 0,
            lambda o: f"rt.spread_to_extremum_along({o.arguments[1]}, {o.derived_target}, "
                      f"{o.arguments[2]}, {o.arguments[3]})")
linear_rule(rt.spread_to_extremum_along, "rt.spread_to_extremum_along", (4,), _like_first, 1,
            lambda o: f"rt.take_at_extremum_along({o.derived_target}, {o.arguments[0]}, "
                      f"{o.arguments[2]}, {o.arguments[3]})")


def _others(jvp: str):
    """`rt.product_of_others(x)` / `rt.product_of_others_along(x, k)`: the
    tangent and the adjoint both apply the symmetric Jacobian,
    `jvp(x, v)` / `jvp(x, v, k)`."""
    def applied(o: Operands, vector: str) -> str:
        return f"{jvp}({', '.join([o.arguments[0], vector, *o.arguments[1:]])})"

    def reverse(o: Operands) -> list[str]:
        if o.derived[0] is None:
            return []
        return [f"{o.derived[0]} += {applied(o, o.derived_target)}"]
    return reverse, lambda o: applied(o, o.derived[0])


array_rule(rt.product_of_others, "rt.product_of_others", (1,), _like_first,
           *_others("rt.product_of_others_jvp"))
array_rule(rt.product_of_others_along, "rt.product_of_others_along", (2,), _like_first,
           *_others("rt.product_of_others_along_jvp"))


# x ** y on arrays: the partials are elementwise helpers with the scalar rules
def _register_elementwise_partials() -> None:
    for scalar, elementwise in ((rt.pow_base_partial, rt.pow_base_partial_elementwise),
                                (rt.pow_exponent_partial,
                                 rt.pow_exponent_partial_elementwise)):
        rule = REGISTRY.lookup(scalar)
        spelling = f"{rule.spelling}_elementwise"
        REGISTRY.register(elementwise, spelling, rule.partials, rule.arity, rule.result_type)
        ELEMENTWISE_HELPERS.add(elementwise)


_register_elementwise_partials()

# np.size(x): a count, never differentiated (the adjoint of np.mean divides by it)
REGISTRY.register(np.size, "np.size", None, (1,), result_type=lambda *types: INT)
# `&` and `|` of comparisons, in the array form of a partial (np.clip's)
for _operator, _spelling in ((ast.BitAnd, "&"), (ast.BitOr, "|")):
    REGISTRY.register(_operator, _spelling, None, (2,), result_type=lambda *types: BOOL)
