"""The Derivative dispatcher: specialisation keys, globals, argument forms."""

import math

import numpy as np
import pytest

import adjit
from adjit import jit

RATE = 2.0


def scaled(x):
    return math.sin(RATE * x)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_changed_global_is_never_stale(target, monkeypatch):
    g = jit.grad(scaled, target=target)
    assert g(0.3) == pytest.approx(2.0 * math.cos(0.6), rel=1e-14)
    monkeypatch.setattr(__import__(__name__), "RATE", 3.0)
    assert g(0.3) == pytest.approx(3.0 * math.cos(0.9), rel=1e-14)


def make_closure(scale):
    def inner(x):
        return scale * x * x
    return inner


def test_closure_numbers_are_constants_of_the_derivative():
    assert jit.grad(make_closure(3.0), target="python")(2.0) == 12.0
    assert jit.grad(make_closure(5.0), target="python")(2.0) == 20.0


def with_default(x, power=3):
    return x ** power


def test_defaults_keywords_and_negative_wrt_index():
    g = jit.grad(with_default, wrt=-2, target="python")
    assert g(2.0) == 12.0
    assert g(2.0, power=2) == 4.0


def test_float32_and_numpy_scalars_are_accepted():
    g = jit.grad(with_default, target="python")
    assert g(np.float32(2.0)) == pytest.approx(12.0)
    assert g(np.float64(2.0)) == 12.0
    assert isinstance(g(np.float64(2.0)), float)


def test_unsupported_argument_is_a_clear_error():
    with pytest.raises(adjit.DifferentiationError, match="is a list"):
        jit.grad(with_default, target="python")([1.0, 2.0])
    with pytest.raises(adjit.DifferentiationError, match="array of complex128"):
        jit.grad(with_default, target="python")(np.ones(2, dtype=complex))


def test_bad_wrt_and_target_are_clear_errors():
    with pytest.raises(adjit.AdjitError, match="not a parameter"):
        jit.grad(with_default, wrt="y")
    with pytest.raises(adjit.AdjitError, match="out of range"):
        jit.grad(with_default, wrt=5)
    with pytest.raises(adjit.AdjitError, match="unknown target"):
        jit.grad(with_default, target="gpu")


def test_source_before_any_call_says_what_to_do():
    g = jit.grad(with_default, target="python")
    with pytest.raises(adjit.AdjitError, match="example_args"):
        g.source
    assert "def with_default_grad" in adjit.source(g, 2.0)
    assert g.source == adjit.source(g, 2.0)


def becomes_float(x, y):
    x -= 0.1 * y        # x joins to float in the body, but was called an int
    return x * y


def float_bound(x, n):
    s = 0.0
    for i in range(n):
        s += x * np.float64(2.0)
    return s


def test_wrt_an_int_argument_is_refused_even_if_the_body_makes_it_float():
    with pytest.raises(adjit.DifferentiationError, match="`x`: it is an int"):
        jit.grad(becomes_float, wrt=0, target="python")(1, 1.1)


def test_float_range_bound_is_a_located_error_on_both_targets():
    for target in ("python", "cpu"):
        with pytest.raises(adjit.DifferentiationError, match="`range` bound `n` is a float"):
            jit.grad(float_bound, target=target)(1.0, 4.0)
    assert jit.grad(float_bound, target="python")(1.0, 4) == 8.0


def uses_stop_gradient(x, y):
    return x * adjit.stop_gradient(x * y) + y


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_stop_gradient_passes_the_value_and_blocks_the_derivative(target):
    gx, gy = jit.grad(uses_stop_gradient, wrt=(0, 1), target=target)(1.5, 2.0)
    assert (gx, gy) == (3.0, 1.0)           # d/dx = x * y, d/dy = 1
    _, tangent = jit.jvp(uses_stop_gradient, wrt=(0, 1), target=target)(1.5, 2.0, (1.0, 1.0))
    assert tangent == 4.0
    assert adjit.differentiable(uses_stop_gradient)(1.5, 2.0) == 1.5 * 3.0 + 2.0


def _writes_its_first_argument(x, y):
    x[0] = y[0] * 7.0
    return x[0] * y[0]


def _writes_through_a_view(x, y):
    v = x[1:]
    v[0] += y[1]
    return v[0] * y[1]


def _reads_both(x, y):
    return np.sum(x * y)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_the_same_array_for_a_written_parameter_and_another_is_refused(target):
    """With one array passed for both parameters, Python reads back what f
    wrote into `x` through `y` (49.0); the derivative, which works on a copy
    of `x`, reported 7.0 with a gradient of another computation."""
    a = np.array([1.0, 2.0, 3.0])
    assert _writes_its_first_argument(a.copy(), a.copy()) == 7.0
    for function in (_writes_its_first_argument, _writes_through_a_view):
        for derivative in (jit.value_and_grad(function, wrt=(0, 1), target=target),
                           jit.vjp(function, wrt=1, target=target)):
            same = a.copy()
            extra = (1.0,) if isinstance(derivative, adjit.dispatch.VJP) else ()
            with pytest.raises(adjit.AdjitError, match="passed for `x` and `y` share memory"):
                derivative(same, same, *extra)
            with pytest.raises(adjit.AdjitError, match="share memory"):
                derivative(same, same[::-1], *extra)         # a view sharing elements
    gradient = jit.value_and_grad(_writes_its_first_argument, wrt=(0, 1), target=target)
    base = np.arange(1.0, 7.0)
    value, _ = gradient(base[0::2], base[1::2])              # interleaved, disjoint: fine
    assert value == pytest.approx(_writes_its_first_argument(base[0::2].copy(), base[1::2]))
    # nothing written: the same array for both parameters is simply two arguments
    assert jit.grad(_reads_both, wrt=(0, 1), target=target)(a, a)[0] == pytest.approx(a)
