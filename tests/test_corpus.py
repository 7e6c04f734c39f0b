"""The scalar corpus (tests/corpus_scalar.py) against finite differences.

For every case the reverse-mode gradient ``jit.grad(fn, wrt=...)`` is compared
with finite differences of the plain Python function, on both targets:

* ``python``: the generated source run uncompiled (fast; run it alone with
  ``-k python`` or ``-k "not cpu"``),
* ``cpu``: the generated source compiled with Numba (about a second or more
  per function when the cache is cold; these tests carry the ``slow`` mark and
  ``cpu`` in their id, so ``-m "not slow"`` or ``-k "not cpu"`` skips them).

Finite differences: the fourth-order central stencil

    f'(x) ~ (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / (12 h),  h = 1e-4 * max(1, |x|)

in float64.  Its truncation error is O(h^4) ~ 1e-16 relative and its rounding
error ~ eps * |f| / h ~ 1e-12 * |f|, far below the tolerance used:

    |analytic - numeric| <= 1e-6 * |numeric| + 1e-8 * max(1, |f(x)|, max|numeric|)

so a failure is a wrong derivative, not noise.  Each case's domain keeps
the points (and the stencil around them) away from branch switches; the only
functions whose control flow changes inside a domain are convergence loops,
whose jump at a change of iteration count is far below the tolerance.

Derivative objects are built once per (function, wrt, target, kind) and cached
in a module-level dict, so that every function is transformed and compiled
once per session.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_scalar import CORPUS, Case

import adjit
from adjit import jit

RTOL = 1e-6
ATOL = 1e-8
FD_REL_STEP = 1e-4

TARGETS = [
    pytest.param("python", id="python"),
    pytest.param("cpu", id="cpu", marks=pytest.mark.slow),
]

CASES = [pytest.param(case, id=case.name) for case in CORPUS]

# value_and_grad compiles a second derivative per function on cpu; check it on
# cpu for every fourth function only (all of them on python).
_VG_CPU_NAMES = {case.name for case in CORPUS[::4]}
VG_CASES_TARGETS = [
    pytest.param(case, "python", id=f"{case.name}-python") for case in CORPUS
] + [
    pytest.param(case, "cpu", id=f"{case.name}-cpu", marks=pytest.mark.slow)
    for case in CORPUS if case.name in _VG_CPU_NAMES
]

_derivatives: dict = {}


def derivative(case: Case, target: str, kind: str = "grad"):
    """The derivative object for a case, built once per session."""
    key = (case.fn, case.wrt, target, kind)
    if key not in _derivatives:
        make = jit.grad if kind == "grad" else jit.value_and_grad
        _derivatives[key] = make(case.fn, wrt=tuple(case.wrt), target=target)
    return _derivatives[key]


def numeric_gradient(fn, args, wrt):
    """Fourth-order central differences of the plain Python function."""
    grads = []
    for i in wrt:
        h = FD_REL_STEP * max(1.0, abs(args[i]))

        def at(delta):
            shifted = list(args)
            shifted[i] = args[i] + delta
            return fn(*shifted)

        grads.append((-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h))
    return tuple(grads)


def assert_gradient_close(case: Case, args, analytic):
    numeric = numeric_gradient(case.fn, args, case.wrt)
    assert isinstance(analytic, tuple), f"wrt is a tuple, so the gradient must be a tuple: {analytic!r}"
    assert len(analytic) == len(case.wrt)
    value = case.fn(*args)
    scale = max(1.0, abs(value), max(abs(g) for g in numeric))
    for position, got, expected in zip(case.wrt, analytic, numeric):
        assert isinstance(got, (float, np.floating)), f"gradient entry is {type(got).__name__}"
        assert math.isfinite(got), f"d/d arg{position} is {got}"
        assert abs(got - expected) <= RTOL * abs(expected) + ATOL * scale, (
            f"{case.name}{tuple(args)}: d/d arg{position}: adjit {got!r} vs finite differences "
            f"{expected!r} (difference {got - expected:.3g})"
        )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", CASES)
def test_grad_matches_finite_differences(case, target):
    g = derivative(case, target)
    assert_gradient_close(case, case.args, g(*case.args))


@pytest.mark.parametrize("case, target", VG_CASES_TARGETS)
def test_value_and_grad(case, target):
    vg = derivative(case, target, "value_and_grad")
    value, grads = vg(*case.args)
    expected = case.fn(*case.args)
    assert isinstance(value, (float, np.floating)), f"value is {type(value).__name__}"
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert_gradient_close(case, case.args, grads)


@pytest.mark.parametrize("case", CASES)
def test_repeated_calls_are_stable_python(case):
    g = derivative(case, "python")
    first = g(*case.args)
    assert g(*case.args) == first


def _draw_args(data, case: Case):
    args = list(case.args)
    for position, box in enumerate(case.domain):
        if box is not None:
            args[position] = data.draw(
                st.floats(min_value=box[0], max_value=box[1], allow_nan=False, allow_infinity=False),
                label=f"arg{position}",
            )
    return tuple(args)


@pytest.mark.fuzz
@pytest.mark.parametrize("case", CASES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_grad_on_domain_python(case, data):
    args = _draw_args(data, case)
    g = derivative(case, "python")
    assert_gradient_close(case, args, g(*args))
