"""Array names bound any number of times: aliases, rebinding to new arrays,
swaps and rotations of buffers carried round loops, swaps under an `if`.
Each program (tests/rebinding_fixtures.py) is checked on target="python"
and "cpu" against central finite differences and forward against reverse
(`adjit.gradcheck`), and forward over reverse (`jit.hvp`) against
differences of the gradient; what adjit cannot prove is a located error."""

from __future__ import annotations

import numpy as np
import pytest

import adjit
import rebinding_fixtures as fx
from adjit import gradcheck, jit

TARGETS = ["python", "cpu"]
X = np.array([0.3, -0.8, 1.1, 0.45, -0.2])
Y = np.array([0.9, 0.1, -0.6, 0.75, 0.35])

CASES = [
    (fx.alias_then_rebind, [X, Y], (0, 1)),
    (fx.swap_straight, [X, Y], (0, 1)),
    (fx.copy_of_itself, [X], (0,)),
    (fx.parameter_rebound, [X], (0,)),
    (fx.created_twice, [X], (0,)),
    (fx.changes_type, [X], (0,)),
    (fx.diffuse, [np.linspace(0.0, 1.0, 6) ** 2, 0.2, 3], (0, 1)),
    (fx.nonlinear_swaps, [X, 0.7], (0, 1)),
    (fx.rotates_three, [X, Y], (0, 1)),
    (fx.swaps_when, [X, np.array([1.0, -1.0, 1.0, 1.0])], (0,)),
    (fx.swaps_once_when, [X, np.abs(Y)], (0, 1)),
    (fx.swaps_once_when, [X, -np.abs(Y)], (0, 1)),
    (fx.rebinds_parameter_in_loop, [X, 0.7], (0, 1)),
    (fx.sums_before_swapping, [X, 0.7], (0, 1)),
    (fx.creates_in_the_loop, [X], (0,)),
    (fx.fresh_buffer_each_step, [X, 0.7], (0, 1)),
    (fx.steps_through_a_helper, [X, 0.7], (0, 1)),
    (fx.two_pairs_of_buffers, [X, Y[:3].copy()], (0, 1)),
    (fx.swaps_an_alias_of_the_argument, [X, 0.7], (0, 1)),
    (fx.copies_itself_in_a_loop, [X, 0.7], (0, 1)),
    (fx.views_a_buffer_then_swaps, [X], (0,)),
    (fx.rotates_buffers_shaped_like_a_result,
     [X[:3].copy(), np.outer(Y[:3], X[::-1]).T.copy(), 0.6], (0, 1, 2)),
]
IDS = [f"{fn.__name__}-{k}" for k, (fn, _, _) in enumerate(CASES)]
CPU = {"diffuse", "fresh_buffer_each_step", "steps_through_a_helper",
       "rotates_buffers_shaped_like_a_result", "rotates_three", "swaps_when",
       "swap_straight", "parameter_rebound", "rebinds_parameter_in_loop"}


# a copy in a loop has a gradient that accumulates a whole-array adjoint in
# the loop, which is not differentiated again (limitations.md#higher-order)
FIRST_ORDER_ONLY = {"copies_itself_in_a_loop"}


def _targets(fn):
    return TARGETS if fn.__name__ in CPU else ["python"]


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=IDS)
def test_rebinding_matches_finite_differences_in_both_modes(fn, args, wrt):
    for target in _targets(fn):
        assert gradcheck(fn, args, wrt=wrt, target=target)


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=IDS)
def test_second_order_of_rebinding_matches_differences_of_the_gradient(fn, args, wrt):
    position = wrt[0]
    if fn.__name__ in FIRST_ORDER_ONLY:
        with pytest.raises(adjit.DifferentiationError, match="whole-array operation"):
            jit.hvp(fn, wrt=position, target="python")(*args, np.ones_like(args[position]))
        return
    gradient = jit.grad(fn, wrt=position, target="python")
    direction = np.random.default_rng(3).normal(size=np.shape(args[position]))
    h = 1e-6
    plus, minus = list(args), list(args)
    plus[position] = args[position] + h * direction
    minus[position] = args[position] - h * direction
    numerical = (gradient(*plus) - gradient(*minus)) / (2 * h)
    for target in _targets(fn):
        product = jit.hvp(fn, wrt=position, target=target)(*args, direction)
        assert np.allclose(product, numerical, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("target", TARGETS)
def test_a_swapped_array_can_be_the_result(target):
    assert gradcheck(fx.returns_a_swapped_array, [X, 0.7], target=target)


def test_a_swap_gives_the_gradient_of_copying_back():
    """Swapping the two buffers of a stencil and copying the new values back
    are the same computation: their gradients agree to rounding."""
    u0 = np.linspace(0.0, 1.0, 40) ** 2
    swapped = jit.grad(fx.diffuse, wrt=(0, 1), target="cpu")(u0, 0.2, 25)
    copied = jit.grad(fx.diffuse_copying, wrt=(0, 1), target="cpu")(u0, 0.2, 25)
    assert np.allclose(swapped[0], copied[0], rtol=1e-12, atol=1e-14)
    assert np.isclose(swapped[1], copied[1], rtol=1e-12)


def test_swapped_buffers_are_rows_of_one_stack_with_int_slots():
    """A rebinding in a loop is an int assignment, recorded on the int tape:
    the adjoint follows the objects, not the names."""
    text = adjit.source(jit.grad(fx.diffuse, target="python"),
                        np.ones(5), 0.2, 3)
    assert "_stack_u = np.empty((2, " in text
    assert "_slot_u = _slot_u_new" in text
    assert "_b_stack_u[_slot_u, i] +=" in text


def test_an_odd_number_of_swaps_ends_on_the_other_buffer():
    """After an odd number of swaps `u` names the buffer first made as
    `u_new`: a gradient that followed the name `u` would differentiate the
    initial copy instead."""
    u0 = np.linspace(0.0, 1.0, 6) ** 2
    for steps in (1, 2, 3):
        assert gradcheck(fx.diffuse, [u0, 0.2, steps], wrt=(0, 1))


def test_an_array_made_in_a_loop_takes_a_row_no_name_holds():
    """`v = np.zeros_like(x)` in a loop, then `u = v`: a row fixed per
    creation would be the one `u` still refers to, and zeroing it would
    change the primal value itself."""
    x = np.array([0.3, -0.8, 1.1, 0.45])
    value, _ = jit.value_and_grad(fx.creates_in_the_loop, target="python")(x)
    assert value == fx.creates_in_the_loop(x.copy())
    assert gradcheck(fx.creates_in_the_loop, [x])


@pytest.mark.parametrize("fn", [fx.swaps_different_shapes])
@pytest.mark.parametrize("target", ["python", "cpu"])
def test_arrays_of_another_shape_passed_among_names_raise_at_run_time(fn, target):
    """A shape adjit cannot prove equal to the first array's is checked
    where the array is stored in its row: a different one is an error."""
    with pytest.raises(ValueError, match="adjit keeps one shape"):
        jit.grad(fn, target=target)(np.ones(4))


@pytest.mark.parametrize("fn, message", [
    (fx.swaps_a_view_with_its_base, "binds a view to an array name"),
    (fx.swaps_int_arrays, "not all arrays of floats"),
    (fx.swaps_after_a_prange, "a prange loop writing into `u`, `u_new`"),
    (fx.swaps_buffers_shaped_like_a_branch_result, "cannot prove they all have one shape"),
])
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_rebinding_adjit_cannot_follow_is_a_located_error(fn, message, mode):
    with pytest.raises(adjit.DifferentiationError) as error:
        if mode == "rev":
            jit.grad(fn, target="python")(np.ones(4))
        else:
            jit.jvp(fn, target="python")(np.ones(4), np.ones(4))
    assert message in str(error.value) and "rebinding_fixtures.py:" in str(error.value)
