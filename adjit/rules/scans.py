"""Derivative rules of running sums, running products and differences along
an axis (`adjit.runtime.scans`), the forms `resolve` gives `np.cumsum`,
`np.cumprod` and `np.diff`:

| helper | tangent | adjoint |
| --- | --- | --- |
| `rt.cumsum_along(x, k, backwards)` | the helper of the tangent | `rt.cumsum_along(g, k, not backwards)` |
| `rt.diff_along(x, k)` | the helper of the tangent | `rt.diff_transpose(g, k)` |
| `rt.diff_transpose(g, k)` | the helper of the tangent | `rt.diff_along(b, k)` |
| `rt.cumprod_along(x, k)` | `rt.cumprod_jvp(x, t, k)` | `rt.cumprod_vjp(x, g, k)` |
| `rt.cumprod_jvp(x, v, k)` | `rt.cumprod_jvp(x, dv, k) + rt.cumprod_second(x, v, dx, k)` | v: `rt.cumprod_vjp(x, b, k)`; x: `rt.cumprod_second_vjp(x, b, v, k)` |
| `rt.cumprod_vjp(x, g, k)` | `rt.cumprod_vjp(x, dg, k) + rt.cumprod_second_vjp(x, g, dx, k)` | g: `rt.cumprod_jvp(x, b, k)`; x: `rt.cumprod_second_vjp(x, g, b, k)` |

The first three are linear, so their rules serve any order. np.cumprod's
second derivative is symmetric (`cumprod_second` takes its two directions
either way round); `rt.cumprod_second` and `rt.cumprod_second_vjp` have no
rules of their own: a third derivative of np.cumprod is refused by
`resolve`, located.
"""

from __future__ import annotations

from adjit.rules.arrays import ArrayRuleError, Operands, array_rule, constant_axis, rank
from adjit.rules.generated import linear_rule
from adjit.rules.registry import array_type, element_type
from adjit.runtime import helpers as rt


def _along_type(types: list[str], arguments, axis_at: int = 1) -> str:
    if rank(types[0]) == 0:
        raise ArrayRuleError("a running sum, product or difference of a number")
    constant_axis(arguments, axis_at, rank(types[0]))
    return array_type(element_type(types[0]), rank(types[0]))


def _derivative_type(types: list[str], arguments) -> str:
    """`rt.cumprod_jvp(x, w, k)`, `rt.cumprod_vjp(x, w, k)`: shaped like x."""
    return _along_type(types, arguments, axis_at=2)


def _flipped(flag: str) -> str:
    return {"True": "False", "False": "True"}[flag]


linear_rule(rt.cumsum_along, "rt.cumsum_along", (3,), _along_type, 0,
            lambda o: f"rt.cumsum_along({o.derived_target}, {o.arguments[1]}, "
                      f"{_flipped(o.arguments[2])})",
            reads_result=False)
linear_rule(rt.diff_along, "rt.diff_along", (2,), _along_type, 0,
            lambda o: f"rt.diff_transpose({o.derived_target}, {o.arguments[1]})",
            reads_result=False)
linear_rule(rt.diff_transpose, "rt.diff_transpose", (2,), _along_type, 0,
            lambda o: f"rt.diff_along({o.derived_target}, {o.arguments[1]})",
            reads_result=False)


def _cumprod_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    x, axis = o.arguments
    return [f"{o.derived[0]} += rt.cumprod_vjp({x}, {o.derived_target}, {axis})"]


array_rule(rt.cumprod_along, "rt.cumprod_along", (2,), _along_type, _cumprod_reverse,
           lambda o: f"rt.cumprod_jvp({o.arguments[0]}, {o.derived[0]}, {o.arguments[1]})",
           reads_result=False)


def _bilinear(linear: str, transpose: str):
    """`linear(x, w, k)` (`rt.cumprod_jvp` or `rt.cumprod_vjp`), linear in
    `w`, whose transpose in `w` is `transpose`: the tangent is the helper of
    w's tangent plus the second derivative along x's tangent; the adjoints
    are the transpose (for w) and the second derivative contracted with the
    adjoint (for x)."""
    def second_vjp(x: str, cotangent: str, vector: str, axis: str) -> str:
        return f"rt.cumprod_second_vjp({x}, {cotangent}, {vector}, {axis})"

    def reverse(o: Operands) -> list[str]:
        (x, w, axis), (bx, bw), g = o.arguments, o.derived[:2], o.derived_target
        code = []
        if bw is not None:
            code.append(f"{bw} += {transpose}({x}, {g}, {axis})")
        if bx is not None:
            # jvp: sum_i g_i H^i v; vjp: sum_i w_i H^i g (H^i symmetric)
            code.append(f"{bx} += " + (second_vjp(x, g, w, axis) if linear.endswith("jvp")
                                       else second_vjp(x, w, g, axis)))
        return code

    def forward(o: Operands) -> str:
        (x, w, axis), (dx, dw) = o.arguments, o.derived[:2]
        terms = [f"{linear}({x}, {dw}, {axis})"] if dw is not None else []
        if dx is not None:
            terms.append(f"rt.cumprod_second({x}, {w}, {dx}, {axis})" if linear.endswith("jvp")
                         else second_vjp(x, w, dx, axis))
        return " + ".join(terms)
    return reverse, forward


array_rule(rt.cumprod_jvp, "rt.cumprod_jvp", (3,), _derivative_type,
           *_bilinear("rt.cumprod_jvp", "rt.cumprod_vjp"), reads_result=False)
array_rule(rt.cumprod_vjp, "rt.cumprod_vjp", (3,), _derivative_type,
           *_bilinear("rt.cumprod_vjp", "rt.cumprod_jvp"), reads_result=False)
