"""Writes through views go to the array viewed: a named row or slice, an
alias of a view, a view of a view, a view given to a helper that fills it,
an in-place operator on a view. Each program (tests/view_write_fixtures.py)
is checked on target="python" and "cpu" against central finite differences
and forward against reverse (`adjit.gradcheck`), its value against NumPy's,
and forward over reverse against differences of the gradient; what adjit
cannot prove is a located error."""

from __future__ import annotations

import numpy as np
import pytest

import adjit
import view_write_fixtures as fx
from adjit import gradcheck, jit

RNG = np.random.default_rng(7)
M = RNG.normal(size=(3, 4))
X = RNG.normal(size=6)

CASES = [
    (fx.scales_rows_through_a_named_row, [M], (0,)),
    (fx.writes_through_a_slice, [X], (0,)),
    (fx.writes_through_a_bounded_slice_in_a_loop, [X], (0,)),
    (fx.writes_through_an_alias_of_a_view, [X], (0,)),
    (fx.writes_through_a_view_of_a_view, [M], (0,)),
    (fx.in_place_operators_on_views, [M, 0.7], (0, 1)),
    (fx.slice_write_through_a_view, [M, X], (0, 1)),
    (fx.fills_rows_through_a_helper, [M], (0,)),
    (fx.fills_a_slice_through_a_helper, [X], (0,)),
    (fx.negative_index_through_a_column, [M], (0,)),
    (fx.view_of_a_rebound_buffer, [X, 0.2], (0, 1)),
    (fx.writes_through_a_view_after_its_base_is_swapped, [X], (0,)),
    (fx.writes_through_reversed_and_strided_views, [X], (0,)),
]
IDS = [fn.__name__ for fn, _, _ in CASES]
CPU = {"scales_rows_through_a_named_row", "writes_through_a_slice",
       "in_place_operators_on_views", "fills_rows_through_a_helper",
       "view_of_a_rebound_buffer", "writes_through_a_view_after_its_base_is_swapped",
       "writes_through_reversed_and_strided_views"}


def _copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=IDS)
def test_writes_through_views_match_numpy_and_finite_differences(fn, args, wrt):
    for target in ["python", "cpu"] if fn.__name__ in CPU else ["python"]:
        value, _ = jit.value_and_grad(fn, wrt=wrt, target=target)(*_copies(args))
        assert value == pytest.approx(fn(*_copies(args)), rel=1e-12)
        assert gradcheck(fn, _copies(args), wrt=wrt, target=target)


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=IDS)
def test_second_order_through_views(fn, args, wrt):
    position = wrt[0]
    gradient = jit.grad(fn, wrt=position, target="python")
    direction = np.random.default_rng(3).normal(size=np.shape(args[position]))
    product = jit.hvp(fn, wrt=position, target="python")(*_copies(args), direction)
    h = 1e-5
    plus, minus = _copies(args), _copies(args)
    plus[position] = args[position] + h * direction
    minus[position] = args[position] - h * direction
    numerical = (gradient(*plus) - gradient(*minus)) / (2 * h)
    assert np.allclose(product, numerical, rtol=1e-5, atol=1e-7)


def test_the_write_goes_to_the_base_in_the_generated_code():
    text = adjit.source(jit.grad(fx.scales_rows_through_a_named_row, target="python"), M)
    assert "B[i, j] = " in text


@pytest.mark.parametrize("fn, args, message", [
    (fx.writes_after_the_index_changes, [M],
     "writing through `row`, a view, after `i` is bound again"),
    (fx.writes_through_a_view_bound_in_a_branch, [X, 1.0],
     "binds a view to an array name that is also bound to other"),
    (fx.writes_through_a_view_bound_in_a_branch_of_a_loop, [M],
     "writing through `row`, a view bound where this write does not follow it"),
    (fx.writes_a_slice_of_a_slice, [X], "a slice of a slice of `y`"),
])
def test_writes_adjit_cannot_follow_are_located_errors(fn, args, message):
    with pytest.raises(adjit.DifferentiationError) as error:
        jit.grad(fn, target="python")(*args)
    text = str(error.value)
    assert message in text and "view_write_fixtures.py:" in text and "hint:" in text


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_an_index_outside_the_view_raises_as_numpy_does(target):
    with pytest.raises(IndexError):
        fx.reads_past_the_end_of_a_view(X.copy())
    with pytest.raises(IndexError) as error:
        jit.grad(fx.reads_past_the_end_of_a_view, target=target)(X.copy())
    assert "view_write_fixtures.py:" in str(error.value)


def test_the_index_a_view_element_reaches_follows_python_slices():
    """`rt.slice_element` against Python's own slices, every bound and step
    (an omitted bound given as the one that means it)."""
    from adjit.runtime import helpers as rt
    for length in range(0, 7):
        for step in (-3, -2, -1, 1, 2, 3):
            omitted = (0, length) if step > 0 else (length - 1, -length - 1)
            for start in [None] + list(range(-9, 10)):
                for stop in [None] + list(range(-9, 10)):
                    reached = list(range(length))[slice(start, stop, step)]
                    a = omitted[0] if start is None else start
                    b = omitted[1] if stop is None else stop
                    assert rt.slice_extent(a, b, step, length) == len(reached)
                    for k in range(-len(reached), len(reached)):
                        assert rt.slice_element(k, a, b, step, length) == reached[k]
                    with pytest.raises(IndexError):
                        rt.slice_element(len(reached), a, b, step, length)
