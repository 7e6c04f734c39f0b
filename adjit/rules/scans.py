"""Derivative rules of running sums, running products and differences along
an axis (`adjit.runtime.scans`), the forms `resolve` gives `np.cumsum`,
`np.cumprod` and `np.diff`:

| helper | tangent | adjoint |
| --- | --- | --- |
| `rt.cumsum_along(x, k, backwards)` | the helper of the tangent | `rt.cumsum_along(g, k, not backwards)` |
| `rt.diff_along(x, k)` | the helper of the tangent | `rt.diff_transpose(g, k)` |
| `rt.diff_transpose(g, k)` | the helper of the tangent | `rt.diff_along(b, k)` |
| `rt.cumprod_along(x, k)` | `rt.cumprod_jvp(x, t, k)` | `rt.cumprod_vjp(x, g, k)` |

The first three are linear, so their rules serve second derivatives too.
`rt.cumprod_jvp` and `rt.cumprod_vjp` have no rules of their own: a second
derivative of np.cumprod is refused by `resolve`, located.
"""

from __future__ import annotations

from adjit.rules.arrays import ArrayRuleError, Operands, array_rule, constant_axis, rank
from adjit.rules.generated import linear_rule
from adjit.rules.registry import array_type, element_type
from adjit.runtime import helpers as rt


def _along_type(types: list[str], arguments) -> str:
    if rank(types[0]) == 0:
        raise ArrayRuleError("a running sum, product or difference of a number")
    constant_axis(arguments, 1, rank(types[0]))
    return array_type(element_type(types[0]), rank(types[0]))


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
