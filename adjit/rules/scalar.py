"""Derivative rules of scalar primitives: operators, builtins and `math`.

Each rule is a template: its parameters are the primitive's arguments (and
`ans`, the primitive's result, where using it saves work) and it returns the
partial derivative with respect to each argument, in order. Generated code
refers to `math`, `np` and `rt` (adjit.runtime.helpers), so templates do too.
"""

import ast
import builtins
import math

from adjit.rules.registry import (FLOAT, INT, derivative, int_result,
                                  joined_result, nondifferentiable)
from adjit.runtime import helpers as rt

# ----- Arithmetic operators --------------------------------------------------
# `x + y` etc. The result type of an operator follows Python: int op int is
# int, except true division.


@derivative(ast.Add, spelling="+", result_type=joined_result)
def add(x, y):
    return 1.0, 1.0


@derivative(ast.Sub, spelling="-", result_type=joined_result)
def sub(x, y):
    return 1.0, -1.0


@derivative(ast.Mult, spelling="*", result_type=joined_result)
def mult(x, y):
    return y, x


@derivative(ast.Div, spelling="/")
def div(x, y):
    return 1.0 / y, -x / (y * y)


@derivative(ast.Pow, spelling="**", result_type=joined_result)
def power(x, y):
    # `fold` turns rt.pow_base_partial(x, 3) into 3 * x ** 2
    return rt.pow_base_partial(x, y), rt.pow_exponent_partial(x, y)


@derivative(ast.Mod, spelling="%", result_type=joined_result)
def mod(x, y):
    # x % y == x - y * floor(x / y), and floor is piecewise constant.
    return 1.0, -math.floor(x / y)


nondifferentiable(ast.FloorDiv, "//", arity=(2,), result_type=joined_result)


@derivative(ast.USub, spelling="-", result_type=joined_result)
def negative(x):
    return -1.0


@derivative(ast.UAdd, spelling="+", result_type=joined_result)
def positive(x):
    return 1.0


# ----- Builtins --------------------------------------------------------------
# At ties min and max follow the argument Python returns (the first).

@derivative(builtins.abs, result_type=joined_result)
def absolute(x):
    return rt.sign(x)


@derivative(builtins.min, result_type=joined_result)
def minimum(x, y):
    return 1.0 if x <= y else 0.0, 0.0 if x <= y else 1.0


@derivative(builtins.max, result_type=joined_result)
def maximum(x, y):
    return 1.0 if x >= y else 0.0, 0.0 if x >= y else 1.0


@derivative(builtins.float)
def to_float(x):
    return 1.0


nondifferentiable(builtins.int, result_type=int_result)
nondifferentiable(builtins.round, arity=(1, 2),
                  result_type=lambda *types: INT if len(types) == 1 else FLOAT)
nondifferentiable(builtins.bool, result_type=lambda *types: "bool")
nondifferentiable(builtins.len, result_type=int_result)

# ----- math: trigonometric ---------------------------------------------------


@derivative(math.sin)
def sin(x):
    return math.cos(x)


@derivative(math.cos)
def cos(x):
    return -math.sin(x)


@derivative(math.tan)
def tan(x, ans):
    return 1.0 + ans * ans


@derivative(math.asin)
def asin(x):
    return 1.0 / math.sqrt(1.0 - x * x)


@derivative(math.acos)
def acos(x):
    return -1.0 / math.sqrt(1.0 - x * x)


@derivative(math.atan)
def atan(x):
    return 1.0 / (1.0 + x * x)


@derivative(math.atan2)
def atan2(y, x):
    return x / (x * x + y * y), -y / (x * x + y * y)


# ----- math: hyperbolic ------------------------------------------------------

@derivative(math.sinh)
def sinh(x):
    return math.cosh(x)


@derivative(math.cosh)
def cosh(x):
    return math.sinh(x)


@derivative(math.tanh)
def tanh(x, ans):
    return 1.0 - ans * ans


@derivative(math.asinh)
def asinh(x):
    return 1.0 / math.sqrt(x * x + 1.0)


@derivative(math.acosh)
def acosh(x):
    return 1.0 / math.sqrt(x * x - 1.0)


@derivative(math.atanh)
def atanh(x):
    return 1.0 / (1.0 - x * x)


# ----- math: exponentials, logarithms, powers --------------------------------

@derivative(math.exp)
def exp(x, ans):
    return ans


@derivative(math.expm1)
def expm1(x, ans):
    return ans + 1.0


@derivative(math.log)
def log(x):
    return 1.0 / x


@derivative(math.log1p)
def log1p(x):
    return 1.0 / (1.0 + x)


@derivative(math.log2)
def log2(x):
    return 1.0 / (x * 0.6931471805599453)  # ln 2


@derivative(math.log10)
def log10(x):
    return 1.0 / (x * 2.302585092994046)  # ln 10


@derivative(math.sqrt)
def sqrt(x, ans):
    return 0.5 / ans


@derivative(math.pow)
def pow_(x, y):
    return rt.pow_base_partial(x, y), rt.pow_exponent_partial(x, y)


@derivative(math.hypot)
def hypot(x, y, ans):
    return x / ans, y / ans


# ----- math: special functions -----------------------------------------------

@derivative(math.erf)
def erf(x):
    return 1.1283791670955126 * math.exp(-x * x)  # 2 / sqrt(pi)


@derivative(math.erfc)
def erfc(x):
    return -1.1283791670955126 * math.exp(-x * x)


@derivative(math.gamma)
def gamma(x, ans):
    return ans * rt.digamma(x)


@derivative(math.lgamma)
def lgamma(x):
    return rt.digamma(x)


@derivative(math.fabs)
def fabs(x):
    return rt.sign(x)


@derivative(math.copysign)
def copysign(x, y):
    return rt.sign(x) * math.copysign(1.0, y), 0.0


# ----- math: piecewise constant ----------------------------------------------

for _function in (math.floor, math.ceil, math.trunc):
    nondifferentiable(_function, result_type=int_result)
for _predicate in (math.isnan, math.isinf, math.isfinite):
    nondifferentiable(_predicate, result_type=lambda *types: "bool")


# ----- Runtime helpers that generated derivatives call -----------------------
# A derivative's source is differentiated again for higher orders, so the
# helpers its rules emit need rules of their own.

nondifferentiable(rt.sign, "rt.sign", result_type=joined_result)
nondifferentiable(rt.stop_gradient, "rt.stop_gradient", result_type=joined_result)
nondifferentiable(rt.trip_count, "rt.trip_count", arity=(3,), result_type=int_result)
nondifferentiable(rt.chunk_count, "rt.chunk_count", arity=(1,), result_type=int_result)
nondifferentiable(rt.chunk_start, "rt.chunk_start", arity=(4,), result_type=int_result)
nondifferentiable(rt.clip_bound, "rt.clip_bound", arity=(2,), result_type=int_result)
nondifferentiable(rt.common_extent, "rt.common_extent", arity=(2,), result_type=int_result)
nondifferentiable(rt.inner_extent, "rt.inner_extent", arity=(2,), result_type=int_result)
nondifferentiable(rt.slice_element, "rt.slice_element", arity=(5,), result_type=int_result)
nondifferentiable(rt.slice_extent, "rt.slice_extent", arity=(4,), result_type=int_result)
nondifferentiable(rt.row_extent, "rt.row_extent", arity=(2,), result_type=int_result)
nondifferentiable(rt.grow, "rt.grow", arity=(2,), result_type=lambda tape, size: tape)
nondifferentiable(rt.checkpoint_stride, "rt.checkpoint_stride", arity=(3,),
                  result_type=int_result)
nondifferentiable(rt.saved_states, "rt.saved_states", arity=(1,), result_type=int_result)
nondifferentiable(rt.segment_count, "rt.segment_count", arity=(2,), result_type=int_result)


@derivative(rt.pow_base_partial, spelling="rt.pow_base_partial")
def pow_base_partial(x, y):
    # d/dx (y * x**(y-1)) and d/dy (y * x**(y-1)) = x**(y-1) * (1 + y * log x)
    return (y * rt.pow_base_partial(x, y - 1.0),
            x ** (y - 1.0) + y * rt.pow_exponent_partial(x, y - 1.0))


@derivative(rt.pow_exponent_partial, spelling="rt.pow_exponent_partial")
def pow_exponent_partial(x, y):
    # d/dx (x**y * log x) = y * x**(y-1) * log x + x**(y-1); d/dy = x**y * log(x)**2
    return (rt.pow_base_partial(x, y) * math.log(x) + x ** (y - 1.0),
            rt.pow_exponent_partial(x, y) * math.log(x))


@derivative(rt.digamma, spelling="rt.digamma")
def digamma(x):
    return rt.trigamma(x)
