"""Derivative rules of arrays made of several values (`adjit.runtime.joins`):
`np.array([a, b, c])`, `np.stack`, `np.concatenate`, `np.hstack`,
`np.vstack`, `np.atleast_1d` and `np.atleast_2d`, as `resolve` spells
them.

Each value is an operand of its own, so its adjoint is the part of the
result's adjoint it became, and the result's tangent joins the operands'
tangents (zeros for an operand without one):

| operation | the adjoint of operand i |
| --- | --- |
| `rt.array_of(v0, v1, ...)` (numbers, or arrays stacked) | `g[i]` |
| `rt.stack_along(k, a0, a1, ...)` | `g[:, ..., i]` (`i` at axis `k`) |
| `rt.concatenate_along(k, a0, a1, ...)` | `g[:, ..., start:stop]` (its rows along `k`) |
| `rt.hstack(...)`, `rt.vstack(...)` | concatenation (or stacking) along the axis NumPy picks for the rank |

All are linear, so second derivatives differentiate these rules again,
and none reads its result: the result may be written into afterwards.
"""

from __future__ import annotations

from adjit.rules.arrays import ArrayRuleError, Operands, array_rule, constant_axis, rank
from adjit.rules.registry import FLOAT, INT, REGISTRY, array_type, element_type, join_types
from adjit.runtime import helpers as rt

# at most this many values in one literal (`np.array([...])`) or join
MOST_VALUES = 64


def _joined_element(types: list[str]) -> str:
    return join_types(*(element_type(t) for t in types)) or FLOAT


def _same_rank(types: list[str], what: str) -> int:
    ranks = {rank(t) for t in types}
    if len(ranks) != 1:
        raise ArrayRuleError(f"{what} of values of different ranks ({sorted(ranks)})")
    return ranks.pop()


def _numbers_type(*types: str) -> str:
    """`rt.array_of` of numbers: ints stay ints, anything else is a float."""
    return array_type(INT if all(t == INT for t in types) else FLOAT, 1)


def _array_of_type(types: list[str], arguments) -> str:
    return array_type(_joined_element(types), _same_rank(types, "an array") + 1)


def _tangents(o: Operands, first: int) -> list[str]:
    """The operands' tangents from `first` on; zeros where one has none."""
    return [derived if derived is not None else
            ("0.0" if rank(kind) == 0 else f"np.zeros_like({argument})")
            for argument, kind, derived in zip(o.arguments[first:], o.types[first:],
                                               o.derived[first:])]


def _array_of_reverse(o: Operands) -> list[str]:
    return [f"{derived} += {o.derived_target}[{k}]"
            for k, derived in enumerate(o.derived) if derived is not None]


REGISTRY.register(rt.array_of, "rt.array_of", None, tuple(range(1, MOST_VALUES + 1)),
                  result_type=_numbers_type)
array_rule(rt.array_of, "rt.array_of", tuple(range(1, MOST_VALUES + 1)), _array_of_type,
           _array_of_reverse, lambda o: f"rt.array_of({', '.join(_tangents(o, 0))})",
           reads_result=False)


def _stack_type(types: list[str], arguments) -> str:
    result_rank = _same_rank(types[1:], "np.stack") + 1
    constant_axis(arguments, 0, result_rank)
    return array_type(_joined_element(types[1:]), result_rank)


def _axis(o: Operands, result_rank: int) -> int:
    axis = int(o.arguments[0])
    return axis + result_rank if axis < 0 else axis


def _stack_reverse(o: Operands) -> list[str]:
    axis = _axis(o, rank(o.types[1]) + 1)
    return [f"{derived} += {o.derived_target}[{':, ' * axis}{k}]"
            for k, derived in enumerate(o.derived[1:]) if derived is not None]


array_rule(rt.stack_along, "rt.stack_along", tuple(range(2, MOST_VALUES + 2)), _stack_type,
           _stack_reverse,
           lambda o: f"rt.stack_along({', '.join([o.arguments[0], *_tangents(o, 1)])})",
           reads_result=False)


def _concatenate_type(types: list[str], arguments) -> str:
    result_rank = _same_rank(types[1:], "np.concatenate")
    if result_rank == 0:
        raise ArrayRuleError("np.concatenate of numbers (it joins arrays)")
    constant_axis(arguments, 0, result_rank)
    return array_type(_joined_element(types[1:]), result_rank)


def _parts_reverse(o: Operands, axis: int, first: int = 1) -> list[str]:
    """`_b_a += g[:, ..., start:stop]` for each operand from `first` on: the
    rows (along `axis`) of the result that it became."""
    code, start = [], "0"
    for argument, derived in zip(o.arguments[first:], o.derived[first:]):
        length = f"{argument}.shape[{axis}]" if argument.isidentifier() else \
            f"rt.axis_size({argument}, {axis})"          # of a view (`X[:, :2]`)
        stop = length if start == "0" else f"{start} + {length}"
        if derived is not None:
            code.append(f"{derived} += {o.derived_target}[{':, ' * axis}{start}:{stop}]")
        start = stop
    return code


array_rule(rt.concatenate_along, "rt.concatenate_along", tuple(range(2, MOST_VALUES + 2)),
           _concatenate_type,
           lambda o: _parts_reverse(o, _axis(o, rank(o.types[1]))),
           lambda o: f"rt.concatenate_along({', '.join([o.arguments[0], *_tangents(o, 1)])})",
           reads_result=False)


def _hstack_type(types: list[str], arguments) -> str:
    if _same_rank(types, "np.hstack") == 0:
        raise ArrayRuleError("np.hstack of numbers (write np.array([...]))")
    return array_type(_joined_element(types), rank(types[0]))


def _vstack_type(types: list[str], arguments) -> str:
    value_rank = _same_rank(types, "np.vstack")
    if value_rank == 0:
        raise ArrayRuleError("np.vstack of numbers (write np.array([...]))")
    return array_type(_joined_element(types), max(value_rank, 2))


def _vstack_reverse(o: Operands) -> list[str]:
    if rank(o.types[0]) == 1:                     # rows of a new matrix
        return _array_of_reverse(o)
    return _parts_reverse(o, 0, first=0)


array_rule(rt.hstack, "rt.hstack", tuple(range(1, MOST_VALUES + 1)), _hstack_type,
           lambda o: _parts_reverse(o, 0 if rank(o.types[0]) == 1 else 1, first=0),
           lambda o: f"rt.hstack({', '.join(_tangents(o, 0))})", reads_result=False)
array_rule(rt.vstack, "rt.vstack", tuple(range(1, MOST_VALUES + 1)), _vstack_type,
           _vstack_reverse, lambda o: f"rt.vstack({', '.join(_tangents(o, 0))})",
           reads_result=False)


# rt.atleast_1d / rt.atleast_2d (np.atleast_1d, np.atleast_2d; Numba's take
# no number): a number becomes an array of one element, an array of rank 1 a
# row (atleast_2d), an array of enough rank is itself (it shares its
# elements: `analysis.arrays.SHARING`)
def _at_least(least: int):
    def result_type(types: list[str], arguments) -> str:
        return array_type(element_type(types[0]), max(rank(types[0]), least))

    def reverse(o: Operands) -> list[str]:
        if o.derived[0] is None:
            return []
        added = max(least - rank(o.types[0]), 0)
        return [f"{o.derived[0]} += {o.derived_target}{'[0]' * added}"]

    def forward(o: Operands) -> str:
        return f"rt.atleast_{least}d({o.derived[0]})"
    return result_type, reverse, forward


for _least, _function in ((1, rt.atleast_1d), (2, rt.atleast_2d)):
    REGISTRY.register(_function, f"rt.atleast_{_least}d", None, (1,),
                      result_type=lambda *types, least=_least: array_type(FLOAT, least))
    array_rule(_function, f"rt.atleast_{_least}d", (1,), *_at_least(_least))
