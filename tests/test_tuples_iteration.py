"""Tuples as values, the iteration forms (`enumerate`, `zip`, elements, rows,
`np.ndindex`, `x.flat`), `min`/`max` of several arguments and the array
attributes (`x.size`, `x.ndim`, `dtype=x.dtype`, `x.shape[:2]`): each program
checked against central finite differences (float64) along a random
direction, forward mode against reverse mode, on both targets; second order
for a sample; refusals checked for their message and location."""

from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit import jit


# ---- tuples ------------------------------------------------------------------------

def unpacks_parameters(params, x):
    a, b, c = params
    s = 0.0
    for i in range(x.shape[0]):
        s += a * math.sin(b[i] * x[i]) + c * x[i]
    return s


def bounds(x):
    return np.min(x), np.max(x)


def moments(x):
    return np.sum(x), np.sum(x * x), x.shape[0]


def uses_helper_tuples(x):
    lo, hi = bounds(x)
    p = moments(x)
    q = p
    mean = p[0] / q[2]
    return (hi - lo) * q[1] + mean * mean


def mlp(layers, x):
    s = 0.0
    for (w, b) in layers:
        s += np.sum(np.tanh(w @ x + b))
    return s


def layer(wb, x):
    w, b = wb
    return np.sum(np.tanh(w @ x + b))


def forward(layers, x):
    s = 0.0
    for wb in layers:
        s += layer(wb, x)
    return s


def passes_tuples(layers, x, scale):
    return forward(layers, x) * scale


def fibonacci_pair(a, b):
    p = (a, 2.0 * b)
    for k in range(4):
        p = (p[1], 0.5 * p[0] + p[1] * p[1] * 0.1)
    x, y = p
    q = p
    return x * q[1] + len(p) * y


def nested_unpacking(x, y):
    a, (b, c) = x * y, (math.exp(x), y - x)
    pairs = ((a, b), (c, a * c))
    s = 0.0
    for u, v in pairs:
        t = u * v
        s += t
    for i, (u, v) in enumerate(pairs):
        s += i * u + v
    return s + t * u          # the last pair's values, as after a Python loop


def carried_between_elements(x, y):
    s = 0.0
    for i, v in enumerate((x, y, x * y)):
        if i > 0:
            s += prev * v       # the element before: carried from one copy to the next
        prev = v
    return s


# ---- iteration forms -------------------------------------------------------------

def enumerated(x):
    s = 0.0
    for i, xi in enumerate(x):
        s += (i + 1) * xi * xi
    for k, xk in enumerate(x, 2):
        s += k * math.sin(xk)
    first = 1
    for k, xk in enumerate(x, first):
        first = first + 2       # enumerate read `first` once
        s += k * xk
    return s


def zipped(x, y):
    s = 0.0
    for a, b in zip(x, y):          # y is longer: zip stops at x's end
        s += a * math.cos(b)
    return s


def elements(x):
    s = 0.0
    for v in x:
        s += v ** 3
        if v > 2.0:
            break
    return s


def rows(A, w):
    s = 0.0
    for row in A:
        s += np.dot(row, w) ** 2
    for r in A[1:]:
        s += r[0] * r[-1]
    return s


def indices(A, w):
    s = 0.0
    for i, j in np.ndindex(A.shape):
        s += A[i, j] * w[j] * (i + 1)
    for idx in np.ndindex(A.shape[0], 2):
        s += A[idx] * A[idx[0], idx[1] + 1]
    return s


def indices_with_break(A):
    s = 0.0
    for i, j in np.ndindex(A.shape):
        if A[i, j] > 1.5:
            break
        s += A[i, j] ** 2
    return s


def flat(A):
    s = 0.0
    for v in A.flat:
        s += math.tanh(v) * v
    return s


# ---- min/max of several arguments, array attributes ---------------------------------

def extremes(a, b, c):
    return max(a * b, c, a + 1.0) + min(a, b, c, 0.5) * min(b, c, a)


def attributes(x):
    y = np.zeros(x.size, dtype=x.dtype)
    z = np.empty(x.shape[:2])
    v = np.empty((x.shape[0], x.ndim), x.dtype)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            z[i, j] = x[i, j] * len(x.shape)
        for j in range(x.ndim):
            v[i, j] = x[i, j] * x[i, j]
    y[0] = np.sum(z)
    return np.sum(y * y) + np.sum(v) * x.size


RNG = np.random.default_rng(7)
CASES = {
    "unpacks_parameters": (unpacks_parameters, ((0.7, RNG.normal(size=3), 0.4),
                                                RNG.normal(size=3)), (0, 1)),
    "uses_helper_tuples": (uses_helper_tuples, (np.array([0.3, 1.2, -0.5, 0.8]),), (0,)),
    "mlp": (mlp, (((RNG.normal(size=(2, 3)), RNG.normal(size=2)),
                   (RNG.normal(size=(2, 3)), RNG.normal(size=2))), RNG.normal(size=3)),
            (0, 1)),
    "passes_tuples": (passes_tuples, (((RNG.normal(size=(2, 3)), RNG.normal(size=2)),
                                       (RNG.normal(size=(2, 3)), RNG.normal(size=2))),
                                      RNG.normal(size=3), 1.5), (0, 1, 2)),
    "fibonacci_pair": (fibonacci_pair, (0.3, 0.6), (0, 1)),
    "nested_unpacking": (nested_unpacking, (0.4, 1.3), (0, 1)),
    "carried_between_elements": (carried_between_elements, (0.4, 1.3), (0, 1)),
    "enumerated": (enumerated, (RNG.normal(size=4),), (0,)),
    "zipped": (zipped, (RNG.normal(size=3), RNG.normal(size=5)), (0, 1)),
    "elements": (elements, (np.array([0.5, -1.0, 2.5, 0.7]),), (0,)),
    "rows": (rows, (RNG.normal(size=(3, 4)), RNG.normal(size=4)), (0, 1)),
    "indices": (indices, (RNG.normal(size=(2, 3)), RNG.normal(size=3)), (0, 1)),
    "indices_with_break": (indices_with_break, (np.array([[0.5, -1.0, 0.2],
                                                          [1.9, 0.3, 0.4]]),), (0,)),
    "flat": (flat, (RNG.normal(size=(2, 3)),), (0,)),
    "extremes": (extremes, (0.3, 2.0, 0.1), (0, 1, 2)),
    "attributes": (attributes, (RNG.normal(size=(3, 2)),), (0,)),
}
# one program per construct compiled by Numba too
CPU = ("unpacks_parameters", "uses_helper_tuples", "mlp", "passes_tuples", "enumerated",
       "zipped",
       "rows", "indices", "indices_with_break", "flat", "extremes", "attributes")


def direction_like(value, rng):
    if isinstance(value, tuple):
        return tuple(direction_like(v, rng) for v in value)
    return rng.normal(size=value.shape) if isinstance(value, np.ndarray) else rng.normal()


def moved(value, direction, step):
    if isinstance(value, tuple):
        return tuple(moved(v, d, step) for v, d in zip(value, direction))
    return value + step * direction


def inner(gradient, direction) -> float:
    if isinstance(direction, tuple):
        assert isinstance(gradient, tuple) and len(gradient) == len(direction)
        return sum(inner(g, d) for g, d in zip(gradient, direction))
    assert np.shape(gradient) == np.shape(direction)
    return float(np.sum(np.asarray(gradient) * direction))


def along(fn, args, wrt, directions, step=1e-6):
    plus, minus = list(args), list(args)
    for index, direction in zip(wrt, directions):
        plus[index] = moved(args[index], direction, step)
        minus[index] = moved(args[index], direction, -step)
    return (fn(*plus) - fn(*minus)) / (2 * step)


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("name", list(CASES))
def test_first_order_against_finite_differences_and_forward_mode(name, target):
    if target == "cpu" and name not in CPU:
        pytest.skip("compiled for a sample of the programs")
    fn, args, wrt = CASES[name]
    rng = np.random.default_rng(3)
    directions = tuple(direction_like(args[i], rng) for i in wrt)
    value, gradients = jit.value_and_grad(fn, wrt=wrt, target=target)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    predicted = sum(inner(g, d) for g, d in zip(gradients, directions))
    assert predicted == pytest.approx(along(fn, args, wrt, directions), rel=1e-6, abs=1e-8)
    _, tangent = jit.jvp(fn, wrt=wrt, target=target)(*args, directions)
    assert tangent == pytest.approx(predicted, rel=1e-10, abs=1e-12)


def test_a_tuple_wrt_gets_a_tuple_of_gradients_of_its_structure():
    params, x = CASES["unpacks_parameters"][1]
    single = jit.grad(unpacks_parameters, wrt="params", target="python")(params, x)
    assert isinstance(single, tuple) and len(single) == 3
    assert isinstance(single[0], float) and single[1].shape == (3,)
    layers, x = CASES["mlp"][1]
    gradient = jit.grad(mlp, target="python")(layers, x)
    assert [[g.shape for g in layer] for layer in gradient] == [[(2, 3), (2,)]] * 2


# (`rows` reduces a view in a loop: its gradient accumulates an array adjoint in
# the loop, which is not differentiated again - docs/limitations.md#higher-order)
SECOND_ORDER = ("unpacks_parameters", "uses_helper_tuples", "mlp", "passes_tuples",
                "fibonacci_pair",
                "nested_unpacking", "enumerated", "zipped", "elements", "indices",
                "indices_with_break", "flat", "extremes", "attributes")


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_order_against_differences_of_the_gradient(name, target):
    if target == "cpu" and name not in ("unpacks_parameters", "indices"):
        pytest.skip("compiled for a sample of the programs")
    fn, args, wrt = CASES[name]
    position = wrt[0]
    rng = np.random.default_rng(5)
    direction = direction_like(args[position], rng)
    product = jit.hvp(fn, wrt=position, target=target)(*args, direction)
    gradient = jit.grad(fn, wrt=position, target="python")
    step = 1e-5
    plus, minus = list(args), list(args)
    plus[position] = moved(args[position], direction, step)
    minus[position] = moved(args[position], direction, -step)
    probe = direction_like(args[position], rng)
    numerical = (inner(gradient(*plus), probe) - inner(gradient(*minus), probe)) / (2 * step)
    assert inner(product, probe) == pytest.approx(numerical, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_hessian_vector_product_with_respect_to_a_tuple_and_an_array(target):
    fn, args, wrt = CASES["unpacks_parameters"]
    rng = np.random.default_rng(11)
    direction = tuple(direction_like(args[i], rng) for i in wrt)
    product = jit.hvp(fn, wrt=wrt, target=target)(*args, direction)
    gradient = jit.grad(fn, wrt=wrt, target="python")
    step = 1e-5
    plus = [moved(a, d, step) for a, d in zip(args, direction)]
    minus = [moved(a, d, -step) for a, d in zip(args, direction)]
    probe = tuple(direction_like(args[i], rng) for i in wrt)
    numerical = (inner(gradient(*plus), probe) - inner(gradient(*minus), probe)) / (2 * step)
    assert inner(product, probe) == pytest.approx(numerical, rel=1e-5, abs=1e-7)


def test_min_and_max_of_several_arguments_follow_the_first_at_ties():
    gradient = jit.grad(extremes, wrt=(0, 1, 2), target="python")
    # a * b = 0.5 = c = 0.5 and a + 1 = 1.5: max is a + 1; min(a, b, c, 0.5) ties b, c, 0.5
    ga, gb, gc = gradient(0.5, 0.5, 0.5)
    # max(a*b, c, a+1) = a+1 -> d/da 1; min(a, b, c, 0.5) = a (first at the tie) -> its
    # product with min(b, c, a) = b (first) gives 0.5 * da + 0.5 * db
    assert (ga, gb, gc) == (pytest.approx(1.5), pytest.approx(0.5), 0.0)


def test_generated_loops_read_elements_by_index():
    text = adjit.source(jit.grad(enumerated, target="python"), np.ones(3))
    assert "for i in range(" in text and "xi = x[i]" in text
    text = adjit.source(jit.grad(indices, target="python"), np.ones((2, 3)), np.ones(3))
    assert "for j in range(" in text


# ---- refusals ------------------------------------------------------------------------

def tuple_of_varying_length(x, y):
    p = (x, y)
    if x > 0.0:
        p = (x, y, x * y)
    return p[0]


def tuple_indexed_by_a_variable(x, y):
    p = (x, y)
    s = 0.0
    for i in range(2):
        s += p[i]
    return s


def three(x):
    return x, 2.0 * x, 3.0 * x


def unpacks_too_few(x):
    a, b = three(x)
    return a * b


def breaks_in_a_loop_over_a_tuple(x, y):
    s = 0.0
    for v in (x, y):
        if v > 1.0:
            break
        s += v
    return s


def unpacks_rows(A):
    s = 0.0
    for a, b in A:
        s += a * b
    return s


def one_name_for_indices(A):
    s = 0.0
    for idx in np.ndindex(A.shape):
        s += A[idx]
    return s


def too_few_indices(A):
    s = 0.0
    for i, j in np.ndindex(A.shape):
        s += A[i, j, 0]
    return s


def open_shape_slice(x):
    z = np.zeros(x.shape[1:])
    return np.sum(z) + np.sum(x)


def tuple_as_a_number(x, y):
    p = (x, y)
    return p * 2.0


def split(x):
    a, b = x
    return a * b


def unpacks_an_array_in_a_helper(x):
    return split(x) * 2.0


def _line_of(fn, marker) -> int:
    """The line of `marker` in `fn`'s source (or of `marker[1]` in the
    function `marker[0]`)."""
    import inspect
    if isinstance(marker, tuple):
        fn, marker = marker
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, text in enumerate(lines) if marker in text)


REFUSED = [
    (tuple_of_varying_length, (0.5, 1.0), "p = (x, y, x * y)",
     "is a tuple of (a value, a value) at line"),
    (tuple_indexed_by_a_variable, (0.5, 1.0), "s += p[i]", "indexing the tuple `p` with `i`"),
    (unpacks_too_few, (0.5,), "a, b = three(x)", "unpacking 3 values into 2 names"),
    (breaks_in_a_loop_over_a_tuple, (0.5, 1.0), "            break",
     "`break` in a loop over a tuple"),
    (unpacks_rows, (np.ones((3, 2)),), "for a, b in A", "unpacking the elements of an array"),
    (one_name_for_indices, (np.ones((2, 2)),), "for idx in",
     "one name for the indices of `np.ndindex(x.shape)`"),
    (open_shape_slice, (np.ones((2, 3)),), "x.shape[1:]", "the shape `x.shape[1:]`"),
    (too_few_indices, (np.ones((2, 2, 2)),), "for i, j in np.ndindex",
     "unpacking `A.shape` into 2 names: `A` is a 3-dimensional array"),
    (tuple_as_a_number, (0.5, 1.0), "return p * 2.0", "`p` holds a tuple, used here as a value"),
    (unpacks_an_array_in_a_helper, (np.ones(2),), (split, "a, b = x"),
     "unpacking a value that is not a tuple"),
]


@pytest.mark.parametrize("fn, args, marker, message", REFUSED,
                         ids=[entry[0].__name__ for entry in REFUSED])
def test_refusals_name_the_construct_and_the_line(fn, args, marker, message):
    with pytest.raises(adjit.AdjitError) as caught:
        jit.grad(fn, target="python")(*args)
    text = str(caught.value)
    assert message in text
    assert f"test_tuples_iteration.py:{_line_of(fn, marker)}:" in text


def test_a_tuple_wrt_with_an_integer_element_is_refused():
    with pytest.raises(adjit.DifferentiationError, match=r"`params\[1\]` is not a float"):
        jit.grad(unpacks_parameters, wrt=0, target="python")((0.7, 3, 0.4), np.ones(3))
