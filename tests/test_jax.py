"""adjit.jax: a function adjit differentiates as a JAX function, checked by
JAX's own check_grads (finite differences, first and second order, reverse
mode) in float64, inside jax.jit and jax.vmap, and with inputs it must
refuse."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import adjit  # noqa: E402
import adjit.jax  # noqa: E402
from bridge_functions import kernel_norm, scalar_model, scaled_sine, weighted_rows  # noqa: E402

SINE = adjit.jax.function(scaled_sine)
SCALAR = adjit.jax.function(scalar_model, wrt=(0, 1))
KERNEL = adjit.jax.function(kernel_norm, wrt=(0, 1))
ROWS = adjit.jax.function(weighted_rows, wrt=0)


@pytest.fixture(autouse=True)
def float64():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def _points(seed, shape=(5, 3)):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape))


def test_an_elementwise_function_to_second_order():
    x = jnp.linspace(0.1, 1.0, 6)
    np.testing.assert_allclose(SINE(x), 2.0 * np.sin(x))
    check_grads(lambda x: SINE(x).sum(), (x,), order=2, modes=["rev"])
    check_grads(SINE, (x,), order=2, modes=["rev"])          # an array result


def test_a_function_of_numbers_and_its_hessian_by_reverse_over_reverse():
    check_grads(SCALAR, (0.3, 0.7), order=2, modes=["rev"])
    hessian = jax.jacrev(jax.jacrev(SCALAR, argnums=(0, 1)), argnums=(0, 1))(0.3, 0.7)
    a, b = 0.3, 0.7
    expected_aa = b * b * np.exp(-a * b) + 2.0 * np.sin(b)
    assert float(hessian[0][0]) == pytest.approx(expected_aa, rel=1e-12)
    assert float(hessian[0][1]) == pytest.approx(float(hessian[1][0]), rel=1e-12)


def test_the_kernel_norm_inside_jit_to_second_order():
    q, p = _points(0), _points(1)

    def energy(q, p):
        return KERNEL(q, p, 0.8)
    check_grads(energy, (q, p), order=2, modes=["rev"])
    gradient = jax.jit(jax.grad(energy, argnums=(0, 1)))(q, p)
    reference = adjit.jit.grad(kernel_norm, wrt=(0, 1))(np.asarray(q), np.asarray(p), 0.8)
    np.testing.assert_allclose(gradient[0], reference[0], rtol=1e-12)
    np.testing.assert_allclose(gradient[1], reference[1], rtol=1e-12)


def test_vmap_calls_the_function_once_per_batch_element():
    x = jnp.stack([jnp.linspace(0.1, 1.0, 4), jnp.linspace(-1.0, 0.5, 4)])
    np.testing.assert_allclose(jax.vmap(SINE)(x), 2.0 * np.sin(x))
    per_row = jax.vmap(jax.grad(lambda row: SINE(row).sum()))(x)
    np.testing.assert_allclose(per_row, 2.0 * np.cos(x), rtol=1e-12)


def test_arrays_not_in_wrt_are_data_and_get_no_gradient():
    w = jnp.array([0.1, -0.2, 0.3])
    X = _points(2, (4, 3))
    check_grads(lambda w: ROWS(w, X).sum(), (w,), order=2, modes=["rev"])
    both = jax.grad(lambda w, X: ROWS(w, X).sum(), argnums=(0, 1))(w, X)
    assert not np.any(np.asarray(both[1]))


def test_float32_stays_float32():
    x = jnp.linspace(0.1, 1.0, 4, dtype=jnp.float32)
    assert SINE(x).dtype == jnp.float32
    assert jax.grad(lambda x: SINE(x).sum())(x).dtype == jnp.float32


def test_what_is_not_supported_is_an_error():
    with pytest.raises(adjit.AdjitError, match="must be a float or an array of floats"):
        SINE(jnp.arange(3))
    with pytest.raises(adjit.AdjitError, match="takes 3 arguments"):
        KERNEL(_points(0))
    with pytest.raises(TypeError, match="custom_vjp"):          # forward mode: JAX's error
        jax.jvp(SINE, (jnp.ones(3),), (jnp.ones(3),))
