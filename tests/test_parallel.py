"""Parallel loops (`numba.prange`): derivatives against finite differences
and serial references on both targets, forward against reverse mode, and
the loops adjit refuses to run in parallel.

On target="cpu" the derivatives compile with `parallel=True` and run on
Numba's threads (2 on CI's machine), so a race in the generated code would
show as a wrong or unstable gradient here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.demo import kernel_norm
from adjit.errors import DifferentiationError, UnsupportedSyntaxError
import parallel_fixtures as fx

TARGETS = ("python", "cpu")


def central_differences(f, args, position, h=1e-6):
    """d f / d args[position], element by element."""
    point = np.array(args[position], dtype=float)
    gradient = np.zeros_like(point)
    for flat in range(point.size):
        step = np.zeros_like(point)
        step.flat[flat] = h
        plus = list(args)
        minus = list(args)
        plus[position], minus[position] = point + step, point - step
        gradient.flat[flat] = (f(*plus) - f(*minus)) / (2 * h)
    return gradient


def kernel_norm_closed_form(q, p, s):
    """The gradient of H(q, p) = 1/2 sum_ij exp(-|q_i - q_j|^2 / 2s^2) <p_i, p_j>."""
    difference = q[:, None, :] - q[None, :, :]
    kernel = np.exp(-np.sum(difference ** 2, axis=2) / (2 * s * s))
    dots = p @ p.T
    weights = kernel * dots
    grad_q = -2.0 * 0.5 * np.einsum("ij,ijk->ik", weights, difference) / (s * s)
    grad_p = kernel @ p
    return grad_q, grad_p


@pytest.mark.parametrize("target", TARGETS)
def test_parallel_kernel_norm_gradient_matches_closed_form(target):
    rng = np.random.default_rng(3)
    q, p = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    grad_q, grad_p = jit.grad(fx.kernel_norm_parallel, wrt=(0, 1), target=target)(q, p, 0.8)
    expected_q, expected_p = kernel_norm_closed_form(q, p, 0.8)
    np.testing.assert_allclose(grad_q, expected_q, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(grad_p, expected_p, rtol=1e-11, atol=1e-11)
    # and the same as the serial loop's gradient, sigma included
    serial = jit.grad(kernel_norm, wrt=(0, 1, 2), target="python")(q, p, 0.8)
    parallel = jit.grad(fx.kernel_norm_parallel, wrt=(0, 1, 2), target=target)(q, p, 0.8)
    for ours, theirs in zip(parallel, serial):
        np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-11)


def test_parallel_gradient_is_the_same_on_every_call():
    """Races show as results that change from call to call."""
    rng = np.random.default_rng(4)
    q, p = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    gradient = jit.grad(fx.kernel_norm_parallel, wrt=(0, 1), target="cpu")
    first = gradient(q, p, 0.5)
    for _ in range(5):
        again = gradient(q, p, 0.5)
        np.testing.assert_allclose(again[0], first[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(again[1], first[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", fx.CASES, ids=lambda case: case.__name__)
def test_parallel_loops_against_finite_differences(case, target):
    args = fx.ARGUMENTS[case.__name__]()
    gradient = jit.grad(case, wrt=0, target=target)(*args)
    expected = central_differences(case, args, 0)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", fx.CASES, ids=lambda case: case.__name__)
def test_parallel_forward_mode_agrees_with_reverse_mode(case, target):
    args = fx.ARGUMENTS[case.__name__]()
    direction = np.random.default_rng(5).normal(size=np.shape(args[0]))
    gradient = jit.grad(case, wrt=0, target=target)(*args)
    _, tangent = jit.jvp(case, wrt=0, target=target)(*args, direction)
    assert tangent == pytest.approx(float(np.sum(gradient * direction)), rel=1e-10, abs=1e-12)


def test_shared_adjoints_are_summed_over_chunks_in_the_generated_code():
    rng = np.random.default_rng(6)
    q, p = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    text = adjit.source(jit.grad(fx.kernel_norm_parallel, wrt=(0, 1), target="python"), q, p, 1.0)
    assert "for _chunk in prange(_chunks):" in text
    # summed by a parallel loop over elements, which is differentiable again
    assert "for _j02 in prange(_b_q.shape[0]):" in text
    assert "_b_q[_j02, _j12] += _b_q_chunks[_c2, _j02, _j12]" in text


def test_own_elements_need_no_copies():
    args = fx.ARGUMENTS["own_elements"]()
    text = adjit.source(jit.grad(fx.own_elements, wrt=0, target="python"), *args)
    assert "for i in prange(n):" in text and "_chunks" not in text


def test_the_primal_of_a_differentiable_function_runs_in_parallel():
    function = adjit.differentiable(fx.kernel_norm_parallel)
    rng = np.random.default_rng(7)
    q, p = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    assert function(q, p, 0.9) == pytest.approx(kernel_norm(q, p, 0.9), rel=1e-12)
    assert function.compiled().targetoptions.get("parallel")


@pytest.mark.parametrize("case, error, words", [
    (fx.carried_product, UnsupportedSyntaxError, "carries a value from one iteration"),
    (fx.neighbour_write, UnsupportedSyntaxError, "other than `y[i, ...]`"),
    (fx.read_after_loop, UnsupportedSyntaxError, "assigned in a parallel loop and read after"),
    (fx.nested_prange, UnsupportedSyntaxError, "a parallel loop inside a parallel loop"),
    (fx.prange_with_step, UnsupportedSyntaxError, "a prange with a step"),
    (fx.recorded_inner_loop, DifferentiationError, "would need values recorded on a tape"),
    (fx.scratch_array_in_the_body, DifferentiationError, "would need values recorded"),
], ids=lambda value: getattr(value, "__name__", None))
def test_loops_that_cannot_run_in_parallel_are_refused_with_a_location(case, error, words):
    x = np.linspace(0.2, 1.9, 7)
    with pytest.raises(error) as raised:
        jit.grad(case, wrt=0, target="python")(x)
    assert words in str(raised.value)
    assert "parallel_fixtures.py:" in str(raised.value)
    assert "docs/limitations.md#parallel" in str(raised.value)


def test_a_prange_from_anywhere_else_is_refused():
    with pytest.raises(UnsupportedSyntaxError) as raised:
        jit.grad(fx.fake_prange_loop, wrt=0, target="python")(np.ones(3))
    assert "numba.prange" in str(raised.value)


def test_no_accidental_serial_reference():
    """The fixtures' parallel loops are parallel: their source says prange."""
    assert "prange" in adjit.source(jit.grad(fx.stencil_energy, wrt=0, target="python"),
                                    *fx.ARGUMENTS["stencil_energy"]())
    assert math.isfinite(fx.stencil_energy(*fx.ARGUMENTS["stencil_energy"]()))


@pytest.mark.parametrize("target", TARGETS)
def test_an_index_below_zero_shares_its_elements(target):
    """`_b_x[i]` was counted as the iteration's own although i = -2 and
    i = n - 2 meet at one element: a race on target="cpu"."""
    x, s = np.linspace(0.1, 0.9, 7), 0.7
    gradient = jit.grad(fx.wrapped_start, wrt=0, target=target)(x, s)
    np.testing.assert_allclose(gradient, central_differences(fx.wrapped_start, (x, s), 0),
                               rtol=1e-6, atol=1e-8)
    source = adjit.source(jit.grad(fx.wrapped_start, wrt=0, target="cpu"), x, s)
    assert "_b_x_chunks" in source
