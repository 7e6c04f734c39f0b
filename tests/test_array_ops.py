"""Whole-array operations: elementwise functions and operators with
broadcasting, reductions, products, views and slices, `jit.vjp` with array
cotangents, float32 - against finite differences, forward against reverse
mode, on both targets (tests/test_array_corpus.py has the element loops)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit import jit


# ----- the functions ----------------------------------------------------------

def sum_of_sines(x):
    return np.sum(np.sin(x))


def mlp_softmax_cross_entropy(x, W1, b1, W2, b2, onehot):
    hidden = np.maximum(W1 @ x + b1, 0.0)          # ReLU
    logits = W2 @ hidden + b2
    shifted = logits - np.max(logits)
    log_probabilities = shifted - np.log(np.sum(np.exp(shifted)))
    return -np.sum(onehot * log_probabilities)


def logistic_regression(w, b, X, y):
    z = X @ w + b
    return np.mean(np.log(1.0 + np.exp(-y * z))) + 0.01 * np.dot(w, w)


def dense_kernel_norm(q, p, s):
    differences = q[:, None, :] - q[None, :, :]
    K = np.exp(-np.sum(differences ** 2, axis=2) / (2 * s * s))
    return 0.5 * np.sum(p * (K @ p))


def broadcasting(a, B, c):
    C = B * a + c                                   # (n, m) * (m,) + scalar
    D = np.where(C > 0.0, C ** 2, np.abs(C))
    return np.sum(np.sum(D, axis=0)) + c * np.sum(B.T) + np.sum(a[None, :] * B)


def reductions(X):
    return np.sum(np.sum(X, axis=0) ** 2) + np.sum(np.sum(X, axis=1) ** 3) \
        + np.mean(X) + np.max(X) - np.min(X) * 0.5 + np.prod(X[0]) \
        + np.sum(np.mean(X, axis=1) ** 2) + np.dot(np.mean(X, 0), X[0])


def products(A, B, v):
    return np.sum(A @ B) + np.dot(v, A @ v) + np.dot(A.T @ v, v) + np.sum(np.outer(v, v) * A) \
        + np.dot(v @ A, v)


def linear_algebra(A, b):
    x = np.linalg.solve(A, b)
    inverse = np.linalg.inv(A)
    return np.dot(x, x) + np.sum(inverse) + np.linalg.det(A) + np.linalg.norm(b - A @ x + b)


def views_and_slices(x, Q):
    differences = x[1:] - x[:-1]
    even = x[::2]
    rows = Q[1] * Q[:, 0]
    return np.sum(differences ** 2) + np.sum(np.sin(even)) + np.sum(rows) \
        + np.sum(Q[::-1, 1:] * Q[:, :-1])


def rows_in_a_loop(Q, w):
    total = 0.0
    for i in range(Q.shape[0]):
        total += np.dot(Q[i], w) ** 2 + np.sum(Q[:, 0]) * Q[i, 0]
    return total


def elementwise_math(x, y):
    return np.sum(np.tanh(x) * np.exp(-y ** 2) + np.sqrt(1.0 + x * x) / (2.0 + np.cos(y))
                  + np.clip(x, -0.5, 0.5) + np.minimum(x, y) - np.maximum(x, 0.1 * y)
                  + np.arctan2(y, 2.0 + x) + np.log1p(x * x) + x ** y.shape[0])


def methods_and_attributes(X, v):
    Y = X.T.copy()
    return Y.sum() + (X @ v).dot(X @ v) + X.mean() + np.sum(X.reshape((X.shape[0] * X.shape[1],)) ** 2) \
        + np.sum(np.ravel(X) * 2.0) + X.max()


def slice_writes(x, c):
    y = np.zeros(6)
    y[1:4] = x[0:3] * 2.0
    y[4:] = c
    y[0] = x[3]
    return np.sum(y * y) + y[5] * c


def softmax_rows(X, w):
    shifted = X - np.max(X, axis=1)[:, None]
    e = np.exp(shifted)
    p = e / np.sum(e, axis=1)[:, None]
    return np.sum(p * w) + np.sum(np.min(X, axis=0) ** 2) + np.dot(np.max(X, 0), w[0])


def stencil_state(u, k):
    lap = u[:-2] - 2.0 * u[1:-1] + u[2:]
    flux = k * lap * (1.0 + u[1:-1] ** 2)
    return np.sum(flux ** 2) + np.linalg.norm(u)


RNG = np.random.default_rng(2026)


def _spd(n):
    M = RNG.normal(size=(n, n))
    return M @ M.T + n * np.eye(n)


CASES = [
    ("sum_of_sines", sum_of_sines, (np.linspace(0.0, 2 * math.pi, 100),), (0,)),
    ("mlp_softmax_cross_entropy", mlp_softmax_cross_entropy,
     (RNG.normal(size=4), RNG.normal(size=(6, 4)), RNG.normal(size=6) + 0.3,
      RNG.normal(size=(3, 6)), RNG.normal(size=3), np.array([0.0, 1.0, 0.0])), (0, 1, 2, 3, 4)),
    ("logistic_regression", logistic_regression,
     (RNG.normal(size=3), 0.2, RNG.normal(size=(8, 3)), np.sign(RNG.normal(size=8))), (0, 1)),
    ("dense_kernel_norm", dense_kernel_norm,
     (RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3)), 1.3), (0, 1, 2)),
    ("broadcasting", broadcasting, (RNG.normal(size=3), RNG.normal(size=(4, 3)), 0.7), (0, 1, 2)),
    ("reductions", reductions, (RNG.normal(size=(3, 4)),), (0,)),
    ("products", products, (RNG.normal(size=(3, 3)), RNG.normal(size=(3, 3)),
                            RNG.normal(size=3)), (0, 1, 2)),
    ("linear_algebra", linear_algebra, (_spd(3), RNG.normal(size=3)), (0, 1)),
    ("views_and_slices", views_and_slices, (RNG.normal(size=7), RNG.normal(size=(3, 3))), (0, 1)),
    ("rows_in_a_loop", rows_in_a_loop, (RNG.normal(size=(4, 3)), RNG.normal(size=3)), (0, 1)),
    ("elementwise_math", elementwise_math,
     (RNG.uniform(0.2, 0.9, size=5), RNG.uniform(0.2, 0.9, size=5)), (0, 1)),
    ("methods_and_attributes", methods_and_attributes,
     (RNG.normal(size=(3, 4)), RNG.normal(size=4)), (0, 1)),
    ("slice_writes", slice_writes, (RNG.normal(size=4), 0.8), (0, 1)),
    ("stencil_state", stencil_state, (RNG.normal(size=9), 0.3), (0, 1)),
    ("softmax_rows", softmax_rows, (RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))), (0, 1)),
]


def _directional_difference(fn, args, wrt, directions, h=1e-6):
    plus, minus = list(args), list(args)
    for index, direction in zip(wrt, directions):
        plus[index] = args[index] + h * direction
        minus[index] = args[index] - h * direction
    return (fn(*plus) - fn(*minus)) / (2 * h)


def _directions(args, wrt, seed=7):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=np.shape(args[i])) if np.ndim(args[i]) else rng.normal()
                 for i in wrt)


def _inner(gradients, directions):
    return sum(float(np.sum(np.asarray(g) * np.asarray(d)))
               for g, d in zip(gradients, directions))


@pytest.mark.parametrize("target", ["python", pytest.param("cpu", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name, fn, args, wrt", CASES, ids=[case[0] for case in CASES])
def test_array_operations_against_finite_differences_and_forward_mode(name, fn, args, wrt,
                                                                      target):
    saved = [np.copy(a) for a in args]
    gradients = jit.grad(fn, wrt=wrt, target=target)(*args)
    for i, g in zip(wrt, gradients):
        assert np.shape(g) == np.shape(args[i])
    directions = _directions(args, wrt)
    predicted = _inner(gradients, directions)
    numerical = _directional_difference(fn, args, wrt, directions)
    scale = max(1.0, abs(numerical))
    assert predicted == pytest.approx(numerical, rel=1e-6, abs=1e-7 * scale), name
    value, tangent = jit.jvp(fn, wrt=wrt, target=target)(*args, directions)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    assert tangent == pytest.approx(predicted, rel=1e-9, abs=1e-12 * scale), name
    for before, after in zip(saved, args):
        assert np.array_equal(before, after)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_gradient_of_sum_of_sines_is_cosine(target):
    x = np.linspace(0.0, 2 * math.pi, 100)
    gradient = jit.grad(sum_of_sines, target=target)(x)
    assert np.max(np.abs(gradient - np.cos(x))) <= 1e-12


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_dense_kernel_norm_matches_its_closed_form_gradient(target):
    q, p, s = CASES[3][2]
    gq, gp = jit.grad(dense_kernel_norm, wrt=(0, 1), target=target)(q, p, s)
    differences = q[:, None, :] - q[None, :, :]
    K = np.exp(-np.sum(differences ** 2, axis=2) / (2 * s * s))
    P = p @ p.T
    expected_gp = K @ p
    # dH/dq_i = -(1/s^2) sum_j K_ij <p_i, p_j> (q_i - q_j)
    expected_gq = -np.einsum("ij,ijk->ik", K * P, differences) / (s * s)
    assert np.allclose(gp, expected_gp, rtol=1e-12, atol=1e-12)
    assert np.allclose(gq, expected_gq, rtol=1e-12, atol=1e-12)


def product(x, y):
    z = x * y
    return z


def matrix_map(A, x):
    return np.tanh(A @ x)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_vjp_with_an_array_cotangent(target):
    """The seed's `z = x * y` with an external gradient."""
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    cotangent = np.array([1.0, 0.5, 0.25])
    saved = cotangent.copy()
    value, (gx, gy) = jit.vjp(product, wrt=(0, 1), target=target)(x, y, cotangent)
    assert np.array_equal(value, x * y)
    assert np.allclose(gx, cotangent * y) and np.allclose(gy, cotangent * x)
    assert np.array_equal(cotangent, saved)
    A = np.arange(6.0).reshape(2, 3) / 5
    w = np.array([1.0, -1.0])
    value, (gA, gx) = jit.vjp(matrix_map, wrt=(0, 1), target=target)(A, x, w)
    d = (1 - np.tanh(A @ x) ** 2) * w
    assert np.allclose(value, np.tanh(A @ x))
    assert np.allclose(gx, A.T @ d) and np.allclose(gA, np.outer(d, x))
    # the array output's tangent from forward mode agrees with the vjp: <w, J v> == <J^T w, v>
    v = np.array([0.3, -0.2, 0.5])
    _, tangent = jit.jvp(matrix_map, wrt=1, target=target)(A, x, v)
    assert float(np.dot(w, tangent)) == pytest.approx(float(np.dot(gx, v)), rel=1e-12)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_float32_arrays_give_float32_gradients(target):
    x = np.linspace(0.1, 1.0, 16).astype(np.float32)
    A = (np.arange(16, dtype=np.float32).reshape(4, 4) / 20).astype(np.float32)
    gx = jit.grad(sum_of_sines, target=target)(x)
    assert gx.dtype == np.float32
    assert np.allclose(gx, np.cos(x.astype(np.float64)), rtol=1e-5, atol=1e-6)
    gA, gv = jit.grad(products, wrt=(0, 2), target=target)(A, A, x[:4])
    assert gA.dtype == np.float32 and gv.dtype == np.float32
    exact = jit.grad(products, wrt=(0, 2), target="python")(
        A.astype(np.float64), A.astype(np.float64), x[:4].astype(np.float64))
    assert np.allclose(gA, exact[0], rtol=1e-4, atol=1e-5)
    assert np.allclose(gv, exact[1], rtol=1e-4, atol=1e-5)


def operation_in_a_loop(x):
    s = 0.0
    for i in range(3):
        y = np.cumsum(x) * x
        s += np.sum(y) * i
    return s


def read_then_written(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * 2.0
    s = np.dot(y, y)
    y[0] = 1.0
    return s + y[0]


def math_on_an_array(x):
    return np.sum(math.sin(x))


def sorted_sum(X):
    return np.sum(np.sort(X))


def array_in_a_branch(x):
    s = 0.0
    if x[0] > 0.0:
        y = x * x
        s = 1.0
    if s > 0.5:
        s = np.sum(y)
    return s


@pytest.mark.parametrize("fn, message", [
    (operation_in_a_loop, "whole-array operation inside a loop"),
    (array_in_a_branch, "an array computed only on some paths"),
    (read_then_written, "`y` is written after this operation reads it"),
    (math_on_an_array, "`math.sin` applied to an array"),
    (sorted_sum, "call to `np.sort`"),
])
def test_array_operations_adjit_refuses_are_located_errors(fn, message):
    with pytest.raises(adjit.AdjitError) as error:
        jit.grad(fn, target="python")(np.ones((3, 3)) if fn is sorted_sum
                                      else np.ones(3))
    assert message in str(error.value) and "test_array_ops.py:" in str(error.value)


def broadcast_quotient(x, B):
    y = 1.0 / x[:, None]
    return np.sum(y * B)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_a_none_axis_view_drops_its_axis_from_the_whole_contribution(target):
    """`[:, 0]` once indexed the last factor of `_b_t * (-1.0 / (x * x))`."""
    x, B = np.array([1.0, 2.0, 3.0]), np.arange(6.0).reshape(3, 2)
    gradient = jit.grad(broadcast_quotient, wrt=0, target=target)(x, B)
    assert np.allclose(gradient, -B.sum(axis=1) / x ** 2, rtol=1e-13, atol=0)
