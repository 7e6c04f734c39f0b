"""Reductions along an axis of arrays of any rank (np.prod, np.max, np.min,
keepdims) and second derivatives of whole-array code (jit.hvp, and
jit.vjp of a gradient): against central finite differences, forward mode
against reverse mode, on target="python" for the broad set and on
target="cpu" for a representative few (each compilation costs seconds)."""

from __future__ import annotations

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.testing import gradcheck

RNG = np.random.default_rng(4)


def _array(*shape, low=0.5, high=1.5):
    """Values away from zero and from each other (no ties)."""
    signs = np.where(RNG.random(shape) < 0.5, -1.0, 1.0)
    return signs * RNG.uniform(low, high, size=shape)


# ----- np.prod along an axis ----------------------------------------------------

def prod_axis_0(x):
    return np.sum(np.sin(np.prod(x, axis=0)))


def prod_axis_1(x):
    return np.sum(np.prod(x, axis=1) ** 2)


def prod_last_axis(x):
    return np.sum(np.prod(x, axis=-1) * 1.5)


def prod_method(x):
    return np.sum(x.prod(axis=0) ** 3) + np.prod(x)


def prod_of_an_expression(x, y):
    return np.sum(np.prod(x * y + 0.5, axis=0))


PROD_CASES = [
    (prod_axis_0, (_array(5),)),
    (prod_axis_0, (_array(3, 4),)),
    (prod_axis_1, (_array(3, 4),)),
    (prod_last_axis, (_array(3, 4),)),
    (prod_axis_0, (_array(2, 3, 4),)),
    (prod_axis_1, (_array(2, 3, 4),)),
    (prod_last_axis, (_array(2, 3, 4),)),
    (prod_method, (_array(2, 3, 2),)),
    (prod_of_an_expression, (_array(3, 2), _array(2))),
]


@pytest.mark.parametrize("fn, args", PROD_CASES,
                         ids=[f"{fn.__name__}-{np.ndim(args[0])}d" for fn, args in PROD_CASES])
def test_prod_along_an_axis(fn, args):
    assert gradcheck(fn, args, target="python")


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_prod_along_an_axis_is_exact_where_elements_are_zero(axis):
    """d prod / dx_k is the product of the others: no division, so one zero
    in a fibre leaves the zero's own derivative nonzero, and two zeros
    make every derivative of that fibre zero."""
    x = _array(3, 4, 2)
    x[1, 2, 0] = 0.0
    x[0, 1, 1] = 0.0
    x[0, 3, 1] = 0.0
    weights = _array(*np.sum(x, axis=axis).shape)

    def weighted(x, weights):
        return np.sum(np.prod(x, axis=axis) * weights)
    gradient = jit.grad(weighted, target="python")(x, weights)
    expected = np.zeros_like(x)
    moved, moved_expected = np.moveaxis(x, axis, -1), np.moveaxis(expected, axis, -1)
    moved_weights = weights
    for index in np.ndindex(moved.shape):
        fibre = moved[index[:-1]]
        others = np.delete(fibre, index[-1])
        moved_expected[index] = np.prod(others) * moved_weights[index[:-1]]
    assert np.allclose(gradient, expected, rtol=1e-13, atol=0.0)
    assert np.array_equal(gradient == 0.0, expected == 0.0)
    assert gradcheck(weighted, (x, weights), target="python")


# ----- np.max / np.min along an axis, any rank ------------------------------------

def max_axis_1(t):
    return np.sum(np.max(t, axis=1) ** 2)


def min_last_axis(t):
    return np.sum(np.sin(np.min(t, axis=-1)))


def max_and_min(t):
    return np.sum(np.max(t, axis=0) * np.min(t, 0)) + np.max(t) - np.min(t) ** 2


EXTREMUM_CASES = [
    (max_axis_1, (_array(2, 5, 3),)),
    (min_last_axis, (_array(2, 3, 4),)),
    (max_and_min, (_array(3, 2, 4),)),
    (max_and_min, (_array(2, 3, 2, 2),)),
    (min_last_axis, (_array(6),)),
    (max_axis_1, (_array(3, 4),)),
]


@pytest.mark.parametrize("fn, args", EXTREMUM_CASES,
                         ids=[f"{fn.__name__}-{np.ndim(args[0])}d"
                              for fn, args in EXTREMUM_CASES])
def test_max_and_min_along_an_axis(fn, args):
    assert gradcheck(fn, args, target="python")


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_the_subgradient_of_max_goes_to_the_first_maximum_of_each_fibre(target):
    t = np.zeros((2, 3, 4))
    t[0, :, 1] = [1.0, 5.0, 5.0]                  # a tie: the first one gets it
    t[1, 2, :] = 7.0
    gradient = jit.grad(max_axis_1, target=target)(t)
    expected = np.zeros_like(t)
    picks = np.argmax(t, axis=1)
    for a in range(2):
        for c in range(4):
            expected[a, picks[a, c], c] = 2.0 * t[a, picks[a, c], c]
    assert np.array_equal(gradient, expected)
    assert expected[0, 1, 1] == 10.0 and expected[0, 2, 1] == 0.0
    _, tangent = jit.jvp(max_axis_1, target=target)(t, np.ones_like(t))
    assert tangent == pytest.approx(np.sum(2.0 * np.max(t, axis=1)))


# ----- keepdims ---------------------------------------------------------------------

def softmax_keepdims(x, w):
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return np.sum(w * e / np.sum(e, axis=-1, keepdims=True))


def keepdims_everywhere(x):
    centred = x - np.mean(x, axis=0, keepdims=True)
    scaled = centred / np.max(np.abs(x), keepdims=True)
    return np.sum(scaled ** 2 * np.min(x, axis=1, keepdims=True)) \
        + np.sum(np.prod(np.cos(x), axis=1, keepdims=True) * x) \
        + np.sum(x * np.sum(x, keepdims=True)) + np.sum(np.prod(x, keepdims=True))


def keepdims_false(x):
    return np.sum(np.sum(x, axis=0, keepdims=False) ** 2)


KEEPDIMS_CASES = [
    (softmax_keepdims, (_array(3, 4), _array(3, 4))),
    (softmax_keepdims, (_array(2, 3, 4), _array(4))),
    (softmax_keepdims, (_array(5), _array(5))),
    (keepdims_everywhere, (_array(3, 4),)),
    (keepdims_everywhere, (_array(2, 3, 2),)),
    (keepdims_false, (_array(3, 2),)),
]


@pytest.mark.parametrize("fn, args", KEEPDIMS_CASES,
                         ids=[f"{fn.__name__}-{np.ndim(args[0])}d"
                              for fn, args in KEEPDIMS_CASES])
def test_keepdims(fn, args):
    assert gradcheck(fn, args, target="python")


def reshape_like_and_expand_dims(v, A):
    B = np.reshape(v, A.shape)
    return np.sum(B * A) + np.sum(np.sum(B, axis=1) ** 2) \
        + np.sum(np.expand_dims(v, axis=0) ** 2) / np.size(A)


def view_read_then_written(x, y):
    z = x[1:] + y                 # the adjoint of `+` reads no values of x
    x[0] = 2.0 * x[2]
    return np.sum(z ** 2) + np.sum(x)


@pytest.mark.parametrize("fn, args", [
    (reshape_like_and_expand_dims, (_array(6), _array(2, 3))),
    (view_read_then_written, (_array(4), _array(3))),
])
def test_shapes_and_writes_after_a_view_was_read(fn, args):
    assert gradcheck(fn, args, target="python")


def test_keepdims_evaluates_its_operand_once():
    def f(x):
        return np.sum(np.sum(np.sin(x), axis=0, keepdims=True) * x)
    source = adjit.source(jit.grad(f, target="python"), _array(3, 2))
    code = [line for line in source.splitlines() if not line.strip().startswith("#")]
    assert sum(line.count("np.sin(x)") for line in code) == 1
    assert "rt.keep_dims(" in source


# ----- compiled: a representative few -------------------------------------------

COMPILED_CASES = [
    (prod_axis_1, (_array(2, 3, 4),)),
    (max_and_min, (_array(3, 2, 4),)),
    (softmax_keepdims, (_array(2, 3, 4), _array(4))),
    (keepdims_everywhere, (_array(3, 4),)),
]


@pytest.mark.slow
@pytest.mark.parametrize("fn, args", COMPILED_CASES,
                         ids=[fn.__name__ for fn, _ in COMPILED_CASES])
def test_reductions_along_an_axis_compiled(fn, args):
    assert gradcheck(fn, args, target="cpu")


def prod_along_a_float_axis(x):
    return np.sum(np.prod(x, axis=0.5))


def max_along_a_missing_axis(x):
    return np.sum(np.max(x, axis=3))


def keepdims_not_a_bool(x):
    return np.sum(np.sum(x, axis=0, keepdims=1))


def keepdims_of_a_product(x):
    return np.sum(np.dot(x, x.T, keepdims=True))


@pytest.mark.parametrize("fn, message", [
    (prod_along_a_float_axis, "the axis `0.5`"),
    (max_along_a_missing_axis, "axis 3 of an array of rank 2"),
    (keepdims_not_a_bool, "`keepdims=1`"),
    (keepdims_of_a_product, "`keepdims=` in `np.dot`"),
])
def test_reductions_adjit_refuses_are_located_errors(fn, message):
    with pytest.raises(adjit.AdjitError) as error:
        jit.grad(fn, target="python")(np.ones((2, 2)))
    assert message in str(error.value) and "test_array_axis.py:" in str(error.value)


# ----- second derivatives of whole-array code ------------------------------------

def elementwise_and_broadcasting(x, W):
    return np.sum(np.tanh(W @ x) ** 2) + np.sum(np.sin(x) * x) + np.sum((W * x) ** 2 / 3.0)


def matrix_vector(x, A):
    y = A @ x
    return np.dot(y, y) + np.dot(x, A.T @ np.exp(0.1 * x)) + np.sum(np.outer(x, x) * A)


def sums_and_means_along_axes(X, w):
    return np.sum(np.sum(X * X, axis=0) * w) + np.sum(np.mean(np.sin(X), axis=1) ** 2) \
        + np.mean(X ** 3) + np.sum(np.sum(X, axis=1, keepdims=True) * X)


def max_along_an_axis(X, w):
    return np.sum(np.max(X * w, axis=1) ** 2) + np.sum(np.min(np.sin(X), axis=0) * w) \
        + np.max(X) ** 2


def mlp_tanh_layer(x, W1, b1, w2):
    hidden = np.tanh(W1 @ x + b1)
    return np.dot(w2, hidden) ** 2 + 0.1 * np.sum(x * x)


def softmax(z, target):
    shifted = z - np.max(z)
    p = np.exp(shifted) / np.sum(np.exp(shifted))
    return np.sum((p - target) ** 2) + np.log(np.sum(np.exp(z)))


def products_along_axes(X):
    return np.sum(np.prod(X, axis=0) ** 2) + np.prod(X[0] + 2.0)


def batched_softmax(X, w):
    e = np.exp(X - np.max(X, axis=1, keepdims=True))
    return np.sum(w * e / np.sum(e, axis=1, keepdims=True))


def named_view(x):
    even = x[::2]
    return np.sum(np.sin(even) * even) + np.sum((x[1:] - x[:-1]) ** 2)


def rank_three(T):
    return np.sum(np.max(T, axis=2) ** 2) + np.sum(np.prod(T, axis=1)) \
        + np.sum(np.mean(T ** 2, axis=0, keepdims=True) * T)


HVP_CASES = [
    ("elementwise_and_broadcasting", elementwise_and_broadcasting,
     (_array(4), _array(3, 4)), 0),
    ("elementwise_and_broadcasting_W", elementwise_and_broadcasting,
     (_array(4), _array(3, 4)), 1),
    ("matrix_vector", matrix_vector, (_array(3), _array(3, 3)), 0),
    ("sums_and_means_along_axes", sums_and_means_along_axes, (_array(3, 4), _array(4)), 0),
    ("max_along_an_axis", max_along_an_axis, (_array(3, 4), _array(4)), 0),
    ("mlp_tanh_layer_x", mlp_tanh_layer, (_array(4), _array(5, 4), _array(5), _array(5)), 0),
    ("mlp_tanh_layer_W1", mlp_tanh_layer, (_array(4), _array(5, 4), _array(5), _array(5)), 1),
    ("softmax", softmax, (_array(5), RNG.uniform(0.0, 1.0, 5)), 0),
    ("products_along_axes", products_along_axes, (_array(3, 4),), 0),
    ("batched_softmax", batched_softmax, (_array(3, 4), _array(3, 4)), 0),
    ("rank_three", rank_three, (_array(2, 3, 4),), 0),
    ("named_view", named_view, (_array(7),), 0),
]


def _gradient_difference(fn, args, wrt, direction, target, h=1e-6):
    """Central finite difference of jit.grad along `direction`: H @ direction."""
    gradient = jit.grad(fn, wrt=wrt, target=target)
    plus, minus = list(args), list(args)
    plus[wrt] = args[wrt] + h * direction
    minus[wrt] = args[wrt] - h * direction
    return (gradient(*plus) - gradient(*minus)) / (2 * h)


def _check_hvp(fn, args, wrt, target):
    saved = [np.copy(a) for a in args]
    direction = _array(*np.shape(args[wrt]))
    product = jit.hvp(fn, wrt=wrt, target=target)(*args, direction)
    expected = _gradient_difference(fn, args, wrt, direction, target)
    assert np.shape(product) == np.shape(args[wrt])
    scale = max(1.0, float(np.max(np.abs(expected))))
    assert np.allclose(product, expected, rtol=1e-6, atol=1e-7 * scale)
    for before, after in zip(saved, args):
        assert np.array_equal(before, after)
    return product, direction


@pytest.mark.parametrize("name, fn, args, wrt", HVP_CASES, ids=[c[0] for c in HVP_CASES])
def test_hvp_of_whole_array_code(name, fn, args, wrt):
    product, direction = _check_hvp(fn, args, wrt, "python")
    # reverse over reverse agrees: the Hessian is symmetric, so the
    # vector-Jacobian product of the gradient is H @ direction too
    _, again = jit.vjp(jit.grad(fn, wrt=wrt, target="python"), wrt=wrt,
                       target="python")(*args, direction)
    assert np.allclose(again, product, rtol=1e-10, atol=1e-12)
    # and reverse over forward: the gradient of <grad f, direction>
    again = jit.grad(jit.jvp(fn, wrt=wrt, target="python"), wrt=wrt,
                     target="python")(*args, direction)
    assert np.allclose(again, product, rtol=1e-10, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("name, fn, args, wrt", [HVP_CASES[5], HVP_CASES[9]],
                         ids=[HVP_CASES[5][0], HVP_CASES[9][0]])
def test_hvp_of_whole_array_code_compiled(name, fn, args, wrt):
    product, _ = _check_hvp(fn, args, wrt, "cpu")
    direction = _array(*np.shape(args[wrt]))
    assert np.allclose(jit.hvp(fn, wrt=wrt, target="python")(*args, direction),
                       jit.hvp(fn, wrt=wrt, target="cpu")(*args, direction),
                       rtol=1e-12, atol=1e-12)


def test_hessian_of_a_scalar_parameter_through_array_code():
    def f(s, x):
        return np.sum(np.prod(np.exp(s * x), axis=0)) + np.max(np.sin(s * x))
    x = _array(3, 2)
    s = 0.7
    second = jit.grad(jit.grad(f, wrt=0, target="python"), wrt=0, target="python")(s, x)
    h = 1e-5
    gradient = jit.grad(f, wrt=0, target="python")
    expected = (gradient(s + h, x) - gradient(s - h, x)) / (2 * h)
    assert second == pytest.approx(expected, rel=1e-6)
    assert jit.hessian(f, wrt=0, target="python")(s, x) == pytest.approx(second, rel=1e-10)


# ----- what cannot be differentiated twice: located errors ---------------------------

def row_maxima_in_a_loop(Q, w):
    total = 0.0
    for i in range(Q.shape[0]):
        total += np.max(Q[i]) * w[0]
    return total


def broadcast_with_a_new_axis(a, B):
    return np.sum(np.sin(a[None, :] * B))


def third_derivative_of_prod(s, x):
    return np.prod(x * s)


def test_what_cannot_be_differentiated_twice_is_a_located_error():
    Q, w = _array(3, 2), _array(2)
    # the gradient accumulates a whole-array adjoint inside a loop
    with pytest.raises(adjit.DifferentiationError) as error:
        jit.hvp(row_maxima_in_a_loop, wrt=0, target="python")(Q, w, Q)
    assert "a whole-array operation inside a loop" in str(error.value)
    assert ".py:" in str(error.value) and "hint:" in str(error.value)
    # reverse over reverse of a view with a new axis (forward over reverse works)
    a, B = _array(3), _array(2, 3)
    with pytest.raises(adjit.DifferentiationError) as error:
        jit.vjp(jit.grad(broadcast_with_a_new_axis, target="python"),
                target="python")(a, B, a)
    assert "view with `None` axes" in str(error.value) and "jit.hvp" in str(error.value)
    _check_hvp(broadcast_with_a_new_axis, (a, B), 0, "python")
    # np.prod: second derivatives, not third
    x = _array(3)
    second = jit.grad(jit.grad(third_derivative_of_prod, target="python"), target="python")
    assert second(0.9, x) == pytest.approx(6 * 0.9 * np.prod(x), rel=1e-12)
    with pytest.raises(adjit.UnsupportedSyntaxError) as error:
        jit.grad(second, target="python")(0.9, x)
    assert "`rt.product_of_others_jvp`, a helper of adjit's generated code, has no " \
        "derivative rule" in str(error.value)
    assert ".py:" in str(error.value)
