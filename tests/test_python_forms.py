"""The forms numeric Python is written in: annotations, input checks
(`raise`, `assert`), `print`, nested functions and lambdas, keyword
arguments and defaults, module-level arrays, early returns before
allocations, and errors located at the user's own lines.

Each program is checked against central finite differences in reverse
mode, and forward mode against reverse, on both targets; a sample is
differentiated twice (`jit.hvp` against differences of the gradient).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
import pytest
from numpy.typing import NDArray

import adjit
import forms_helpers
from adjit import jit

Vector = npt.NDArray[np.float64]
Matrix = NDArray[np.float64]

# ---------------------------------------------------------------- annotations


def annotated_loop(x: np.ndarray, a: float) -> float:
    s: float = 0.0
    scale: float
    scale = a * 2.0
    for i in range(x.shape[0]):
        s += x[i] * x[i] * scale
    return s


def annotated_typing(x: NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    total: float = np.sum(x * y)
    return total + np.dot(x, x)


def annotated_alias(x: Vector, w: "Matrix", c: float = 0.5) -> float:
    z: Vector = w @ x
    out: float = 0.0
    for k in range(z.shape[0]):
        out += math.tanh(z[k]) * c
    return out


def annotated_helper(t: float, power: int = 2) -> float:
    return t ** power


def calls_annotated_helper(x: float, y: float) -> float:
    return annotated_helper(x) + annotated_helper(y, 3) * x


# ------------------------------------------------------------- input checks


def checks_inputs(x, s):
    if s <= 0:
        raise ValueError("s must be positive")
    assert x.shape[0] > 0, "x must not be empty"
    return np.sum(np.sin(x)) * s


def checks_in_a_loop(x):
    total = 0.0
    for i in range(x.shape[0]):
        if x[i] < -10.0:
            raise ArithmeticError("an element below -10")
        total += x[i] * x[i]
    assert total < 1e6, f"total is {total}"
    return total


def positive(t):
    if t <= 0.0:
        raise ValueError("t must be positive")
    return math.log(t)


def checks_in_a_helper(x, y):
    return positive(x) * y + positive(y)


def checks_then_returns(x):
    if x > 0.0:
        return math.sqrt(x)
    raise ValueError("x must be positive")


# -------------------------------------------------------------------- print


def prints(x, y):
    print("x is", x)
    s = x * y
    print(f"s = {s}")
    return s * s


# ------------------------------------------- nested functions and lambdas


def uses_lambdas(x):
    sq = lambda t: t * t
    cube = lambda t, k=3: t ** k
    return sq(x) + cube(x) + sq(2.0 * x)


def uses_a_closure(x, a):
    def energy(t):
        return a * math.sin(t) * t
    total = 0.0
    for i in range(3):
        total += energy(x + i)
    return total


def binds_late(x):
    k = 1.0
    scaled = lambda t: k * t
    y = scaled(x)
    k = 3.0
    return y + scaled(x)              # Python reads k where scaled is called: 4 x


def nested_calls_nested(x, y):
    def inner(t):
        return t * y
    def outer(t):
        return inner(t) + inner(t * t)
    return outer(x) * outer(y)


def nested_on_arrays(x):
    def normalised(v):
        return v / np.sqrt(np.sum(v * v))
    return np.sum(normalised(x) * np.arange(x.shape[0]))


# ------------------------------------------------------ keywords and defaults

ONES = np.ones(3)
W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
BIAS = np.array([0.1, -0.2])
INDEX = np.array([2, 0, 1])


def scaled_square(t, scale=1.0, shift=0.0):
    return scale * (t - shift) ** 2


def calls_with_keywords(x, y):
    return scaled_square(x, scale=2.0) + scaled_square(y, shift=x) + \
        scaled_square(shift=0.5, t=y)


def weighted(x, w=ONES):
    return np.sum(x * w)


def calls_with_array_default(x):
    return weighted(x) + weighted(x * x, w=np.arange(3.0))


def softplus(z):
    return np.log(1.0 + np.exp(z))


def layer(z, act=np.tanh):
    return np.sum(act(z))


def calls_with_function_default(x):
    return layer(x) + layer(2.0 * x, act=np.sin) + layer(x, softplus)


smooth_relu = lambda z: np.log(1.0 + np.exp(z))


def calls_a_module_lambda(x):
    return np.sum(smooth_relu(x) * x) + layer(x, smooth_relu)


def passes_a_lambda(x):
    halve = lambda t: 0.5 * t
    return layer(x, act=halve) + layer(x * x)


# --------------------------------------------------------- module-level arrays


def reads_global_arrays(x):
    z = W @ x + BIAS
    return np.sum(np.tanh(z)) + x[INDEX[0]] * x[INDEX[2]]


def reads_global_in_a_loop(x):
    total = 0.0
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            total += W[i, j] * x[j] * x[j]
    return total


# --------------------------------------------------- early return and guards


def returns_early(x):
    n = x.shape[0]
    if n == 0:
        return 0.0
    r = np.zeros(n)
    for i in range(n):
        r[i] = x[i] * x[i]
    return np.sum(r * x)


def returns_early_on_a_value(x, s):
    if s <= 0.0:
        return 0.0
    y = np.sin(x) * s
    return np.sum(y * y)


def array_in_one_branch(x):
    z = np.cos(x)
    if x[0] > 0.0:
        s = np.sum(x)
    else:
        s = np.sum(z * z)
    return s


RNG = np.random.default_rng(11)
X3 = np.array([0.3, -0.7, 1.1])
CASES = [
    (annotated_loop, (X3, 1.3), (0, 1)),
    (annotated_typing, (X3, np.array([1.0, 2.0, -0.5])), (0, 1)),
    (annotated_alias, (X3, W), (0, 1)),
    (calls_annotated_helper, (0.8, 1.2), (0, 1)),
    (checks_inputs, (X3, 2.0), (0, 1)),
    (checks_in_a_loop, (X3,), (0,)),
    (checks_in_a_helper, (1.5, 0.7), (0, 1)),
    (checks_then_returns, (2.0,), (0,)),
    (prints, (0.4, 1.5), (0, 1)),
    (uses_lambdas, (0.6,), (0,)),
    (uses_a_closure, (0.4, 1.7), (0, 1)),
    (binds_late, (0.9,), (0,)),
    (nested_calls_nested, (0.5, 1.2), (0, 1)),
    (nested_on_arrays, (X3,), (0,)),
    (calls_with_keywords, (0.3, 1.4), (0, 1)),
    (calls_with_array_default, (X3,), (0,)),
    (calls_with_function_default, (X3,), (0,)),
    (passes_a_lambda, (X3,), (0,)),
    (calls_a_module_lambda, (X3,), (0,)),
    (reads_global_arrays, (X3,), (0,)),
    (reads_global_in_a_loop, (X3,), (0,)),
    (returns_early, (X3,), (0,)),
    (returns_early_on_a_value, (X3, 0.8), (0, 1)),
    (array_in_one_branch, (X3,), (0,)),
    (array_in_one_branch, (-X3,), (0,)),
]


def _copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def _difference(fn, args, wrt, directions, h=1e-6):
    plus, minus = _copies(args), _copies(args)
    for index, direction in zip(wrt, directions):
        plus[index] = plus[index] + h * direction
        minus[index] = minus[index] - h * direction
    return (fn(*plus) - fn(*minus)) / (2 * h)


@pytest.mark.parametrize("target", ["python", pytest.param("cpu", marks=pytest.mark.slow)])
@pytest.mark.parametrize("fn, args, wrt", CASES,
                         ids=[f"{c[0].__name__}-{k}" for k, c in enumerate(CASES)])
def test_forms_against_finite_differences_and_forward_mode(fn, args, wrt, target):
    rng = np.random.default_rng(3)
    directions = tuple(rng.normal(size=np.shape(args[i])) if np.ndim(args[i]) else 1.0
                       for i in wrt)
    gradients = jit.grad(fn, wrt=wrt, target=target)(*_copies(args))
    predicted = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(gradients, directions))
    numerical = _difference(fn, args, wrt, directions)
    assert predicted == pytest.approx(numerical, rel=1e-6, abs=1e-8)
    _, tangent = jit.jvp(fn, wrt=wrt, target=target)(*_copies(args), directions)
    assert tangent == pytest.approx(predicted, rel=1e-9, abs=1e-12)


SECOND_ORDER = [(annotated_alias, (X3, W)), (checks_inputs, (X3, 2.0)),
                (uses_a_closure, (0.4, 1.7)), (calls_with_function_default, (X3,)),
                (reads_global_arrays, (X3,)), (returns_early, (X3,)),
                (binds_late, (0.9,))]


@pytest.mark.parametrize("target", ["python", pytest.param("cpu", marks=pytest.mark.slow)])
@pytest.mark.parametrize("fn, args", SECOND_ORDER, ids=[c[0].__name__ for c in SECOND_ORDER])
def test_second_order_of_forms(fn, args, target):
    """hvp (forward over reverse) against differences of the gradient."""
    x = args[0]
    v = np.linspace(0.5, -0.5, np.size(x)).reshape(np.shape(x)) if np.ndim(x) else 1.0
    product = jit.hvp(fn, wrt=0, target=target)(*_copies(args), v)
    gradient = jit.grad(fn, wrt=0, target="python")
    h = 1e-6
    rest = _copies(args[1:])
    expected = (np.asarray(gradient(x + h * v, *rest)) -
                np.asarray(gradient(x - h * v, *rest))) / (2 * h)
    assert np.allclose(product, expected, rtol=1e-5, atol=1e-7)


# --------------------------------------------- input checks raise as the primal


@pytest.mark.parametrize("target", ["python", pytest.param("cpu", marks=pytest.mark.slow)])
@pytest.mark.parametrize("fn, args, error, message", [
    (checks_inputs, (X3, -1.0), ValueError, "s must be positive"),
    (checks_inputs, (np.zeros(0), 1.0), AssertionError, "x must not be empty"),
    (checks_in_a_loop, (np.array([1.0, -20.0]),), ArithmeticError, "an element below -10"),
    (checks_in_a_helper, (-1.0, 2.0), ValueError, "t must be positive"),
    (checks_then_returns, (-2.0,), ValueError, "x must be positive"),
])
def test_input_checks_raise_in_both_derivatives(fn, args, error, message, target):
    with pytest.raises(error, match=message):
        fn(*_copies(args))
    with pytest.raises(error, match=message):
        jit.grad(fn, wrt=0, target=target)(*_copies(args))
    tangent = np.ones_like(args[0]) if isinstance(args[0], np.ndarray) else 1.0
    with pytest.raises(error, match=message):
        jit.jvp(fn, wrt=0, target=target)(*_copies(args), tangent)


def test_an_f_string_message_is_kept_as_written():
    """Compiled code cannot format numbers: the fields stay as written."""
    with pytest.raises(AssertionError, match=r"total is \{total\}"):
        jit.grad(checks_in_a_loop, target="python")(np.array([2000.0]))


def test_the_input_check_is_in_the_generated_source():
    source = jit.grad(checks_inputs, wrt=1, target="python").source_for(X3, 2.0)
    assert "raise ValueError('s must be positive')" in source
    assert "raise AssertionError('x must not be empty')" in source


def test_print_is_left_out_of_derivatives(capsys):
    jit.grad(prints, target="python")(0.4, 1.5)
    jit.jvp(prints, target="python")(0.4, 1.5, 1.0)
    assert capsys.readouterr().out == ""
    assert "print(" not in jit.grad(prints, target="python").source_for(0.4, 1.5)


# ------------------------------------------------------------- global arrays


@pytest.mark.parametrize("target", ["python", pytest.param("cpu", marks=pytest.mark.slow)])
def test_a_changed_global_array_is_never_stale(target):
    global W
    gradient = jit.grad(reads_global_arrays, target=target)
    jvp = jit.jvp(reads_global_arrays, target=target)
    saved = W
    try:
        for change in ("in place", "rebound"):
            before = gradient(X3.copy())
            if change == "in place":
                W[0, 0] = 3.0
            else:
                W = np.array([[1.0, 1.0, 1.0], [-2.0, 0.5, 0.0]])
            after = gradient(X3.copy())
            direction = np.array([1.0, -0.5, 0.25])
            expected = _difference(reads_global_arrays, (X3,), (0,), (direction,))
            assert float(np.dot(after, direction)) == pytest.approx(expected, rel=1e-6)
            assert not np.allclose(before, after)
            assert jvp(X3.copy(), direction)[1] == pytest.approx(expected, rel=1e-6)
    finally:
        saved[0, 0] = 0.5
        W = saved


def test_a_changed_array_default_is_never_stale():
    gradient = jit.grad(calls_with_array_default, target="python")
    before = gradient(X3.copy())
    try:
        ONES[1] = 4.0
        after = gradient(X3.copy())
        assert after[1] == pytest.approx(before[1] + 3.0)
    finally:
        ONES[1] = 1.0


def writes_a_global(x):
    BIAS[0] = x[0]
    return np.sum(x * BIAS[1])


def test_a_write_into_a_global_array_is_refused():
    with pytest.raises(adjit.UnsupportedSyntaxError, match="writing into the global `BIAS`"):
        jit.grad(writes_a_global, target="python")(X3.copy())


# ---------------------------------------------------------- located errors


def calls_a_failing_helper(x):
    a = 2.0 * x
    return forms_helpers.sums_in_a_loop(a, 3)


def calls_a_helper_changing_type(x):
    return forms_helpers.changes_type(x)


def _line_of(function, text: str) -> int:
    import inspect
    lines, first = inspect.getsourcelines(function)
    return first + next(k for k, line in enumerate(lines) if text in line)


def test_an_error_in_a_helper_points_at_the_helper_and_the_call():
    with pytest.raises(adjit.DifferentiationError) as caught:
        jit.grad(calls_a_failing_helper, target="python")(X3.copy())
    message = str(caught.value)
    helper_line = _line_of(forms_helpers.sums_in_a_loop, "y = np.cumsum(x) * x * i")
    call_line = _line_of(calls_a_failing_helper, "return forms_helpers")
    assert message.startswith(f"{forms_helpers.__file__}:{helper_line}:")
    assert f"called from {__file__}:{call_line}:" in message


def test_an_error_in_a_helper_names_its_variables_as_written():
    with pytest.raises(adjit.DifferentiationError) as caught:
        jit.grad(calls_a_helper_changing_type, target="python")(X3.copy())
    message = str(caught.value)
    assert "`s` is a float" in message and "_changes_type" not in message


def lambda_in_a_loop(x):
    doubled = lambda m: m * 2.0
    s = 0.0
    for i in range(2):
        s += np.sum(doubled(x))
    return s


def test_an_error_in_a_lambda_points_at_it_and_shows_no_generated_names():
    """A lambda is read as a function named after its variable."""
    with pytest.raises(adjit.DifferentiationError) as caught:
        jit.grad(lambda_in_a_loop, target="python")(X3.copy())
    message = str(caught.value)
    lambda_line = _line_of(lambda_in_a_loop, "doubled = lambda")
    call_line = _line_of(lambda_in_a_loop, "s += np.sum(doubled(x))")
    assert message.startswith(f"{__file__}:{lambda_line}:")
    assert f"called from {__file__}:{call_line}:" in message
    assert "__locals__" not in message and "<lambda>" not in message


def broadcasts(x, y):
    z = x * 2.0
    return np.sum(z * y)


@pytest.mark.parametrize("target", ["python", pytest.param("cpu", marks=pytest.mark.slow)])
def test_a_shape_mismatch_at_run_time_names_the_users_line(target):
    with pytest.raises(ValueError) as caught:
        jit.grad(broadcasts, target=target)(np.ones(3), np.ones(4))
    line = _line_of(broadcasts, "return np.sum(z * y)")
    assert str(caught.value).startswith(f"{__file__}:{line}:")


def mixed_product(x, A):
    return np.sum(A @ x)


@pytest.mark.slow
def test_a_mixed_dtype_matrix_product_is_a_located_error():
    with pytest.raises(adjit.DifferentiationError) as caught:
        jit.grad(mixed_product)(np.ones(3), np.ones((2, 3), dtype=np.float32))
    message = str(caught.value)
    line = _line_of(mixed_product, "return np.sum(A @ x)")
    assert message.startswith(f"{__file__}:{line}:") and "float32 and float64" in message
    assert len(message.splitlines()) <= 6


# ------------------------------------------------------------------ refusals


def calls_its_parameter(x, act=np.tanh):
    return act(x)


def default_from_a_local(x):
    a = 2.0 * x
    def scaled(t, k=a):
        return k * t
    return scaled(x)


def rebinds_a_nested_function(x):
    sq = lambda t: t * t
    sq = 2.0
    return x * sq


def offset_sum(z, act):
    k = 10.0
    return np.sum(act(z)) + k


def passes_a_closure_to_a_helper_naming_its_variable(x):
    k = 2.0
    scale = lambda t: k * t
    return offset_sum(x, scale)


def test_a_lambda_itself_is_not_differentiated():
    with pytest.raises(adjit.DifferentiationError, match="differentiating a lambda"):
        jit.grad(smooth_relu)


@pytest.mark.parametrize("fn, message", [
    (calls_its_parameter, "call of the parameter `act`"),
    (passes_a_closure_to_a_helper_naming_its_variable,
     "`scale` reads `k` of the function it is defined in, and `offset_sum`"),
    (default_from_a_local, "default `a` of the nested function `scaled`"),
    (rebinds_a_nested_function, "assigning to `sq`, which names a nested function"),
])
def test_forms_adjit_refuses_are_located(fn, message):
    with pytest.raises(adjit.AdjitError) as caught:
        jit.grad(fn, target="python")(0.5)
    assert message in str(caught.value) and "test_python_forms.py:" in str(caught.value)


# ----------------------------------------------------------------- gradcheck


def softplus_scalar(x):
    return math.log(1.0 + math.exp(x))


adjit.defvjp(softplus_scalar, lambda g, ans, x: g / (1.0 + math.exp(-x)))


def uses_a_reverse_rule(x):
    return softplus_scalar(x) * x


def test_gradcheck_checks_reverse_mode_with_a_reverse_rule_only():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert adjit.gradcheck(uses_a_reverse_rule, (0.3,))
    messages = [str(w.message) for w in caught]
    assert any("forward mode skipped" in m and "`softplus_scalar` has no forward-mode rule"
               in m for m in messages), messages


# ------------------------------------------------------------- device code


def checks_a_scalar(x):
    if x <= 0.0:
        raise ValueError("x must be positive")
    return math.log(x)


def scales_by_a_global(x):
    return x * BIAS[0]


@pytest.mark.parametrize("fn, message", [
    (checks_a_scalar, "an input check (`raise`, `assert`) in device code"),
    (scales_by_a_global, "the global array `BIAS` in device code"),
])
def test_device_code_refuses_input_checks_and_global_arrays(fn, message):
    from adjit.passes.pipeline import reverse_mode
    with pytest.raises(adjit.DifferentiationError) as caught:
        reverse_mode(fn, {"x": "float"}, ["x"], device=True)
    assert message in str(caught.value) and "test_python_forms.py:" in str(caught.value)
