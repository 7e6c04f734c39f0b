"""NumPy as people spell it, and the NumPy functions they call: programs in
tests/numpy_spellings_fixtures.py (which never imports NumPy as `np`)
against central finite differences in float64, reverse and forward mode
(`adjit.gradcheck`), on target="python" and, for a sample, target="cpu";
second order (jit.hvp, forward over reverse) against differences of the
gradient; and the located refusals next to them."""

from __future__ import annotations

import numpy as np
import pytest

import numpy_spellings_fixtures as fx
from adjit import UnsupportedSyntaxError, DifferentiationError, gradcheck, jit

RNG = np.random.default_rng(20261207)


def positive(*shape):
    return RNG.uniform(0.5, 1.5, size=shape)


X34 = positive(3, 4)
CASES = {
    "imported_plainly": (fx.imported_plainly, (positive(4), 0.7), (0, 1)),
    "imported_by_name": (fx.imported_by_name, (positive(4), positive(4)), (0, 1)),
    "operator_functions": (fx.operator_functions, (positive(4), positive(4), 0.8), (0, 1, 2)),
    "two_argument_functions": (fx.two_argument_functions, (positive(4), positive(4), 0.6),
                               (0, 1, 2)),
    "at_least": (fx.at_least, (0.9, positive(3), X34), (0, 1, 2)),
    "running_sums": (fx.running_sums, (positive(5), X34), (0, 1)),
    "running_products": (fx.running_products, (positive(5), X34), (0, 1)),
    "running_products_through_zero": (fx.running_products,
                                      (np.array([0.7, 0.0, 1.3, 0.9]), X34), (0, 1)),
    "differences": (fx.differences, (positive(5), X34), (0, 1)),
    "joined": (fx.joined, (positive(4), positive(4), X34), (0, 1, 2)),
    "weights_in_a_list": (fx.weights_in_a_list, (positive(6),), (0,)),
    "arrays_of_values": (fx.arrays_of_values, (0.7, 1.3, positive(4)), (0, 1, 2)),
    "mesh": (fx.mesh, (positive(4), positive(3)), (0, 1)),
    "keepdims_through_parameters": (fx.keepdims_through_parameters, (X34,), (0,)),
    "calls_a_method_user": (fx.calls_a_method_user, (positive(4),), (0,)),
    "writes_into_joined_values": (fx.writes_into_joined_values, (positive(3), 0.4, 0.9),
                                  (0, 1, 2)),
}
# compiled by Numba: each construct once (compiles take seconds each)
CPU = ("imported_plainly", "operator_functions", "at_least", "running_sums",
       "running_products", "differences", "joined", "arrays_of_values", "mesh",
       "weights_in_a_list", "keepdims_through_parameters", "writes_into_joined_values")
SECOND = list(CASES)
# (the joins' second order compiles for half a minute: python covers it, and
# the joins' first order is compiled)
SECOND_CPU = ("differences", "running_products")


@pytest.mark.parametrize("name", list(CASES))
def test_first_order(name):
    function, args, wrt = CASES[name]
    assert gradcheck(function, args, wrt=wrt, target="python")


@pytest.mark.parametrize("name", CPU)
def test_first_order_compiled(name):
    function, args, wrt = CASES[name]
    assert gradcheck(function, args, wrt=wrt, target="cpu")


def _hvp_against_gradient_differences(name, target):
    function, args, wrt = CASES[name]
    rng = np.random.default_rng(7)
    direction = tuple(rng.normal(size=np.shape(args[i])) if np.ndim(args[i])
                      else float(rng.normal()) for i in wrt)
    gradient = jit.grad(function, wrt=wrt, target="python")

    def moved(t):
        shifted = list(args)
        for i, d in zip(wrt, direction):
            shifted[i] = args[i] + t * d
        return [np.asarray(g, dtype=np.float64) for g in gradient(*shifted)]

    h = 1e-3
    differences = [(-a + 8 * b - 8 * c + d) / (12 * h) for a, b, c, d in
                   zip(moved(2 * h), moved(h), moved(-h), moved(-2 * h))]
    product = jit.hvp(function, wrt=wrt, target=target)(*args, direction)
    for got, expected in zip(product, differences):
        got = np.broadcast_to(np.asarray(got, dtype=np.float64), expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", SECOND)
def test_second_order(name):
    _hvp_against_gradient_differences(name, "python")


@pytest.mark.parametrize("name", SECOND_CPU)
def test_second_order_compiled(name):
    _hvp_against_gradient_differences(name, "cpu")


def test_reverse_over_reverse_of_joins_and_differences():
    """jit.vjp(jit.grad(f)) differentiates the adjoints of the joins (views
    of the result's adjoint) again: a column of the mixed Hessian against
    differences of the gradient."""
    x, y, X = CASES["joined"][1]
    direction = np.zeros_like(x)
    direction[1] = 1.0
    _, column = jit.vjp(jit.grad(fx.joined, wrt=0, target="python"), wrt=1,
                           target="python")(x, y, X, direction)
    gradient = jit.grad(fx.joined, wrt=1, target="python")
    h = 1e-5
    expected = (gradient(x + h * direction, y, X) - gradient(x - h * direction, y, X)) / (2 * h)
    np.testing.assert_allclose(column, expected, rtol=1e-5, atol=1e-7)


def test_third_order_of_cumprod_is_refused():
    """np.cumprod differentiates twice; its second derivatives'
    helpers have no rules, and a third derivative stops there, located."""
    third = jit.grad(jit.grad(jit.grad(fx.cumprod_of_a_scalar, target="python"),
                              target="python"), target="python")
    with pytest.raises(UnsupportedSyntaxError, match="rt.cumprod_second"):
        third(0.8)
    second = jit.grad(jit.grad(fx.cumprod_of_a_scalar, target="python"), target="python")
    h = 1e-4
    first = jit.grad(fx.cumprod_of_a_scalar, target="python")
    assert second(0.8) == pytest.approx((first(0.8 + h) - first(0.8 - h)) / (2 * h), rel=1e-6)


def test_generated_code_names_no_user_module():
    """`x.sum()` in a module that imports NumPy only as `numpy`: adjit's own
    spelling `np.sum` is resolved without the user's globals."""
    x = positive(4)
    value, gradient = jit.value_and_grad(fx.imported_plainly, target="python")(x, 0.7)
    assert value == pytest.approx(fx.imported_plainly(x, 0.7))
    assert gradient.shape == x.shape


@pytest.mark.parametrize("function, args, message, line_text", [
    (fx.list_used_as_a_list, (np.ones(2),), "a list, used as", "len(w * 2)"),
    (fx.concatenate_of_a_name, (np.ones(2), np.ones(2)), "list the arrays", "concatenate(pair)"),
    (fx.axis_of_a_variable, (np.ones(2), 0), "the axis `k`", "axis=k"),
    (fx.meshgrid_not_unpacked, (np.ones(2), np.ones(2)), "unpack two arrays", "meshgrid"),
    (fx.list_returned, (np.ones(2),), "list literal", "[x, x]"),
    # a parameter the callee reassigns is not the call's constant
    (fx.calls_a_flipping_callee, (np.ones((2, 2)),), "keepdims=keep", "keepdims=keep"),
    # NumPy returns x itself: a write into y would write x
    (fx.writes_into_at_least, (np.ones(2),), "shares its elements", "y[0] = 2.0"),
    (fx.writes_into_a_list, (np.ones(2),), "a list, used as", "w[0] = x[0]"),
])
def test_refused_with_a_location(function, args, message, line_text):
    with pytest.raises((UnsupportedSyntaxError, DifferentiationError)) as caught:
        jit.grad(function, target="python")(*args)
    text = str(caught.value)
    assert message in text
    assert "numpy_spellings_fixtures.py:" in text
    assert line_text in text
