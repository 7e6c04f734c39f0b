"""A corpus of plain scalar functions for checking adjit against finite differences.

Every function here is ordinary module-level Python over floats (and integer
loop counts), written the way one writes code for Numba's ``@njit``: physics
updates, Newton iterations, Horner's rule, quadrature, small iterative
solvers.  Together they cover every construct of the supported subset
(docs/supported.md), several times each, and combinations of them.

``CORPUS`` is a list of :class:`Case`.  A case records

* ``fn``: the function (a plain Python function, never wrapped),
* ``args``: example arguments,
* ``wrt``: the positions of the differentiable float arguments (integer loop
  counts and float parameters held fixed are not in it),
* ``domain``: one entry per argument, ``(lo, hi)`` where the function is smooth
  (all branch decisions, loop trip counts and ``floor``/``//``/``%`` results
  are constant on the box, or the function is smooth across them), or
  ``None`` for an argument held at its example value,
* ``tags``: the constructs the case exercises (for reporting and ``-k``).

A function may appear in several cases with different domains (one per branch
of a piecewise function).  No decorators here: the transformer reads the
source of each function as written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from math import exp, sqrt as square_root
from typing import Callable

import numpy as np

GRAVITY = 9.81          # a module-level constant read by projectile_drag
SOFTENING = 0.1


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable
    args: tuple
    wrt: tuple
    domain: tuple
    tags: tuple = ()

    def __post_init__(self):
        if len(self.domain) != len(self.args):
            raise ValueError(f"{self.name}: domain needs one entry per argument")
        for i in self.wrt:
            if not isinstance(self.args[i], float):
                raise ValueError(f"{self.name}: wrt position {i} is not a float argument")
        for value, box in zip(self.args, self.domain):
            if box is not None and not box[0] <= value <= box[1]:
                raise ValueError(f"{self.name}: example {value} outside its domain {box}")

    def __repr__(self):
        return f"Case({self.name})"


CORPUS: list[Case] = []


def _add(name, fn, args, wrt, domain, tags=()):
    CORPUS.append(Case(name, fn, tuple(args), tuple(wrt), tuple(domain), tuple(tags)))


# --------------------------------------------------------------------------
# Arithmetic, unary minus, reassignment, augmented assignment, powers
# --------------------------------------------------------------------------

def rational_poly(x, y):
    return 3.0 * x * x * y - 2.0 * x / y + y ** 3 - 7.0


_add("rational_poly", rational_poly, (1.3, 0.7), (0, 1), ((-2.0, 2.0), (0.3, 2.0)), ("arith",))


def unary_minus_chain(x, y):
    z = -x
    w = -(z * y) + -y
    return -w * z - -(x / y)


_add("unary_minus_chain", unary_minus_chain, (0.8, 1.7), (0, 1), ((-2.0, 2.0), (0.5, 2.0)),
     ("arith", "unary-minus"))


def reassign_many(x):
    """A local reassigned many times, docstring included."""
    t = x
    t = t * t + 1.0
    t = math.sin(t) * x
    t = t - x / 3.0
    t = t * t
    t = t + x
    return t


_add("reassign_many", reassign_many, (0.9,), (0,), ((-2.0, 2.0),), ("reassign", "docstring"))


def reassign_arguments(a, b):
    a = a * 0.9 + math.sin(a) * b
    b = b - a * a
    a = a + b
    return a * b


_add("reassign_arguments", reassign_arguments, (0.4, 1.1), (0, 1), ((-1.0, 1.0), (-1.0, 2.0)),
     ("reassign",))


def augmented_assign(x, y):
    s = x
    s += y
    s -= 0.5 * x
    s *= y
    s /= 1.0 + x * x
    s **= 2
    s += x
    return s


_add("augmented_assign", augmented_assign, (0.7, 1.3), (0, 1), ((-2.0, 2.0), (0.2, 2.0)),
     ("augassign",))


def annotated_and_pass(x, y):
    total: float = 0.0
    scale: float = 2.0 * y
    if x > 10.0:
        pass
    total += scale * x
    total -= x * x / scale
    return total


_add("annotated_and_pass", annotated_and_pass, (1.2, 0.8), (0, 1), ((-2.0, 2.0), (0.3, 2.0)),
     ("annassign", "pass"))


def variable_exponent(x, y):
    return x ** y + y ** (0.5 * x) + math.pow(x, 1.5) + 2.0 ** (x * y)


_add("variable_exponent", variable_exponent, (1.4, 0.6), (0, 1), ((0.3, 3.0), (0.2, 2.0)),
     ("pow-variable",))


def integer_exponents(x):
    return x ** 2 + x ** 3 - 2.0 * x ** -1 + x ** 0.5 + x ** -2.5


_add("integer_exponents", integer_exponents, (1.2,), (0,), ((0.2, 3.0),), ("pow",))


def augmented_pow(x, p):
    t = 1.0 + x * x
    t **= p
    u = t
    u **= 0.5
    return t - u


_add("augmented_pow", augmented_pow, (0.8, 1.7), (0, 1), ((-2.0, 2.0), (-2.0, 2.0)),
     ("augassign", "pow-variable"))


def generalized_mean(x, y, p):
    return ((x ** p + y ** p) / 2.0) ** (1.0 / p)


_add("generalized_mean", generalized_mean, (1.5, 2.5, 1.7), (0, 1, 2),
     ((0.5, 3.0), (0.5, 3.0), (0.5, 4.0)), ("pow-variable",))


# --------------------------------------------------------------------------
# math.* and np.* on scalars
# --------------------------------------------------------------------------

def trig_mix(x, y):
    return math.sin(x) * math.cos(y) + math.tan(0.5 * x) - math.atan2(y, x)


_add("trig_mix", trig_mix, (0.9, -0.4), (0, 1), ((0.2, 2.0), (-2.0, 2.0)), ("math",))


def inverse_trig(x):
    return math.asin(x) + math.acos(0.5 * x) + math.atan(3.0 * x) - math.atan2(1.0, 2.0 + x)


_add("inverse_trig", inverse_trig, (0.3,), (0,), ((-0.9, 0.9),), ("math",))


def hyperbolic(x, y):
    return math.sinh(x) * math.cosh(y) + math.tanh(x * y)


_add("hyperbolic", hyperbolic, (0.6, -0.3), (0, 1), ((-2.0, 2.0), (-2.0, 2.0)), ("math",))


def inverse_hyperbolic(x):
    return math.asinh(x) + math.acosh(1.5 + x * x) + math.atanh(0.5 * x)


_add("inverse_hyperbolic", inverse_hyperbolic, (0.4,), (0,), ((-1.5, 1.5),), ("math",))


def exp_log_family(x, y):
    a = math.exp(-x * y) + math.expm1(0.5 * x)
    b = math.log(x) + math.log1p(y) + math.log2(x + y) + math.log10(3.0 * y)
    return a * b


_add("exp_log_family", exp_log_family, (1.1, 0.6), (0, 1), ((0.2, 3.0), (0.1, 2.0)), ("math",))


def sqrt_hypot(x, y):
    return math.sqrt(x * x + y) + math.hypot(x, y) - math.hypot(2.0 * x, 1.0)


_add("sqrt_hypot", sqrt_hypot, (0.7, 1.2), (0, 1), ((-2.0, 2.0), (0.5, 2.0)), ("math",))


def special_functions(x):
    return math.erf(x) + math.erfc(0.5 * x) + math.gamma(x) + math.lgamma(x + 1.0)


_add("special_functions", special_functions, (1.3,), (0,), ((0.5, 3.0),), ("math", "special"))


def lgamma_ratio(x, y):
    return math.lgamma(x) - math.lgamma(y) + math.gamma(0.5 + y) * math.erf(x - y)


_add("lgamma_ratio", lgamma_ratio, (2.5, 1.5), (0, 1), ((1.0, 4.0), (0.5, 3.0)), ("math", "special"))


def fabs_copysign(x, y):
    return math.fabs(x) * y + math.copysign(x * x, y) + math.copysign(2.0, x) * y


_add("fabs_copysign_neg_x", fabs_copysign, (-1.1, 0.8), (0, 1), ((-2.0, -0.3), (0.3, 2.0)),
     ("math", "sign"))
_add("fabs_copysign_neg_y", fabs_copysign, (1.1, -0.8), (0, 1), ((0.3, 2.0), (-2.0, -0.3)),
     ("math", "sign"))


def math_pow_decay(x, y):
    return math.pow(x, y) * math.exp(-y) + math.pow(2.0, x)


_add("math_pow_decay", math_pow_decay, (1.7, 0.9), (0, 1), ((0.3, 3.0), (-2.0, 2.0)),
     ("math", "pow-variable"))


def numpy_scalar_basic(x, y):
    a = np.sin(x) * np.exp(-y) + np.sqrt(x * x + 1.0) + np.log(y)
    b = np.tanh(x * y) + np.arctan2(y, x + 3.0) + np.cos(x) ** 2
    return a + b


_add("numpy_scalar_basic", numpy_scalar_basic, (0.5, 1.2), (0, 1), ((-1.0, 1.0), (0.3, 2.0)),
     ("numpy",))


def numpy_scalar_inverse(x):
    a = np.log1p(x * x) + np.expm1(0.3 * x) + np.hypot(x, 2.0)
    b = np.arcsin(0.5 * x) + np.arccos(0.4 * x) + np.arctan(x) + np.tan(0.3 * x)
    c = np.sinh(0.5 * x) + np.cosh(0.3 * x) + np.arcsinh(x)
    d = np.arccosh(2.0 + x * x) + np.arctanh(0.3 * x)
    return a + b * c + d + np.log10(x + 3.0) + np.log2(x + 3.0)


_add("numpy_scalar_inverse", numpy_scalar_inverse, (0.7,), (0,), ((-1.5, 1.5),), ("numpy",))


def numpy_abs_power(x, y):
    return np.abs(x - 5.0) * y + np.power(x + 2.0, 1.5) + np.power(y, x)


_add("numpy_abs_power", numpy_abs_power, (0.9, 1.4), (0, 1), ((-1.5, 1.5), (0.3, 2.0)),
     ("numpy", "abs", "pow-variable"))


# --------------------------------------------------------------------------
# Non-differentiable primitives: floor ceil trunc int() round() // %, float()
# --------------------------------------------------------------------------

def floor_ceil_trunc(x, y):
    k = math.floor(x)
    r = x - k
    c = math.ceil(y)
    return r * r * c + math.trunc(x) * y + math.floor(y) * x


_add("floor_ceil_trunc", floor_ceil_trunc, (1.4, 2.5), (0, 1), ((1.1, 1.9), (2.2, 2.8)),
     ("nondiff",))


def int_and_round(x):
    n = int(x * 2.0)
    m = round(x)
    return x * n + m * x * x + float(n + m)


_add("int_and_round", int_and_round, (2.3,), (0,), ((2.2, 2.4),), ("nondiff", "int", "round"))


def float_conversion(x, n):
    a = float(n) * x
    b = float(x) * float(n * n)
    return a + b + float(n) / x


_add("float_conversion", float_conversion, (1.3, 3), (0,), ((0.5, 2.0), None), ("float",))


def numpy_floor(x, y):
    return np.floor(x) * y + np.ceil(y) * x + x * y


_add("numpy_floor", numpy_floor, (2.5, 0.5), (0, 1), ((2.2, 2.8), (0.2, 0.8)), ("numpy", "nondiff"))


def floordiv_mod(x, y):
    q = x // y
    r = x % y
    return q * x + r * r


_add("floordiv_mod", floordiv_mod, (5.6, 2.2), (0, 1), ((5.3, 5.9), (2.05, 2.4)),
     ("floordiv", "mod"))


def angle_wrap(theta, omega):
    t = (theta + omega) % (2.0 * math.pi)
    return math.sin(t) + t * t * omega


_add("angle_wrap", angle_wrap, (8.0, 0.5), (0, 1), ((6.5, 11.5), (0.1, 0.7)), ("mod",))


def mod_by_variable(a, b):
    r = a % b
    return r * b + a % 1.5


_add("mod_by_variable", mod_by_variable, (3.4, 1.4), (0, 1), ((3.2, 3.6), (1.25, 1.5)), ("mod",))


def negative_mod_floordiv(x):
    return (-x) % 3.0 + (x - 10.0) // 4.0 * x


_add("negative_mod_floordiv", negative_mod_floordiv, (1.5,), (0,), ((1.2, 1.8),),
     ("mod", "floordiv"))


def integer_floordiv_mod(x, n):
    half = n // 2
    rem = n % 3
    neg = (-n) // 2
    return x * half + x * x * rem + neg * x ** 3


_add("integer_floordiv_mod", integer_floordiv_mod, (0.9, 7), (0,), ((-2.0, 2.0), None),
     ("int-arith", "floordiv", "mod"))


# --------------------------------------------------------------------------
# abs, min, max
# --------------------------------------------------------------------------

def abs_min_max(x, y):
    return abs(x - y) + 2.0 * min(x, y) + max(x * x, y) + abs(-3.0 * y)


_add("abs_min_max", abs_min_max, (2.0, 0.6), (0, 1), ((1.5, 2.5), (0.2, 1.0)), ("abs", "minmax"))


def clamp_times(x, lo, hi):
    return min(max(x, lo), hi) * x


_add("clamp_inside", clamp_times, (0.5, -0.5, 1.5), (0, 1, 2),
     ((0.2, 0.8), (-1.0, 0.0), (1.0, 2.0)), ("minmax",))
_add("clamp_low", clamp_times, (-1.5, -0.5, 1.5), (0, 1, 2),
     ((-2.0, -1.2), (-1.0, 0.0), (1.0, 2.0)), ("minmax",))
_add("clamp_high", clamp_times, (2.5, -0.5, 1.5), (0, 1, 2),
     ((2.2, 3.0), (-1.0, 0.0), (1.0, 2.0)), ("minmax",))


def huber(x, delta):
    a = abs(x)
    if a <= delta:
        return 0.5 * x * x
    return delta * (a - 0.5 * delta)


_add("huber_quadratic", huber, (0.3, 0.7), (0, 1), ((-0.4, 0.4), (0.5, 1.0)),
     ("abs", "if", "return"))
_add("huber_linear", huber, (-2.0, 0.7), (0, 1), ((-3.0, -1.5), (0.5, 1.0)),
     ("abs", "if", "return"))


# --------------------------------------------------------------------------
# Branches: if/elif/else, nesting, conditional expressions, and/or/not,
# chained comparisons, early returns
# --------------------------------------------------------------------------

def piecewise_elif(x):
    if x < -1.0:
        y = -x * x
    elif x < 0.0:
        y = math.sin(x)
    elif x < 1.0:
        y = x ** 3 + x
    else:
        y = math.log(x) + 2.0 * x
    return y * x


_add("piecewise_elif_1", piecewise_elif, (-2.0,), (0,), ((-3.0, -1.2),), ("elif",))
_add("piecewise_elif_2", piecewise_elif, (-0.5,), (0,), ((-0.8, -0.2),), ("elif",))
_add("piecewise_elif_3", piecewise_elif, (0.5,), (0,), ((0.2, 0.8),), ("elif",))
_add("piecewise_elif_4", piecewise_elif, (2.0,), (0,), ((1.2, 3.0),), ("elif",))


def nested_if_deep(x, y):
    if x > 0.0:
        if y > 0.0:
            if x > y:
                if x > 2.0 * y:
                    r = x * y
                else:
                    r = x - y * y
            else:
                r = y / x
        else:
            if x * x + y * y < 1.0:
                r = math.exp(y) * x
            else:
                r = math.sqrt(x * x + y * y)
    else:
        if y > x:
            r = -x * math.cos(y)
        else:
            r = x + y
    return r + 0.1 * x * y


_add("nested_if_a", nested_if_deep, (2.5, 0.6), (0, 1), ((2.2, 3.0), (0.2, 1.0)), ("if-nested",))
_add("nested_if_b", nested_if_deep, (0.4, -0.4), (0, 1), ((0.3, 0.6), (-0.6, -0.3)), ("if-nested",))
_add("nested_if_c", nested_if_deep, (-1.0, 0.5), (0, 1), ((-2.0, -0.5), (0.0, 1.0)), ("if-nested",))
_add("nested_if_d", nested_if_deep, (1.5, 1.05), (0, 1), ((1.2, 1.8), (1.0, 1.1)), ("if-nested",))
_add("nested_if_e", nested_if_deep, (1.5, -1.5), (0, 1), ((1.0, 2.0), (-2.0, -1.0)), ("if-nested",))


def conditional_expression(x, y):
    a = x * y if x > y else x + y
    b = math.sin(a) if a > 0.0 else -a
    c = (b if x + y < 5.0 else 0.5 * b) + (x if y > 0.0 else y)
    return a * b + c


_add("conditional_expression_a", conditional_expression, (2.0, 0.8), (0, 1),
     ((1.5, 2.5), (0.5, 1.2)), ("ifexp",))
_add("conditional_expression_b", conditional_expression, (-1.5, -0.5), (0, 1),
     ((-2.0, -1.0), (-0.9, -0.2)), ("ifexp",))


def chained_comparison(x, y):
    if 0.0 < x < y < 3.0:
        return x * y + math.sin(x)
    elif x >= y > -1.0:
        return x - y * y
    return x + y


_add("chained_comparison_a", chained_comparison, (0.5, 2.0), (0, 1), ((0.2, 1.0), (1.5, 2.5)),
     ("compare-chained", "return"))
_add("chained_comparison_b", chained_comparison, (2.5, 0.7), (0, 1), ((2.0, 3.0), (0.0, 1.5)),
     ("compare-chained", "return"))
_add("chained_comparison_c", chained_comparison, (-2.5, -1.5), (0, 1), ((-3.0, -2.2), (-2.0, -1.2)),
     ("compare-chained", "return"))


def bool_logic(x, y):
    if (x > 0.0 and y > 0.0) or not (x + y < 5.0):
        s = x * y
    else:
        s = x - y
    if not x > 1.0 and (y < 2.0 or x < -5.0):
        s += x ** 2
    return s


_add("bool_logic_a", bool_logic, (0.5, 1.0), (0, 1), ((0.2, 0.9), (0.2, 1.8)), ("boolop", "not"))
_add("bool_logic_b", bool_logic, (-1.0, 1.0), (0, 1), ((-2.0, -0.5), (0.5, 1.5)), ("boolop", "not"))
_add("bool_logic_c", bool_logic, (2.0, -0.5), (0, 1), ((1.5, 2.5), (-1.0, -0.3)), ("boolop", "not"))


def early_return(x):
    if x > 2.0:
        return x * x
    y = 3.0 * x
    if y < 0.0:
        return -y * x
    z = y + 1.0
    return z * z


_add("early_return_a", early_return, (3.0,), (0,), ((2.5, 3.5),), ("return",))
_add("early_return_b", early_return, (-1.0,), (0,), ((-2.0, -0.3),), ("return",))
_add("early_return_c", early_return, (1.0,), (0,), ((0.2, 1.8),), ("return",))


def swap_sort3(a, b, c):
    if a > b:
        a, b = b, a
    if b > c:
        b, c = c, b
    if a > b:
        a, b = b, a
    return a + 2.0 * b + 3.0 * c + a * c


_add("swap_sort3", swap_sort3, (2.5, 0.5, 1.5), (0, 1, 2), ((2.0, 3.0), (0.0, 1.0), (1.2, 1.8)),
     ("swap", "if"))


def softplus_branch(x):
    if x > 20.0:
        return x
    elif x < -20.0:
        return math.exp(x)
    else:
        return math.log1p(math.exp(x))


_add("softplus_branch", softplus_branch, (0.3,), (0,), ((-3.0, 3.0),), ("elif", "return"))


def smoothstep_blend(x, a, b):
    t = (x - a) / (b - a)
    t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)
    s = t * t * (3.0 - 2.0 * t)
    return s * math.exp(-x) + (1.0 - s) * x


_add("smoothstep_blend", smoothstep_blend, (0.5, -0.2, 1.2), (0, 1, 2),
     ((0.3, 0.7), (-0.5, 0.0), (1.0, 1.5)), ("ifexp-nested",))


def quadratic_root_stable(a, b, c):
    disc = math.sqrt(b * b - 4.0 * a * c)
    q = -0.5 * (b + math.copysign(disc, b))
    return q / a + c / q


_add("quadratic_root_stable", quadratic_root_stable, (1.0, 3.0, 0.6), (0, 1, 2),
     ((0.5, 1.5), (2.5, 4.0), (0.2, 1.0)), ("math", "sign"))


def polar_roundtrip(r, t):
    x = r * math.cos(t)
    y = r * math.sin(t)
    rr = math.hypot(x, y)
    tt = math.atan2(y, x)
    return rr * tt + x * y


_add("polar_roundtrip", polar_roundtrip, (1.5, 0.7), (0, 1), ((0.5, 3.0), (-2.5, 2.5)), ("math",))


# --------------------------------------------------------------------------
# for loops over range(...) with carried values
# --------------------------------------------------------------------------

def horner(x, n):
    p = 0.0
    for i in range(n):
        p = p * x + (i + 1.0) / (n - i)
    return p


_add("horner", horner, (0.8, 6), (0,), ((-2.0, 2.0), None), ("for", "int-float-mix"))


def horner_negative_step(x, n):
    p = 0.0
    for k in range(n, -1, -1):
        p = p * x + 1.0 / (k + 1)
    return p


_add("horner_negative_step", horner_negative_step, (1.3, 7), (0,), ((-2.0, 2.0), None),
     ("for-negative-step",))


def range_start_stop_step(x, a, b, s):
    t = 0.0
    for i in range(a, b, s):
        t += math.sin(x * i) / i
    return t


_add("range_start_stop_step", range_start_stop_step, (0.4, 1, 11, 3), (0,),
     ((-2.0, 2.0), None, None, None), ("for-step",))


def range_negative_step(x, n):
    acc = 0.0
    for i in range(n - 1, -n, -2):
        acc = acc * 0.9 + x ** 2 * i + x
    return acc


_add("range_negative_step", range_negative_step, (1.1, 5), (0,), ((-2.0, 2.0), None),
     ("for-negative-step",))


def range_computed_bounds(x, n):
    total = 0.0
    lo = n // 3
    hi = 2 * n + 1
    for i in range(lo, hi, max(1, n // 4)):
        total += x * math.cos(x + i)
    return total


_add("range_computed_bounds", range_computed_bounds, (0.6, 9), (0,), ((-2.0, 2.0), None),
     ("for-step", "int-arith", "minmax-int"))


def range_two_args(x, n):
    s = 0.0
    for i in range(2, n):
        s += x ** i / i
    return s


_add("range_two_args", range_two_args, (0.7, 9), (0,), ((-1.5, 1.5), None), ("for",))


def geometric_series(r, n):
    s = 0.0
    term = 1.0
    for i in range(n):
        s += term
        term *= r
    return s


_add("geometric_series", geometric_series, (0.6, 12), (0,), ((-0.9, 0.9), None), ("for", "augassign"))


def euler_oscillator(x0, v0, k, dt, n):
    x = x0
    v = v0
    for i in range(n):
        a = -k * x
        x += dt * v
        v += dt * a
    return x * x + 0.5 * v


_add("euler_oscillator", euler_oscillator, (1.0, 0.2, 2.0, 0.05, 40), (0, 1, 2, 3),
     ((-1.0, 1.0), (-1.0, 1.0), (0.5, 3.0), (0.01, 0.08), None), ("for", "physics"))


def verlet_pendulum(theta0, omega0, g, dt, n):
    theta = theta0
    omega = omega0
    acc = -g * math.sin(theta)
    for step in range(n):
        theta += dt * omega + 0.5 * dt * dt * acc
        new_acc = -g * math.sin(theta)
        omega += 0.5 * dt * (acc + new_acc)
        acc = new_acc
    return 0.5 * omega * omega - g * math.cos(theta)


_add("verlet_pendulum", verlet_pendulum, (0.5, 0.0, 9.81, 0.01, 60), (0, 1, 2),
     ((-1.0, 1.0), (-1.0, 1.0), (5.0, 12.0), None, None), ("for", "physics", "float-not-wrt"))


def projectile_drag(v0, angle, drag, n):
    dt = 0.01
    x = 0.0
    y = 0.0
    vx = v0 * math.cos(angle)
    vy = v0 * math.sin(angle)
    for i in range(n):
        speed = math.sqrt(vx * vx + vy * vy)
        vx -= dt * drag * speed * vx
        vy -= dt * (GRAVITY + drag * speed * vy)
        x += dt * vx
        y += dt * vy
    return x + 0.5 * y


_add("projectile_drag", projectile_drag, (10.0, 0.7, 0.05, 80), (0, 1, 2),
     ((5.0, 15.0), (0.3, 1.2), (0.0, 0.2), None), ("for", "physics", "global-constant"))


def rk4_decay(y0, k, n):
    dt = 0.1
    y = y0
    t = 0.0
    for i in range(n):
        k1 = -k * y + math.sin(t)
        k2 = -k * (y + 0.5 * dt * k1) + math.sin(t + 0.5 * dt)
        k3 = -k * (y + 0.5 * dt * k2) + math.sin(t + 0.5 * dt)
        k4 = -k * (y + dt * k3) + math.sin(t + dt)
        y += dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        t += dt
    return y


_add("rk4_decay", rk4_decay, (1.5, 0.8, 20), (0, 1), ((-2.0, 2.0), (0.1, 2.0), None),
     ("for", "physics"))


def logistic_map(r, x0, n):
    x = x0
    for i in range(n):
        x = r * x * (1.0 - x)
    return x


_add("logistic_map", logistic_map, (2.7, 0.3, 15), (0, 1), ((2.5, 2.9), (0.2, 0.8), None), ("for",))


def leapfrog_two_body(x1, x2, v1, v2, n):
    dt = 0.01
    for i in range(n):
        d = x2 - x1
        f = d / (d * d + SOFTENING) ** 1.5
        v1 += dt * f
        v2 -= dt * f
        x1 += dt * v1
        x2 += dt * v2
    return (x2 - x1) + 0.3 * (v1 - v2)


_add("leapfrog_two_body", leapfrog_two_body, (0.0, 1.0, 0.1, -0.1, 50), (0, 1, 2, 3),
     ((-0.5, 0.5), (0.8, 1.5), (-0.3, 0.3), (-0.3, 0.3), None),
     ("for", "physics", "reassign", "global-constant"))


def heat_three_cells(a, b, c, kappa, n):
    for step in range(n):
        da = kappa * (b - a)
        db = kappa * (a - 2.0 * b + c)
        dc = kappa * (b - c)
        a, b, c = a + da, b + db, c + dc
    return a * a + 2.0 * b * c


_add("heat_three_cells", heat_three_cells, (1.0, 0.0, -0.5, 0.2, 25), (0, 1, 2, 3),
     ((-1.0, 1.0), (-1.0, 1.0), (-1.0, 1.0), (0.05, 0.3), None), ("for", "tuple-assign"))


def trapezoid_gaussian(a, b, n):
    h = b / n
    s = 0.5 * (1.0 + math.exp(-a * b * b))
    for i in range(1, n):
        t = i * h
        s += math.exp(-a * t * t)
    return s * h


_add("trapezoid_gaussian", trapezoid_gaussian, (0.7, 2.0, 20), (0, 1), ((0.1, 2.0), (0.5, 3.0), None),
     ("for", "quadrature"))


def simpson_rule(a, b, n):
    h = b / n
    s = 1.0 + math.cos(a * b) * math.exp(-b)
    for i in range(1, n):
        t = i * h
        if i % 2 == 1:
            w = 4.0
        else:
            w = 2.0
        s += w * math.cos(a * t) * math.exp(-t)
    return s * h / 3.0


_add("simpson_rule", simpson_rule, (1.3, 2.5, 16), (0, 1), ((0.2, 3.0), (0.5, 4.0), None),
     ("for", "if-in-loop", "quadrature"))


def continued_fraction(x, n):
    v = 0.0
    for k in range(n, 0, -1):
        v = k * x / (1.0 + k + v)
    return v


_add("continued_fraction", continued_fraction, (0.8, 10), (0,), ((0.1, 3.0), None),
     ("for-negative-step",))


def logsumexp_loop(x, y, n):
    m = -1e300
    for i in range(n):
        t = x * i - y * i * i
        m = max(m, t)
    s = 0.0
    for i in range(n):
        s += math.exp(x * i - y * i * i - m)
    return m + math.log(s)


_add("logsumexp_loop", logsumexp_loop, (1.5, 0.3, 8), (0, 1), ((-1.0, 3.0), (0.1, 0.6), None),
     ("for", "minmax", "logsumexp"))


def smooth_max(x, y, beta):
    m = max(x, y)
    return m + math.log(math.exp(beta * (x - m)) + math.exp(beta * (y - m))) / beta


_add("smooth_max", smooth_max, (0.3, 0.5, 4.0), (0, 1, 2), ((-1.0, 1.0), (-1.0, 1.0), (1.0, 10.0)),
     ("minmax", "logsumexp"))


def softmax_weighted_mean(x, temp, n):
    z = 0.0
    num = 0.0
    for i in range(n):
        w = math.exp(math.sin(x * i) / temp)
        z += w
        num += w * i
    return num / z


_add("softmax_weighted_mean", softmax_weighted_mean, (0.9, 0.5, 7), (0, 1),
     ((-2.0, 2.0), (0.3, 2.0), None), ("for", "int-float-mix"))


def power_iteration_2x2(a, b, c, n):
    u = 1.0
    v = 0.3
    for i in range(n):
        nu = a * u + b * v
        nv = b * u + c * v
        norm = math.hypot(nu, nv)
        u = nu / norm
        v = nv / norm
    return u * (a * u + b * v) + v * (b * u + c * v)


_add("power_iteration_2x2", power_iteration_2x2, (2.0, 0.5, 1.0, 60), (0, 1, 2),
     ((1.5, 2.5), (0.3, 0.8), (0.5, 1.2), None), ("for", "solver"))


def stable_sigmoid_sum(x, y, n):
    s = 0.0
    for i in range(n):
        z = x * i - y
        if z >= 0.0:
            p = 1.0 / (1.0 + math.exp(-z))
        else:
            e = math.exp(z)
            p = e / (1.0 + e)
        s += p * p
    return s


_add("stable_sigmoid_sum", stable_sigmoid_sum, (0.7, 2.2, 8), (0, 1), ((0.3, 1.5), (1.0, 3.0), None),
     ("for", "if-in-loop"))


# --------------------------------------------------------------------------
# while loops with data-dependent conditions (always bounded)
# --------------------------------------------------------------------------

def newton_sqrt(a):
    y = a if a > 1.0 else 1.0
    k = 0
    while abs(y * y - a) > 1e-15 * a and k < 100:
        y = 0.5 * (y + a / y)
        k += 1
    return y


_add("newton_sqrt", newton_sqrt, (2.0,), (0,), ((1.5, 20.0),), ("while", "newton", "counter"))


def newton_cuberoot(a):
    x = 1.0
    for it in range(100):
        dx = (x * x * x - a) / (3.0 * x * x)
        x -= dx
        if abs(dx) < 1e-15 * abs(x):
            break
    return x


_add("newton_cuberoot", newton_cuberoot, (5.0,), (0,), ((0.5, 30.0),), ("for", "break", "newton"))


def kepler_newton(mean_anomaly, ecc):
    E = mean_anomaly if ecc < 0.8 else math.pi
    k = 0
    delta = 1.0
    while abs(delta) > 1e-14 and k < 50:
        delta = (E - ecc * math.sin(E) - mean_anomaly) / (1.0 - ecc * math.cos(E))
        E -= delta
        k += 1
    return E


_add("kepler_newton", kepler_newton, (1.2, 0.3), (0, 1), ((0.3, 3.0), (0.0, 0.6)),
     ("while", "newton", "counter"))


def fixed_point_cos(x):
    y = x
    for i in range(200):
        y_new = 0.5 * math.cos(y) + x
        if abs(y_new - y) < 1e-15:
            y = y_new
            break
        y = y_new
    return y


_add("fixed_point_cos", fixed_point_cos, (0.5,), (0,), ((-1.0, 2.0),), ("for", "break", "solver"))


def halley_cubic_root(p, q):
    t = q / (p + 1.0)
    k = 0
    while k < 40:
        f = t * t * t + p * t - q
        df = 3.0 * t * t + p
        d2f = 6.0 * t
        step = 2.0 * f * df / (2.0 * df * df - f * d2f)
        t -= step
        k += 1
        if abs(step) <= 1e-15 * (1.0 + abs(t)):
            break
    return t


_add("halley_cubic_root", halley_cubic_root, (1.5, 2.0), (0, 1), ((0.5, 3.0), (-3.0, 3.0)),
     ("while", "break", "solver"))


def lambert_w_newton(c):
    w = math.log1p(c)
    it = 0
    while True:
        ew = math.exp(w)
        f = w * ew - c
        step = f / (ew * (w + 1.0))
        w -= step
        it += 1
        if abs(step) <= 1e-15 * (1.0 + abs(w)) or it >= 60:
            break
    return w


_add("lambert_w_newton", lambert_w_newton, (2.0,), (0,), ((0.2, 10.0),), ("while-true", "break", "newton"))


def while_halving(x):
    y = x
    count = 0
    while y > 1.0:
        y = y / 2.0
        count += 1
    return y * count + x


_add("while_halving", while_halving, (6.0,), (0,), ((4.3, 7.7),), ("while", "counter"))


def while_growth_count(x, rate):
    value = x
    years = 0
    while value < 10.0:
        value = value * (1.0 + rate) + 0.1
        years += 1
    return value + 0.5 * years * rate


_add("while_growth_count", while_growth_count, (1.15, 0.295), (0, 1), ((1.1, 1.2), (0.285, 0.305)),
     ("while", "counter"))


def exp_taylor_while(x):
    term = 1.0
    total = 1.0
    n = 0
    while abs(term) > 1e-17 * abs(total):
        n += 1
        term *= x / n
        total += term
    return total


_add("exp_taylor_while", exp_taylor_while, (1.3,), (0,), ((-2.0, 3.0),), ("while", "counter"))


def compound_doubling(principal, rate):
    balance = principal
    years = 0
    while balance < 2.0 * principal and years < 100:
        balance *= 1.0 + rate
        years += 1
    return balance - principal + years * rate


_add("compound_doubling", compound_doubling, (100.0, 0.077), (0, 1), ((50.0, 150.0), (0.0755, 0.079)),
     ("while", "counter", "boolop"))


def damped_newton_minimize(x0, a):
    x = x0
    for it in range(30):
        g = math.sinh(x - a) + 0.4 * x ** 3
        h = math.cosh(x - a) + 1.2 * x * x
        step = g / h
        if abs(step) < 1e-15:
            break
        x -= step if abs(step) < 1.0 else math.copysign(1.0, step)
    return x


_add("damped_newton_minimize", damped_newton_minimize, (0.5, 1.0), (0, 1), ((-1.0, 1.0), (0.5, 2.0)),
     ("for", "break", "ifexp", "newton"))


# --------------------------------------------------------------------------
# break / continue / return inside loops
# --------------------------------------------------------------------------

def exp_series_break(x, n):
    s = 1.0
    term = 1.0
    for i in range(1, n):
        term *= x / i
        s += term
        if abs(term) < 1e-17 * abs(s):
            break
    return s


_add("exp_series_break", exp_series_break, (1.3, 60), (0,), ((-2.0, 3.0), None), ("for", "break"))


def skip_multiples_continue(x, n):
    s = 0.0
    for i in range(n):
        if i % 3 == 0:
            continue
        s += math.sin(x * i) / (i + 1)
        if i % 5 == 4:
            continue
        s += 0.1 * x
    return s


_add("skip_multiples_continue", skip_multiples_continue, (0.7, 17), (0,), ((-2.0, 2.0), None),
     ("for", "continue"))


def first_exceed_return(x, n):
    acc = 0.0
    for i in range(n):
        acc = acc * x + 1.0
        if acc > 10.0:
            return acc * i
    return -acc


_add("first_exceed_return", first_exceed_return, (1.5, 20), (0,), ((1.45, 1.6), None),
     ("for", "return-in-loop"))
_add("first_exceed_no_return", first_exceed_return, (0.5, 20), (0,), ((0.2, 0.7), None),
     ("for", "return-in-loop"))


def nested_return(x, y, n):
    total = 0.0
    for i in range(n):
        for j in range(n):
            total += x * i + y * j
            if total > 50.0:
                return total * x - j
    return total


_add("nested_return", nested_return, (1.5, 0.8, 10), (0, 1), ((1.48, 1.52), (0.78, 0.82), None),
     ("for-nested", "return-in-nested-loop"))
_add("nested_return_none", nested_return, (0.1, 0.05, 5), (0, 1), ((0.05, 0.15), (0.02, 0.08), None),
     ("for-nested", "return-in-nested-loop"))


def nested_break_inner(x, n, m):
    s = 0.0
    for i in range(n):
        for j in range(m):
            if j > i:
                break
            s += x ** j / (1.0 + i)
        s *= 0.9
    return s


_add("nested_break_inner", nested_break_inner, (1.2, 6, 8), (0,), ((-2.0, 2.0), None, None),
     ("for-nested", "break"))


def nested_continue(x, y, n):
    s = 0.0
    for i in range(n):
        if i == 2:
            continue
        for j in range(i):
            if (i + j) % 2 == 0:
                continue
            s += math.cos(x * i - y * j)
    return s


_add("nested_continue", nested_continue, (0.4, 0.3, 6), (0, 1), ((-2.0, 2.0), (-2.0, 2.0), None),
     ("for-nested", "continue"))


def break_on_data(x, n):
    v = x
    steps = 0
    for i in range(n):
        v = v * v - 0.5
        steps += 1
        if v > 4.0:
            break
    return v + steps


_add("break_on_data", break_on_data, (2.0, 10), (0,), ((1.9, 2.05), None), ("for", "break", "counter"))


def while_break_continue(x, n):
    k = 0
    s = 0.0
    while k < n:
        k += 1
        if k % 2 == 0:
            continue
        s += x / k
        if s > 100.0:
            break
    return s * x


_add("while_break_continue", while_break_continue, (1.3, 9), (0,), ((-2.0, 2.0), None),
     ("while", "break", "continue"))


def while_return_inside(x):
    v = x
    k = 0
    while k < 100:
        v = v * 1.5 + 0.25
        k += 1
        if v > 20.0:
            return v - k
    return -v


_add("while_return_inside", while_return_inside, (1.0,), (0,), ((0.9, 1.1),), ("while", "return-in-loop"))


# --------------------------------------------------------------------------
# Tuple unpacking and swaps
# --------------------------------------------------------------------------

def tuple_unpack(x, y):
    p, q = x * y, x - y
    r, s = q, p
    (u, v) = (r + s, r * s)
    return u * v + p


_add("tuple_unpack", tuple_unpack, (1.2, 0.4), (0, 1), ((-2.0, 2.0), (-2.0, 2.0)), ("tuple-assign",))


def fibonacci_swap(a, b, x, n):
    for i in range(n):
        a, b = b, a * 0.5 + b * x
    return a + b


_add("fibonacci_swap", fibonacci_swap, (1.0, 0.5, 0.8, 10), (0, 1, 2),
     ((-1.0, 1.0), (-1.0, 1.0), (0.2, 1.2), None), ("swap-in-loop",))


def rotate_loop(x, y, theta, n):
    c, s = math.cos(theta), math.sin(theta)
    for i in range(n):
        x, y = c * x - s * y, s * x + c * y
    return x + 2.0 * y


_add("rotate_loop", rotate_loop, (1.0, 0.5, 0.3, 7), (0, 1, 2),
     ((-2.0, 2.0), (-2.0, 2.0), (-1.0, 1.0), None), ("swap-in-loop", "tuple-assign"))


def swap_inside_branch(x, y, n):
    for i in range(n):
        if i % 2 == 0:
            x, y = y, x
        x = x + 0.1 * y * y
    return x * y


_add("swap_inside_branch", swap_inside_branch, (0.5, 1.2, 5), (0, 1), ((-2.0, 2.0), (-2.0, 2.0), None),
     ("swap-in-loop", "if-in-loop"))


def euclid_gcd_scale(x, a, b):
    while b != 0:
        a, b = b, a % b
    return x * a + x ** 2 / a


_add("euclid_gcd_scale", euclid_gcd_scale, (1.3, 48, 18), (0,), ((-2.0, 2.0), None, None),
     ("while", "int-swap", "int-arith"))


# --------------------------------------------------------------------------
# Integer counters and integer arithmetic alongside floats
# --------------------------------------------------------------------------

def counter_weighted(x, n):
    k = 0
    total = 0.0
    for i in range(n):
        if i % 2 == 0:
            k += 1
        else:
            k += 2
        total += x * k - x * x / (k + 1)
    return total + float(k)


_add("counter_weighted", counter_weighted, (0.7, 9), (0,), ((-2.0, 2.0), None), ("counter",))


def float_of_index(x, n):
    s = 0.0
    for i in range(n):
        fi = float(i)
        s += math.exp(-x * fi) * fi
    return s


_add("float_of_index", float_of_index, (0.5, 10), (0,), ((-1.0, 2.0), None), ("float", "for"))


def mixed_int_float(x, n):
    k = n * 3 - 1
    m = k // 2 + k % 2
    z = x * m - n / 4.0
    j = 0
    while j * j < k:
        z += x / (j + 1)
        j += 1
    return z * x


_add("mixed_int_float", mixed_int_float, (0.9, 5), (0,), ((-2.0, 2.0), None), ("int-arith", "while"))


def collatz_weight(x, n):
    m = n
    steps = 0
    while m != 1:
        if m % 2 == 0:
            m = m // 2
        else:
            m = 3 * m + 1
        steps += 1
    return math.sin(x) * steps + x ** 3


_add("collatz_weight", collatz_weight, (0.9, 7), (0,), ((-2.0, 2.0), None), ("while", "int-arith"))


def elif_chain_in_loop(x, n):
    s = 0.0
    for i in range(n):
        r = i % 4
        if r == 0:
            s += x
        elif r == 1:
            s -= x * x
        elif r == 2:
            s *= 0.5 + x
        else:
            s = math.sin(s) + x
    return s


_add("elif_chain_in_loop", elif_chain_in_loop, (0.6, 11), (0,), ((-2.0, 2.0), None), ("elif", "for"))


def conditional_expr_in_loop(x, n):
    s = 0.0
    for i in range(n):
        t = x * i if i % 2 == 0 else -x / (i + 1)
        s += t * t + (t if t > 0.0 else 0.0)
    return s


_add("conditional_expr_in_loop", conditional_expr_in_loop, (0.8, 8), (0,), ((0.2, 2.0), None),
     ("ifexp", "for"))


def min_max_running(x, y, n):
    lo = 1e30
    hi = -1e30
    for i in range(n):
        v = x * i + y
        lo = min(lo, v)
        hi = max(hi, v)
    return hi - lo + lo * hi


_add("min_max_running", min_max_running, (0.7, 0.2, 6), (0, 1), ((0.2, 2.0), (-1.0, 1.0), None),
     ("minmax", "for"))


def data_branch_in_loop(x, n):
    v = x
    for i in range(n):
        if v > 1.0:
            v = math.sqrt(v) + 0.3
        else:
            v = v * v + x
    return v


_add("data_branch_in_loop", data_branch_in_loop, (0.55, 6), (0,), ((0.5, 0.6), None),
     ("if-in-loop", "for"))


def bool_not_in_loop(x, n):
    s = 0.0
    for i in range(n):
        if not (i % 2 == 0 or i == 3):
            s += x ** i
        elif i > 2 and not i == 6:
            s -= x
        else:
            s += 1.0
    return s


_add("bool_not_in_loop", bool_not_in_loop, (1.1, 9), (0,), ((-2.0, 2.0), None), ("boolop", "not", "elif"))


def deep_nest(x, y, n):
    total = 0.0
    for i in range(n):
        if i % 2 == 0:
            for j in range(i):
                if j == 1:
                    continue
                t = x * j
                k = 0
                while k < j and t < 100.0:
                    t = t * 1.1 + y
                    k += 1
                total += t if t > 0.0 else -t
        else:
            if x > y:
                total += x - y
            elif x > 0.0:
                total -= y * y
            else:
                total += 1.0
    return total


_add("deep_nest", deep_nest, (0.8, 0.3, 7), (0, 1), ((0.5, 1.0), (0.1, 0.4), None),
     ("for-nested", "while", "continue", "elif", "ifexp"))


def triangular_nested(x, n):
    s = 0.0
    for i in range(n):
        for j in range(i, n):
            s += x ** (j - i) / (1.0 + j)
    return s


_add("triangular_nested", triangular_nested, (0.9, 6), (0,), ((-2.0, 2.0), None), ("for-nested",))


def nested_loops_accumulate(x, y, n, m):
    s = 0.0
    for i in range(n):
        row = 0.0
        for j in range(m - 1, -1, -1):
            row = row * 0.5 + math.sin(x * i + y * j)
        s += row / (1.0 + i)
    return s


_add("nested_loops_accumulate", nested_loops_accumulate, (0.3, 0.2, 5, 4), (0, 1),
     ((-2.0, 2.0), (-2.0, 2.0), None, None), ("for-nested", "for-negative-step"))


# --------------------------------------------------------------------------
# More control-flow shapes: runtime negative steps, bool flags, trip counts
# computed from floats, returns from while-in-for, nested whiles, countdowns
# --------------------------------------------------------------------------

def runtime_range_step(x, a, b, s):
    acc = 1.0
    for i in range(a, b, s):
        acc = acc * 0.8 + x ** 2 / (abs(i) + 1.0) - math.cos(x * i)
    return acc


_add("runtime_range_step_negative", runtime_range_step, (0.7, 9, -4, -3), (0,),
     ((-2.0, 2.0), None, None, None), ("for-negative-step", "abs-int"))
_add("runtime_range_step_positive", runtime_range_step, (0.7, -4, 9, 2), (0,),
     ((-2.0, 2.0), None, None, None), ("for-step", "abs-int"))


def bool_flag(x, y, flag):
    if flag:
        r = x * y + math.exp(-x)
    else:
        r = x - y
    if not flag or x > 100.0:
        r += 1.0
    return r * y


_add("bool_flag_true", bool_flag, (0.8, 1.3, True), (0, 1), ((-2.0, 2.0), (-2.0, 2.0), None),
     ("bool-arg",))
_add("bool_flag_false", bool_flag, (0.8, 1.3, False), (0, 1), ((-2.0, 2.0), (-2.0, 2.0), None),
     ("bool-arg",))


def trip_count_from_float(x, scale):
    n = int(scale * 3.0)
    m = round(scale)
    s = 0.0
    for i in range(n):
        s += math.sin(x + i * scale)
    for j in range(m):
        s *= 1.0 + 0.1 * x
    return s


_add("trip_count_from_float", trip_count_from_float, (0.5, 2.2), (0, 1), ((-2.0, 2.0), (2.05, 2.3)),
     ("int", "round", "for"))


def while_inside_for_return(x, n):
    total = 0.0
    for i in range(n):
        v = x + i
        k = 0
        while v < 30.0 and k < 20:
            v = v * 1.7
            k += 1
            if v * total > 1e4:
                return v + total
        total += v / (k + 1)
    return total


_add("while_inside_for_return", while_inside_for_return, (1.3, 8), (0,), ((1.25, 1.35), None),
     ("while", "for-nested", "return-in-nested-loop"))


def nested_while_countdown(x, n):
    k = n
    s = 0.0
    while k > 0:
        j = k
        while j > 0:
            s += x ** j / (k + j)
            j -= 2
        k -= 1
    return s


_add("nested_while_countdown", nested_while_countdown, (0.9, 5), (0,), ((-2.0, 2.0), None),
     ("while-nested", "counter"))


def while_or_condition(a):
    x = 1.0
    err = 1.0
    k = 0
    while (err > 1e-15 or k < 3) and k < 60:
        new_x = x - (x * x * x * x - a) / (4.0 * x * x * x)
        err = abs(new_x - x)
        x = new_x
        k += 1
    return x


_add("while_or_condition", while_or_condition, (3.0,), (0,), ((0.5, 10.0),),
     ("while", "boolop", "newton"))


def integer_power_variable(x, n):
    s = x ** n + x ** (-n) + x ** (n // 2)
    for i in range(-2, 3):
        s += 0.1 * x ** i
    return s


_add("integer_power_variable", integer_power_variable, (1.3, 3), (0,), ((0.3, 2.0), None),
     ("pow-int-variable",))


def float_equality_tests(x, y):
    if x == 0.0:
        return 0.0
    r = x * y
    if y != 1.0 and r == r:
        r = r / (1.0 + y * y)
    return r + x


_add("float_equality_tests", float_equality_tests, (0.9, 0.4), (0, 1), ((0.3, 2.0), (-2.0, 0.9)),
     ("compare-eq",))


def chained_assignment(x):
    a = b = x * 2.0
    a += 1.0
    b *= x
    return a * b


_add("chained_assignment", chained_assignment, (0.6,), (0,), ((-2.0, 2.0),), ("assign-chained",))


def unary_plus_and_int_division(x, n):
    half = n / 2
    y = +x * half - -(+x)
    return y * y + n / 4.0 * x


_add("unary_plus_and_int_division", unary_plus_and_int_division, (0.6, 5), (0,),
     ((-2.0, 2.0), None), ("unary-plus", "int-truediv"))


def mixed_min_max_int_float(x, n):
    lo = min(n, 3)
    hi = max(1.5, x)
    return x * lo + hi * hi + max(x * x, 0.0) + min(x, 10.0)


_add("mixed_min_max_int_float", mixed_min_max_int_float, (2.0, 5), (0,), ((1.7, 3.0), None),
     ("minmax",))


# --------------------------------------------------------------------------
# Values overwritten after a loop (the tape is pushed to after the loop's
# pushes), clamps feeding singular primitives
# --------------------------------------------------------------------------

def symplectic_pendulum(q, p, dt, n):
    for i in range(n):
        p = p - dt * math.sin(q)
        q = q + dt * p
    q = q * q
    return q + p * p


_add("symplectic_pendulum_64", symplectic_pendulum, (0.8, 0.1, 0.05, 64), (0, 1, 2),
     ((0.5, 1.0), (-0.2, 0.2), (0.02, 0.08), None), ("for", "physics", "overwrite-after-loop"))
_add("symplectic_pendulum_100", symplectic_pendulum, (0.8, 0.1, 0.05, 100), (0, 1, 2),
     ((0.5, 1.0), (-0.2, 0.2), (0.02, 0.08), None), ("for", "physics", "overwrite-after-loop"))


def relaxation_then_rescale(x, y, n):
    for i in range(n):
        x = 0.5 * math.sin(x) + 0.6 * x + 0.2 * y
    x = x * x + y
    y = y * x
    return x + y


_add("relaxation_then_rescale", relaxation_then_rescale, (0.3, 0.7, 64), (0, 1),
     ((-1.0, 1.0), (0.2, 1.5), None), ("for", "overwrite-after-loop"))


def sqrt_of_clamped(x, y):
    d2 = x * x - y
    return math.sqrt(max(d2, 0.0)) + x


_add("sqrt_of_clamped_positive", sqrt_of_clamped, (2.0, 1.0), (0, 1), ((1.5, 2.5), (0.2, 1.5)),
     ("minmax", "math"))
_add("sqrt_of_clamped_zero", sqrt_of_clamped, (0.5, 1.0), (0, 1), ((0.2, 0.8), (0.8, 1.5)),
     ("minmax", "math", "singular-partial-unused"))


def hypot_of_clamped(x, y):
    a = min(x, 0.0)
    b = min(y, 0.0)
    return math.hypot(a, b) + x * y


_add("hypot_of_clamped_zero", hypot_of_clamped, (1.0, 1.0), (0, 1), ((0.5, 2.0), (0.5, 2.0)),
     ("minmax", "math", "singular-partial-unused"))


# Linear updates inside an inner loop that breaks: nothing needs taping, so
# the reverse sweep re-runs the inner loop's control flow.

def capped_substeps(x, rate, n):
    for step in range(n):
        for sub in range(n):
            if sub == 3:
                break
            x -= 0.1 * rate
    return x * rate


_add("capped_substeps", capped_substeps, (0.3, 1.1, 5), (0, 1), ((-1.0, 1.0), (0.5, 1.5), None),
     ("for-nested", "break", "linear-body"))


def triangular_break_linear(x, y, n):
    for i in range(n):
        for j in range(n):
            if j > i:
                break
            x -= 0.01 * y * j
    return x * y + x


_add("triangular_break_linear", triangular_break_linear, (0.3, 1.1, 6), (0, 1),
     ((-1.0, 1.0), (-1.5, 1.5), None), ("for-nested", "break", "linear-body"))


def triple_nested_break(x, y, n):
    for i in range(n):
        for j in range(n):
            for k in range(n):
                if k == 2:
                    break
                x -= 0.1 * y
    return x * y


_add("triple_nested_break", triple_nested_break, (0.3, 1.1, 4), (0, 1),
     ((-1.0, 1.0), (-1.5, 1.5), None), ("for-nested", "break", "linear-body"))


def inner_while_break_linear(x, y, n):
    for i in range(n):
        k = 0
        while k < 5:
            if k == 3:
                break
            x -= 0.1 * y
            k += 1
    return x * y


_add("inner_while_break_linear", inner_while_break_linear, (0.3, 1.1, 5), (0, 1),
     ((-1.0, 1.0), (-1.5, 1.5), None), ("while", "break", "linear-body"))


# --------------------------------------------------------------------------
# Python semantics that a transformer easily gets wrong
# --------------------------------------------------------------------------

def int_initialised_accumulator(x, n):
    s = 0
    for i in range(n):
        s += x * i
    k = 1
    k = k * x
    return s + k * k


_add("int_initialised_accumulator", int_initialised_accumulator, (1.5, 4), (0,), ((-2.0, 2.0), None),
     ("int-to-float",))


def loop_variable_after_loop(x, n):
    s = 0.0
    for i in range(n):
        s += x
    for j in range(n):
        t = x * j
    return s * i + x * i + t * x


_add("loop_variable_after_loop", loop_variable_after_loop, (1.5, 4), (0,), ((-2.0, 2.0), None),
     ("loop-variable-after-loop",))


def alias_then_overwrite(x):
    y = x
    x = x * 3.0
    z = y * x
    x = z + y
    return x * y


_add("alias_then_overwrite", alias_then_overwrite, (1.3,), (0,), ((-2.0, 2.0),), ("alias", "reassign"))


def self_referencing_updates(x):
    s = x
    s += s
    s *= s
    s = s * s + s
    return s / s + s + x ** x + x / x + min(x, x) + max(x, x)


_add("self_referencing_updates", self_referencing_updates, (1.5,), (0,), ((0.5, 2.0),),
     ("augassign", "pow-variable", "minmax-tie"))


def tuple_self_reference(a, b, n):
    for i in range(n):
        a, b = a + b, a - b * 0.5
    return a * b


_add("tuple_self_reference", tuple_self_reference, (1.3, 0.4, 6), (0, 1), ((-1.0, 1.5), (-1.0, 1.0), None),
     ("swap-in-loop",))


def last_positive_sample(x, n):
    last = 0.0
    for i in range(n):
        v = math.sin(x * i)
        if v > 0.0:
            last = v
    return last


_add("last_positive_sample", last_positive_sample, (0.7, 9), (0,), ((0.65, 0.75), None),
     ("if-in-loop", "conditional-overwrite"))


def imported_names_and_constants(x, n):
    best = math.inf
    for i in range(n):
        best = min(best, (x - i) ** 2)
    return best + exp(x) + square_root(x) + math.pi * x + math.e + np.pi


_add("imported_names_and_constants", imported_names_and_constants, (1.3, 4), (0,), ((1.1, 1.4), None),
     ("from-import", "constants", "minmax"))


def long_trajectory(x, n):
    v = x
    w = 0.0
    for i in range(n):
        v = v * 0.999 + math.sin(w) * 0.001
        w = w + v * 0.01
    return v + w


_add("long_trajectory", long_trajectory, (1.3, 3000), (0,), ((0.5, 2.0), None), ("for", "long-tape"))


def break_then_use(x, y, n):
    v = x
    for i in range(n):
        v = v * 0.5 + y
        if v > 1.0:
            break
    w = v * i
    return w + v


_add("break_then_use", break_then_use, (0.3, 1.1, 5), (0, 1), ((0.2, 0.4), (1.05, 1.2), None),
     ("break", "loop-variable-after-loop"))


def nested_continue_break_linear(x, y, n):
    for i in range(n):
        for j in range(n):
            if j == 0:
                continue
            if j == 3:
                break
            x -= 0.1 * y
    return x * y


_add("nested_continue_break_linear", nested_continue_break_linear, (0.3, 1.1, 5), (0, 1),
     ((-1.0, 1.0), (-1.5, 1.5), None), ("for-nested", "break", "continue", "linear-body"))


def while_count_from_outer(x, y, n):
    for i in range(n):
        k = 0
        while k < i:
            x -= 0.1 * y
            k += 1
    return x * y


_add("while_count_from_outer", while_count_from_outer, (0.3, 1.1, 5), (0, 1),
     ((-1.0, 1.0), (-1.5, 1.5), None), ("while", "for-nested", "linear-body"))


def default_and_positional_only(x, y, /, scale=2.0):
    return x * y * scale


_add("default_and_positional_only", default_and_positional_only, (0.5, 3.0), (0, 1),
     ((-2.0, 2.0), (1.0, 4.0)), ("signature",))


# --------------------------------------------------------------------------
# Minimal programs of the bugs tests/fuzz found (fixed; kept as regressions)
# --------------------------------------------------------------------------

FUZZ_LIMIT = 2.0


def fuzz_constant_changed_after_use(x, y, n):
    s0 = 0.5
    s1 = s0 / x
    for i in range(n):
        s0 += 1.0          # a loop with no adjoint overwrites what one reads
    return s1 * y


def fuzz_constant_branch(x, y):
    if FUZZ_LIMIT > 1.0:   # a constant test once the global is inlined
        return x * y
    return math.sin(x * y)


def fuzz_unreachable_after_return(x, y):
    if y > 0.0:
        s = x * y
    else:
        return x * 2.0
        s = math.sin(x * y)    # never runs
    return s * x


def fuzz_constant_branch_between_returns(x, y):
    # CI's fuzz run, 2026-11-22: an early return followed by a constant
    # `if` left a statement without a line number, and the ANF pass crashed
    if x > 0.0:
        return x
    if FUZZ_LIMIT < 0.0:
        return x
    if x > 0.5:
        return x * y
    return x + x * y


def fuzz_program_375(x, y, n):
    # fuzz program 375, as generated: Numba folds `-1.6 >= 1.4` to False and
    # the variables only the dead branches assign were left untyped
    s0 = (0.7) * (y)
    s1 = ((-0.9) if s0 <= 1.3 else float(n % 4))
    if n < 0:
        if ((-1.6) >= 1.4) and (float(n % 4) <= y):
            if (s1 < s0) or (n % 2 == 0):
                return (x) ** 3.0
        elif n > 1:
            if (s0 <= 1.8) and (y < 1.3):
                for i in range(2):
                    s0 -= math.sin((i % 3) * 0.5)
            else:
                s0, s1 = s1, 0.2 * (s0 + s1)
        elif (0.5) * (2) >= s1:
            t2 = 2.0 * math.tanh(((s1) * (s0)) / (1.0 + abs((x if (s0 <= x) and (x >= s1) else (-2.0)))))
    return s1 - (math.atan2((1.0 + 0.8 * 0.8) ** 0.5, 1.5 + (y - y) ** 2)) + x * y


_add("fuzz_constant_changed_after_use", fuzz_constant_changed_after_use, (0.11, -0.9, 5),
     (0, 1), ((0.05, 0.5), (-1.0, 1.0), None), ("fuzz", "for"))
_add("fuzz_program_375", fuzz_program_375, (1.0675265046461817, 0.04970542161375624, 4),
     (0, 1), ((0.5, 1.5), (0.01, 0.1), None), ("fuzz", "early-return", "and", "elif"))
_add("fuzz_constant_branch", fuzz_constant_branch, (0.5, 0.7), (0, 1),
     ((-1.0, 1.0), (-1.0, 1.0)), ("fuzz", "if", "global"))
_add("fuzz_constant_branch_between_returns_first", fuzz_constant_branch_between_returns,
     (0.3, 0.7), (0, 1), ((0.1, 0.4), (-1.0, 1.0)), ("fuzz", "early-return", "global"))
_add("fuzz_constant_branch_between_returns_last", fuzz_constant_branch_between_returns,
     (-0.3, 0.7), (0, 1), ((-1.0, -0.1), (-1.0, 1.0)), ("fuzz", "early-return", "global"))
_add("fuzz_unreachable_after_return_then", fuzz_unreachable_after_return, (0.5, 0.7), (0, 1),
     ((-1.0, 1.0), (0.2, 1.0)), ("fuzz", "early-return"))
_add("fuzz_unreachable_after_return_else", fuzz_unreachable_after_return, (0.5, -0.7), (0, 1),
     ((-1.0, 1.0), (-1.0, -0.2)), ("fuzz", "early-return"))


# Functions whose gradient is checked for every trip count 0..SWEEP_MAX_N
# (tests/test_corpus.py::test_trip_count_sweep): tapes must grow correctly
# whatever the number of values pushed, before, inside and after loops.
SWEEP_MAX_N = 140
SWEEP = [
    (symplectic_pendulum, (0.8, 0.1, 0.05), (0, 1, 2)),
    (relaxation_then_rescale, (0.3, 0.7), (0, 1)),
    (exp_series_break, (1.3,), (0,)),
    (first_exceed_return, (1.5,), (0,)),
]
