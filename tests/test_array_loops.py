"""Whole-array statements inside loops and in-place array operators: lowered
to element loops before differentiation. Each construct: the value equals
NumPy's, reverse mode matches central differences along random directions,
forward mode matches reverse, on target python and cpu; second order for a
sample; what stays refused is a located error."""

import numba
import numpy as np
import pytest

import adjit
from adjit import jit


def heat(u0, c, steps):
    u = np.copy(u0)
    u_new = np.copy(u0)
    for t in range(steps):
        u_new[1:-1] = u[1:-1] + c * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        u[1:-1] = u_new[1:-1]
    return np.sum(u * u)


def heat_elements(u0, c, steps):
    n = u0.shape[0]
    u = np.copy(u0)
    u_new = np.copy(u0)
    for t in range(steps):
        for i in range(1, n - 1):
            u_new[i] = u[i] + c * (u[i + 1] - 2.0 * u[i] + u[i - 1])
        for i in range(1, n - 1):
            u[i] = u_new[i]
    return np.sum(u * u)


def rows(A, x, s):
    B = np.zeros_like(A)
    for i in range(A.shape[0]):
        B[i, :] = A[i, :] * s + np.sin(x)
    return np.sum(B * B)


def fresh_result(x, s):
    total = 0.0
    for k in range(3):
        y = np.sin(x) * s + k
        total += np.sum(y * y)
    return total


def reductions_of_a_written_array(x, w):
    u = np.copy(x)
    total = 0.0
    for k in range(3):
        u[1:] = u[1:] * w[1:] + 0.5 * u[:-1]
        total += np.sum(u * u) + np.dot(u, w)
    return total


def shifted_self_write(x, s):
    u = np.copy(x)
    for k in range(2):
        u[1:] = u[:-1] * s + u[1:]
        u[:-1] = u[1:] - u[:-1] * s
    return np.sum(u * np.cos(u))


def in_place_outside_loops(x, s):
    y = np.copy(x)
    y /= s
    y += x
    y[1:3] *= s
    y -= x * x
    return np.sum(y * y)


def descent(x, target, lr):
    w = np.copy(x)
    for it in range(4):
        w -= lr * (w - target) * w
    return np.sum(w * w)


def broadcast_rows(Y0, m, s):
    Y = np.copy(Y0)
    for k in range(2):
        Y -= m * s
        Y *= s
    return np.sum(Y * Y)


def bounds_and_steps(x, s, a, b):
    u = np.copy(x)
    for k in range(2):
        u[a:b] *= s
        u[::2] = u[1::2] * s
        u[:] = u[::-1] * 0.5 + u
        u[-3:] += np.exp(u[:3] * 0.1)
    return np.sum(u * u)


def selections(x, s):
    u = np.copy(x)
    total = 0.0
    for k in range(2):
        y = np.where(u > 0.0, u * s, np.maximum(u, -0.5) * 0.1)
        u[:] = y + np.tanh(u)
        total += np.sum(y)
    return total + np.sum(u * u)


def descent_with_products(X, y, w0, lr):
    n = X.shape[0]
    w = np.copy(w0)
    for it in range(3):
        w -= lr * (X.T @ (X @ w - y)) / n
    return np.sum(w * w)


def products_of_rebound_matrices(A, B):
    s = 0.0
    for t in range(2):
        C = A @ B
        D = np.dot(C, B.T)
        v = A[0] @ B
        s += np.sum(D * D) + np.sum(v) + A[1] @ A[1]
        A = A * 0.5
    return s


def outer_products_and_axis_sums(a, b, M):
    s = 0.0
    for t in range(2):
        P = np.outer(a, b) * M
        r = np.sum(P, axis=0)
        c = np.sum(P, 1)
        s += np.sum(r * r) + np.sum(c * np.sin(c)) + np.sum(M.T @ a)
        a = a * 0.9
    return s


def rows_of_products(A, x):
    B = np.zeros((A.shape[0], A.shape[0]))
    for i in range(A.shape[0]):
        B[i, :] = np.tanh(A @ (x * A[i, :]))
    return np.sum(B * B)


RNG = np.random.default_rng(20261207)
CASES = [
    (heat, (RNG.normal(size=9), 0.2, 3), (0, 1)),
    (rows, (RNG.normal(size=(3, 4)), RNG.normal(size=4), 0.7), (0, 1, 2)),
    (fresh_result, (RNG.normal(size=5), 0.6), (0, 1)),
    (reductions_of_a_written_array, (RNG.normal(size=6), RNG.normal(size=6)), (0, 1)),
    (shifted_self_write, (RNG.normal(size=7), 0.4), (0, 1)),
    (in_place_outside_loops, (RNG.normal(size=6), 1.3), (0, 1)),
    (descent, (RNG.normal(size=5), RNG.normal(size=5), 0.1), (0, 1, 2)),
    (broadcast_rows, (RNG.normal(size=(3, 4)), RNG.normal(size=4), 0.9), (0, 1, 2)),
    (bounds_and_steps, (RNG.normal(size=8), 0.8, 2, 6), (0, 1)),
    (selections, (RNG.normal(size=7), 0.7), (0, 1)),
    (descent_with_products, (RNG.normal(size=(5, 3)), RNG.normal(size=5), RNG.normal(size=3),
                             0.1), (0, 1, 2)),
    (products_of_rebound_matrices, (RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4))), (0, 1)),
    (outer_products_and_axis_sums, (RNG.normal(size=3), RNG.normal(size=4),
                                    RNG.normal(size=(3, 4))), (0, 1, 2)),
    (rows_of_products, (RNG.normal(size=(3, 4)), RNG.normal(size=4)), (0, 1)),
]
IDS = [case[0].__name__ for case in CASES]


def _directional_difference(fn, args, wrt, directions, h=1e-6):
    plus, minus = list(args), list(args)
    for index, direction in zip(wrt, directions):
        plus[index] = args[index] + h * direction
        minus[index] = args[index] - h * direction
    return (fn(*plus) - fn(*minus)) / (2 * h)


def _inner(gradient, direction):
    return float(np.sum(np.asarray(gradient) * np.asarray(direction)))


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("fn, args, wrt", CASES, ids=IDS)
def test_lowered_statements_match_numpy_and_finite_differences(fn, args, wrt, target):
    value, gradient = jit.value_and_grad(fn, wrt=wrt, target=target)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12)       # NumPy's semantics
    rng = np.random.default_rng(1)
    directions = tuple(rng.normal(size=np.shape(args[i])) if np.ndim(args[i])
                       else rng.normal() for i in wrt)
    for i, g in zip(wrt, gradient):
        assert np.shape(g) == np.shape(args[i])
    predicted = sum(_inner(g, d) for g, d in zip(gradient, directions))
    numerical = _directional_difference(fn, args, wrt, directions)
    assert predicted == pytest.approx(numerical, rel=1e-6, abs=1e-8)
    _, tangent = jit.jvp(fn, wrt=wrt, target=target)(*args, directions)
    assert tangent == pytest.approx(predicted, rel=1e-10, abs=1e-12)


def test_slice_form_and_element_form_have_the_same_gradient_and_loops():
    u0 = RNG.normal(size=12)
    sliced = jit.grad(heat, wrt=(0, 1), target="python")
    looped = jit.grad(heat_elements, wrt=(0, 1), target="python")
    for a, b in zip(sliced(u0, 0.3, 4), looped(u0, 0.3, 4)):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-14)
    text = adjit.source(sliced, u0, 0.3, 4)
    # neighbours at constant offsets of the loop index, no scratch array, and
    # the reverse sweep's stencil rewrites apply as they do to the loop form
    assert "_i1 + 1" in text and "_i1 - 1" in text and "_scratch" not in text
    assert "_b_u_at_m1_p1" in text


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("fn, args, wrt", [CASES[0], CASES[5], CASES[4], CASES[10], CASES[12]],
                         ids=["heat", "in_place_outside_loops", "shifted_self_write",
                              "descent_with_products", "outer_products_and_axis_sums"])
def test_second_order_of_lowered_statements(fn, args, wrt, target):
    position = wrt[0]
    v = np.random.default_rng(3).normal(size=np.shape(args[position]))
    product = jit.hvp(fn, wrt=position, target=target)(*args, v)
    gradient = jit.grad(fn, wrt=position, target="python")
    h = 1e-5
    plus, minus = list(args), list(args)
    plus[position] = args[position] + h * v
    minus[position] = args[position] - h * v
    numerical = (gradient(*plus) - gradient(*minus)) / (2 * h)
    assert np.allclose(product, numerical, rtol=1e-5, atol=1e-7)


def solves_in_a_loop(A, b):
    s = 0.0
    for it in range(3):
        y = np.linalg.solve(A, b * it)
        s += np.sum(y)
    return s


def in_place_with_a_step_known_at_run_time(x, k):
    y = np.copy(x)
    y[::k] *= 2.0
    return np.sum(y * y)


def in_place_with_a_new_axis(Y, x):
    Z = np.copy(Y)
    Z += x[:, None]
    return np.sum(Z)


@pytest.mark.parametrize("fn, args, message, line", [
    (solves_in_a_loop, (np.eye(3) * 2.0, np.ones(3)),
     "a whole-array operation inside a loop", "y = np.linalg.solve(A, b * it)"),
    (in_place_with_a_step_known_at_run_time, (np.ones(5), 2),
     "an in-place operator on the array `y` that cannot be written element by element "
     "(a slice step that is not a constant)", "y[::k] *= 2.0"),
    (in_place_with_a_new_axis, (np.ones((3, 2)), np.ones(3)),
     "an in-place operator on the array `Z`", "Z += x[:, None]"),
])
def test_what_cannot_be_lowered_is_a_located_error(fn, args, message, line):
    with pytest.raises(adjit.DifferentiationError) as error:
        jit.grad(fn, wrt=0, target="python")(*args)
    text = str(error.value)
    assert message in text and "test_array_loops.py:" in text and line in text


def mismatched(x, y):
    u = np.copy(x)
    for k in range(2):
        u[1:] = u[1:] * y
    return np.sum(u)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_operands_of_different_lengths_raise_instead_of_reading_past_an_end(target):
    # the generated loop checks the extents; the error is then located at
    # the user's line, where the function itself fails for these arguments
    with pytest.raises(ValueError, match="could not be broadcast|different shapes") as error:
        jit.grad(mismatched, target=target)(np.ones(5), np.ones(7))
    assert "test_array_loops.py:" in str(error.value)


def fused_across_a_write(x, s):
    u = np.copy(x)
    v = np.zeros_like(x)
    for k in range(2):
        t = u * s
        u[1:] = u[:-1] * 0.5
        v[:] = t + v
    return np.sum(v * v) + np.sum(u)


def moving_window(x, s):
    u = np.copy(x)
    for k in range(x.shape[0] - 2):
        u[k:k + 3] *= s
        u[k + 1:] += 0.1 * u[k]
    return np.sum(u * u)


def fresh_result_with_computed_bounds(x, s):
    n = x.shape[0]
    u = np.copy(x)
    for k in range(3):
        w = np.tanh(u[1:n - 1] * s)
        u[1:n - 1] = w + 0.5 * u[0:n - 2]
    return np.sum(u * u)


def kept_from_an_earlier_iteration(x, s):
    total = 0.0
    previous = np.zeros_like(x)
    for k in range(3):
        y = np.sin(x) * (s + k)
        total += np.sum(y * previous)
        previous[:] = y
    return total


SOUNDNESS = [
    (fused_across_a_write, (RNG.normal(size=6), 0.8), (0, 1)),
    (moving_window, (RNG.normal(size=6), 0.9), (0, 1)),
    (fresh_result_with_computed_bounds, (RNG.normal(size=7), 0.7), (0, 1)),
    (kept_from_an_earlier_iteration, (RNG.normal(size=5), 0.3), (0, 1)),
]


@pytest.mark.parametrize("fn, args, wrt", SOUNDNESS, ids=[c[0].__name__ for c in SOUNDNESS])
def test_what_lowering_must_not_reorder(fn, args, wrt):
    """A temporary read after a write that changes its operands, slice
    bounds that change in the loop, bounds computed in the loop, a fresh
    result copied into an array that outlives the iteration."""
    test_lowered_statements_match_numpy_and_finite_differences(fn, args, wrt, "python")


def test_a_sample_compiles():
    test_lowered_statements_match_numpy_and_finite_differences(*SOUNDNESS[1], "cpu")


def fresh_result_in_a_prange(A, s):
    B = np.zeros_like(A)
    for i in numba.prange(A.shape[0]):
        y = np.sin(A[i, :]) * s
        B[i, :] = y * y
    return np.sum(B)


def test_a_fresh_result_in_a_parallel_loop_is_never_shared_by_its_iterations():
    """Allocated per iteration there (one buffer before the loop would be
    written by every thread); the reverse sweep then needs a tape, which a
    prange refuses with a located error."""
    with pytest.raises(adjit.AdjitError, match="parallel loop") as error:
        jit.grad(fresh_result_in_a_prange, wrt=(0, 1), target="python")(np.ones((3, 2)), 0.5)
    assert "test_array_loops.py:" in str(error.value)


def _rows_read_then_rescaled(x, A):
    B = A * x
    s = 0.0
    for i in range(B.shape[0]):
        for j in range(B.shape[1]):
            s += np.tanh(B[i, j]) * x
    for i in range(B.shape[0]):
        B[i, 0] *= 0.25                    # after the loop that read B
    return s + np.sum(B * B)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_a_loop_reading_an_array_its_successor_rescales_in_place(target):
    """The nest reading `B[i, j]` writes nothing, so the reverse sweep may
    recompute it; but the loop after it rescales B's first column in
    place, and a recomputation would read the rescaled values: the
    record-or-recompute decision must count arrays written after the loop."""
    A = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]])
    x = 0.7
    gradient = jit.grad(_rows_read_then_rescaled, wrt=0, target=target)(x, A)
    h = 1e-6
    numerical = (_rows_read_then_rescaled(x + h, A) - _rows_read_then_rescaled(x - h, A)) / (2 * h)
    assert gradient == pytest.approx(numerical, rel=1e-7)
    _, tangent = jit.jvp(_rows_read_then_rescaled, wrt=0, target=target)(x, A, 1.0)
    assert tangent == pytest.approx(gradient, rel=1e-10)
