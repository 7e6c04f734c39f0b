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
error ~ eps * |f| / h ~ 1e-12 * |f|, far below the tolerance used (for long
trajectories, whose high derivatives are large, steps 1e-5 and 1e-3 are tried
too, and a match at any step is accepted):

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

from corpus_scalar import CORPUS, SWEEP, SWEEP_MAX_N, Case

from adjit import jit

RTOL = 1e-6
ATOL = 1e-8
FD_REL_STEP = 1e-4
FD_REL_STEPS = (FD_REL_STEP, 1e-5, 1e-3)

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

# docs/limitations.md#non-smooth-points: where a partial derivative is infinite
# at a valid point whose adjoint is then discarded (sqrt(max(d, 0.0)) at d < 0),
# target="cpu" follows IEEE arithmetic and gives the right derivative, while
# target="python" keeps Python's float semantics and raises ZeroDivisionError.
SINGULAR_TAG = "singular-partial-unused"


def python_raises(case: Case, target: str) -> bool:
    return target == "python" and SINGULAR_TAG in case.tags


PYTHON_CASES = [pytest.param(case, id=case.name) for case in CORPUS if not python_raises(case, "python")]


def derivative(case: Case, target: str, kind: str = "grad"):
    """The derivative object for a case, built once per session."""
    key = (case.fn, case.wrt, target, kind)
    if key not in _derivatives:
        make = jit.grad if kind == "grad" else jit.value_and_grad
        _derivatives[key] = make(case.fn, wrt=tuple(case.wrt), target=target)
    return _derivatives[key]


def numeric_gradient(fn, args, wrt, rel_step=FD_REL_STEP):
    """Fourth-order central differences of the plain Python function."""
    grads = []
    for i in wrt:
        h = rel_step * max(1.0, abs(args[i]))

        def at(delta):
            shifted = list(args)
            shifted[i] = args[i] + delta
            return fn(*shifted)

        grads.append((-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h))
    return tuple(grads)


def assert_gradient_close(case: Case, args, analytic):
    assert isinstance(analytic, tuple), f"wrt is a tuple, so the gradient must be a tuple: {analytic!r}"
    assert len(analytic) == len(case.wrt)
    value = case.fn(*args)
    # Long loops (a trajectory over many steps) have large high derivatives in
    # some parameters, so one step size is not always accurate: accept a match
    # at any of a few steps, all far more accurate than a wrong derivative.
    estimates = [numeric_gradient(case.fn, args, case.wrt, step) for step in FD_REL_STEPS]
    for k, (position, got) in enumerate(zip(case.wrt, analytic)):
        assert isinstance(got, (float, np.floating)), f"gradient entry is {type(got).__name__}"
        assert math.isfinite(got), f"d/d arg{position} is {got}"
        candidates = [numeric[k] for numeric in estimates]
        scale = max(1.0, abs(value), max(abs(c) for c in candidates))
        assert any(abs(got - c) <= RTOL * abs(c) + ATOL * scale for c in candidates), (
            f"{case.name}{tuple(args)}: d/d arg{position}: adjit {got!r} vs finite differences "
            f"{candidates[0]!r} (difference {got - candidates[0]:.3g}; other steps: {candidates[1:]})"
        )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", CASES)
def test_grad_matches_finite_differences(case, target):
    g = derivative(case, target)
    if python_raises(case, target):
        with pytest.raises(ZeroDivisionError):
            g(*case.args)
        return
    assert_gradient_close(case, case.args, g(*case.args))


@pytest.mark.parametrize("case, target", VG_CASES_TARGETS)
def test_value_and_grad(case, target):
    vg = derivative(case, target, "value_and_grad")
    if python_raises(case, target):
        with pytest.raises(ZeroDivisionError):
            vg(*case.args)
        return
    value, grads = vg(*case.args)
    expected = case.fn(*case.args)
    assert isinstance(value, (float, np.floating)), f"value is {type(value).__name__}"
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert_gradient_close(case, case.args, grads)


@pytest.mark.parametrize("case", PYTHON_CASES)
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
@pytest.mark.parametrize("case", PYTHON_CASES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_grad_on_domain_python(case, data):
    args = _draw_args(data, case)
    g = derivative(case, "python")
    assert_gradient_close(case, args, g(*args))


SWEEP_PARAMS = [pytest.param(fn, lead, wrt, id=fn.__name__) for fn, lead, wrt in SWEEP]


@pytest.mark.parametrize("fn, lead, wrt", SWEEP_PARAMS)
def test_trip_count_sweep_python(fn, lead, wrt):
    """Every trip count 0..SWEEP_MAX_N: the tapes fill up, grow, and end at
    every possible fill level, also when values are pushed after the loop."""
    case = Case(fn.__name__, fn, lead + (0,), wrt, (None,) * (len(lead) + 1))
    g = derivative(case, "python")
    for n in range(SWEEP_MAX_N + 1):
        args = lead + (n,)
        assert_gradient_close(case, args, g(*args))


@pytest.mark.slow
@pytest.mark.parametrize("fn, lead, wrt", SWEEP_PARAMS)
def test_trip_count_sweep_cpu(fn, lead, wrt):
    case = Case(fn.__name__, fn, lead + (0,), wrt, (None,) * (len(lead) + 1))
    g = derivative(case, "cpu")
    for n in range(SWEEP_MAX_N + 1):
        args = lead + (n,)
        assert_gradient_close(case, args, g(*args))


def _domain_samples(case: Case, count: int):
    """Deterministic points of the case's domain (seeded by its name)."""
    rng = np.random.default_rng(sum(map(ord, case.name)))
    for _ in range(count):
        args = list(case.args)
        for position, box in enumerate(case.domain):
            if box is not None:
                args[position] = float(rng.uniform(box[0], box[1]))
        yield tuple(args)


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(c.values[0], id=c.id) for c in CASES])
def test_grad_on_domain_samples_cpu(case):
    """The compiled derivative at a few more points of the domain (it is
    already compiled by test_grad_matches_finite_differences: cheap)."""
    g = derivative(case, "cpu")
    for args in _domain_samples(case, 5):
        assert_gradient_close(case, args, g(*args))
