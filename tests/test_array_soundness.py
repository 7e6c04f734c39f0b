"""Arrays reached by other paths than their own name: aliases of views,
views of views, helpers returning views, copies of slices, views named in
loops; names that change type; whole-array code of rank 4 and 5; tangents
and cotangents of the wrong shape; bounds checks of cached derivatives.

Each function of tests/array_soundness_fixtures.py either has gradients
equal to central finite differences (float64) and to forward mode on both
targets, or is refused with an error located at its `# REFUSED` line that
names the construct."""

import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import adjit
from adjit import jit
import array_soundness_fixtures as fixtures

TARGETS = ["python", "cpu"]
RNG = np.random.default_rng(20260701)
Q4 = RNG.normal(size=(2, 3, 4, 5))


def _arguments(fn):
    special = {
        fixtures.broadcast_rank4: (Q4, RNG.normal(size=5), RNG.normal(size=(4, 5)),
                                   RNG.normal(size=(1, 3, 1, 5))),
        fixtures.broadcast_rank5: (RNG.normal(size=(2, 1, 3, 2, 4)),
                                   RNG.normal(size=(3, 1, 4))),
    }
    if fn in special:
        return special[fn]
    if fn.__name__.endswith("rank4"):
        return (Q4,)
    first = inspect.signature(fn).parameters
    return (RNG.normal(size=(4, 3)),) if "q" in first else (RNG.normal(size=6),)


def _central_differences(fn, args, k, h=1e-6):
    gradient = np.zeros_like(args[k])
    for index in np.ndindex(args[k].shape):
        plus, minus = [a.copy() for a in args], [a.copy() for a in args]
        plus[k][index] += h
        minus[k][index] -= h
        gradient[index] = (fn(*plus) - fn(*minus)) / (2 * h)
    return gradient


WORKING = [
    # aliases and views
    fixtures.alias_of_view, fixtures.alias_of_alias_of_view, fixtures.view_of_view,
    fixtures.view_of_alias, fixtures.alias_of_view_in_loop,
    fixtures.elements_of_alias_of_view_in_loop, fixtures.column_and_its_alias,
    fixtures.view_with_new_axis_and_alias, fixtures.view_of_transpose,
    fixtures.transpose_and_its_alias, fixtures.base_written_after_alias_of_view,
    # writes through views go to the base
    fixtures.writes_through_an_alias_of_a_view, fixtures.slice_write_through_an_alias_of_a_view,
    fixtures.writes_through_a_helper_view,
    # helpers returning views
    fixtures.helper_returning_a_slice, fixtures.helper_returning_a_row,
    fixtures.helper_returning_a_row_in_a_loop,
    fixtures.helper_returning_the_next_row_in_a_loop,
    fixtures.helper_returning_a_transpose, fixtures.helper_returning_its_argument,
    fixtures.helper_slice_of_helper_slice,
    # views named in loops
    fixtures.row_named_in_a_loop, fixtures.row_named_in_a_recorded_loop,
    fixtures.rows_in_nested_loops, fixtures.view_of_an_indexed_value_in_a_loop,
    # copies
    fixtures.copy_of_slice, fixtures.method_copy_of_slice, fixtures.copy_of_whole,
    fixtures.method_copy_of_whole, fixtures.copy_of_named_view,
    fixtures.copy_of_alias_of_view, fixtures.copy_of_row,
    fixtures.copy_of_view_with_new_axis, fixtures.copy_of_copy,
    fixtures.copy_of_slice_then_written, fixtures.copy_of_slice_in_a_loop,
    fixtures.copies_with_np_array,
    # a name that changes type
    fixtures.float_then_array, fixtures.array_parameter_becomes_its_sum,
    fixtures.array_parameter_becomes_a_float_after_use,
    fixtures.float_in_one_loop_int_index_in_the_next, fixtures.int_index_then_float,
    # rank 4 and 5
    fixtures.elementwise_rank4, fixtures.broadcast_rank4, fixtures.broadcast_rank5,
    fixtures.reductions_rank4, fixtures.shapes_rank4, fixtures.views_and_elements_rank4,
]


# Numba takes half a minute or more to compile each of these (its
# broadcasting loops of rank 4 and 5): the python target runs them all, and
# `test_unbroadcast_of_any_ranks_compiled` the compiled helper itself
_SLOW_TO_COMPILE = {fixtures.elementwise_rank4, fixtures.broadcast_rank4,
                    fixtures.reductions_rank4, fixtures.shapes_rank4,
                    fixtures.views_and_elements_rank4, fixtures.broadcast_rank5}
CASES = [(fn, target) for fn in WORKING for target in TARGETS
         if target == "python" or fn not in _SLOW_TO_COMPILE]


@pytest.mark.parametrize("fn, target", CASES,
                         ids=[f"{fn.__name__}-{target}" for fn, target in CASES])
def test_gradient_matches_central_differences_and_forward_mode(fn, target):
    args = _arguments(fn)
    wrt = tuple(range(len(args)))
    gradients = jit.grad(fn, wrt=wrt, target=target)(*[a.copy() for a in args])
    for k, gradient in enumerate(gradients):
        assert gradient.shape == args[k].shape
        assert np.allclose(gradient, _central_differences(fn, args, k),
                           rtol=1e-6, atol=1e-7), (k, gradient)
    directions = tuple(RNG.normal(size=a.shape) for a in args)
    _, tangent = jit.jvp(fn, wrt=wrt, target=target)(*[a.copy() for a in args], directions)
    predicted = sum(float(np.sum(g * d)) for g, d in zip(gradients, directions))
    assert tangent == pytest.approx(predicted, rel=1e-9, abs=1e-10)


@pytest.mark.parametrize("shape, like", [
    ((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (5,)), ((2, 3, 4, 5), (4, 5)),
    ((2, 3, 4, 5), (1, 3, 1, 5)), ((2, 1, 3, 2, 4), (3, 1, 4)), ((3, 2, 2, 2, 2, 2), (2, 1)),
])
def test_unbroadcast_of_any_ranks_compiled(shape, like):
    """`rt.unbroadcast` had Numba implementations up to rank 3 only: whole-
    array code of rank 4 did not compile on the cpu target."""
    import numba
    from adjit.runtime import helpers as rt

    @numba.njit
    def compiled(gradient, operand):
        return rt.unbroadcast(gradient, operand)
    gradient, operand = RNG.normal(size=shape), np.ones(like)
    expected = rt.unbroadcast(gradient, operand)
    assert expected.shape == like
    assert np.allclose(compiled(gradient, operand), expected, rtol=1e-12, atol=1e-12)


# the reverse sweep of these accumulates an array adjoint in a loop, which is
# refused when differentiated again (docs/limitations.md#higher-order)
_FIRST_ORDER_ONLY = {fixtures.row_named_in_a_loop, fixtures.copy_of_slice_in_a_loop}
SECOND_ORDER = [fn for fn in WORKING if len(_arguments(fn)) == 1
                and not fn.__name__.endswith(("rank4", "rank5"))
                and fn not in _FIRST_ORDER_ONLY]


@pytest.mark.parametrize("fn", SECOND_ORDER, ids=[fn.__name__ for fn in SECOND_ORDER])
def test_hessian_vector_products_through_views(fn):
    """Forward over reverse, and reverse over reverse where it is not
    refused: the gradient writes through views of adjoints (`_b_w = _b_x[1:]`,
    `_b_w[0] += ...`), which once made the base's tangent and cotangent 0."""
    (x,) = _arguments(fn)
    v = RNG.normal(size=x.shape)
    gradient = jit.grad(fn, target="python")
    h = 1e-6
    numerical = (gradient(x + h * v) - gradient(x - h * v)) / (2 * h)
    assert np.allclose(jit.hvp(fn, target="python")(x.copy(), v), numerical,
                       rtol=1e-5, atol=1e-6)
    try:
        _, product = jit.vjp(gradient, target="python")(x.copy(), v)
    except adjit.DifferentiationError as error:       # refused, located, with a hint
        assert "forward mode" in str(error) or "written after" in str(error)
        return
    assert np.allclose(product, numerical, rtol=1e-5, atol=1e-6)


def _writes_its_argument(x):
    x[1] = 5.0 * x[0]
    return x[1] * x[2] + x[0] * x[0]


def test_reverse_over_reverse_of_a_function_writing_its_argument():
    """The gradient copies an argument it writes (`x = np.copy(x)`); reverse
    mode of that gradient followed both bindings of `x` by one name and
    added the copy's adjoint to itself: twice the right answer."""
    x, v = RNG.normal(size=4), RNG.normal(size=4)
    gradient = jit.grad(_writes_its_argument, target="python")
    h = 1e-6
    numerical = (gradient(x + h * v) - gradient(x - h * v)) / (2 * h)
    _, product = jit.vjp(gradient, target="python")(x.copy(), v)
    assert np.allclose(product, numerical, rtol=1e-5, atol=1e-6)


REFUSED = [
    (fixtures.writes_through_a_transpose, "shares its elements with `t = np.transpose(q)`"),
    (fixtures.writes_base_after_a_transpose, "shares its elements with `t = np.transpose(q)`"),
    (fixtures.writes_base_after_a_reshape, "shares its elements with `r = np.reshape(q"),
    (fixtures.writes_base_after_ravel, "shares its elements with `r = np.ravel(q)`"),
    (fixtures.writes_base_after_expand_dims, "shares its elements with `e = np.expand_dims("),
    (fixtures.copy_in_a_loop_with_a_changing_shape, "a copy in a loop with a shape the loop "
                                                    "changes (`i`)"),
    (fixtures.loop_view_used_after_the_loop, "`r`, the view `q[i]` named inside a loop, is "
                                             "used after the loop"),
    (fixtures.loop_view_named_in_a_branch, "naming the view `q[i]` inside a branch of a loop"),
    (fixtures.loop_view_with_a_moving_index, "naming the view `q[k]` inside a loop, with an "
                                             "index that is not the loop's own index"),
    (fixtures.loop_view_in_a_prange, "naming the view `q[i]` inside a prange loop"),
    (fixtures.float_then_array_in_a_loop, "`s` is a float at line"),
    (fixtures.loop_indexes_rows_into_a_float, "`s` is a float at line"),
    (fixtures.array_parameter_rebound_to_a_float_in_a_loop,
     "`x` is an array of floats of rank 1 as an argument and a float at line"),
]


def _refused_line(fn) -> int:
    lines, start = inspect.getsourcelines(fn)
    (offset,) = [k for k, line in enumerate(lines) if "# REFUSED" in line]
    return start + offset


@pytest.mark.parametrize("fn, construct", REFUSED, ids=[fn.__name__ for fn, _ in REFUSED])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_refused_with_a_located_error(fn, construct, mode):
    (x,) = _arguments(fn) if fn is not fixtures.loop_indexes_rows_into_a_float \
        else (RNG.normal(size=(4, 3)),)
    with pytest.raises(adjit.AdjitError) as error:
        if mode == "grad":
            jit.grad(fn, target="python")(x.copy())
        else:
            jit.jvp(fn, target="python")(x.copy(), np.ones_like(x))
    message = str(error.value)
    assert construct in message, message
    assert f"array_soundness_fixtures.py:{_refused_line(fn)}:" in message, message
    assert "hint:" in message


def test_a_located_refusal_on_the_cpu_target_too():
    with pytest.raises(adjit.DifferentiationError, match="shares its elements with"):
        jit.grad(fixtures.writes_through_a_transpose, target="cpu")(np.ones((3, 3)))


def test_a_type_that_does_not_settle_names_the_variable_and_both_lines():
    fn = fixtures.float_then_array_in_a_loop
    _, start = inspect.getsourcelines(fn)
    with pytest.raises(adjit.DifferentiationError) as error:
        jit.grad(fn, target="python")(np.ones(3))
    assert f"`s` is a float at line {start + 1} and an array of floats of rank 1 at " \
           f"line {start + 3}" in str(error.value)


def test_show_reports_a_type_that_does_not_settle_instead_of_hanging():
    path = fixtures.__file__
    result = subprocess.run(
        [sys.executable, "-m", "adjit", "show", f"{path}:loop_indexes_rows_into_a_float",
         "--sig", "float64[:, :]"], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 2, result.stderr
    assert "`s` is a float at line" in result.stderr + result.stdout


# ---- tangents and cotangents of the wrong shape -------------------------------------

def _norm(x):
    return np.sum(x * x)


def _twice(x):
    return x * 2.0


def _scaled_sum(a, x):
    return a * np.sum(x)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("call, message", [
    (lambda t: jit.jvp(_norm, target=t)(np.ones(3), np.ones(2)),
     "the tangent for `x` is an array of shape (2,), expected an array of shape (3,)"),
    (lambda t: jit.jvp(_norm, target=t)(np.ones(3), 1.0),
     "the tangent for `x` is a scalar, expected an array of shape (3,)"),
    (lambda t: jit.jvp(_norm, target=t)(np.ones(3), np.ones(3, dtype=np.int64)),
     "the tangent for `x` is an array of int64, expected an array of floats"),
    (lambda t: jit.jvp(_scaled_sum, wrt=(0, 1), target=t)(1.0, np.ones(3),
                                                           (np.ones(3), np.ones(3))),
     "the tangent for `a` is an array of shape (3,), expected a scalar"),
    (lambda t: jit.jvp(_scaled_sum, wrt=(0, 1), target=t)(1.0, np.ones(3), (1.0, [1.0])),
     "the tangent for `x` is a list, expected an array of shape (3,)"),
    (lambda t: jit.vjp(_twice, target=t)(np.ones(3), np.ones(2)),
     "the cotangent is an array of shape (2,), expected an array of shape (3,)"),
    (lambda t: jit.vjp(_twice, target=t)(np.ones(3), np.ones((3, 1))),
     "the cotangent is an array of shape (3, 1), expected an array of shape (3,)"),
    (lambda t: jit.vjp(_twice, target=t)(np.ones(3), 1.0),
     "the cotangent is a scalar, expected an array of shape (3,)"),
    (lambda t: jit.vjp(_twice, target=t)(np.ones(3), np.ones(3, dtype=np.int64)),
     "the cotangent is an array of int64, expected an array of floats"),
    (lambda t: jit.vjp(_norm, target=t)(np.ones(3), np.ones(3)),
     "the cotangent is an array of shape (3,), expected a scalar"),
], ids=["short", "scalar-for-array", "ints", "array-for-scalar", "list", "vjp-short",
        "vjp-rank", "vjp-scalar-for-array", "vjp-ints", "vjp-array-for-scalar"])
def test_a_tangent_or_cotangent_of_another_shape_is_an_error(call, message, target):
    with pytest.raises(adjit.AdjitError) as error:
        call(target)
    assert message in str(error.value)


@pytest.mark.parametrize("target", TARGETS)
def test_right_shapes_still_work(target):
    assert jit.jvp(_norm, target=target)(np.ones(3), np.arange(3.0))[1] == 6.0
    _, cotangent = jit.vjp(_twice, target=target)(np.ones(3), np.arange(3.0))
    assert np.array_equal(cotangent, [0.0, 2.0, 4.0])


# ---- Numba settings and the cache ----------------------------------------------------

_OUT_OF_BOUNDS = textwrap.dedent("""
    import numpy as np
    from adjit import jit

    def reads_past_the_end(x, n):
        s = 0.0
        for i in range(n):
            s += x[i] * x[i]
        return s

    try:
        jit.grad(reads_past_the_end, target="cpu")(np.ones(3), 4)
        print("no error")
    except IndexError as error:
        print("IndexError", error)
""")


def test_numba_boundscheck_is_honoured_by_a_cached_derivative(tmp_path):
    """A derivative compiled and cached without bounds checks was reused,
    from the cache, with NUMBA_BOUNDSCHECK=1."""
    script = tmp_path / "bounds.py"
    script.write_text(_OUT_OF_BOUNDS)
    environment = {**os.environ, "ADJIT_CACHE_DIR": str(tmp_path / "cache"),
                   "PYTHONPATH": os.pathsep.join(sys.path)}
    environment.pop("NUMBA_BOUNDSCHECK", None)
    # compiles and caches the derivative (what it reads past the end is not the point)
    subprocess.run([sys.executable, str(script)], env=environment,
                   capture_output=True, timeout=300)
    checked = subprocess.run([sys.executable, str(script)],
                             env={**environment, "NUMBA_BOUNDSCHECK": "1"},
                             capture_output=True, text=True, timeout=300)
    assert "IndexError" in checked.stdout, checked.stdout + checked.stderr
