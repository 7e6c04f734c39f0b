"""Derivative rules of whole-array operations.

Two kinds of array operation:

* *elementwise* primitives (operators, `np.sin`, `np.maximum`, `np.where`,
  ...) share the scalar rule templates of `scalar` and `numpy`: a partial
  derivative is an elementwise expression, turned into array form by
  `elementwise_partial` (`g if c else 0.0` becomes `np.where(c, g, 0.0)`,
  `math.cos` becomes `np.cos`). Reverse mode sums an adjoint back to the
  shape of a broadcast operand (`rt.unbroadcast`, or `np.sum` for a scalar);
* *structured* operations (reductions, products, transposes) have an
  `ArrayRule`: the result type from the argument types, the reverse-mode
  statements and the forward-mode tangent, side by side, so that the two
  modes cannot disagree on which operations exist.

Rules are written as source text over the names of the statement's atoms:
`Operands` holds them.
"""

from __future__ import annotations

import ast
import builtins
import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np

from adjit.rules.numpy import _NUMPY_NAME
from adjit.rules.registry import FLOAT, REGISTRY, array_type, element_type, is_array


class ArrayRuleError(Exception):
    """An operation or argument combination without an array rule."""


def rank(type_name: str | None) -> int:
    return type_name.count(":") if is_array(type_name) else 0


# ----- indexing ---------------------------------------------------------------

def index_parts(index: ast.expr) -> list[ast.expr]:
    return list(index.elts) if isinstance(index, ast.Tuple) else [index]


def index_text(index: ast.expr) -> str:
    """The source of an index as written between brackets: `i, 1:, None`."""
    return ", ".join(ast.unparse(part) for part in index_parts(index))


def _is_none(part: ast.expr) -> bool:
    return isinstance(part, ast.Constant) and part.value is None


def subscript_type(array: str, index: ast.expr) -> str:
    """The type of `x[index]` for an array type: an element when every axis
    gets an integer, else a view whose rank counts slices, `None`s and the
    axes left out (`q[i]` of a 2-D `q` is a row)."""
    parts = index_parts(index)
    used = sum(1 for part in parts if not _is_none(part))
    if used > rank(array):
        raise ArrayRuleError(f"{used} indices for an array of rank {rank(array)}")
    kept = sum(1 for part in parts if isinstance(part, ast.Slice) or _is_none(part))
    result_rank = kept + rank(array) - used
    return array_type(element_type(array), result_rank) if result_rank else \
        element_type(array)


def view_destination(base_adjoint: str, index: ast.expr) -> tuple[str, str]:
    """Where the adjoint of the view `x[index]` accumulates: the same view of
    x's adjoint, without the `None` axes (`_b_q[:, :]` for `q[:, None, :]`),
    and the index that drops those axes from the view's adjoint (`[:, 0, :]`,
    or "" when there are none)."""
    parts = index_parts(index)
    kept = [part for part in parts if not _is_none(part)]
    destination = f"{base_adjoint}[{', '.join(ast.unparse(p) for p in kept)}]"
    if len(kept) == len(parts):
        return destination, ""
    # axes of the view: one per slice or None, in order; integer indices drop theirs
    picks = ["0" if _is_none(part) else ":" for part in parts
             if isinstance(part, ast.Slice) or _is_none(part)]
    return destination, f"[{', '.join(picks)}]"


# ----- elementwise ------------------------------------------------------------

# runtime helpers that apply element by element (registered by `generated`)
ELEMENTWISE_HELPERS: set = set()
# spellings of runtime helpers that apply to arrays as they are (ufuncs), in
# the array form of a partial
ELEMENTWISE_SPELLINGS: set = set()


def is_elementwise(primitive) -> bool:
    """Operators and NumPy ufunc-like functions apply element by element."""
    key = primitive.key
    return isinstance(key, type) and issubclass(key, (ast.operator, ast.unaryop)) \
        or isinstance(key, np.ufunc) or key in (builtins.abs, np.where, np.clip) \
        or key in ELEMENTWISE_HELPERS


def elementwise_type(argument_types: list[str], scalar_result: str) -> str:
    """Broadcasting: the widest rank, the element type of the scalar rule."""
    return array_type(scalar_result, max(rank(t) for t in argument_types))


class _ArrayForm(ast.NodeTransformer):
    """A scalar partial-derivative template in elementwise array form."""

    def visit_IfExp(self, node: ast.IfExp):
        self.generic_visit(node)
        return _np_call("where", [node.test, node.body, node.orelse])

    def visit_BoolOp(self, node: ast.BoolOp):
        self.generic_visit(node)
        operator = ast.BitAnd() if isinstance(node.op, ast.And) else ast.BitOr()
        value = node.values[0]
        for other in node.values[1:]:
            value = ast.BinOp(value, operator, other)
        return value

    def visit_Compare(self, node: ast.Compare):
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        left, parts = node.left, []
        for op, right in zip(node.ops, node.comparators):
            parts.append(ast.Compare(copy.deepcopy(left), [op], [right]))
            left = right
        value = parts[0]
        for part in parts[1:]:
            value = ast.BinOp(value, ast.BitAnd(), part)
        return value

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        spelling = ast.unparse(node.func)
        if spelling.startswith("math."):
            name = spelling[len("math."):]
            node.func = _np_attribute(_NUMPY_NAME.get(name, name))
        elif spelling in _RESPELLED:
            node.func = _spelled(_RESPELLED[spelling])
        elif spelling.startswith("rt.") and spelling not in ELEMENTWISE_SPELLINGS \
                or spelling in ("abs", "float", "min", "max"):
            raise ArrayRuleError(f"`{spelling}` in a partial derivative has no array form")
        return node


_RESPELLED = {"rt.sign": "np.sign", "abs": "np.abs", "float": "np.float64",
              "rt.pow_base_partial": "rt.pow_base_partial_elementwise",
              "rt.pow_exponent_partial": "rt.pow_exponent_partial_elementwise"}


def elementwise_partial(expression: ast.expr) -> ast.expr:
    """`expression`, a partial of a scalar rule, evaluated element by element."""
    return _ArrayForm().visit(copy.deepcopy(expression))


def _spelled(spelling: str) -> ast.expr:
    head, *rest = spelling.split(".")
    node: ast.expr = ast.Name(head, ast.Load())
    for attribute in rest:
        node = ast.Attribute(node, attribute, ast.Load())
    return node


def _np_attribute(name: str) -> ast.expr:
    return ast.Attribute(ast.Name("np", ast.Load()), name, ast.Load())


def _np_call(name: str, arguments: list[ast.expr]) -> ast.Call:
    return ast.Call(_np_attribute(name), arguments, [])


# ----- structured operations ------------------------------------------------------

@dataclass
class Operands:
    """The names a rule writes code with: the statement's target and
    arguments (source text), their types, and the adjoint (reverse) or
    tangent (forward) of each, None where it carries no derivative."""
    target: str
    arguments: list[str]
    types: list[str]
    derived_target: str
    derived: list[str | None]


@dataclass(frozen=True)
class ArrayRule:
    result_type: Callable[[list[str], list[ast.expr]], str]
    reverse: Callable[[Operands], list[str]]
    forward: Callable[[Operands], str]
    # False where the adjoint never reads the result's values (so the
    # result may be written into afterwards)
    reads_result: bool = True
    # the arguments whose values neither derivative reads, only their shape
    # (an operand may then be written into afterwards)
    shape_only: tuple[int, ...] = ()


ARRAY_RULES: dict[object, ArrayRule] = {}


def array_rule(key, spelling: str, arity, result_type, reverse, forward,
               reads_result: bool = True, shape_only: tuple[int, ...] = ()) -> None:
    """Register a structured operation: its rule here, and in the primitive
    table as a name `resolve` accepts (its derivative comes from here)."""
    ARRAY_RULES[key] = ArrayRule(result_type, reverse, forward, reads_result, shape_only)
    if REGISTRY.lookup(key) is None:
        REGISTRY.register(key, spelling, None, arity, result_type=lambda *t: FLOAT)


def constant_axis(arguments: list[ast.expr], position: int,
                  ndim: int | None = None) -> int | None:
    """The int constant `arguments[position]` (None when absent), checked to
    name an axis of an array of rank `ndim` when that is given."""
    if len(arguments) <= position:
        return None
    axis = arguments[position]
    if isinstance(axis, ast.UnaryOp) and isinstance(axis.operand, ast.Constant) \
            and type(axis.operand.value) is int:
        axis = -axis.operand.value
    elif isinstance(axis, ast.Constant) and type(axis.value) is int:
        axis = axis.value
    else:
        raise ArrayRuleError("an `axis` must be an int constant")
    if ndim is not None and not -ndim <= axis < ndim:
        raise ArrayRuleError(f"axis {axis} of an array of rank {ndim}")
    return axis


def reduced_type(types: list[str], arguments: list[ast.expr]) -> str:
    """The type of a reduction of `arguments[0]`, along the constant axis
    `arguments[1]` if given: a float, or an array of one rank less."""
    axis = constant_axis(arguments, 1, rank(types[0]))
    if axis is None or rank(types[0]) == 1:
        return FLOAT
    return array_type(FLOAT, rank(types[0]) - 1)


def _axis_text(o: Operands) -> str | None:
    return o.arguments[1] if len(o.arguments) > 1 and rank(o.types[0]) > 1 else None


def _sum_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    axis = _axis_text(o)
    if axis is None:
        return [f"{o.derived[0]} += {o.derived_target}"]
    return [f"{o.derived[0]} += np.expand_dims({o.derived_target}, {axis})"]


def _sum_forward(o: Operands) -> str:
    axis = _axis_text(o)
    return f"np.sum({o.derived[0]})" if axis is None else f"np.sum({o.derived[0]}, {axis})"


array_rule(np.sum, "np.sum", (1, 2), reduced_type, _sum_reverse, _sum_forward)


def _mean_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    return [f"{o.derived[0]} += {o.derived_target} / np.size({o.arguments[0]})"]


array_rule(np.mean, "np.mean", (1,), lambda types, arguments: FLOAT, _mean_reverse,
           lambda o: f"np.mean({o.derived[0]})")


def _extremum(largest: bool) -> tuple[Callable, Callable]:
    """The whole-array np.max (largest) / np.min: the derivative goes to the
    one element np.argmax / np.argmin picks (`rt.spread_to_extremum`)."""
    def reverse(o: Operands) -> list[str]:
        if o.derived[0] is None:
            return []
        return [f"{o.derived[0]} += rt.spread_to_extremum({o.arguments[0]}, "
                f"{o.derived_target}, {largest})"]

    def forward(o: Operands) -> str:
        return f"rt.take_at_extremum({o.derived[0]}, {o.arguments[0]}, {largest})"
    return reverse, forward


array_rule(np.max, "np.max", (1,), lambda types, arguments: FLOAT, *_extremum(True))
array_rule(np.min, "np.min", (1,), lambda types, arguments: FLOAT, *_extremum(False))


def _dot_type(types: list[str], arguments) -> str:
    ranks = (rank(types[0]), rank(types[1]))
    if ranks == (1, 1):
        return FLOAT
    if ranks in ((2, 1), (1, 2)):
        return array_type(FLOAT, 1)
    if ranks == (2, 2):
        return array_type(FLOAT, 2)
    raise ArrayRuleError(f"np.dot of arrays of ranks {ranks[0]} and {ranks[1]} "
                         "(adjit supports 1-D and 2-D operands)")


def _dot_reverse(o: Operands) -> list[str]:
    (a, b), (ba, bb), g = o.arguments, o.derived, o.derived_target
    ranks = (rank(o.types[0]), rank(o.types[1]))
    code = []
    if ranks == (1, 1):
        contributions = (f"{g} * {b}", f"{g} * {a}")
    elif ranks == (2, 1):
        contributions = (f"np.outer({g}, {b})", f"np.dot({a}.T, {g})")
    elif ranks == (1, 2):
        contributions = (f"np.dot({b}, {g})", f"np.outer({a}, {g})")
    else:
        contributions = (f"np.dot({g}, {b}.T)", f"np.dot({a}.T, {g})")
    for adjoint, contribution in zip((ba, bb), contributions):
        if adjoint is not None:
            code.append(f"{adjoint} += {contribution}")
    return code


def _dot_forward(o: Operands) -> str:
    (a, b), (da, db) = o.arguments, o.derived
    terms = ([f"np.dot({da}, {b})"] if da else []) + ([f"np.dot({a}, {db})"] if db else [])
    return " + ".join(terms)


array_rule(np.dot, "np.dot", (2,), _dot_type, _dot_reverse, _dot_forward)
array_rule(ast.MatMult, "@", (2,), _dot_type, _dot_reverse, _dot_forward)


def _outer_reverse(o: Operands) -> list[str]:
    (a, b), (ba, bb), g = o.arguments, o.derived, o.derived_target
    return ([f"{ba} += np.dot({g}, {b})"] if ba else []) + \
        ([f"{bb} += np.dot({a}, {g})"] if bb else [])


def _outer_forward(o: Operands) -> str:
    (a, b), (da, db) = o.arguments, o.derived
    terms = ([f"np.outer({da}, {b})"] if da else []) + ([f"np.outer({a}, {db})"] if db else [])
    return " + ".join(terms)


array_rule(np.outer, "np.outer", (2,), lambda types, arguments: array_type(FLOAT, 2),
           _outer_reverse, _outer_forward)


def _transpose_type(types: list[str], arguments) -> str:
    return array_type(element_type(types[0]), rank(types[0]))


array_rule(np.transpose, "np.transpose", (1,), _transpose_type,
           lambda o: [f"{o.derived[0]} += np.transpose({o.derived_target})"]
           if o.derived[0] else [],
           lambda o: f"np.transpose({o.derived[0]})")


def _norm_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    return [f"{o.derived[0]} += {o.derived_target} / {o.target} * {o.arguments[0]}"]


array_rule(np.linalg.norm, "np.linalg.norm", (1,), lambda types, arguments: FLOAT,
           _norm_reverse,
           lambda o: f"np.sum({o.arguments[0]} * {o.derived[0]}) / {o.target}")


def _prod_reverse(o: Operands) -> list[str]:
    if o.derived[0] is None:
        return []
    return [f"{o.derived[0]} += {o.derived_target} * rt.product_of_others({o.arguments[0]})"]


array_rule(np.prod, "np.prod", (1,), lambda types, arguments: FLOAT, _prod_reverse,
           lambda o: f"np.sum(rt.product_of_others({o.arguments[0]}) * {o.derived[0]})")


def _reshape_type(types: list[str], arguments: list[ast.expr]) -> str:
    shape = arguments[1]
    if not isinstance(shape, (ast.Tuple, ast.Name, ast.Constant, ast.UnaryOp)):
        # (`np.reshape(v, A.shape)` is `rt.reshape_like(v, A)` after `resolve`)
        raise ArrayRuleError(f"np.reshape to the shape `{ast.unparse(shape)}`")
    count = len(shape.elts) if isinstance(shape, ast.Tuple) else 1
    return array_type(element_type(types[0]), count)


def _reshape_back(o: Operands) -> list[str]:
    """The adjoint of a reshape: the result's adjoint in the operand's shape."""
    if o.derived[0] is None:
        return []
    return [f"{o.derived[0]} += rt.reshape_like({o.derived_target}, {o.arguments[0]})"]


array_rule(np.reshape, "np.reshape", (2,), _reshape_type, _reshape_back,
           lambda o: f"np.reshape({o.derived[0]}, {o.arguments[1]})")
array_rule(np.ravel, "np.ravel", (1,), lambda types, arguments: array_type(
               element_type(types[0]), 1), _reshape_back,
           lambda o: f"np.ravel({o.derived[0]})")


def _matrix_type(types: list[str], arguments) -> str:
    if rank(types[0]) != 2:
        raise ArrayRuleError("np.linalg functions of a matrix need a 2-D array")
    return array_type(FLOAT, 2)


array_rule(np.linalg.inv, "np.linalg.inv", (1,), _matrix_type,
           lambda o: [f"{o.derived[0]} -= np.dot(np.dot({o.target}.T, {o.derived_target}), "
                      f"{o.target}.T)"] if o.derived[0] else [],
           lambda o: f"-np.dot(np.dot({o.target}, {o.derived[0]}), {o.target})")


def _solve_type(types: list[str], arguments) -> str:
    if rank(types[0]) != 2 or rank(types[1]) not in (1, 2):
        raise ArrayRuleError("np.linalg.solve(A, b) needs a 2-D A and a 1-D or 2-D b")
    return array_type(FLOAT, rank(types[1]))


def _solve_reverse(o: Operands) -> list[str]:
    (a, b), (ba, bb), x, g = o.arguments, o.derived, o.target, o.derived_target
    back = f"np.linalg.solve({a}.T, {g})"        # the cotangent of b
    code = []
    if ba is not None:
        product = f"np.outer({back}, {x})" if rank(o.types[1]) == 1 else \
            f"np.dot({back}, {x}.T)"
        code.append(f"{ba} -= {product}")
    if bb is not None:
        code.append(f"{bb} += {back}")
    return code


def _solve_forward(o: Operands) -> str:
    (a, b), (da, db), x = o.arguments, o.derived, o.target
    change = " - ".join(([db] if db else ["0.0"]) + ([f"np.dot({da}, {x})"] if da else []))
    return f"np.linalg.solve({a}, {change})"


array_rule(np.linalg.solve, "np.linalg.solve", (2,), _solve_type, _solve_reverse,
           _solve_forward)


def _det_type(types: list[str], arguments) -> str:
    _matrix_type(types, arguments)
    return FLOAT


array_rule(np.linalg.det, "np.linalg.det", (1,), _det_type,
           lambda o: [f"{o.derived[0]} += {o.derived_target} * {o.target} * "
                      f"np.transpose(np.linalg.inv({o.arguments[0]}))"] if o.derived[0] else [],
           lambda o: f"{o.target} * np.sum(np.transpose(np.linalg.inv({o.arguments[0]})) * "
                     f"{o.derived[0]})")
