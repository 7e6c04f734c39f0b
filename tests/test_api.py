"""The public surface: jit.grad / jit.value_and_grad, wrt forms, errors,
adjit.source, differentiable, gradcheck, scalar argument types."""

from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit import jit

TARGETS = [
    pytest.param("python", id="python"),
    pytest.param("cpu", id="cpu", marks=pytest.mark.slow),
]

ARGS = (2.2, -1.8, 0.1)
EXPECTED = (-1.7, 2.2, 2.2)      # (b + c, a, a)


def f(a, b, c):
    return a * (b + c)


def tuple_output(a, b):
    return a * b, a + b


def with_int_argument(x, n):
    s = 0.0
    for i in range(n):
        s += x * i
    return s


def poly_loop(x, n):
    p = 0.0
    for i in range(n):
        p = p * x + math.sin(x) / (i + 1)
    return p


def _close(got, expected, tol=1e-12):
    assert abs(got - expected) <= tol, f"{got!r} != {expected!r}"


# ---- the acceptance example ------------------------------------------------

@pytest.mark.parametrize("target", TARGETS)
def test_acceptance_example(target):
    g = jit.grad(f, wrt=(0, 1, 2), target=target)
    grads = g(*ARGS)
    assert isinstance(grads, tuple) and len(grads) == 3
    for got, expected in zip(grads, EXPECTED):
        _close(got, expected)


@pytest.mark.parametrize("target", TARGETS)
def test_acceptance_example_source_is_short(target):
    g = jit.grad(f, wrt=(0, 1, 2), target=target)
    text = adjit.source(g, *ARGS)
    assert isinstance(text, str) and "def " in text
    code_lines = [
        line for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert len(code_lines) <= 20, f"{len(code_lines)} code lines:\n{text}"


@pytest.mark.parametrize("target", TARGETS)
def test_value_and_grad_acceptance(target):
    vg = jit.value_and_grad(f, wrt=(0, 1, 2), target=target)
    value, grads = vg(*ARGS)
    _close(value, f(*ARGS))
    for got, expected in zip(grads, EXPECTED):
        _close(got, expected)


@pytest.mark.parametrize("target", TARGETS)
def test_value_and_grad_single_wrt(target):
    vg = jit.value_and_grad(f, wrt=1, target=target)
    value, grad = vg(*ARGS)
    _close(value, f(*ARGS))
    assert not isinstance(grad, tuple)
    _close(grad, 2.2)


# ---- wrt forms ---------------------------------------------------------------

@pytest.mark.parametrize("target", TARGETS)
def test_default_wrt_is_first_argument(target):
    g = jit.grad(f, target=target)
    grad = g(*ARGS)
    assert isinstance(grad, float) and not isinstance(grad, tuple)
    _close(grad, -1.7)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("wrt, expected", [
    (0, -1.7),
    (2, 2.2),
    ("b", 2.2),
    ("a", -1.7),
])
def test_single_wrt_gives_a_float(wrt, expected, target):
    grad = jit.grad(f, wrt=wrt, target=target)(*ARGS)
    assert isinstance(grad, float), f"{type(grad).__name__}: {grad!r}"
    _close(grad, expected)


@pytest.mark.parametrize("wrt, expected", [
    (("a", "c"), (-1.7, 2.2)),
    ((0, "c"), (-1.7, 2.2)),
    (("b", 0), (2.2, -1.7)),
    ((2, 1, 0), (2.2, 2.2, -1.7)),
    ((1,), (2.2,)),
    (("c",), (2.2,)),
])
def test_tuple_wrt_gives_a_tuple_in_order(wrt, expected):
    grads = jit.grad(f, wrt=wrt, target="python")(*ARGS)
    assert isinstance(grads, tuple) and len(grads) == len(expected)
    for got, want in zip(grads, expected):
        _close(got, want)


def test_int_arguments_outside_wrt_are_fine_python():
    g = jit.grad(with_int_argument, wrt="x", target="python")
    _close(g(1.5, 5), 10.0)          # 0 + 1 + 2 + 3 + 4


# ---- errors ------------------------------------------------------------------

def test_tuple_output_is_a_differentiation_error():
    with pytest.raises(adjit.DifferentiationError) as caught:
        g = jit.grad(tuple_output, wrt=0, target="python")
        g(1.0, 2.0)
    assert "scalar" in str(caught.value).lower()


def test_tuple_output_value_and_grad_is_a_differentiation_error():
    with pytest.raises(adjit.DifferentiationError) as caught:
        vg = jit.value_and_grad(tuple_output, wrt=(0, 1), target="python")
        vg(1.0, 2.0)
    assert "scalar" in str(caught.value).lower()


@pytest.mark.parametrize("wrt", [1, "n", (0, 1)])
def test_wrt_on_an_int_argument_is_a_differentiation_error(wrt):
    with pytest.raises(adjit.DifferentiationError):
        g = jit.grad(with_int_argument, wrt=wrt, target="python")
        g(1.5, 3)


@pytest.mark.parametrize("wrt", [3, -7, "nope", ("a", "nope")])
def test_wrt_naming_no_parameter_is_an_error(wrt):
    with pytest.raises(adjit.AdjitError):
        g = jit.grad(f, wrt=wrt, target="python")
        g(*ARGS)


def test_error_classes():
    assert issubclass(adjit.GradcheckError, adjit.AdjitError)
    assert issubclass(adjit.DifferentiationError, adjit.AdjitError)
    assert issubclass(adjit.UnsupportedSyntaxError, adjit.AdjitError)


# ---- differentiable, source, gradcheck ---------------------------------------------

def test_differentiable_runs_the_primal():
    df = adjit.differentiable(f)
    _close(df(*ARGS), f(*ARGS))
    _close(df(1.0, 2.0, 3.0), 5.0)


@pytest.mark.parametrize("target", TARGETS)
def test_grad_of_differentiable(target):
    g = jit.grad(adjit.differentiable(f), wrt=(0, 1, 2), target=target)
    for got, expected in zip(g(*ARGS), EXPECTED):
        _close(got, expected)


@pytest.mark.parametrize("target", TARGETS)
def test_g_source_after_a_call(target):
    g = jit.grad(f, wrt=(0, 1), target=target)
    g(*ARGS)
    assert isinstance(g.source, str) and "def" in g.source
    assert "def" in adjit.source(g)


def test_source_names_adjoints():
    g = jit.grad(f, wrt=(0, 1, 2), target="python")
    text = adjit.source(g, *ARGS)
    assert "_b_" in text, text


def test_gradcheck_passes_on_a_correct_function():
    assert adjit.gradcheck(f, ARGS, wrt=(0, 1, 2)) is True
    assert adjit.gradcheck(poly_loop, (0.7, 5), wrt=0) is True


def test_gradcheck_on_an_iterative_function():
    assert adjit.gradcheck(poly_loop, (1.3, 8), wrt=(0,)) is True


# ---- calls ---------------------------------------------------------------------

@pytest.mark.parametrize("target", TARGETS)
def test_repeated_calls_give_the_same_result(target):
    g = jit.grad(poly_loop, wrt=0, target=target)
    first = g(0.7, 6)
    for _ in range(5):
        assert g(0.7, 6) == first
    other = g(1.1, 6)
    assert other != first
    assert g(0.7, 6) == first


@pytest.mark.parametrize("target", TARGETS)
def test_numpy_float64_arguments(target):
    g = jit.grad(f, wrt=(0, 1, 2), target=target)
    grads = g(*(np.float64(v) for v in ARGS))
    for got, expected in zip(grads, EXPECTED):
        _close(got, expected)


@pytest.mark.parametrize("target", TARGETS)
def test_numpy_float32_arguments(target):
    g = jit.grad(f, wrt=(0, 1, 2), target=target)
    args32 = tuple(np.float32(v) for v in ARGS)
    grads = g(*args32)
    assert len(grads) == 3
    # exact derivative at the float32-rounded point, to float32 accuracy
    a, b, c = (float(v) for v in args32)
    for got, expected in zip(grads, (b + c, a, a)):
        assert abs(float(got) - expected) <= 1e-6 * max(1.0, abs(expected))


@pytest.mark.parametrize("target", TARGETS)
def test_mixed_python_and_numpy_scalars(target):
    g = jit.grad(f, wrt=(0, 1, 2), target=target)
    grads = g(2.2, np.float64(-1.8), np.float32(0.1))
    for got, expected in zip(grads, (float(np.float32(0.1)) - 1.8, 2.2, 2.2)):
        assert abs(float(got) - expected) <= 1e-6


@pytest.mark.parametrize("target", TARGETS)
def test_int_passed_for_a_float_parameter_outside_wrt(target):
    """An int where a float could go, not differentiated: just carried."""
    g = jit.grad(f, wrt=(0,), target=target)
    (grad,) = g(2.0, 3, 1)
    _close(grad, 4.0)


# ---- signatures ----------------------------------------------------------------

def test_keyword_arguments_at_the_call():
    g = jit.grad(f, wrt=("a", "b"), target="python")
    grads = g(c=0.1, b=-1.8, a=2.2)
    for got, expected in zip(grads, (-1.7, 2.2)):
        _close(got, expected)


@pytest.mark.parametrize("target", TARGETS)
def test_one_derivative_serves_several_signatures(target):
    """The same derivative object called with an int, then a float, for a
    parameter outside wrt specialises twice and answers both correctly."""
    g = jit.grad(f, wrt=0, target=target)
    _close(g(2.0, 3, 1), 4.0)
    _close(g(2.0, 3.5, 1.0), 4.5)
    _close(g(2.0, 3, 1), 4.0)


def test_source_differs_per_signature():
    g = jit.grad(with_int_argument, wrt=0, target="python")
    text = adjit.source(g, 1.5, 3)
    assert "def " in text
    g(1.5, 3)
    assert g.source == text


def test_value_and_grad_value_is_the_primal_value_in_a_loop():
    vg = jit.value_and_grad(poly_loop, wrt=0, target="python")
    value, grad = vg(0.7, 6)
    _close(value, poly_loop(0.7, 6), 1e-12)
    assert isinstance(grad, float)
