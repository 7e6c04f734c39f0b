"""Regression tests: each checks, on target="python" and "cpu", one
derivative that was once wrong, against finite differences of the plain
function (or of its gradient, for second derivatives) and against the other
mode (forward against reverse, forward over reverse against reverse over
reverse). The programs are in tests/regression_fixtures.py.

Finite differences are the fourth-order central stencil with relative steps
1e-4, 1e-5 and 1e-3 (a match at any step counts), to
``|adjit - numeric| <= 1e-6 |numeric| + 1e-8 * scale``, as in
tests/test_corpus.py.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

import regression_fixtures as fx
from adjit import jit

RTOL, ATOL = 1e-6, 1e-8
FD_REL_STEPS = (1e-4, 1e-5, 1e-3)
TARGETS = ["python", pytest.param("cpu", marks=pytest.mark.slow)]

_derivatives: dict = {}


def derivative(make, fn, wrt, target):
    """`make(fn, wrt=wrt, target=target)`, built once per module."""
    key = (make.__name__, fn, wrt, target)
    if key not in _derivatives:
        _derivatives[key] = make(fn, wrt=wrt, target=target)
    return _derivatives[key]


def hessian_both_ways(fn, wrt, target):
    key = ("rev-rev", fn, wrt, target)
    if key not in _derivatives:
        _derivatives[key] = jit.jacobian(jit.grad(fn, wrt=wrt, target=target), wrt=wrt,
                                         mode="rev", target=target)
    return derivative(jit.hessian, fn, wrt, target), _derivatives[key]


def copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def stencil(at, h):
    return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)


def along(fn, args, wrt, direction, rel_step):
    """d/dt fn(args + t * direction) at 0 (direction: one part per wrt)."""
    size = max([1.0] + [float(np.max(np.abs(args[i]))) for i in wrt])
    h = rel_step * size

    def at(t):
        shifted = copies(args)
        for i, d in zip(wrt, direction):
            shifted[i] = shifted[i] + t * d
        return np.asarray(fn(*shifted), dtype=np.float64)

    return stencil(at, h)


def unit(args, position, index):
    """The direction along element `index` of argument `position`."""
    a = args[position]
    if isinstance(a, np.ndarray):
        e = np.zeros_like(a)
        e[index] = 1.0
        return e
    return 1.0


def assert_matches(label, got, estimate, scale=1.0):
    """`got` against `estimate(step)` at one of the steps."""
    got = np.asarray(got, dtype=np.float64)
    assert np.all(np.isfinite(got)), f"{label}: {got}"
    tried = []
    for step in FD_REL_STEPS:
        numeric = np.asarray(estimate(step), dtype=np.float64)
        tried.append(numeric)
        bound = RTOL * np.abs(numeric) + ATOL * max(scale, 1.0, float(np.max(np.abs(numeric))))
        if np.all(np.abs(got - numeric) <= bound):
            return
    raise AssertionError(f"{label}: adjit {got.tolist()} vs finite differences {tried[0].tolist()} "
                         f"(other steps: {[t.tolist() for t in tried[1:]]})")


def random_direction(name, args, wrt):
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    return tuple(rng.normal(size=args[i].shape) if isinstance(args[i], np.ndarray)
                 else float(rng.normal()) for i in wrt)


def inner(gradients, direction):
    return float(sum(np.sum(np.asarray(g) * np.asarray(d)) for g, d in zip(gradients, direction)))


def check_first_order(fn, args, wrt, target):
    """The gradient, element by element, against differences of `fn`; the
    jvp along a random direction against differences and the gradient."""
    saved = copies(args)
    gradients = derivative(jit.grad, fn, wrt, target)(*args)
    assert isinstance(gradients, tuple) and len(gradients) == len(wrt)
    value = float(fn(*copies(args)))
    for i, g in zip(wrt, gradients):
        assert np.shape(g) == np.shape(args[i]), f"d/d arg{i}: shape {np.shape(g)}"
        for index in np.ndindex(np.shape(args[i])):
            e = unit(args, i, index)
            assert_matches(f"{fn.__name__} [{target}]: d/d arg{i}{list(index)}",
                           np.asarray(g)[index],
                           lambda step: along(fn, args, (i,), (e,), step), abs(value))
    direction = random_direction(fn.__name__, args, wrt)
    primal, tangent = derivative(jit.jvp, fn, wrt, target)(*args, direction)
    assert float(primal) == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert_matches(f"{fn.__name__} [{target}]: jvp", tangent,
                   lambda step: along(fn, args, wrt, direction, step), abs(value))
    expected = inner(gradients, direction)
    assert float(tangent) == pytest.approx(expected, rel=1e-10, abs=1e-12), \
        f"{fn.__name__} [{target}]: jvp {tangent} vs gradient . direction {expected}"
    for a, b in zip(args, saved):
        if isinstance(b, np.ndarray):
            assert np.array_equal(a, b), "a derivative modified its caller's array"
    return gradients


# ---- recompute: an array written after the loop that reads it --------------------------

@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fn, args", [
    pytest.param(fx.loop_reads_then_slice_write, (0.7, 5), id="filled-by-a-loop"),
    pytest.param(fx.whole_array_then_loop_then_slice_write,
                 (0.7, np.array([0.3, -1.1, 0.8, 1.9, -0.4])), id="filled-whole"),
])
def test_loop_reading_an_array_overwritten_by_a_slice_after_it(fn, args, target):
    """A loop reading `y[i]` (the loop itself never writes `y`) followed by
    `y[0:2] = 0.5`: the loop was recomputed in the reverse sweep, reading the
    values the slice wrote, not the ones the loop saw, because the
    record-or-recompute decision did not count arrays written elsewhere.
    The gradient was wrong (0.873 for 0.474 in the first program), the jvp
    right."""
    check_first_order(fn, args, (0,), target)


# ---- second derivatives of x ** y ------------------------------------------------------

POWER_POINTS = [(1.7, 0.8), (0.6, 2.3), (2.5, -1.2), (0.4, 3.0)]


def power_hessian(x, y):
    """The Hessian of x ** y, in closed form."""
    xy, log = x ** y, math.log(x)
    cross = x ** (y - 1.0) * (1.0 + y * log)
    return np.array([[y * (y - 1.0) * x ** (y - 2.0), cross], [cross, xy * log * log]])


def gradient_differences(fn, args, position, step):
    g = derivative(jit.grad, fn, (0, 1), "python")
    h = step * max(1.0, abs(args[position]))

    def at(delta):
        shifted = list(args)
        shifted[position] += delta
        return np.asarray(g(*shifted), dtype=np.float64)

    return stencil(at, h)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fn", [fx.power, fx.power_times_sine, fx.constant_base_power,
                                fx.power_of_power], ids=lambda fn: fn.__name__)
def test_hessian_of_a_variable_power(fn, target):
    """d/dy of the partials of x ** y: the derivative of the y partial
    x ** y * log(x) had lost a log(x) factor, and forward over reverse and
    reverse over reverse, built from the same rules, agreed on the wrong
    Hessian."""
    forward, reverse = hessian_both_ways(fn, (0, 1), target)
    for args in POWER_POINTS:
        # the reference: the python gradient, itself against differences of fn
        check_first_order(fn, args, (0, 1), "python")
        by_forward = np.asarray(forward(*args), dtype=np.float64)
        by_reverse = np.asarray(reverse(*args), dtype=np.float64)
        gradient = np.asarray(derivative(jit.grad, fn, (0, 1), "python")(*args))
        scale = float(np.max(np.abs(gradient)))
        for column in range(2):
            for label, hessian in (("forward over reverse", by_forward),
                                   ("reverse over reverse", by_reverse)):
                assert_matches(f"{fn.__name__}{args} [{target}] {label}: column {column}",
                               hessian[:, column],
                               lambda step: gradient_differences(fn, args, column, step), scale)
        assert np.allclose(by_forward, by_reverse, rtol=1e-10, atol=1e-12)
        if fn is fx.power:
            assert np.allclose(by_forward, power_hessian(*args), rtol=1e-12, atol=1e-14)


# ---- broadcasting: adjoints summed back to the operand's shape ---------------------------

BROADCASTS = [pytest.param(fn, args, id=name) for name, fn, args in fx.BROADCASTS]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fn, args", BROADCASTS)
def test_broadcast_operand_adjoint(fn, args, target):
    """Whole-array operators broadcasting in 2-D and 3-D: the adjoint of the
    smaller operand is the result's adjoint summed over the broadcast axes
    (`rt.unbroadcast`); the compiled helper summed the wrong axes."""
    check_first_order(fn, args, (0, 1), target)


# ---- matrix products in forward mode ---------------------------------------------------

PRODUCTS = [pytest.param(fn, args, id=name) for name, fn, args in fx.PRODUCTS]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fn, args", PRODUCTS)
def test_matrix_product_tangent(fn, args, target):
    """The tangent of `np.dot(a, b)` / `a @ b` is `da @ b + a @ db`: an
    operand transposed in the forward rule gave wrong tangents (or shape
    errors) while reverse mode was right. Every pair of ranks, along a
    direction in both operands (and, uncompiled, in each alone)."""
    check_first_order(fn, args, (0, 1), target)
    for position in (0, 1) if target == "python" else ():
        direction = random_direction(f"{fn.__name__}{position}", args, (position,))[0]
        _, tangent = derivative(jit.jvp, fn, position, target)(*args, direction)
        assert_matches(f"{fn.__name__} [{target}]: jvp in arg{position}", tangent,
                       lambda step: along(fn, args, (position,), (direction,), step))


# ---- x % y with respect to y -------------------------------------------------------------

REMAINDER_POINTS = [(3.4, 1.4), (-3.4, 1.4), (3.4, -1.4), (5.3, 0.7), (0.4, 2.5)]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fn", [fx.remainder, fx.remainder_in_expression],
                         ids=lambda fn: fn.__name__)
def test_remainder_by_a_variable(fn, target):
    """x % y is x - y * floor(x / y): its y partial is -floor(x / y) (not 0,
    and not -trunc(x / y), which differs for a negative quotient), in reverse
    mode and in forward mode."""
    for args in REMAINDER_POINTS:
        gradients = check_first_order(fn, args, (0, 1), target)
        _, tangent = derivative(jit.jvp, fn, 1, target)(*args, 1.0)
        assert_matches(f"{fn.__name__}{args} [{target}]: jvp in y", tangent,
                       lambda step: along(fn, args, (1,), (1.0,), step))
        assert float(tangent) == pytest.approx(float(gradients[1]), rel=1e-12, abs=1e-14)
        if fn is fx.remainder:
            assert float(gradients[1]) == -math.floor(args[0] / args[1])


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fn, args", [
    pytest.param(fx.array_remainder, (np.array([3.4, -3.4, 3.4, 5.3, 0.4]),
                                      np.array([1.4, 1.4, -1.4, 0.7, 2.5])), id="array-divisor"),
    pytest.param(fx.array_remainder_by_a_float, (np.array([3.4, -3.4, 5.3, 0.4]), 1.3),
                 id="float-divisor"),
])
def test_elementwise_remainder_by_a_variable(fn, args, target):
    """The same partial, element by element (`a % b` of arrays, and of an
    array by a float, whose adjoint is summed)."""
    check_first_order(fn, args, (0, 1), target)
    direction = random_direction(f"{fn.__name__}-divisor", args, (1,))[0]
    _, tangent = derivative(jit.jvp, fn, 1, target)(*args, direction)
    assert_matches(f"{fn.__name__} [{target}]: jvp in the divisor", tangent,
                   lambda step: along(fn, args, (1,), (direction,), step))


# ---- forward mode: tangents that must not share memory ----------------------------------

SHARED_TANGENTS = [
    pytest.param(fx.element_write_into_a_scaled_copy, id="scaled-copy"),
    pytest.param(fx.operand_written_after_a_shifted_copy, id="operand-written"),
    pytest.param(fx.element_write_into_a_copy_of_a_slice, id="copy-of-a-slice"),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fn", SHARED_TANGENTS)
def test_tangent_of_an_identity_result_is_its_own_array(fn, target):
    """`c = y * 1.0` (or `y + 0.5`, `y[1:] * 1.0`): the tangent of `c`
    folded to the tangent array of `y` itself (or a view of it), so that
    `c[0] = ...` (or a write into `y`) changed both: jvp was 19.8 instead
    of 19.9 for the first program, and the caller's tangent array came
    back modified."""
    args = (np.array([0.3, -0.5, 0.8, 0.1]), 0.9)
    direction = (np.array([1.0, 2.0, 3.0, 4.0]), 0.5)
    kept = direction[0].copy()
    primal, tangent = derivative(jit.jvp, fn, (0, 1), target)(*copies(args), direction)
    assert np.array_equal(direction[0], kept), "jvp modified its caller's tangent"
    assert_matches(f"{fn.__name__} [{target}]: jvp", tangent,
                   lambda step: along(fn, args, (0, 1), direction, step))
    check_first_order(fn, args, (0, 1), target)


@pytest.mark.parametrize("target", TARGETS)
def test_tangent_of_an_array_output_independent_of_wrt(target):
    """A function returning an array that does not depend on the `wrt`
    argument: jvp returned the float 0.0 as its tangent, not an array of
    zeros of the output's shape."""
    x = np.array([0.3, -0.5, 0.8])
    value, tangent = derivative(jit.jvp, fx.scaled_array_and_square, 1, target)(x, 0.5, 1.0)
    assert isinstance(tangent[0], np.ndarray) and tangent[0].shape == (3,)
    assert np.array_equal(tangent[0], np.zeros(3)) and tangent[1] == pytest.approx(1.0)


# ---- parallel loops ---------------------------------------------------------------------

PARALLEL = [
    pytest.param(fx.array_created_in_a_prange_body, (np.array([0.3, -0.5, 0.8, 0.1]), 0.7),
                 id="array-created-in-body"),
    pytest.param(fx.own_element_written_then_augmented_in_a_prange,
                 (np.array([0.3, -0.5, 0.8, 0.1]), np.array([1.2, 0.4, -0.3, 0.9]), 0.7),
                 id="own-element-augmented"),
    pytest.param(fx.prange_filling_an_array_a_later_loop_reads,
                 (np.array([0.3, -0.5, 0.8, 0.1]), np.array([1.2, 0.4, -0.3, 0.9]), 0.7),
                 id="filled-then-read-by-a-later-loop"),
    pytest.param(fx.prange_stencil_and_own_elements,
                 (np.array([0.3, -0.5, 0.8, 0.1, 0.7]), np.array([0.7, 0.1, 0.8, -0.5, 0.3]),
                  0.7), id="shared-and-own-elements"),
    pytest.param(fx.prange_with_a_branch, (np.array([0.3, -0.5, 0.8, 0.1]), 0.7),
                 id="branch"),
    pytest.param(fx.prange_reading_neighbours, (np.array([0.3, -0.5, 0.8, 0.1]), 0.7),
                 id="neighbour-reads"),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fn, args", PARALLEL)
def test_parallel_loop_first_and_second_order(fn, args, target):
    """Refused although documented: an array created in a prange body (its
    adjoint was one array shared by all threads), an array the prange
    fills and a later loop reads element by element (every write recorded
    the element it replaced, on a tape a parallel loop cannot share,
    though nothing before the loop read the array back), and at second order a
    prange with a branch (the recomputed branch and its adjoint were two
    `if`s, so a value looked carried out of the loop) or with reads of
    other elements (the chunk copies were summed by a call adjit could not
    differentiate; an adjoint the gradient writes at the index of a chunk's
    own range, `_b_y[i]`, was taken for another iteration's element). The Hessian-vector product is checked against
    differences of the gradient."""
    check_first_order(fn, args, (0,), target)
    vector = random_direction(fn.__name__, args, (0,))[0]
    hvp = derivative(jit.hvp, fn, 0, target)(*copies(args), vector)
    gradient = derivative(jit.grad, fn, 0, "python")

    def at(t):
        shifted = copies(args)
        shifted[0] = shifted[0] + t * vector
        return np.asarray(gradient(*shifted), dtype=np.float64)

    assert_matches(f"{fn.__name__} [{target}]: hvp", hvp,
                   lambda step: stencil(at, step * float(np.max(np.abs(args[0])))))


@pytest.mark.parametrize("target", TARGETS)
def test_overwrite_after_a_load_that_a_recomputed_value_comes_from(target):
    """`a = y[i]; b = a * 2.0; t += sin(b)`, then a later loop overwrites
    `y`: the adjoint reads `b`, recomputed from `a`, loaded from `y`, so the
    overwrite must record and restore what it replaces, though no adjoint
    reads `a` itself. (An element write records the element it replaces
    only where a load that the reverse sweep needs may precede it.)"""
    check_first_order(fx.load_feeding_a_recomputed_value_then_overwritten,
                      (np.array([0.3, -0.5, 0.8, 0.1]), 0.7), (0, 1), target)


def test_third_derivative_through_a_shape_only_read():
    """The gradient's `rt.unbroadcast(g, c)` reads only the shape of `c`,
    but differentiating it again refused the later writes into `c` ("`c`
    is written after this operation reads it") in the gradient's reverse
    sweep, so a third derivative was refused. Checked against differences
    of the second derivative."""
    fn = fx.filled_copy_then_sums
    y, x = np.array([0.3, -0.5, 0.8]), np.array([1.2, 0.4, -0.3])
    second = jit.grad(jit.grad(fn, wrt=2, target="python"), wrt=2, target="python")
    third = jit.grad(second, wrt=2, target="python")(y, x, 0.7)
    assert_matches("third derivative", third,
                   lambda step: stencil(lambda t: np.asarray(second(y, x, 0.7 + t)), step))


@pytest.mark.parametrize("target", TARGETS)
def test_second_order_of_a_named_view_beside_a_whole_array_operation(target):
    """The gradient writes the view's adjoint (`_b_v = _b_x[1:]`, then
    `_b_v[0] += ...`) after adding into the whole base (`_b_x += ...`);
    differentiated again, that `+=` rebound `_b_x` to a new array, so the
    view's writes went into the old one: hvp and jvp(grad) lost the view's
    terms (0.959 for 4.959), silently."""
    fn = fx.element_of_a_named_view_and_the_whole_array
    x, vector = np.array([0.3, -0.5, 0.8, 0.1]), np.array([1.0, 2.0, 3.0, 4.0])
    gradient = derivative(jit.grad, fn, 0, "python")

    def at(t):
        return np.asarray(gradient(x + t * vector), dtype=np.float64)

    expected = lambda step: stencil(at, step)  # noqa: E731
    assert_matches("hvp", derivative(jit.hvp, fn, 0, target)(x, vector), expected)
    tangent = jit.jvp(jit.grad(fn, target=target), target=target)(x, vector)[1]
    assert_matches("jvp(grad)", tangent, expected)


@pytest.mark.parametrize("target", TARGETS)
def test_float64_tangent_for_float32_data(target):
    """jvp of `A.T @ A` with float32 `A` and a float64 tangent: the compiled
    product of the tangent and `A` mixed dtypes, which Numba's `@` refuses
    (a TypingError on cpu); the tangent now takes its argument's dtype."""
    A = np.random.default_rng(3).normal(size=(3, 4)).astype(np.float32)
    direction = np.ones((3, 4))
    _, tangent = derivative(jit.jvp, fx.gram_energy, 0, target)(A, 0.5, direction)
    gradient = derivative(jit.grad, fx.gram_energy, 0, "python")(A, 0.5)
    assert tangent == pytest.approx(float(np.sum(gradient * direction)), rel=1e-5)
