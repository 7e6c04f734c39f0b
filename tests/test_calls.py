"""Calls between functions: plain Python functions (this module and
imported), `adjit.differentiable` functions and Numba `@njit` functions,
inlined into the caller (adjit/passes/front/inline.py); closures, defaults,
globals read by callees; against finite differences and forward mode on
both targets."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import adjit
import calls_helpers
from adjit import jit
from calls_helpers import softplus, spring, weighted_norm

OFFSET = 0.25


def square(x):
    return x * x


def piecewise(a, b=0.5):
    if a > 0.0:
        return math.sin(a) * b
    return a * 2.0 + OFFSET


@adjit.differentiable
def smooth_step(x):
    return x * x * (3.0 - 2.0 * x)


def nested(x, y):
    return square(piecewise(x, y)) + smooth_step(y)


def calls_everywhere(x, y):
    s = square(x) + piecewise(y) + piecewise(x, y)
    for i in range(4):
        s += softplus(s * 0.1 - y) * 0.1 + nested(x * 0.2 * i, y)
        if s > 3.0:
            s = s - spring(s, 2.0) * 0.01
    return s + calls_helpers.spring(y, x)


def array_calls(q, w):
    s = weighted_norm(q, w) ** 2
    for k in range(3):
        s += weighted_norm(q, w) * (k + 1.0) + q[k] * weighted_norm(w, w)
    return s + np.sum(np.sin(q)) + weighted_norm(w, w)


def writes_through_a_call(x, f):
    y = np.copy(x)
    total = calls_helpers.scale_in_place(y, f)
    return total * y[0]


def make_closure(c, power):
    def energy(x):
        return square(x) * c + x ** power
    return energy


RNG = np.random.default_rng(5)
CASES = [
    ("calls_everywhere", calls_everywhere, (0.7, 0.3), (0, 1)),
    ("nested", nested, (-0.4, 0.8), (0, 1)),
    ("array_calls", array_calls, (RNG.normal(size=4), RNG.uniform(0.5, 1.5, size=4)), (0, 1)),
    ("writes_through_a_call", writes_through_a_call, (RNG.normal(size=3), 1.3), (0, 1)),
    ("closure", make_closure(3.0, 3), (0.9,), (0,)),
]


def _difference(fn, args, wrt, directions, h=1e-6):
    plus = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    minus = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    for index, direction in zip(wrt, directions):
        plus[index] = plus[index] + h * direction
        minus[index] = minus[index] - h * direction
    return (fn(*plus) - fn(*minus)) / (2 * h)


@pytest.mark.parametrize("target", ["python", pytest.param("cpu", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name, fn, args, wrt", CASES, ids=[c[0] for c in CASES])
def test_calls_against_finite_differences_and_forward_mode(name, fn, args, wrt, target):
    rng = np.random.default_rng(3)
    directions = tuple(rng.normal(size=np.shape(args[i])) if np.ndim(args[i]) else 1.0
                       for i in wrt)
    saved = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    gradients = jit.grad(fn, wrt=wrt, target=target)(*args)
    predicted = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(gradients, directions))
    numerical = _difference(fn, args, wrt, directions)
    assert predicted == pytest.approx(numerical, rel=1e-6, abs=1e-8), name
    _, tangent = jit.jvp(fn, wrt=wrt, target=target)(*args, directions)
    assert tangent == pytest.approx(predicted, rel=1e-10, abs=1e-12), name
    for before, after in zip(saved, args):
        assert np.array_equal(before, after)


def test_second_order_through_calls():
    h = jit.hessian(nested, wrt=(0, 1), target="python")(-0.4, 0.8)
    gradient = jit.grad(nested, wrt=(0, 1), target="python")
    step = 1e-6
    for j in range(2):
        plus = [-0.4, 0.8]
        minus = [-0.4, 0.8]
        plus[j] += step
        minus[j] -= step
        column = (np.array(gradient(*plus)) - np.array(gradient(*minus))) / (2 * step)
        assert np.allclose([h[0][j], h[1][j]], column, rtol=1e-6, atol=1e-8)


def test_the_callees_appear_in_the_generated_source():
    source = jit.grad(nested, wrt=(0, 1), target="python").source_for(-0.4, 0.8)
    # a callee's variables keep its name and their own; its temporaries are
    # the caller's `_t` names
    assert "piecewise_result = _t4 * y" in source and "_c1 = x > 0.0" in source
    assert re.search(r"\n    _t\d+ = y \* y\n", source)


def test_a_changed_global_of_a_callee_is_never_stale():
    gradient = jit.grad(spring, target="python")
    assert gradient(2.0, 1.0) == pytest.approx(3.0)
    caller = jit.grad(calls_everywhere, wrt=1, target="python")
    before = caller(0.7, 0.3)
    saved = calls_helpers.STIFFNESS
    try:
        calls_helpers.STIFFNESS = 5.0
        assert gradient(2.0, 1.0) == pytest.approx(5.0)
        after = caller(0.7, 0.3)
        expected = _difference(calls_everywhere, (0.7, 0.3), (1,), (1.0,))
        assert after == pytest.approx(expected, rel=1e-6) and after != before
    finally:
        calls_helpers.STIFFNESS = saved


def recursive(x, n):
    if n == 0:
        return x
    return recursive(x * 0.5, n - 1)


def returns_pair(x):
    return x, 2.0 * x


def uses_pair(x):
    a = returns_pair(x)
    return a * 2.0


def indexes_pair(x):
    parts = returns_pair(x)
    return parts[0] * parts[1] + parts[-1]


def test_a_returned_tuple_is_read_by_constant_index():
    gradient = jit.grad(indexes_pair, target="python")(0.7)
    assert gradient == pytest.approx(4.0 * 0.7 + 2.0)


def condition_calls(x):
    while square(x) > 0.1:
        x = x * 0.5
    return x


@pytest.mark.parametrize("fn, message", [
    (recursive, "recursive call to `recursive`"),
    (uses_pair, "`a` holds the tuple a call returned"),
    (condition_calls, "call to `square` inside a `while` condition"),
])
def test_calls_adjit_refuses_are_located_errors(fn, message):
    with pytest.raises(adjit.AdjitError) as error:
        jit.grad(fn, wrt=0, target="python")(0.7, 2) if fn is recursive else \
            jit.grad(fn, target="python")(0.7)
    assert message in str(error.value) and "test_calls.py:" in str(error.value)


def ignores_y(x, y, w):
    return square(x) * 2.0


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_unused_inputs_get_zero_derivatives_of_their_shape(target):
    """PyTorch's allow_unused, made the default (docs/calls.md)."""
    gx, gy, gw = jit.grad(ignores_y, wrt=(0, 1, 2), target=target)(1.5, 2.0, np.ones(3))
    assert gx == pytest.approx(6.0) and gy == 0.0 and np.array_equal(gw, np.zeros(3))
    _, tangent = jit.jvp(ignores_y, wrt=(1, 2), target=target)(1.5, 2.0, np.ones(3),
                                                              (1.0, np.ones(3)))
    assert tangent == 0.0
