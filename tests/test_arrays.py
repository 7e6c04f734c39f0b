"""Array arguments read element by element (the first slice of array support):
gradients are arrays, checked against finite differences along random
directions, in both modes and both targets."""

import math

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.demo import kernel_norm  # the kernel norm as loops, shown by the demo


def shifted_products(x, w, n):
    s = 0.0
    for i in range(len(x)):
        s += w[i % n] * math.sin(x[i]) * x[i - 1]     # x[-1] when i == 0
    return s


def gather(x, index, scale):
    s = 0.0
    for k in range(index.shape[0]):
        s += x[index[k]] ** 2 * scale
    return s


def ignores_w(x, w):
    return x[0] * 2.0


def directional_difference(fn, args, wrt, directions, h=1e-6):
    plus, minus = list(args), list(args)
    for index, direction in zip(wrt, directions):
        plus[index] = args[index] + h * direction
        minus[index] = args[index] - h * direction
    return (fn(*plus) - fn(*minus)) / (2 * h)


def inner(gradient, direction):
    return float(np.sum(np.asarray(gradient) * np.asarray(direction)))


RNG = np.random.default_rng(20261122)
CASES = [
    (kernel_norm, (RNG.normal(size=(7, 3)), RNG.normal(size=(7, 3)), 2.5), (0, 1, 2)),
    (shifted_products, (RNG.normal(size=9), RNG.normal(size=4), 4), (0, 1)),
    (gather, (RNG.normal(size=6), np.array([0, 3, 3, 5, 1]), 0.7), (0, 2)),
]


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("fn, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_array_gradients_match_finite_differences_and_forward_mode(fn, args, wrt, target):
    gradient = jit.grad(fn, wrt=wrt, target=target)(*args)
    rng = np.random.default_rng(1)
    directions = tuple(rng.normal(size=np.shape(args[i])) if np.ndim(args[i])
                       else rng.normal() for i in wrt)
    for i, g in zip(wrt, gradient):
        assert np.shape(g) == np.shape(args[i])
    predicted = sum(inner(g, d) for g, d in zip(gradient, directions))
    numerical = directional_difference(fn, args, wrt, directions)
    assert predicted == pytest.approx(numerical, rel=1e-6, abs=1e-8)
    _, tangent = jit.jvp(fn, wrt=wrt, target=target)(*args, directions)
    assert tangent == pytest.approx(predicted, rel=1e-10, abs=1e-12)


def test_kernel_norm_gradient_is_recomputed_without_a_tape():
    """O(N) memory: no tape, only the gradient arrays (KeOps' point)."""
    q, p, s = CASES[0][1]
    text = adjit.source(jit.grad(kernel_norm, wrt=(0, 1), target="python"), q, p, s)
    assert "_tape" not in text
    assert "_b_q = np.zeros_like(q)" in text and "_b_q[i, k] += " in text


def test_float32_arrays_get_float32_gradients():
    x = np.linspace(0.1, 1.0, 5).astype(np.float32)
    w = np.ones(4, dtype=np.float32)
    gx = jit.grad(shifted_products, wrt=0, target="cpu")(x, w, 4)
    assert gx.dtype == np.float32


def test_unused_array_argument_gets_zeros():
    x, w = np.ones(3), np.ones(2)
    gx, gw = jit.grad(ignores_w, wrt=(0, 1), target="python")(x, w)
    assert gx.tolist() == [2.0, 0.0, 0.0] and gw.tolist() == [0.0, 0.0]


def test_arguments_are_not_modified():
    q, p, s = (a.copy() if isinstance(a, np.ndarray) else a for a in CASES[0][1])
    before = (q.copy(), p.copy())
    jit.grad(kernel_norm, wrt=(0, 1), target="cpu")(q, p, s)
    assert np.array_equal(q, before[0]) and np.array_equal(p, before[1])


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_hvp_with_respect_to_an_array(target):
    q, p, s = CASES[0][1]
    v = np.random.default_rng(2).normal(size=q.shape)
    product = jit.hvp(kernel_norm, wrt=0, target=target)(q, p, s, v)
    gradient = jit.grad(kernel_norm, wrt=0, target="python")
    h = 1e-6
    numerical = (gradient(q + h * v, p, s) - gradient(q - h * v, p, s)) / (2 * h)
    assert np.allclose(product, numerical, rtol=1e-6, atol=1e-8)


def slices(x):
    return x[1:3][0]


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_an_indexed_value_can_be_indexed_again(target):
    gradient = jit.grad(slices, target=target)(np.arange(5.0))
    assert np.array_equal(gradient, [0.0, 1.0, 0.0, 0.0, 0.0])


def rebinds(x):
    a = np.zeros(3)
    a = np.ones(3)
    return x[0] * a[0]


def writes_through_a_view(q):
    row = q.T
    row[1, 0] = 2.0 * q[1, 1]
    return q[0, 1]


def float_into_ints(x):
    index = np.zeros(3, dtype=np.int64)
    index[0] = x[0] * 2.0
    return x[index[0]]


def creates_from_active(x):
    a = np.full(3, x[0])
    return a[1]


def shape_changes_in_loop(x):
    s = 0.0
    for k in range(1, 4):
        a = np.zeros(k)
        a[0] = x[0]
        s += a[0]
    return s


def rebinds_parameter(x):
    x = np.zeros(3)
    return x[0]


@pytest.mark.parametrize("fn, message", [
    (writes_through_a_view, "shares its elements with `row = np.transpose(q)`"),
    (float_into_ints, "storing a float"),
    (creates_from_active, "carries a derivative"),
    (shape_changes_in_loop, "shape the loop changes"),
])
def test_array_uses_adjit_cannot_differentiate_are_located_errors(fn, message):
    with pytest.raises(adjit.DifferentiationError) as error:
        jit.grad(fn, target="python")(np.ones((3, 2)) if fn is writes_through_a_view
                                      else np.ones(3))
    assert message in str(error.value) and "test_arrays.py:" in str(error.value)


def test_an_array_name_bound_twice_follows_each_array():
    """A name bound to a second array (or a parameter rebound) refers to
    the new array from there on; its adjoint follows it
    (tests/test_rebinding.py has the loop-carried forms)."""
    assert np.array_equal(jit.grad(rebinds, target="python")(np.ones(3)), [1.0, 0.0, 0.0])
    assert np.array_equal(jit.grad(rebinds_parameter, target="python")(np.ones(3)),
                          [0.0, 0.0, 0.0])


def test_wrt_an_integer_array_is_a_clear_error():
    with pytest.raises(adjit.DifferentiationError, match="array of ints"):
        jit.grad(gather, wrt=1, target="python")(np.ones(3), np.array([0, 1]), 1.0)


def test_hessian_with_respect_to_an_array_is_its_hvp_column_by_column():
    q, p, s = CASES[0][1]
    hessian = jit.hessian(kernel_norm, wrt=0, target="python")(q, p, s)
    assert hessian.shape == q.shape + q.shape
    direction = np.random.default_rng(5).normal(size=q.shape)
    product = jit.hvp(kernel_norm, wrt=0, target="python")(q, p, s, direction)
    np.testing.assert_allclose(np.tensordot(hessian, direction, axes=2), product,
                               rtol=1e-10, atol=1e-12)


def aliases_its_argument(x, w):
    b = x
    s = 0.0
    for i in range(b.shape[0]):
        s += b[i] * w[i] + x[i] ** 2
    return s


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_the_gradient_of_an_aliased_argument_is_its_alias_class(target):
    """Regression: with `b = x`, the adjoint lived under `_b_b` and the
    gradient of `x` came back as 0.0."""
    x, w = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    gx, gw = jit.grad(aliases_its_argument, wrt=(0, 1), target=target)(x, w)
    assert np.allclose(gx, w + 2 * x) and np.allclose(gw, x)
    _, tangent = jit.jvp(aliases_its_argument, wrt=0, target=target)(x, w, np.ones(3))
    assert tangent == pytest.approx(float(np.sum(w + 2 * x)))


def _weighted_squares(x, w):
    n, d = x.shape                 # the Numba idiom: unpacking the shape
    total = 0.0
    for i in range(n):
        for j in range(d):
            total += w * (j + 1) * x[i, j] ** 2
    return total


def _unpacks_too_many(v):
    n, d = v.shape
    return v[0] * n


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_unpacking_a_shape_into_names(target):
    x = np.random.default_rng(3).standard_normal((3, 4))
    gx, gw = jit.grad(_weighted_squares, wrt=(0, 1), target=target)(x, 0.5)
    columns = np.arange(1, 5)
    np.testing.assert_allclose(gx, 2 * 0.5 * columns * x, rtol=1e-12)
    assert gw == pytest.approx(float(np.sum(columns * x ** 2)), rel=1e-12)


def test_unpacking_a_shape_into_the_wrong_number_of_names_is_located():
    with pytest.raises(adjit.UnsupportedSyntaxError,
                       match=r"unpacking `v.shape` into 2 names: `v` is a 1-dimensional array"):
        jit.grad(_unpacks_too_many, target="python")(np.ones(3))
