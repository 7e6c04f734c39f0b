"""Output arguments, the Numba idiom: a function fills an array it was
given and returns nothing.

A helper that fills its arguments is inlined like any call (its writes land
in the caller's array); a function returning nothing is differentiated by
`jit.vjp` / `jit.jvp` for the arrays it fills. Each case against central
finite differences in float64, forward against reverse, on both targets;
a sample at second order; and the refusals.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest

import adjit
from adjit import jit

TARGETS = ["python", pytest.param("cpu", marks=pytest.mark.slow)]


# -- helpers that fill their arguments -----------------------------------------
def smooth_into(x, a, out):
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = a * x[i] + (1 - a) * out[i - 1]


def smoothed_energy(x, a):
    y = np.zeros_like(x)
    smooth_into(x, a, y)
    return np.sum(y * y)


def split_into(x, low, high):
    """Two output arguments, an early bare `return` inside the loop."""
    for i in range(len(x)):
        if x[i] > 0.5:
            return
        low[i] = np.sin(x[i]) * 0.5
        high[i] = x[i] * x[i]
    return


def split_energy(x, c):
    low = np.zeros_like(x)
    high = np.zeros_like(x)
    split_into(x * c, low, high)
    return np.sum(low * high) + c * high[0]


def fill_and_total(x, out):
    """Fills `out` and returns a value too."""
    total = 0.0
    for i in range(len(x)):
        out[i] = np.exp(x[i] * 0.3)
        total += out[i]
    return total


def fill_and_total_energy(x):
    y = np.zeros_like(x)
    s = fill_and_total(x, y)
    return s * np.dot(y, x)


def value_dropped(x):
    """A helper returning a value, called on its own line."""
    y = np.zeros_like(x)
    fill_and_total(x, y)
    return np.sum(y * x)


def accumulate_into(x, w, out):
    """Reads what `out` held: `out` is an input too."""
    for i in range(len(x)):
        out[i] += w * x[i] * out[i]


def accumulated(x, w):
    y = np.ones_like(x)
    for _ in range(3):
        accumulate_into(x, w, y)
    return np.sum(y * x)


def laplacian_into(u, dt, out):
    for k in range(1, len(u) - 1):
        out[k] = u[k] + dt * (u[k - 1] - 2.0 * u[k] + u[k + 1]) - dt * u[k] ** 3


def simulate(u0, dt):
    u = np.copy(u0)
    v = np.zeros_like(u0)
    for t in range(4):
        laplacian_into(u, dt, v)
        for k in range(1, len(u) - 1):
            u[k] = v[k]
    return np.sum(u * u)


RNG = np.random.default_rng(11)
X = RNG.uniform(0.2, 1.0, size=6)
HELPER_CASES = [
    ("smooth_into", smoothed_energy, (X, 0.3), (0, 1)),
    ("two_outputs_and_bare_return", split_energy, (X, 0.8), (0, 1)),
    ("fills_and_returns", fill_and_total_energy, (X,), (0,)),
    ("returned_value_dropped", value_dropped, (X,), (0,)),
    ("output_read_too", accumulated, (X, 0.4), (0, 1)),
    ("called_in_a_time_loop", simulate, (X, 0.1), (0, 1)),
]


def _copies(args):
    return [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]


def _directions(args, wrt, seed=3):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=np.shape(args[i])) if np.ndim(args[i]) else 1.0
                 for i in wrt)


def _shifted(args, wrt, directions, h):
    shifted = _copies(args)
    for index, direction in zip(wrt, directions):
        shifted[index] = shifted[index] + h * direction
    return shifted


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name, fn, args, wrt", HELPER_CASES, ids=[c[0] for c in HELPER_CASES])
def test_helpers_filling_arguments(name, fn, args, wrt, target):
    directions = _directions(args, wrt)
    gradients = jit.grad(fn, wrt=wrt, target=target)(*args)
    predicted = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(gradients, directions))
    h = 1e-6
    numerical = (fn(*_shifted(args, wrt, directions, h))
                 - fn(*_shifted(args, wrt, directions, -h))) / (2 * h)
    assert predicted == pytest.approx(numerical, rel=1e-6, abs=1e-8), name
    value, tangent = jit.jvp(fn, wrt=wrt, target=target)(*args, directions)
    assert value == pytest.approx(fn(*_copies(args)), rel=1e-12)
    assert tangent == pytest.approx(predicted, rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("target", TARGETS)
def test_second_order_through_a_helper_filling_an_argument(target):
    """jit.hvp of a loss whose helper fills an array, against differences
    of the gradient."""
    direction = (np.linspace(-1.0, 1.0, 6), 0.7)
    product = jit.hvp(smoothed_energy, wrt=(0, 1), target=target)(X, 0.3, direction)
    gradient = jit.grad(smoothed_energy, wrt=(0, 1), target="python")
    h = 1e-6
    plus = gradient(X + h * direction[0], 0.3 + h * direction[1])
    minus = gradient(X - h * direction[0], 0.3 - h * direction[1])
    for got, p, m in zip(product, plus, minus):
        assert np.allclose(got, (np.asarray(p) - np.asarray(m)) / (2 * h),
                           rtol=1e-6, atol=1e-7)


def test_second_order_with_two_outputs_and_an_early_return():
    direction = (np.linspace(-1.0, 1.0, 6), 0.7)
    product = jit.hvp(split_energy, wrt=(0, 1), target="python")(X, 0.8, direction)
    gradient = jit.grad(split_energy, wrt=(0, 1), target="python")
    h = 1e-6
    plus = gradient(X + h * direction[0], 0.8 + h * direction[1])
    minus = gradient(X - h * direction[0], 0.8 - h * direction[1])
    for got, p, m in zip(product, plus, minus):
        assert np.allclose(got, (np.asarray(p) - np.asarray(m)) / (2 * h),
                           rtol=1e-6, atol=1e-7)


def test_the_helper_appears_inlined_without_a_result():
    source = jit.grad(smoothed_energy, target="python").source_for(X, 0.3)
    assert "# from line" in source and "smooth_into(x, a, y)" in source
    assert "smooth_into_i" in source and "_unused" not in source
    # a value returned to a call on its own line is bound to nothing
    from adjit.passes.pipeline import front_end
    inlined = ast.unparse(front_end(value_dropped).tree)
    assert "_unused" not in inlined and "fill_and_total_total = " in inlined


# -- functions returning nothing, differentiated for what they fill ------------
def fill_two(x, a, first, second):
    for i in range(len(x)):
        first[i] = np.sin(a * x[i])
        second[i] = first[i] * x[i] + a
    second[0] = second[0] * first[len(x) - 1]


def scale_rows(q, s, out):
    """A 2-D output argument, an early return."""
    n, d = q.shape
    for i in range(n):
        if i * s > 1.0:
            return
        for k in range(d):
            out[i, k] = np.tanh(s * q[i, k]) + out[i, k] * s


def fill_through_an_alias(x, out):
    o = out
    for i in range(len(x)):
        o[i] = x[i] * x[i] * out[len(x) - 1 - i]


def calls_a_filling_helper(x, a, out):
    smooth_into(x, a, out)
    out[0] += a * out[len(x) - 1]


def _outputs_of(fn, args, names):
    """Run the plain Python function on copies: the contents of the named
    output arguments after it."""
    copied = _copies(args)
    fn(*copied)
    parameters = list(fn.__code__.co_varnames[:fn.__code__.co_argcount])
    return [copied[parameters.index(name)] for name in names]


def _reverse_and_forward(fn, args, wrt, outputs, target):
    """<cotangent, J v> by the vjp, the jvp and central differences."""
    names = [outputs] if isinstance(outputs, str) else list(outputs)
    directions = _directions(args, wrt)
    rng = np.random.default_rng(8)
    cotangents = [rng.normal(size=o.shape) for o in _outputs_of(fn, args, names)]
    cotangent = cotangents[0] if isinstance(outputs, str) else tuple(cotangents)
    saved = _copies(args)
    value, gradients = jit.vjp(fn, wrt=wrt, target=target, outputs=outputs)(*args, cotangent)
    reverse = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(gradients, directions))
    value_f, tangent = jit.jvp(fn, wrt=wrt, target=target, outputs=outputs)(*args, directions)
    tangents = [tangent] if isinstance(outputs, str) else list(tangent)
    forward = sum(float(np.sum(t * c)) for t, c in zip(tangents, cotangents))
    h = 1e-6
    plus = _outputs_of(fn, _shifted(args, wrt, directions, h), names)
    minus = _outputs_of(fn, _shifted(args, wrt, directions, -h), names)
    numerical = sum(float(np.sum((p - m) / (2 * h) * c))
                    for p, m, c in zip(plus, minus, cotangents))
    # the value is the primal's outputs; the caller's arrays are untouched
    primal = _outputs_of(fn, args, names)
    values = [value] if isinstance(outputs, str) else list(value)
    values_f = [value_f] if isinstance(outputs, str) else list(value_f)
    for got, got_f, expected in zip(values, values_f, primal):
        assert np.allclose(got, expected, rtol=1e-12, atol=0.0)
        assert np.allclose(got_f, expected, rtol=1e-12, atol=0.0)
    for before, after in zip(saved, args):
        assert np.array_equal(before, after)
    return reverse, forward, numerical


OUTPUT_CASES = [
    ("one_output", smooth_into, (X, 0.3, np.zeros(6)), (0, 1), "out"),
    ("two_outputs", fill_two, (X, 0.6, np.zeros(6), np.zeros(6)), (0, 1),
     ("first", "second")),
    ("written_through_an_alias", fill_through_an_alias, (X, X[::-1].copy()), (0, 1), "out"),
    ("filled_by_a_helper", calls_a_filling_helper, (X, 0.3, np.ones(6)), (0, 1), "out"),
    ("one_of_two_outputs", fill_two, (X, 0.6, np.zeros(6), np.zeros(6)), (1,), "second"),
    ("output_read_too_wrt_it", accumulate_into, (X, 0.4, X[::-1].copy()), (0, 2), "out"),
    ("rows_and_early_return", scale_rows, (RNG.normal(size=(4, 2)), 0.7,
                                           RNG.normal(size=(4, 2))), (0, 1, 2), "out"),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name, fn, args, wrt, outputs", OUTPUT_CASES,
                         ids=[c[0] for c in OUTPUT_CASES])
def test_functions_filling_output_arguments(name, fn, args, wrt, outputs, target):
    reverse, forward, numerical = _reverse_and_forward(fn, args, wrt, outputs, target)
    assert reverse == pytest.approx(numerical, rel=1e-6, abs=1e-8), name
    assert forward == pytest.approx(reverse, rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("target", TARGETS)
def test_second_order_of_a_function_filling_an_output(target):
    """The jvp of a function returning nothing, differentiated again in
    both modes, against differences of the jvp."""
    inner = jit.jvp(smooth_into, wrt=1, target=target)

    def tangent_of_out(a):
        return inner(X, a, np.zeros(6), 1.0)[1]
    h = 1e-6
    numerical = (tangent_of_out(0.3 + h) - tangent_of_out(0.3 - h)) / (2 * h)
    _, second = jit.jvp(inner, wrt=1, target=target)(X, 0.3, np.zeros(6), 1.0, 1.0)
    assert np.allclose(second, numerical, rtol=1e-6, atol=1e-8)
    cotangent = np.linspace(0.5, 1.5, 6)
    _, (_, by_reverse) = jit.vjp(inner, wrt=(0, 1), target=target)(
        X, 0.3, np.zeros(6), 1.0, cotangent)
    assert by_reverse == pytest.approx(float(np.dot(numerical, cotangent)), rel=1e-6)


def test_the_outputs_by_default_are_the_arguments_written():
    """Without `outputs=`: every parameter written, in signature order, a
    tuple when there are several; `outputs=("out",)` gives tuples of one."""
    args = (X, 0.6, np.zeros(6), np.zeros(6))
    both = jit.vjp(fill_two, target="python")
    value, gradient = both(*args, (np.ones(6), np.ones(6)))
    named = jit.vjp(fill_two, target="python", outputs=(2, "second"))
    value_named, gradient_named = named(*args, (np.ones(6), np.ones(6)))
    assert np.allclose(value[0], value_named[0]) and np.allclose(value[1], value_named[1])
    assert np.allclose(gradient, gradient_named)
    single = jit.vjp(smooth_into, target="python", outputs=("out",))
    value, _ = single(X, 0.3, np.zeros(6), (np.ones(6),))
    assert isinstance(value, tuple) and len(value) == 1
    _, tangent = jit.jvp(smooth_into, target="python", outputs=("out",))(
        X, 0.3, np.zeros(6), np.ones(6))
    assert isinstance(tangent, tuple) and len(tangent) == 1


def test_the_generated_vjp_takes_one_cotangent_per_output():
    source = jit.vjp(fill_two, target="python").source_for(X, 0.6, np.zeros(6), np.zeros(6))
    assert "def fill_two_grad(x, a, first, second, cotangent_first, cotangent_second)" in source
    assert "first = np.copy(first)" in source


def test_the_value_of_an_array_written_in_place_is_not_the_restored_one():
    """A vjp's value was the returned array after the reverse sweep had put
    back, from the tape, the elements the function overwrote."""
    def smooth(x, a):
        out = np.zeros_like(x)
        smooth_into(x, a, out)
        return out
    value, _ = jit.vjp(smooth, wrt=(0, 1), target="python")(X, 0.3, np.ones(6))
    expected = np.zeros(6)
    smooth_into(X, 0.3, expected)
    assert np.allclose(value, expected)


def fill_with_index(x, out, index):
    for i in range(len(x)):
        index[i] = len(x) - 1 - i
        out[i] = x[index[i]] * 2.0 + x[i] ** 2


def test_outputs_leave_out_a_scratch_array():
    """An int array it fills is not a result: by default it is refused,
    named; `outputs="out"` leaves it out."""
    args = (X, np.zeros(6), np.zeros(6, dtype=np.int64))
    with pytest.raises(adjit.DifferentiationError, match="`index` is an array of ints"):
        jit.vjp(fill_with_index, target="python")(*args, (np.ones(6), np.ones(6)))
    value, gradient = jit.vjp(fill_with_index, target="python", outputs="out")(
        *args, np.ones(6))
    assert np.allclose(value, X[::-1] * 2.0 + X ** 2)
    assert np.allclose(gradient, 2.0 + 2.0 * X)


@adjit.differentiable
def square_with_a_wrong_rule(u):
    return u * u


@square_with_a_wrong_rule.defvjp
def square_with_a_wrong_rule_vjp(g, ans, u):
    return g * 3.0 * u


@square_with_a_wrong_rule.defjvp
def square_with_a_wrong_rule_jvp(tangents, ans, u):
    return tangents[0] * 2.0 * u


def squares_into(x, out):
    for i in range(len(x)):
        out[i] = square_with_a_wrong_rule(x[i])


def test_gradcheck_of_functions_filling_output_arguments():
    assert adjit.gradcheck(smooth_into, (X, 0.3, np.zeros(6)))
    assert adjit.gradcheck(fill_two, (X, 0.6, np.zeros(6), np.zeros(6)), wrt=(0, 1))
    assert adjit.gradcheck(scale_rows, (np.ones((4, 2)), 0.7, np.ones((4, 2))))
    with pytest.raises(adjit.GradcheckError, match=r"d\(output\)/d\(x\), reverse mode"):
        adjit.gradcheck(squares_into, (X[:2], np.zeros(2)), wrt=0)


# -- refusals ------------------------------------------------------------------
def test_a_cotangent_of_the_wrong_shape_names_the_output_argument():
    h = jit.vjp(smooth_into, target="python")
    with pytest.raises(adjit.AdjitError, match="cotangent for the output argument `out`.*"
                       r"shape \(4,\).*expected an array of shape \(6,\)"):
        h(X, 0.3, np.zeros(6), np.ones(4))
    with pytest.raises(adjit.AdjitError, match="cotangent for the output argument `out`"):
        h(X, 0.3, np.zeros(6), 1.0)
    two = jit.vjp(fill_two, target="python")
    with pytest.raises(adjit.AdjitError, match="tuple of 2 cotangents"):
        two(X, 0.6, np.zeros(6), np.zeros(6), np.ones(6))
    with pytest.raises(adjit.AdjitError, match="cotangent for the output argument `second`"):
        two(X, 0.6, np.zeros(6), np.zeros(6), (np.ones(6), np.ones(5)))


@pytest.mark.parametrize("operator", [jit.grad, jit.value_and_grad, jit.hvp])
def test_a_scalar_operator_of_a_function_returning_nothing_is_refused(operator):
    with pytest.raises(adjit.DifferentiationError, match="returns nothing.*needs a scalar result"):
        operator(smooth_into, target="python")


def writes_nothing(x):
    y = x * 2.0
    return


def uses_the_missing_result(x, a):
    y = np.zeros_like(x)
    r = smooth_into(x, a, y)
    return r * 2.0


def sine_on_its_own_line(x):
    y = x * 2.0
    np.sin(y)
    return y


def fills_rows(q, s):
    out = np.zeros_like(q)
    for i in range(q.shape[0]):
        smooth_into(q[i], s, out[i])
    return np.sum(out * out)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_a_helper_fills_rows_of_an_array_given_as_views(target):
    q = np.random.default_rng(5).normal(size=(3, 4))
    assert adjit.gradcheck(fills_rows, [q, 0.3], wrt=(0, 1), target=target)


def test_refusals():
    with pytest.raises(adjit.DifferentiationError, match="writes into none of its parameters"):
        jit.vjp(writes_nothing, target="python")
    with pytest.raises(adjit.AdjitError, match="never writes into it"):
        jit.vjp(smooth_into, target="python", outputs="x")
    with pytest.raises(adjit.AdjitError, match="returns a value"):
        jit.vjp(smoothed_energy, target="python", outputs="x")
    with pytest.raises(adjit.DifferentiationError, match="`smooth_into` returns nothing"):
        jit.grad(uses_the_missing_result, target="python")(X, 0.3)
    with pytest.raises(adjit.UnsupportedSyntaxError, match="expression statement"):
        jit.grad(sine_on_its_own_line, target="python")(0.3)

