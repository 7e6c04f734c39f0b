"""Every derivative rule against central finite differences in float64.

A scalar rule is one template that reverse and forward mode both
instantiate (adjit/rules/registry.py), and second order differentiates
generated code whose partials come from the same templates again, so
comparing one mode with another cannot catch a wrong rule: a ``y`` partial
of ``x ** y`` whose own derivative lost its ``log x`` factor gave the same
wrong Hessian entry (0.315 instead of 0.0827 at (1.3, 0.7)) forward over
reverse and reverse over reverse. Here every rule meets an independent
reference, differences of the function itself:

* every registered differentiable scalar primitive (``REGISTRY``), one
  function per primitive at two or three points of its domain (kept away
  from kinks and jumps, ``SCALAR_POINTS``): the gradient (reverse) and a
  jvp (forward) against fourth-order central differences, and the Hessian,
  forward over reverse (``jit.hessian``) and reverse over reverse
  (``jit.grad(jit.grad(f, wrt=k))``), against second differences of the
  function, on target="python"; a slice again on target="cpu";
* every structured array rule (``ARRAY_RULES``) and every elementwise
  primitive on arrays, broadcast in 1-D, 2-D and 3-D (scalar, row, column,
  ``None`` axes), each inside ``sum(W * sin(op(...)))`` with a random ``W``
  so that its cotangent is a random direction: ``<grad, v>`` and the jvp
  along a random ``v`` against differences of the function, and
  ``jit.hvp`` against differences of the gradient along ``v`` and
  ``<w, H v>`` against mixed second differences of the function; on
  target="python", and a slice combining them on target="cpu" (which is
  what guards the compiled ``rt.unbroadcast``, one implementation per pair
  of ranks);
* three near misses of analyses next to the rules (private arrays, lanes),
  where removing one of their conditions gives a wrong gradient.

Each check is a plain function (``scalar_check``, ``array_check``) listed by
``all_checks``: tests/mutation.py calls them directly, in-process, against
mutated rules. Derivatives are made once per module (``derivative``) and
``forget_derivatives`` drops them.
"""

from __future__ import annotations

import ast
import atexit
import importlib.util
import math
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from adjit import jit
from adjit.rules import REGISTRY
from adjit.rules.arrays import ARRAY_RULES, is_elementwise
from adjit.runtime import helpers as rt

# ---- finite differences -----------------------------------------------------------------

STEP = 1e-3           # fourth-order stencil: truncation ~ STEP**4, rounding ~ eps / STEP
RTOL, ATOL = 1e-6, 1e-8
RTOL2, ATOL2 = 2e-6, 1e-7    # second differences of the function: rounding ~ eps / STEP**2


def stencil(at: Callable[[float], object], h: float = STEP):
    """Fourth-order central difference of `at` (a function of the step) at 0."""
    return (-np.asarray(at(2 * h)) + 8 * np.asarray(at(h)) - 8 * np.asarray(at(-h))
            + np.asarray(at(-2 * h))) / (12 * h)


def moved(args, wrt, direction, t):
    shifted = list(args)
    for position, d in zip(wrt, direction):
        shifted[position] = args[position] + t * d
    return shifted


def along(fn, args, wrt, direction):
    """d/dt fn(args + t direction) at 0."""
    return float(stencil(lambda t: fn(*moved(args, wrt, direction, t))))


def along_twice(fn, args, wrt, first, second):
    """d2/ds dt fn(args + s first + t second) at 0: `first . H second`."""
    return float(stencil(lambda s: stencil(
        lambda t: fn(*moved(moved(args, wrt, first, s), wrt, second, t)))))


def inner(parts, directions) -> float:
    return float(sum(np.sum(np.asarray(p, dtype=np.float64) * np.asarray(d))
                     for p, d in zip(parts, directions)))


def assert_close(label, got, expected, scale, rtol=RTOL, atol=ATOL):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, f"{label}: shape {got.shape}, expected {expected.shape}"
    bound = rtol * np.abs(expected) + atol * max(1.0, scale)
    if not (np.all(np.isfinite(got)) and np.all(np.abs(got - expected) <= bound)):
        raise AssertionError(f"{label}: adjit {got.tolist()}, finite differences "
                             f"{expected.tolist()}")


# ---- derivatives, made once per module ---------------------------------------------------

_DERIVATIVES: dict = {}


def derivative(kind: str, fn, wrt, target: str):
    """jit.<kind>(fn, wrt, target), made once: kind is grad, jvp, hessian,
    hvp, or ("grad-grad", k) for reverse over reverse (row k of the Hessian)."""
    key = (kind, fn, wrt, target)
    if key not in _DERIVATIVES:
        if isinstance(kind, tuple):
            _DERIVATIVES[key] = jit.grad(jit.grad(fn, wrt=kind[1], target=target), wrt=wrt,
                                         target=target)
        else:
            _DERIVATIVES[key] = getattr(jit, kind)(fn, wrt=wrt, target=target)
    return _DERIVATIVES[key]


def forget_derivatives() -> None:
    _DERIVATIVES.clear()


# ---- scalar primitives ---------------------------------------------------------------------

# Registered primitives not checked here as scalars, and why. Every other
# differentiable primitive, the rt.* helpers included (user code can call
# each of them: only `rt.grow`, which is not differentiable, is refused
# outside generated code), must have points below.
SCALAR_ELSEWHERE = {
    "np.where": "of scalars NumPy returns a 0-d array, not a float: checked on arrays",
    "np.copy": "of a float NumPy returns a 0-d array, not a float: checked on arrays",
}

# numpy and runtime spellings -> the name whose points they share
_SAME_POINTS = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2",
                "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "power": "pow",
                "absolute": "abs", "maximum": "max", "minimum": "min", "float64": "float",
                "pow_base_partial_elementwise": "pow_base_partial",
                "pow_exponent_partial_elementwise": "pow_exponent_partial",
                "Pow": "pow"}

# points of each primitive's domain, away from kinks and jumps: both branches
# of min/max/abs/clip, both signs where a rule depends on one, the
# reflection branches of digamma
SCALAR_POINTS = {
    "unary": [(0.6,), (-1.3,)],
    "binary": [(0.6, -1.3), (1.7, 0.45)],
    "asin": [(0.3,), (-0.55,)], "acos": [(0.3,), (-0.55,)], "atanh": [(0.3,), (-0.55,)],
    "acosh": [(1.7,), (3.1,)],
    "log": [(0.6,), (2.3,)], "log2": [(0.6,), (2.3,)], "log10": [(0.6,), (2.3,)],
    "sqrt": [(0.6,), (2.3,)], "log1p": [(0.6,), (-0.4,)],
    "gamma": [(0.7,), (2.6,), (-1.5,)], "lgamma": [(0.7,), (3.4,), (-1.5,)],
    "digamma": [(0.7,), (12.5,), (-1.5,)],
    "pow": [(1.3, 0.7), (0.6, -1.4), (2.1, 2.5)],
    "pow_base_partial": [(1.3, 0.7), (0.6, -1.4), (2.1, 2.5)],
    "pow_exponent_partial": [(1.3, 0.7), (0.6, -1.4), (2.1, 2.5)],
    "Mod": [(5.3, 1.7), (-2.3, 1.1), (2.5, -0.7)],
    "min": [(0.3, 0.8), (0.9, 0.2)], "max": [(0.3, 0.8), (0.9, 0.2)],
    "atan2": [(0.6, -1.3), (-0.4, 0.8)],
    "copysign": [(0.6, -1.3), (-1.7, 0.45)],
    "clip": [(0.5, 0.1, 0.9), (-0.3, 0.1, 0.9), (1.4, 0.1, 0.9)],
    # scipy.special (adjit/rules/scipy.py)
    "gammaln": [(0.7,), (3.4,), (-1.5,)], "logit": [(0.3,), (0.85,)],
    "trigamma": [(0.7,), (12.5,), (-1.5,)],
    "xlogy": [(0.6, 1.3), (-1.2, 0.4)], "xlog1py": [(0.6, 1.3), (-1.2, -0.4)],
    "log_ndtr": [(0.6,), (-4.5,)],
}

# Second order where the primitive's own Hessian cannot be asked for, and why;
# SECOND_THROUGH checks the Hessian of the primitive inside another function
SECOND_REFUSED = {
    "rt.digamma": "its partial calls rt.trigamma, which has no rule: a third derivative of "
                  "lgamma is refused (docs/limitations.md#higher-order)",
    "rt.special.trigamma": "its partial calls rt.special.tetragamma, which has no rule: a "
                           "fourth derivative of gammaln is refused "
                           "(docs/limitations.md#higher-order)",
}
SECOND_THROUGH = {
    # the y partial, -floor(x / y), is an int: a gradient with an int output
    # is not differentiated again; sin(x % y) has the partials as factors
    "Mod": "math.sin({})",
}

# the cpu slice: operators, a jump, special functions, two-argument rules
SCALAR_CPU = ("Pow", "Mod", "Div", "USub", "max", "abs", "math.sin", "math.atan2",
              "math.lgamma", "math.hypot", "math.pow", "np.tanh", "rt.pow_exponent_partial",
              "rt.special.gammaln", "rt.special.xlogy", "rt.special.log_ndtr")

# jvp directions: irregular, so that no two partials can trade places unseen
_DIRECTIONS = {1: (0.7,), 2: (0.7, -0.45), 3: (0.7, -0.45, 0.3)}


@dataclass
class ScalarSpec:
    name: str                       # test id and function name
    primitive: object               # the registry's Primitive
    expression: str                 # the call, over the parameters
    parameters: tuple[str, ...]
    points: list[tuple]

    @property
    def function_name(self) -> str:
        return "scalar_" + self.name.replace(".", "_")

    @property
    def second_function_name(self) -> str:
        """The function whose Hessian is checked (SECOND_THROUGH)."""
        return self.function_name + ("_inside" if self.name in SECOND_THROUGH else "")


def primitive_name(primitive) -> str:
    key = primitive.key
    if isinstance(key, type) and issubclass(key, (ast.operator, ast.unaryop)):
        return key.__name__
    return primitive.spelling


def _scalar_spec(primitive) -> ScalarSpec:
    name = primitive_name(primitive)
    count = primitive.arity[0]
    parameters = ("x", "y", "z")[:count]
    if name[0].isupper():               # an operator
        expression = (f"x {primitive.spelling} y" if count == 2 else
                      f"{primitive.spelling}x")
    else:
        expression = f"{primitive.spelling}({', '.join(parameters)})"
    base = name.split(".")[-1]
    base = _SAME_POINTS.get(base, base)
    points = SCALAR_POINTS.get(base) or SCALAR_POINTS.get(name) or \
        SCALAR_POINTS["unary" if count == 1 else "binary"]
    return ScalarSpec(name, primitive, expression, parameters, points)


def scalar_specs() -> list[ScalarSpec]:
    return [_scalar_spec(p) for p in REGISTRY.primitives()
            if p.differentiable and primitive_name(p) not in SCALAR_ELSEWHERE]


SCALAR_SPECS = scalar_specs()
_SCALAR_BY_NAME = {spec.name: spec for spec in SCALAR_SPECS}


def scalar_check(name: str, target: str = "python", second: bool = True) -> None:
    """The gradient and a jvp of the primitive `name` against differences of
    the function, at each of its points; with `second`, its Hessian forward
    over reverse and reverse over reverse against second differences."""
    spec = _SCALAR_BY_NAME[name]
    fn = getattr(cases_module(), spec.function_name)
    inside = getattr(cases_module(), spec.second_function_name)
    second = second and name not in SECOND_REFUSED
    wrt = tuple(range(len(spec.parameters)))
    direction = _DIRECTIONS[len(wrt)]
    for point in spec.points:
        label = f"{name}{point} [{target}]"
        value = fn(*point)
        gradient = np.atleast_1d(np.asarray(derivative("grad", fn, wrt, target)(*point)))
        numerical = np.array([along(fn, point, wrt, np.eye(len(wrt))[k]) for k in wrt])
        scale = abs(value) + float(np.sum(np.abs(numerical)))
        assert_close(f"{label}: gradient", gradient, numerical, scale)
        _, tangent = derivative("jvp", fn, wrt, target)(*point, direction)
        assert_close(f"{label}: jvp", tangent, float(np.dot(numerical, direction)), scale)
        if not second:
            continue
        expected = np.array([[along_twice(inside, point, wrt, np.eye(len(wrt))[i],
                                          np.eye(len(wrt))[j]) for j in wrt] for i in wrt])
        scale2 = scale + float(np.sum(np.abs(expected)))
        hessian = np.asarray(derivative("hessian", inside, wrt, target)(*point),
                             dtype=np.float64).reshape(len(wrt), len(wrt))
        assert_close(f"{label}: hessian (forward over reverse)", hessian, expected, scale2,
                     RTOL2, ATOL2)
        for k in wrt:
            row = derivative(("grad-grad", k), inside, wrt, target)(*point)
            assert_close(f"{label}: hessian row {k} (reverse over reverse)",
                         np.atleast_1d(np.asarray(row, dtype=np.float64)), expected[k],
                         scale2, RTOL2, ATOL2)


# ---- whole-array cases ---------------------------------------------------------------------

@dataclass
class ArrayCase:
    name: str
    function: str                  # its name in `cases_module()` or in this module
    make: Callable                 # make(rng) -> arguments
    wrt: tuple
    keys: tuple = ()               # the rules it is meant to check (ARRAY_RULES / REGISTRY keys)
    second: bool = True            # check jit.hvp too
    valid: Callable | None = None  # valid(args): the arguments keep away from kinks

    def fn(self):
        return globals().get(self.function) or getattr(cases_module(), self.function)


def normal(*shape):
    return lambda rng: rng.normal(size=shape) if shape else float(rng.normal())


def uniform(low, high, *shape):
    return lambda rng: rng.uniform(low, high, size=shape) if shape else \
        float(rng.uniform(low, high))


def signed(low, high, *shape):
    """Magnitudes in [low, high], signs mixed: away from 0."""
    def make(rng):
        size = shape or ()
        value = rng.uniform(low, high, size=size) * rng.choice([-1.0, 1.0], size=size)
        return value if shape else float(value)
    return make


def distinct(*shape):
    """Values at least 0.2 apart (no ties for max/min/argmax)."""
    def make(rng):
        count = int(np.prod(shape))
        return (rng.permutation(count) * 0.3 - 0.15 * count
                + rng.uniform(0.0, 0.1, count)).reshape(shape)
    return make


def spd(n):
    def make(rng):
        m = rng.normal(size=(n, n)) * 0.4
        return m @ m.T + (1.0 + 0.3 * n) * np.eye(n)
    return make


def booleans(*shape):
    return lambda rng: rng.uniform(size=shape) < 0.5


def arguments(*makers):
    return lambda rng: tuple(make(rng) for make in makers)


# -- structured operations (ARRAY_RULES) -----------------------------------------------

def dot_vv(a, b, w):
    return w * math.sin(np.dot(a, b))


def dot_mv(A, b, W):
    return np.sum(W * np.sin(np.dot(A, b)))


def dot_vm(a, B, W):
    return np.sum(W * np.sin(np.dot(a, B)))


def dot_mm(A, B, W):
    return np.sum(W * np.sin(np.dot(A, B)))


def matmul_vv(a, b, w):
    return w * math.sin(a @ b)


def matmul_mv(A, b, W):
    return np.sum(W * np.sin(A @ b))


def matmul_vm(a, B, W):
    return np.sum(W * np.sin(a @ B))


def matmul_mm(A, B, W):
    return np.sum(W * np.sin(A @ B))


def outer(a, b, W):
    return np.sum(W * np.sin(np.outer(a, b)))


def sum_whole(x, X, T, w):
    return w * math.sin(np.sum(x) + 0.5 * np.sum(X) - 0.25 * np.sum(T))


def sum_axes_2d(X, W0, W1):
    return np.sum(W0 * np.sin(np.sum(X, axis=0))) + np.sum(W1 * np.sin(np.sum(X, 1)))


def sum_axes_3d(T, W0, W1, W2):
    return np.sum(W0 * np.sin(np.sum(T, axis=0))) + np.sum(W1 * np.sin(np.sum(T, axis=1))) \
        + np.sum(W2 * np.sin(np.sum(T, axis=-1)))


def sum_keepdims(X, W0, W1, w):
    return np.sum(W0 * np.sin(np.sum(X, axis=0, keepdims=True))) \
        + np.sum(W1 * np.sin(np.sum(X, axis=1, keepdims=True))) \
        + w * math.sin(np.sum(X * np.sum(X, keepdims=True)))


def mean_whole(x, X, w):
    return w * math.sin(np.mean(x) + np.mean(X) * np.mean(x))


def mean_axes(X, T, W0, W1):
    return np.sum(W0 * np.sin(np.mean(X, axis=0))) + np.sum(W1 * np.sin(np.mean(T, axis=1)))


def mean_keepdims(X, W):
    return np.sum(W * np.sin(X * np.mean(X, axis=1, keepdims=True)))


def max_whole(x, w):
    return w * math.sin(np.max(x) * np.sum(x))


def min_whole(X, w):
    return w * math.sin(np.min(X) * np.sum(X))


def max_axes(X, W0, W1):
    return np.sum(W0 * np.sin(np.max(X, axis=0) * np.sum(X, axis=0))) \
        + np.sum(W1 * np.sin(np.max(X, 1) * np.sum(X, 1)))


def min_axes_3d(T, W):
    return np.sum(W * np.sin(np.min(T, axis=1) * np.sum(T, axis=1)))


def extrema_keepdims(X, W):
    return np.sum(W * np.sin(X * np.max(X, axis=0, keepdims=True)
                             - X * np.min(X, axis=1, keepdims=True)))


def prod_whole(x, X, w):
    return w * math.sin(np.prod(x) + np.prod(X))


def prod_with_a_zero(x, w):
    return w * math.sin(np.prod(x) + np.sum(x))


def prod_axes(X, T, W0, W1, W2):
    return np.sum(W0 * np.sin(np.prod(X, axis=0))) + np.sum(W1 * np.sin(np.prod(X, 1))) \
        + np.sum(W2 * np.sin(np.prod(T, axis=2)))


def prod_keepdims(X, W):
    return np.sum(W * np.sin(X * np.prod(X, axis=1, keepdims=True)))


def transpose_2d(X, W):
    return np.sum(W * np.sin(np.transpose(X) * X.T))


def transpose_3d(T, W):
    return np.sum(W * np.sin(np.transpose(T)))


def reshape_up(x, X, W2, W3):
    return np.sum(W2 * np.sin(np.reshape(x, (3, 4)))) \
        + np.sum(W3 * np.sin(X.reshape((2, 3, 2))))


def reshape_down(T, W):
    return np.sum(W * np.sin(np.reshape(T, (6, 4))))


def reshape_like(x, A, W):
    return np.sum(W * np.sin(np.reshape(x, A.shape) * A))


def ravel(X, T, W2, W3):
    return np.sum(W2 * np.sin(np.ravel(X))) + np.sum(W3 * np.sin(np.ravel(T)))


def expand_dims(x, X, s, W0, W1, W2, w):
    return np.sum(W0 * np.sin(np.expand_dims(x, 0))) \
        + np.sum(W1 * np.sin(np.expand_dims(x, 1))) \
        + np.sum(W2 * np.sin(np.expand_dims(X, 2))) \
        + np.sum(w * np.sin(np.expand_dims(s, 0)))


def norm_1d(x, w):
    return w * math.sin(np.linalg.norm(x))


def norm_2d(X, w):
    return w * math.sin(np.linalg.norm(X))


def inverse(A, W):
    return np.sum(W * np.sin(np.linalg.inv(A)))


def solve_vector(A, b, W):
    return np.sum(W * np.sin(np.linalg.solve(A, b)))


def solve_matrix(A, B, W):
    return np.sum(W * np.sin(np.linalg.solve(A, B)))


def determinant(A, w):
    return w * math.sin(np.linalg.det(A))


# -- the runtime helpers generated code calls, called directly ------------------------

def unbroadcast_direct(G, x, c, H, M, W1, W2, W3):
    return np.sum(W1 * np.sin(rt.unbroadcast(G * x, x))) \
        + np.sum(W2 * np.sin(rt.unbroadcast(G * c, c))) \
        + np.sum(W3 * np.sin(rt.unbroadcast(H * M, M)))


def broadcast_like_direct(v, s, X, W):
    return np.sum(W * np.sin(rt.broadcast_like(v, X) * X + rt.broadcast_like(s, X)))


def reshape_like_direct(x, A, W):
    return np.sum(W * np.sin(rt.reshape_like(x, A) * A))


def take_at_extremum_direct(t, x, w):
    return w * math.sin(rt.take_at_extremum(t, x, True) * np.sum(t)
                        + rt.take_at_extremum(t, x, False))


def spread_to_extremum_direct(g, x, W):
    return np.sum(W * np.sin(rt.spread_to_extremum(x, g * g, True) * x
                             + rt.spread_to_extremum(x, g, False)))


def take_at_extremum_along_direct(T, X, W):
    return np.sum(W * np.sin(rt.take_at_extremum_along(T, X, 1, True) * np.sum(T, 1)
                             + rt.take_at_extremum_along(T, X, 0, False)[0]))


def spread_to_extremum_along_direct(g, X, W):
    return np.sum(W * np.sin(rt.spread_to_extremum_along(X, g * g, 1, True) * X
                             + rt.spread_to_extremum_along(X, g, 1, False)))


def product_of_others_direct(x, X, W1, W2):
    return np.sum(W1 * np.sin(rt.product_of_others(x))) \
        + np.sum(W2 * np.sin(rt.product_of_others(X)))


def product_of_others_along_direct(X, W):
    return np.sum(W * np.sin(rt.product_of_others_along(X, 0)))


def reductions_along_direct(X, W0, W1):
    return np.sum(W0 * np.sin(rt.prod_along(X, 1))) \
        + np.sum(W1 * np.sin(rt.extremum_along(X, 0, True) * rt.prod_along(X, 0)))


def keep_dims_direct(X, W):
    return np.sum(W * np.sin(X * rt.keep_dims(np.sum(X, 0), X, 0)
                             + rt.keep_dims(np.sum(X), X)))


# -- running sums, products and differences; arrays joined (rules/scans, rules/joins) --

def cumsum_axes(x, X, T, W1, W2, W3, W4):
    return np.sum(W1 * np.sin(np.cumsum(x))) + np.sum(W2 * np.sin(np.cumsum(X, axis=1))) \
        + np.sum(W3 * np.sin(np.cumsum(T, axis=-3))) + np.sum(W4 * np.sin(np.cumsum(X)))


def cumsum_backwards_direct(X, W):
    return np.sum(W * np.sin(rt.cumsum_along(X, 0, True) * X))


def cumprod_axes(x, X, W1, W2, W3):
    return np.sum(W1 * np.sin(np.cumprod(x))) + np.sum(W2 * np.sin(np.cumprod(X, axis=0))) \
        + np.sum(W3 * np.sin(np.cumprod(X, axis=1)))


def cumprod_jvp_direct(X, V, W):
    return np.sum(W * np.sin(rt.cumprod_jvp(X, V * V, 1) + rt.cumprod_jvp(X, X, 0)))


def cumprod_vjp_direct(x, g, w):
    return np.sum(w * np.sin(rt.cumprod_vjp(x, g * x, 0)))


def diff_axes(x, X, T, W1, W2, W3):
    return np.sum(W1 * np.sin(np.diff(x))) + np.sum(W2 * np.sin(np.diff(X, axis=0))) \
        + np.sum(W3 * np.sin(np.diff(T, 2, axis=1)))


def diff_transpose_direct(g, X, W1, W2):
    return np.sum(W1 * np.sin(rt.diff_transpose(g * g, 0))) \
        + np.sum(W2 * np.sin(rt.diff_transpose(X, 1) * X[0, 0]))


def array_of_values(a, b, x, y, W1, W2, W3):
    return np.sum(W1 * np.sin(np.array([a, b * a, 1.0]))) \
        + np.sum(W2 * np.sin(np.array([[a, b], [b * b, a]]))) \
        + np.sum(W3 * np.sin(np.array([x, y * a])))


def stack_axes(x, y, X, W0, W1, W2):
    return np.sum(W0 * np.sin(np.stack((x, y)))) + np.sum(W1 * np.sin(np.stack([x, y * x], 1))) \
        + np.sum(W2 * np.sin(np.stack((X, X * X), axis=-1)))


def concatenate_axes(x, y, X, Y, W0, W1, W2):
    return np.sum(W0 * np.sin(np.concatenate((x, y, x)))) \
        + np.sum(W1 * np.sin(np.concatenate([X, Y], axis=1))) \
        + np.sum(W2 * np.sin(np.concatenate((X[:, :2], Y), axis=-1) * X[0, 0]))


def stacks_by_rank(x, y, X, Y, W0, W1, W2, W3):
    return np.sum(W0 * np.sin(np.hstack((x, y)))) + np.sum(W1 * np.sin(np.hstack([X, Y]))) \
        + np.sum(W2 * np.sin(np.vstack((x, y)))) + np.sum(W3 * np.sin(np.vstack([X, X * Y])))


def at_least_ranks(s, x, X, W0, W1, W2, W3):
    return np.sum(W0 * np.sin(np.atleast_1d(s))) + np.sum(W1 * np.sin(np.atleast_2d(x))) \
        + np.sum(W2 * np.sin(np.atleast_2d(s) * np.atleast_1d(x))) \
        + np.sum(W3 * np.sin(np.atleast_2d(X) * np.atleast_1d(X)))


# -- what target="cpu" compiles: the rules above, combined -----------------------------
# Numba takes seconds per broadcast array expression (about ten for one
# between 3-D and 2-D arrays), so these are lean: each line reaches one
# compiled `rt.unbroadcast` (ranks of the contribution and of the operand:
# its Numba implementation is chosen by them) or a group of structured rules.
# Reductions along axes and np.linalg are compiled against finite
# differences by tests/test_array_ops.py (`reductions`, `softmax_rows`,
# `linear_algebra`) and tests/test_array_axis.py.

def compiled_broadcast_1d(x, one, s, W):
    return np.sum(W * (x * one + s * x * x))             # (1, 1), a float


def compiled_broadcast_2d(X, r, c, W):
    return np.sum(W * (X * r + c / X))                   # (2, 1), (2, 2)


def compiled_none_axes(x, Y, W):
    return np.sum(W * (x[:, None] * Y))                  # (2, 2) through a view


def compiled_broadcast_3d(T, M):
    return np.sum(T * M * M)                             # (3, 3), (3, 2)


def compiled_products(A, B, a, b, W):
    u = A @ b
    z = np.dot(a, B)
    return np.sum(W * np.dot(A, B) * A) + np.dot(u, z) * (u @ z) + np.sum(np.outer(a, b) * B)


def compiled_scans_and_joins(x, y, X, W):
    return np.sum(W * np.cumsum(X, axis=1) * np.cumprod(X, axis=0)) \
        + np.sum(np.diff(x) * np.concatenate((x[1:], y))[:3]) \
        + np.sum(np.stack((x, y), 1) ** 2) + np.sum(np.array([x[0], y[0] * x[1]]) ** 2) \
        + np.sum(np.hstack((x, y)) * np.vstack((x, y))[0, 0]) + np.sum(np.atleast_2d(x[0]))


def compiled_shapes(X, x, W, V):
    return np.sum(W * np.transpose(X) * np.reshape(x, (4, 3))) + np.dot(V, np.ravel(X) * x) \
        + np.sum(np.expand_dims(x, 1) * X[0])


# -- the case list ------------------------------------------------------------------

def _valid_extrema(args):
    """No two elements of an array so close that a step swaps an extremum."""
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype == np.float64 and a.size > 1:
            ordered = np.sort(a.ravel())
            if np.min(np.diff(ordered)) < 0.05:
                return False
    return True


STRUCTURED = [
    ArrayCase("dot_vv", "dot_vv", arguments(normal(4), normal(4), normal()), (0, 1), (np.dot,)),
    ArrayCase("dot_mv", "dot_mv", arguments(normal(3, 4), normal(4), normal(3)), (0, 1),
              (np.dot,)),
    ArrayCase("dot_vm", "dot_vm", arguments(normal(3), normal(3, 4), normal(4)), (0, 1),
              (np.dot,)),
    ArrayCase("dot_mm", "dot_mm", arguments(normal(3, 4), normal(4, 2), normal(3, 2)), (0, 1),
              (np.dot,)),
    ArrayCase("dot_mm_square", "dot_mm", arguments(normal(3, 3), normal(3, 3), normal(3, 3)),
              (0, 1), (np.dot,)),
    ArrayCase("matmul_vv", "matmul_vv", arguments(normal(4), normal(4), normal()), (0, 1),
              (ast.MatMult,)),
    ArrayCase("matmul_mv", "matmul_mv", arguments(normal(3, 4), normal(4), normal(3)), (0, 1),
              (ast.MatMult,)),
    ArrayCase("matmul_vm", "matmul_vm", arguments(normal(3), normal(3, 4), normal(4)), (0, 1),
              (ast.MatMult,)),
    ArrayCase("matmul_mm", "matmul_mm", arguments(normal(3, 4), normal(4, 2), normal(3, 2)),
              (0, 1), (ast.MatMult,)),
    ArrayCase("matmul_mm_square", "matmul_mm",
              arguments(normal(3, 3), normal(3, 3), normal(3, 3)), (0, 1), (ast.MatMult,)),
    ArrayCase("outer", "outer", arguments(normal(3), normal(4), normal(3, 4)), (0, 1),
              (np.outer,)),
    ArrayCase("sum_whole", "sum_whole", arguments(normal(4), normal(3, 4), normal(2, 3, 4),
                                                   normal()), (0, 1, 2), (np.sum,)),
    ArrayCase("sum_axes_2d", "sum_axes_2d", arguments(normal(3, 4), normal(4), normal(3)), (0,),
              (np.sum, np.expand_dims)),
    ArrayCase("sum_axes_3d", "sum_axes_3d",
              arguments(normal(2, 3, 4), normal(3, 4), normal(2, 4), normal(2, 3)), (0,),
              (np.sum, np.expand_dims)),
    ArrayCase("sum_keepdims", "sum_keepdims",
              arguments(normal(3, 4), normal(1, 4), normal(3, 1), normal()), (0,),
              (np.sum, rt.keep_dims)),
    ArrayCase("mean_whole", "mean_whole", arguments(normal(4), normal(3, 4), normal()), (0, 1),
              (np.mean,)),
    ArrayCase("mean_axes", "mean_axes",
              arguments(normal(3, 4), normal(2, 3, 4), normal(4), normal(2, 4)), (0, 1),
              (np.sum, np.expand_dims)),
    ArrayCase("mean_keepdims", "mean_keepdims", arguments(normal(3, 4), normal(3, 4)), (0,),
              (np.sum, rt.keep_dims)),
    ArrayCase("max_whole", "max_whole", arguments(distinct(5), normal()), (0,),
              (np.max, rt.take_at_extremum, rt.spread_to_extremum), valid=_valid_extrema),
    ArrayCase("min_whole", "min_whole", arguments(distinct(3, 4), normal()), (0,),
              (np.min, rt.take_at_extremum, rt.spread_to_extremum), valid=_valid_extrema),
    ArrayCase("max_axes", "max_axes", arguments(distinct(3, 4), normal(4), normal(3)), (0,),
              (rt.extremum_along, rt.take_at_extremum_along, rt.spread_to_extremum_along),
              valid=_valid_extrema),
    ArrayCase("min_axes_3d", "min_axes_3d", arguments(distinct(2, 3, 4), normal(2, 4)), (0,),
              (rt.extremum_along, rt.take_at_extremum_along, rt.spread_to_extremum_along),
              valid=_valid_extrema),
    ArrayCase("extrema_keepdims", "extrema_keepdims", arguments(distinct(3, 4), normal(3, 4)),
              (0,), (rt.extremum_along, rt.keep_dims), valid=_valid_extrema),
    ArrayCase("prod_whole", "prod_whole", arguments(uniform(0.5, 1.5, 4), uniform(0.6, 1.2, 2, 3),
                                                     normal()), (0, 1),
              (np.prod, rt.product_of_others)),
    ArrayCase("prod_with_a_zero", "prod_with_a_zero",
              lambda rng: (np.array([0.7, 0.0, -1.3, 0.9]), float(rng.normal())), (0,),
              (np.prod, rt.product_of_others)),
    ArrayCase("prod_axes", "prod_axes",
              arguments(uniform(0.5, 1.5, 3, 4), uniform(0.5, 1.5, 2, 3, 4), normal(4),
                        normal(3), normal(2, 3)), (0, 1),
              (rt.prod_along, rt.product_of_others_along)),
    ArrayCase("prod_keepdims", "prod_keepdims", arguments(uniform(0.5, 1.5, 3, 4), normal(3, 4)),
              (0,), (rt.prod_along, rt.keep_dims)),
    ArrayCase("transpose_2d", "transpose_2d", arguments(normal(3, 4), normal(4, 3)), (0,),
              (np.transpose,)),
    ArrayCase("transpose_3d", "transpose_3d", arguments(normal(2, 3, 4), normal(4, 3, 2)), (0,),
              (np.transpose,)),
    ArrayCase("reshape_up", "reshape_up",
              arguments(normal(12), normal(3, 4), normal(3, 4), normal(2, 3, 2)), (0, 1),
              (np.reshape, rt.reshape_like)),
    ArrayCase("reshape_down", "reshape_down", arguments(normal(2, 3, 4), normal(6, 4)), (0,),
              (np.reshape, rt.reshape_like)),
    ArrayCase("reshape_like", "reshape_like", arguments(normal(12), normal(3, 4), normal(3, 4)),
              (0, 1), (rt.reshape_like,)),
    ArrayCase("ravel", "ravel", arguments(normal(3, 4), normal(2, 3, 2), normal(12), normal(12)),
              (0, 1), (np.ravel, rt.reshape_like)),
    ArrayCase("expand_dims", "expand_dims",
              arguments(normal(4), normal(3, 4), normal(), normal(1, 4), normal(4, 1),
                        normal(3, 4, 1), normal(1)), (0, 1, 2), (np.expand_dims,)),
    ArrayCase("norm_1d", "norm_1d", arguments(normal(5), normal()), (0,), (np.linalg.norm,)),
    ArrayCase("norm_2d", "norm_2d", arguments(normal(3, 4), normal()), (0,), (np.linalg.norm,)),
    ArrayCase("inverse", "inverse", arguments(spd(3), normal(3, 3)), (0,), (np.linalg.inv,)),
    ArrayCase("solve_vector", "solve_vector", arguments(spd(3), normal(3), normal(3)), (0, 1),
              (np.linalg.solve,)),
    ArrayCase("solve_matrix", "solve_matrix", arguments(spd(3), normal(3, 2), normal(3, 2)),
              (0, 1), (np.linalg.solve,)),
    ArrayCase("determinant", "determinant", arguments(spd(3), normal()), (0,),
              (np.linalg.det,)),
    ArrayCase("unbroadcast_direct", "unbroadcast_direct",
              arguments(normal(3, 4), normal(4), normal(3, 1), normal(2, 3, 4), normal(3, 4),
                        normal(4), normal(3, 1), normal(3, 4)), (0, 1, 2, 3, 4),
              (rt.unbroadcast, rt.broadcast_like)),
    ArrayCase("broadcast_like_direct", "broadcast_like_direct",
              arguments(normal(4), normal(), normal(3, 4), normal(3, 4)), (0, 1, 2),
              (rt.broadcast_like, rt.unbroadcast)),
    ArrayCase("reshape_like_direct", "reshape_like_direct",
              arguments(normal(12), normal(3, 4), normal(3, 4)), (0, 1), (rt.reshape_like,)),
    ArrayCase("take_at_extremum_direct", "take_at_extremum_direct",
              arguments(normal(5), distinct(5), normal()), (0, 1),
              (rt.take_at_extremum, rt.spread_to_extremum), valid=_valid_extrema),
    ArrayCase("spread_to_extremum_direct", "spread_to_extremum_direct",
              arguments(normal(), distinct(5), normal(5)), (0, 1),
              (rt.spread_to_extremum, rt.take_at_extremum), valid=_valid_extrema),
    ArrayCase("take_at_extremum_along_direct", "take_at_extremum_along_direct",
              arguments(normal(3, 4), distinct(3, 4), normal(3)), (0, 1),
              (rt.take_at_extremum_along, rt.spread_to_extremum_along), valid=_valid_extrema),
    ArrayCase("spread_to_extremum_along_direct", "spread_to_extremum_along_direct",
              arguments(normal(3), distinct(3, 4), normal(3, 4)), (0, 1),
              (rt.spread_to_extremum_along, rt.take_at_extremum_along), valid=_valid_extrema),
    ArrayCase("product_of_others_direct", "product_of_others_direct",
              arguments(uniform(0.5, 1.5, 4), uniform(0.5, 1.5, 2, 3), normal(4), normal(2, 3)),
              (0, 1), (rt.product_of_others,), second=False),
    ArrayCase("product_of_others_along_direct", "product_of_others_along_direct",
              arguments(uniform(0.5, 1.5, 3, 4), normal(3, 4)), (0,),
              (rt.product_of_others_along,), second=False),
    ArrayCase("reductions_along_direct", "reductions_along_direct",
              arguments(distinct(3, 4), normal(3), normal(4)), (0,),
              (rt.prod_along, rt.extremum_along), valid=_valid_extrema),
    ArrayCase("keep_dims_direct", "keep_dims_direct", arguments(normal(3, 4), normal(3, 4)), (0,),
              (rt.keep_dims,)),
    ArrayCase("cumsum_axes", "cumsum_axes",
              arguments(normal(5), normal(3, 4), normal(2, 3, 4), normal(5), normal(3, 4),
                        normal(2, 3, 4), normal(12)), (0, 1, 2), (rt.cumsum_along,)),
    ArrayCase("cumsum_backwards_direct", "cumsum_backwards_direct",
              arguments(normal(3, 4), normal(3, 4)), (0,), (rt.cumsum_along,)),
    ArrayCase("cumprod_axes", "cumprod_axes",
              arguments(signed(0.5, 1.5, 5), signed(0.5, 1.5, 3, 4), normal(5), normal(3, 4),
                        normal(3, 4)), (0, 1), (rt.cumprod_along, rt.cumprod_jvp, rt.cumprod_vjp)),
    ArrayCase("cumprod_through_zero", "cumprod_axes",
              lambda rng: (np.array([0.7, 0.0, -1.3, 0.9, 1.1]),
                           np.array([[0.5, 1.2, 0.0, -0.8], [1.1, 0.0, 0.9, 1.3],
                                     [0.0, 0.7, 1.4, -0.6]]),
                           rng.normal(size=5), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))),
              (0, 1), (rt.cumprod_along, rt.cumprod_jvp, rt.cumprod_vjp)),
    # a third derivative of np.cumprod is refused: rt.cumprod_second(_vjp) have no rules
    ArrayCase("cumprod_jvp_direct", "cumprod_jvp_direct",
              arguments(signed(0.5, 1.5, 3, 4), normal(3, 4), normal(3, 4)), (0, 1),
              (rt.cumprod_jvp, rt.cumprod_vjp), second=False),
    ArrayCase("cumprod_vjp_direct", "cumprod_vjp_direct",
              arguments(signed(0.5, 1.5, 5), normal(5), normal(5)), (0, 1),
              (rt.cumprod_vjp, rt.cumprod_jvp), second=False),
    ArrayCase("diff_axes", "diff_axes",
              arguments(normal(5), normal(3, 4), normal(2, 4, 3), normal(4), normal(2, 4),
                        normal(2, 2, 3)), (0, 1, 2), (rt.diff_along, rt.diff_transpose)),
    ArrayCase("diff_transpose_direct", "diff_transpose_direct",
              arguments(normal(4), normal(3, 4), normal(5), normal(3, 5)), (0, 1),
              (rt.diff_transpose, rt.diff_along)),
    ArrayCase("array_of_values", "array_of_values",
              arguments(normal(), normal(), normal(4), normal(4), normal(3), normal(2, 2),
                        normal(2, 4)), (0, 1, 2, 3), (rt.array_of,)),
    ArrayCase("stack_axes", "stack_axes",
              arguments(normal(4), normal(4), normal(2, 3), normal(2, 4), normal(4, 2),
                        normal(2, 3, 2)), (0, 1, 2), (rt.stack_along,)),
    ArrayCase("concatenate_axes", "concatenate_axes",
              arguments(normal(3), normal(2), normal(2, 3), normal(2, 2), normal(8), normal(2, 5),
                        normal(2, 4)), (0, 1, 2, 3), (rt.concatenate_along,)),
    ArrayCase("stacks_by_rank", "stacks_by_rank",
              arguments(normal(3), normal(3), normal(2, 3), normal(2, 3), normal(6), normal(2, 6),
                        normal(2, 3), normal(4, 3)), (0, 1, 2, 3), (rt.hstack, rt.vstack)),
    ArrayCase("at_least_ranks", "at_least_ranks",
              arguments(normal(), normal(3), normal(2, 3), normal(1), normal(1, 3), normal(1, 3),
                        normal(2, 3)), (0, 1, 2), (rt.atleast_1d, rt.atleast_2d)),
]

COMPILED = [
    ArrayCase("compiled_broadcast_1d", "compiled_broadcast_1d",
              arguments(normal(5), normal(1), normal(), normal(5)), (0, 1, 2),
              (rt.unbroadcast, ast.Mult)),
    ArrayCase("compiled_broadcast_2d", "compiled_broadcast_2d",
              arguments(signed(0.5, 1.5, 3, 4), normal(4), normal(3, 1), normal(3, 4)), (0, 1, 2),
              (rt.unbroadcast, ast.Mult, ast.Div)),
    ArrayCase("compiled_none_axes", "compiled_none_axes",
              arguments(normal(3), normal(3, 4), normal(3, 4)), (0, 1), (rt.unbroadcast,)),
    ArrayCase("compiled_broadcast_3d", "compiled_broadcast_3d",
              arguments(normal(2, 3, 4), normal(3, 4)), (0, 1), (rt.unbroadcast, ast.Mult)),
    ArrayCase("compiled_products", "compiled_products",
              arguments(normal(3, 3), normal(3, 3), normal(3), normal(3), normal(3, 3)),
              (0, 1, 2, 3), (np.dot, ast.MatMult, np.outer)),
    ArrayCase("compiled_shapes", "compiled_shapes",
              arguments(normal(3, 4), normal(12), normal(4, 3), normal(12)), (0, 1),
              (np.transpose, np.reshape, np.ravel, np.expand_dims)),
    ArrayCase("compiled_scans_and_joins", "compiled_scans_and_joins",
              arguments(signed(0.5, 1.5, 4), normal(4), normal(3, 4), normal(3, 4)), (0, 1, 2),
              (rt.cumsum_along, rt.cumprod_along, rt.diff_along, rt.concatenate_along,
               rt.stack_along, rt.array_of, rt.hstack, rt.vstack, rt.atleast_2d)),
]

# On target="cpu": which cases also check forward mode (jit.jvp) and second
# order (jit.hvp); every case checks reverse mode. A 3-D jvp or hvp compiles
# for tens of seconds: 3-D forward and second order are checked on
# target="python".
COMPILED_FORWARD = ("compiled_broadcast_1d", "compiled_broadcast_2d", "compiled_none_axes",
                    "compiled_products", "compiled_shapes", "compiled_scans_and_joins")
COMPILED_SECOND = ("compiled_broadcast_1d",)
# structured rules compiled against finite differences by other test files
COMPILED_ELSEWHERE = {
    np.sum: "tests/test_array_ops.py: reductions, softmax_rows",
    np.mean: "tests/test_array_ops.py: reductions",
    np.max: "tests/test_array_ops.py: reductions, mlp_softmax_cross_entropy",
    np.min: "tests/test_array_ops.py: reductions",
    np.prod: "tests/test_array_ops.py: reductions",
    np.linalg.norm: "tests/test_array_ops.py: linear_algebra, stencil_state",
    np.linalg.inv: "tests/test_array_ops.py: linear_algebra",
    np.linalg.solve: "tests/test_array_ops.py: linear_algebra",
    np.linalg.det: "tests/test_array_ops.py: linear_algebra",
}


def _apart(a, b, margin=0.05):
    return bool(np.all(np.abs(np.asarray(a) - np.asarray(b)) > margin))


def _valid_mod(x, y):
    quotient = np.asarray(x) / np.asarray(y)
    fraction = quotient - np.floor(quotient)
    return bool(np.all((fraction > 0.05) & (fraction < 0.95)))


# -- elementwise primitives on arrays, generated into `cases_module()` ------------------

# (label, shape of a, shape of b, how a and b appear in the operation)
BROADCASTS = [
    ("vec_scalar", (5,), (), "{a}", "{b}"),
    ("scalar_vec", (), (5,), "{a}", "{b}"),
    ("vec_vec", (5,), (5,), "{a}", "{b}"),
    ("vec_one", (5,), (1,), "{a}", "{b}"),
    ("mat_row", (3, 4), (4,), "{a}", "{b}"),
    ("row_mat", (4,), (3, 4), "{a}", "{b}"),
    ("mat_column", (3, 4), (3, 1), "{a}", "{b}"),
    ("column_row", (3, 1), (1, 4), "{a}", "{b}"),
    ("mat_scalar", (3, 4), (), "{a}", "{b}"),
    ("none_column", (3,), (3, 4), "{a}[:, None]", "{b}"),
    ("none_row", (4,), (3, 4), "{a}[None, :]", "{b}"),
    ("cube_mat", (2, 3, 4), (3, 4), "{a}", "{b}"),
    ("cube_row", (2, 3, 4), (4,), "{a}", "{b}"),
    ("cube_middle", (2, 3, 4), (2, 1, 4), "{a}", "{b}"),
    ("cube_both", (2, 1, 4), (1, 3, 1), "{a}", "{b}"),
    ("vec_cube", (4,), (2, 3, 4), "{a}", "{b}"),
    ("none_cube", (2, 4), (2, 3, 4), "{a}[:, None, :]", "{b}"),
    ("pairs", (3, 2), (3, 2), "{a}[:, None, :]", "{b}[None, :, :]"),
]
_BROADCAST = {entry[0]: entry for entry in BROADCASTS}
# every binary primitive meets these: one 1-D, one 2-D, one None axis, one 3-D
_ROTATIONS = [("vec_scalar", "mat_row", "none_column", "cube_mat"),
              ("scalar_vec", "mat_column", "none_row", "cube_middle"),
              ("vec_vec", "column_row", "pairs", "cube_both"),
              ("vec_one", "row_mat", "none_cube", "cube_row"),
              ("vec_scalar", "mat_scalar", "none_column", "vec_cube")]
# and these meet all of them
_EVERY_BROADCAST = ("Mult", "Sub", "Pow")
# second order on arrays: every structured case, the elementwise ones at
# their first broadcast, and these at all of theirs
_EVERY_SECOND = ("Mult", "Pow")

# domains of the operands, by primitive (a, b): makers of one shape
_OPERANDS = {
    "pow": (lambda s: uniform(0.5, 2.0, *s), lambda s: uniform(-1.5, 1.5, *s)),
    "pow_base_partial": (lambda s: uniform(0.5, 2.0, *s), lambda s: uniform(-1.5, 1.5, *s)),
    "pow_exponent_partial": (lambda s: uniform(0.5, 2.0, *s),
                             lambda s: uniform(-1.5, 1.5, *s)),
    "Div": (lambda s: normal(*s), lambda s: signed(0.5, 1.5, *s)),
    "Mod": (lambda s: uniform(-3.0, 3.0, *s), lambda s: signed(0.7, 1.3, *s)),
    "copysign": (lambda s: signed(0.2, 1.5, *s), lambda s: signed(0.2, 1.5, *s)),
    "hypot": (lambda s: signed(0.2, 1.5, *s), lambda s: signed(0.2, 1.5, *s)),
    "asin": (lambda s: uniform(-0.8, 0.8, *s),), "acos": (lambda s: uniform(-0.8, 0.8, *s),),
    "atanh": (lambda s: uniform(-0.8, 0.8, *s),), "acosh": (lambda s: uniform(1.2, 3.0, *s),),
    "log": (lambda s: uniform(0.3, 3.0, *s),), "log2": (lambda s: uniform(0.3, 3.0, *s),),
    "log10": (lambda s: uniform(0.3, 3.0, *s),), "sqrt": (lambda s: uniform(0.3, 3.0, *s),),
    "log1p": (lambda s: uniform(-0.6, 2.0, *s),), "tan": (lambda s: uniform(-1.0, 1.0, *s),),
    "abs": (lambda s: signed(0.2, 1.5, *s),), "fabs": (lambda s: signed(0.2, 1.5, *s),),
    "gammaln": (lambda s: uniform(0.3, 3.0, *s),), "digamma": (lambda s: uniform(0.3, 3.0, *s),),
    "trigamma": (lambda s: uniform(0.3, 3.0, *s),),
    "logit": (lambda s: uniform(0.1, 0.9, *s),),
    "xlogy": (lambda s: normal(*s), lambda s: uniform(0.3, 3.0, *s)),
    "xlog1py": (lambda s: normal(*s), lambda s: uniform(-0.6, 2.0, *s)),
}
_KINKED = {"Mod": lambda a, b: _valid_mod(a, b), "min": _apart, "max": _apart}


def _elementwise_base(name: str) -> str:
    base = name.split(".")[-1]
    return _SAME_POINTS.get(base, base)


def elementwise_cases() -> list[ArrayCase]:
    cases = []
    binary = [p for p in REGISTRY.primitives() if p.differentiable and is_elementwise(p)
              and p.arity == (2,)]
    unary = [p for p in REGISTRY.primitives() if p.differentiable and is_elementwise(p)
             and p.arity == (1,)]
    for number, primitive in enumerate(binary):
        name = primitive_name(primitive)
        base = _elementwise_base(name)
        makers = _OPERANDS.get(base, (lambda s: normal(*s), lambda s: normal(*s)))
        labels = [entry[0] for entry in BROADCASTS] if name in _EVERY_BROADCAST else \
            _ROTATIONS[number % len(_ROTATIONS)]
        for number_of_label, label in enumerate(labels):
            _, shape_a, shape_b, _, _ = _BROADCAST[label]
            kinked = _KINKED.get(base)
            cases.append(ArrayCase(
                f"{name}-{label}", _elementwise_function_name(name, label),
                _elementwise_arguments(makers[0](shape_a), makers[1](shape_b), label),
                (0, 1), (primitive.key, rt.unbroadcast),
                second=number_of_label == 0 or name in _EVERY_SECOND,
                valid=(lambda args, kinked=kinked, label=label:
                       kinked(*_broadcast_operands(args, label))) if kinked else None))
    for primitive in unary:
        name = primitive_name(primitive)
        base = _elementwise_base(name)
        make = _OPERANDS.get(base, (lambda s: normal(*s),))[0]
        for shape in ((2, 3, 4),) if base not in ("sin", "exp") else ((5,), (2, 3, 4)):
            cases.append(ArrayCase(
                f"{name}-{len(shape)}d", _elementwise_function_name(name, f"{len(shape)}d"),
                arguments(make(shape), normal(*shape)), (0,), (primitive.key,),
                second=name not in SECOND_REFUSED))
    cases += [
        ArrayCase("np.where-mat_row", "elementwise_where",
                  arguments(booleans(3, 4), normal(3, 4), normal(4), normal(3, 4)), (1, 2),
                  (np.where, rt.unbroadcast)),
        ArrayCase("np.where-cube_scalar", "elementwise_where",
                  arguments(booleans(2, 3, 4), normal(), normal(2, 1, 4), normal(2, 3, 4)),
                  (1, 2), (np.where, rt.unbroadcast)),
        ArrayCase("np.clip-scalar_bounds", "elementwise_clip",
                  arguments(uniform(-1.0, 1.0, 3, 4), uniform(-0.5, -0.3), uniform(0.3, 0.5),
                            normal(3, 4)), (0, 1, 2), (np.clip,), valid=_valid_clip),
        ArrayCase("np.clip-row_bounds", "elementwise_clip",
                  arguments(uniform(-1.0, 1.0, 3, 4), uniform(-0.5, -0.3, 4),
                            uniform(0.3, 0.5, 4), normal(3, 4)), (0, 1, 2),
                  (np.clip, rt.unbroadcast), valid=_valid_clip),
        ArrayCase("np.copy-2d", "elementwise_copy", arguments(normal(3, 4), normal(3, 4)), (0,),
                  (np.copy,)),
    ]
    return cases


def _valid_clip(args):
    x, low, high = (np.asarray(a) for a in args[:3])
    return _apart(x, low) and _apart(x, high)


def _broadcast_operands(args, label):
    a, b = args[0], args[1]
    if label.startswith("none_"):
        a = np.expand_dims(a, 1) if label in ("none_column", "none_cube") else a[None, :]
    if label == "pairs":
        a, b = a[:, None, :], b[None, :, :]
    return a, b


def _elementwise_function_name(name: str, label: str) -> str:
    return "elementwise_" + name.replace(".", "_") + "__" + label


def _elementwise_arguments(make_a, make_b, label):
    shape = np.broadcast_shapes(*(np.shape(x) for x in _broadcast_operands(
        (np.zeros(_BROADCAST[label][1]), np.zeros(_BROADCAST[label][2])), label)))
    return arguments(make_a, make_b, normal(*shape))


def _elementwise_source(primitive, label) -> str:
    name = primitive_name(primitive)
    _, _, _, a, b = _BROADCAST[label]
    a, b = a.format(a="a"), b.format(b="b")
    operation = f"{a} {primitive.spelling} {b}" if name[0].isupper() else \
        f"{primitive.spelling}({a}, {b})"
    return (f"def {_elementwise_function_name(name, label)}(a, b, W):\n"
            f"    return np.sum(W * np.sin({operation}))\n")


def _generated_source() -> str:
    lines = ["import math", "", "import numpy as np", "",
             "from adjit.runtime import helpers as rt", "", ""]
    for spec in SCALAR_SPECS:
        lines += [f"def {spec.function_name}({', '.join(spec.parameters)}):",
                  f"    return {spec.expression}", "", ""]
        if spec.name in SECOND_THROUGH:
            lines += [f"def {spec.second_function_name}({', '.join(spec.parameters)}):",
                      f"    return {SECOND_THROUGH[spec.name].format(spec.expression)}", "", ""]
    written = set()
    for case in ELEMENTWISE:
        if case.function in written or not case.function.startswith("elementwise_") \
                or case.name.split("-")[0] in ("np.where", "np.clip", "np.copy"):
            continue
        written.add(case.function)
        name, label = case.name.rsplit("-", 1)
        primitive = next(p for p in REGISTRY.primitives() if primitive_name(p) == name
                         and p.differentiable and is_elementwise(p))
        if primitive.arity == (2,):
            lines += [_elementwise_source(primitive, label), ""]
        else:
            operation = f"{primitive.spelling}a" if name[0].isupper() else \
                f"{primitive.spelling}(a)"
            lines += [f"def {case.function}(a, W):",
                      f"    return np.sum(W * np.sin({operation}))", "", ""]
    lines += ["def elementwise_where(c, a, b, W):",
              "    return np.sum(W * np.sin(np.where(c, a, b)))", "", "",
              "def elementwise_clip(a, low, high, W):",
              "    return np.sum(W * np.sin(np.clip(a, low, high) * a))", "", "",
              "def elementwise_copy(a, W):",
              "    return np.sum(W * np.sin(np.copy(a) * a))", ""]
    return "\n".join(lines)


ELEMENTWISE = elementwise_cases()
ARRAY_CASES = STRUCTURED + ELEMENTWISE
_ARRAY_BY_NAME = {case.name: case for case in ARRAY_CASES + COMPILED}

_MODULE = []


def cases_module():
    """The generated functions (one per scalar primitive, one per elementwise
    case), written once per process to a real file: adjit reads sources."""
    if not _MODULE:
        directory = Path(tempfile.mkdtemp(prefix="adjit-rule-cases-"))
        atexit.register(shutil.rmtree, directory, True)
        path = directory / "rule_cases_generated.py"
        path.write_text(_generated_source())
        spec = importlib.util.spec_from_file_location("rule_cases_generated", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _MODULE.append(module)
    return _MODULE[0]


_ARGUMENTS: dict = {}


def case_arguments(case: ArrayCase) -> tuple:
    """Arguments drawn from a generator seeded by the case's name, drawn
    again until they keep away from kinks (`valid`)."""
    if case.name not in _ARGUMENTS:
        seed = zlib.crc32(case.name.encode())
        for attempt in range(500):
            args = case.make(np.random.default_rng([seed, attempt]))
            if case.valid is None or case.valid(args):
                break
        else:
            raise AssertionError(f"{case.name}: no valid arguments drawn")
        _ARGUMENTS[case.name] = args
    return _ARGUMENTS[case.name]


def case_directions(case: ArrayCase, salt: int) -> tuple:
    rng = np.random.default_rng([zlib.crc32(case.name.encode()), 1000 + salt])
    args = case_arguments(case)
    return tuple(rng.normal(size=np.shape(args[i])) if np.ndim(args[i]) else float(rng.normal())
                 for i in case.wrt)


def array_check(name: str, target: str = "python", forward: bool = True,
                second: bool = True) -> None:
    """<grad, v> and (with `forward`) the jvp along v against differences of
    the function; with `second` (and the case's own flag), jit.hvp along v
    against differences of the python gradient and <w, H v> against second
    differences of the function."""
    case = _ARRAY_BY_NAME[name]
    fn = case.fn()
    args = case_arguments(case)
    wrt = case.wrt
    v, w = case_directions(case, 0), case_directions(case, 1)
    label = f"{name} [{target}]"
    value = fn(*args)
    gradient = derivative("grad", fn, wrt, target)(*args)
    for position, g in zip(wrt, gradient):
        assert np.shape(g) == np.shape(args[position]), \
            f"{label}: gradient of argument {position} has shape {np.shape(g)}"
    numerical = along(fn, args, wrt, v)
    scale = abs(value) + float(sum(np.sum(np.abs(g)) for g in gradient))
    assert_close(f"{label}: <grad, v>", inner(gradient, v), numerical, scale)
    if forward:
        result, tangent = derivative("jvp", fn, wrt, target)(*args, v)
        assert_close(f"{label}: value", result, value, scale, 1e-12, 1e-14)
        assert_close(f"{label}: jvp", tangent, numerical, scale)
    if not (second and case.second):
        return
    product = [_shaped(p, args[position])
               for p, position in zip(derivative("hvp", fn, wrt, target)(*args, v), wrt)]
    reference = derivative("grad", fn, wrt, "python")
    by_gradient = stencil(lambda t: np.concatenate(
        [np.ravel(g) for g in reference(*moved(args, wrt, v, t))]))
    flat = np.concatenate([np.ravel(p) for p in product])
    scale2 = scale + float(np.sum(np.abs(by_gradient)))
    assert_close(f"{label}: hvp against differences of the gradient", flat, by_gradient,
                 scale2, RTOL, ATOL)
    assert_close(f"{label}: <w, H v>", inner(product, w), along_twice(fn, args, wrt, w, v),
                 scale2, RTOL2, ATOL2)


def _shaped(product, argument):
    """H v for one argument, in the argument's shape. When the gradient with
    respect to an array does not depend on the arguments at all, forward mode
    gives its tangent as the float 0.0."""
    if np.ndim(argument) and np.ndim(product) == 0 and product == 0.0:
        return np.zeros(np.shape(argument))
    assert np.shape(product) == np.shape(argument), (np.shape(product), np.shape(argument))
    return product


# ---- near misses of the analyses tests/mutation.py patches ---------------------------------
# Not rules: programs on which a condition of an analysis next to the rules
# matters, so that removing it gives a wrong gradient (tests/mutation.py,
# NAMED). Each against differences of the function, in both modes.

def filled_until_a_break(x, w, n):
    """Odd iterations stop filling `buffer` early, so its last elements hold
    an earlier iteration's values: not private to the iterations
    (analysis/private.py, a filling loop with a `break`)."""
    d = x.shape[0]
    buffer = np.zeros(d)
    total = 0.0
    for t in range(n):
        for j in range(d):
            buffer[j] = x[j] * (t + 1.0) - w[j]
            if x[j] * (1.0 + 2.0 * (t % 2)) > 0.7:
                break
        for j in range(d):
            total += math.sin(buffer[j]) * buffer[j]
    return total


def read_between_inner_loops(x, p, n):
    """The adjoint of `q` is incremented in the inner loop and read between
    its runs: it cannot be summed per index over the nest (optimize/lanes.py,
    an accumulator mentioned outside the inner loop)."""
    total = 0.0
    q = p
    for r in range(4):
        for i in range(n):
            total += math.sin(q * x[i])
        q = q * 1.1 + total * 0.01
    return total


def lanes_below_zero(x, p):
    """The reversed inner loop visits indices down to -6: its lanes are
    counted from its start (optimize/lanes.py), not indexed by `i`."""
    total = 0.0
    for r in range(3):
        for i in range(-6, 2):
            total += math.exp(-p * x[i] * (r + 1))
    return total


NEAR_MISSES = [
    ArrayCase("filled_until_a_break", "filled_until_a_break",
              lambda rng: (np.array([0.3, -0.5, 0.8, 0.1]), np.array([0.2, 0.4, -0.3, 0.6]), 3),
              (0, 1), second=False),
    ArrayCase("read_between_inner_loops", "read_between_inner_loops",
              lambda rng: (rng.uniform(0.1, 0.9, 5), 0.7, 5), (0, 1), second=False),
    ArrayCase("lanes_below_zero", "lanes_below_zero",
              lambda rng: (rng.uniform(0.1, 0.9, 6), 0.7), (0, 1), second=False),
]
_ARRAY_BY_NAME.update({case.name: case for case in NEAR_MISSES})


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("name", [case.name for case in NEAR_MISSES])
def test_near_misses_of_the_analyses(name, target):
    array_check(name, target, second=False)


# ---- what the mutation tool runs -------------------------------------------------------------

@dataclass
class Check:
    id: str
    keys: tuple          # the rules the check is meant for
    run: Callable[[], None]
    kind: str = "array"


def all_checks() -> list[Check]:
    """Every check of this module on target="python", as plain callables."""
    checks = [Check(f"scalar:{spec.name}", (spec.primitive.key,),
                    lambda name=spec.name: scalar_check(name, "python"), "scalar")
              for spec in SCALAR_SPECS]
    checks += [Check(f"array:{case.name}", case.keys,
                     lambda name=case.name: array_check(name, "python"))
               for case in ARRAY_CASES + COMPILED]
    return checks


# ---- the tests ---------------------------------------------------------------------------------

def test_every_differentiable_primitive_is_checked():
    """A new rule cannot go unchecked: every differentiable primitive has a
    scalar spec or is named in SCALAR_ELSEWHERE (and checked on arrays), and
    every elementwise one has array cases."""
    named = {primitive_name(p) for p in REGISTRY.primitives() if p.differentiable}
    assert named == set(_SCALAR_BY_NAME) | set(SCALAR_ELSEWHERE), \
        named ^ (set(_SCALAR_BY_NAME) | set(SCALAR_ELSEWHERE))
    checked = {key for case in ARRAY_CASES for key in case.keys}
    for primitive in REGISTRY.primitives():
        if primitive.differentiable and is_elementwise(primitive):
            assert primitive.key in checked, primitive_name(primitive)
    assert len(SCALAR_SPECS) >= 70


def test_every_array_rule_is_checked():
    """Every structured rule has a case here; every one user code reaches by
    name is compiled here or by the tests COMPILED_ELSEWHERE names."""
    checked = {key for case in STRUCTURED for key in case.keys}
    missing = [key for key in adjit_array_rules() if key not in checked]
    assert not missing, missing
    compiled = {key for case in COMPILED for key in case.keys} | set(COMPILED_ELSEWHERE)
    user_facing = [key for key in adjit_array_rules()
                   if not getattr(key, "__module__", "").startswith("adjit.")]
    assert not [key for key in user_facing if key not in compiled]


def adjit_array_rules() -> list:
    """The keys of ARRAY_RULES but for the rules users gave their own
    functions (adjit.defvjp / defjvp: `rt.custom.NAME`)."""
    return [key for key in ARRAY_RULES
            if not REGISTRY.lookup(key).spelling.startswith("rt.custom.")]


@pytest.mark.parametrize("name", [spec.name for spec in SCALAR_SPECS])
def test_scalar_rule(name):
    scalar_check(name, "python")


@pytest.mark.parametrize("name", SCALAR_CPU)
def test_scalar_rule_compiled(name):
    scalar_check(name, "cpu")


@pytest.mark.parametrize("name", [case.name for case in ARRAY_CASES])
def test_array_rule(name):
    array_check(name, "python")


@pytest.mark.parametrize("name", [case.name for case in COMPILED])
def test_array_rules_combined(name):
    array_check(name, "python")


@pytest.mark.parametrize("name", [case.name for case in COMPILED])
def test_array_rules_compiled(name):
    array_check(name, "cpu", forward=name in COMPILED_FORWARD, second=name in COMPILED_SECOND)


def test_the_second_order_factor_of_a_power_is_checked():
    """d2(x ** y)/dy2 = x ** y log(x) ** 2: 0.0827 at (1.3, 0.7), where a
    partial that lost its log x factor gave x ** y log x = 0.315."""
    fn = getattr(cases_module(), _SCALAR_BY_NAME["Pow"].function_name)
    hessian = derivative("hessian", fn, (0, 1), "python")(1.3, 0.7)
    assert hessian[1][1] == pytest.approx(1.3 ** 0.7 * math.log(1.3) ** 2, rel=1e-12)
    assert hessian[1][1] == pytest.approx(0.0827, abs=1e-4)
