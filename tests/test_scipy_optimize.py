"""SciPy's optimisers fed by adjit: `jac=` from `jit.grad` (or `jac=True`
with `jit.value_and_grad`), `hess=` from `jit.hessian` with respect to an
array, `hessp=` from `jit.hvp`; and the dense Hessian itself against
finite differences of the gradient."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess

from adjit import jit


def rosenbrock(x):
    total = 0.0
    for i in range(x.shape[0] - 1):
        total += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return total


def logistic_loss(w, X, y, strength):
    z = X @ w
    return np.sum(np.log(1.0 + np.exp(-y * z))) + 0.5 * strength * np.sum(w * w)


def blocks(a, W, b):
    return np.sum(np.tanh(W * a) ** 2) * b + a * a * b + np.sum(W ** 3)


def _gradient_differences(gradient, args, position, step=1e-6):
    """The Jacobian of `gradient` (one array) in args[position], by central
    differences: shape S + S."""
    point = np.asarray(args[position], dtype=float)
    columns = np.zeros(point.shape + point.shape)
    for element in np.ndindex(*point.shape):
        shifted = [list(args), list(args)]
        for sign, copy in zip((1.0, -1.0), shifted):
            moved = point.copy()
            moved[element] += sign * step
            copy[position] = moved
        columns[(Ellipsis,) + element] = (np.asarray(gradient(*shifted[0]))
                                          - np.asarray(gradient(*shifted[1]))) / (2 * step)
    return columns


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_hessian_with_respect_to_an_array_is_the_dense_matrix(target):
    x = np.array([0.3, -0.5, 1.2, 0.8, -1.1])
    hessian = jit.hessian(rosenbrock, target=target)(x)
    assert hessian.shape == (5, 5)
    np.testing.assert_allclose(hessian, rosen_hess(x), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(hessian, _gradient_differences(rosen_der, (x,), 0),
                               rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_hessian_blocks_of_a_tuple_wrt_mixing_numbers_and_a_matrix(target):
    W = np.array([[0.3, -0.2], [0.5, 0.1]])
    args = (0.7, W, 1.3)
    hessian = jit.hessian(blocks, wrt=(0, 1, 2), target=target)(*args)
    shapes = [[np.shape(block) for block in row] for row in hessian]
    assert shapes == [[(), (2, 2), ()], [(2, 2), (2, 2, 2, 2), (2, 2)], [(), (2, 2), ()]]
    gradient = jit.grad(blocks, wrt=1, target=target)
    np.testing.assert_allclose(hessian[1][1], _gradient_differences(gradient, args, 1),
                               rtol=1e-6, atol=1e-6)
    for a in range(3):                       # symmetric, block by block
        for b in range(3):
            block = np.asarray(hessian[a][b])
            other = np.asarray(hessian[b][a])
            split = np.ndim(args[b])
            transposed = np.moveaxis(other, tuple(range(other.ndim - split)),
                                     tuple(range(split, other.ndim))) if other.ndim else other
            np.testing.assert_allclose(block, transposed, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["trust-exact", "Newton-CG", "trust-ncg", "L-BFGS-B"])
def test_scipy_minimises_a_ten_dimensional_rosenbrock(method):
    start = np.linspace(-1.2, 1.0, 10)
    derivatives = {"trust-exact": {"hess": jit.hessian(rosenbrock)},
                   "Newton-CG": {"hess": jit.hessian(rosenbrock)},
                   "trust-ncg": {"hessp": jit.hvp(rosenbrock)},
                   "L-BFGS-B": {}}[method]
    result = minimize(jit.value_and_grad(rosenbrock), start, jac=True, method=method,
                      options={"maxiter": 2000}, **derivatives)
    assert result.success, result.message
    np.testing.assert_allclose(result.x, np.ones(10), atol=1e-4)
    assert rosen(result.x) < 1e-8


def test_scipy_fits_a_logistic_regression_with_the_exact_hessian():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4))
    truth = np.array([1.5, -2.0, 0.5, 0.0])
    y = np.where(X @ truth + 0.3 * rng.normal(size=200) > 0, 1.0, -1.0)
    args = (X, y, 0.1)
    gradient = jit.grad(logistic_loss)
    result = minimize(jit.value_and_grad(logistic_loss), np.zeros(4), args=args, jac=True,
                      hess=jit.hessian(logistic_loss), method="trust-exact",
                      options={"gtol": 1e-9})
    assert result.success, result.message
    assert np.abs(gradient(result.x, *args)).max() < 1e-6
    reference = minimize(logistic_loss, np.zeros(4), args=args, method="BFGS",
                         options={"gtol": 1e-9})
    np.testing.assert_allclose(result.x, reference.x, atol=1e-4)
    assert np.sign(result.x[:3]).tolist() == np.sign(truth[:3]).tolist()
