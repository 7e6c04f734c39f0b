"""Derivative rules of NumPy functions, as they apply to scalars.

NumPy's elementwise functions have the same derivatives as their `math`
counterparts, so each shares the `math` template, with `math.f` spelled as
the NumPy function in the partials (so the same rule serves arrays later).
"""

import ast
import copy
import math

import numpy as np

from adjit.rules import scalar  # noqa: F401  (registers the math rules first)
from adjit.rules.registry import REGISTRY, float_result, nondifferentiable

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
    np.abs: abs,
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
                          rule.result_type if math_function is abs else
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

# Tapes of generated code (see `forward` for their tangents): the element
# type is decided by `types` from the dtype argument.
nondifferentiable(np.empty, "np.empty", arity=(2,))
nondifferentiable(np.zeros, "np.zeros", arity=(1,))
nondifferentiable(np.zeros_like, "np.zeros_like", arity=(1,))

for _function in (np.floor, np.ceil, np.trunc, np.rint, np.sign):
    nondifferentiable(_function, f"np.{_function.__name__}")
for _predicate in (np.isnan, np.isinf, np.isfinite):
    nondifferentiable(_predicate, f"np.{_predicate.__name__}",
                      result_type=lambda *types: "bool")
