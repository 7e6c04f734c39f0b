"""Derivative rules of NumPy functions, as they apply to scalars.

NumPy's elementwise functions have the same derivatives as their `math`
counterparts, so each shares the `math` template, with `math.f` spelled as
the NumPy function in the partials (so the same rule serves arrays later).
"""

import ast
import copy
import math
from dataclasses import dataclass

import numpy as np

from adjit.rules import scalar  # noqa: F401  (registers the math rules first)
from adjit.rules.registry import REGISTRY, float_result, joined_result, nondifferentiable

# numpy function -> the math function (or builtin) whose rule it shares
_SAME_AS_MATH = {
    np.sin: math.sin, np.cos: math.cos, np.tan: math.tan,
    np.arcsin: math.asin, np.arccos: math.acos, np.arctan: math.atan,
    np.arctan2: math.atan2,
    np.sinh: math.sinh, np.cosh: math.cosh, np.tanh: math.tanh,
    np.arcsinh: math.asinh, np.arccosh: math.acosh, np.arctanh: math.atanh,
    np.exp: math.exp, np.expm1: math.expm1, np.log: math.log,
    np.log1p: math.log1p, np.log2: math.log2, np.log10: math.log10,
    np.sqrt: math.sqrt, np.hypot: math.hypot, np.power: math.pow,
    np.fabs: math.fabs, np.copysign: math.copysign,
    np.abs: abs, np.maximum: max, np.minimum: min,
}

# How `math.<name>` is spelled with NumPy inside partials.
_NUMPY_NAME = {
    "asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "pow": "power",
}


class _RespellMath(ast.NodeTransformer):
    def visit_Attribute(self, node: ast.Attribute):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "math" \
                and hasattr(np, _NUMPY_NAME.get(node.attr, node.attr)):
            return ast.Attribute(ast.Name("np", ast.Load()),
                                 _NUMPY_NAME.get(node.attr, node.attr), ast.Load())
        return node


def _register_same_as_math():
    for numpy_function, math_function in _SAME_AS_MATH.items():
        rule = REGISTRY.lookup(math_function)
        spelling = f"np.{numpy_function.__name__}"
        REGISTRY.register(numpy_function, spelling, rule.partials, rule.arity,
                          rule.result_type if math_function in (abs, max, min) else
                          float_result)
        registered = REGISTRY.lookup(numpy_function)
        registered.partial_expressions = tuple(
            _RespellMath().visit(copy.deepcopy(expression))
            for expression in rule.partial_expressions)


_register_same_as_math()

# np.float64(x) is a conversion, differentiable like float(x)
for _conversion in (np.float64,):
    REGISTRY.register(_conversion, f"np.{_conversion.__name__}",
                      REGISTRY.lookup(float).partials, (1,), float_result)


@dataclass(frozen=True)
class Creation:
    """How an array-creating function reads its arguments: where the shape
    (or the array it copies the shape of, `like`) and the dtype are, and
    which argument is a fill value. Creation is not differentiable in its
    shape; `types` derives the new array's rank and element type."""
    shape_slot: int | None = 0
    dtype_slot: int | None = None
    like: bool = False
    fill_slot: int | None = None
    default_element: str = "float"


CREATION = {
    np.zeros: Creation(dtype_slot=1), np.ones: Creation(dtype_slot=1),
    np.empty: Creation(dtype_slot=1), np.full: Creation(dtype_slot=2, fill_slot=1),
    np.zeros_like: Creation(dtype_slot=1, like=True),
    np.ones_like: Creation(dtype_slot=1, like=True),
    np.empty_like: Creation(dtype_slot=1, like=True),
    np.arange: Creation(shape_slot=None, default_element="int"),
    np.linspace: Creation(shape_slot=None),
    np.eye: Creation(shape_slot=None),
}
_CREATION_ARITY = {np.zeros: (1, 2), np.ones: (1, 2), np.empty: (1, 2), np.full: (2, 3),
                   np.zeros_like: (1, 2), np.ones_like: (1, 2), np.empty_like: (1, 2),
                   np.arange: (1, 2, 3), np.linspace: (2, 3), np.eye: (1,)}
for _function, _arity in _CREATION_ARITY.items():
    nondifferentiable(_function, f"np.{_function.__name__}", arity=_arity)

def _where(condition, x, y):
    return 0.0, (1.0 if condition else 0.0), (0.0 if condition else 1.0)


def _clip(x, low, high):
    return (1.0 if low <= x <= high else 0.0), (1.0 if x < low else 0.0), \
        (1.0 if x > high else 0.0)


REGISTRY.register(np.where, "np.where", _where, (3,),
                  lambda condition, x, y: joined_result(x, y))
REGISTRY.register(np.clip, "np.clip", _clip, (3,), joined_result)

# np.copy(a): a new array with a's values, so its derivative is the identity
REGISTRY.register(np.copy, "np.copy", REGISTRY.lookup(float).partials, (1,),
                  lambda argument: argument)

# dtype objects a creation call may name -> the element type adjit tracks
# (float32 and float64 are both "float": derivatives follow the array's own
# dtype through np.zeros_like) and the canonical spelling in generated code
DTYPES = {
    np.float64: ("float", "np.float64"), np.float32: ("float", "np.float32"),
    float: ("float", "np.float64"), np.int64: ("int", "np.int64"),
    np.int32: ("int", "np.int32"), np.intp: ("int", "np.intp"), int: ("int", "np.int64"),
    np.bool_: ("bool", "np.bool_"), bool: ("bool", "np.bool_"),
}

for _function in (np.floor, np.ceil, np.trunc, np.rint, np.sign):
    nondifferentiable(_function, f"np.{_function.__name__}")
for _predicate in (np.isnan, np.isinf, np.isfinite):
    nondifferentiable(_predicate, f"np.{_predicate.__name__}",
                      result_type=lambda *types: "bool")
