"""Long loops checkpointed (`adjit/passes/reverse/checkpoints.py`): with the
budget at zero every loop that can be checkpointed is, so that these small
programs run in segments (saved states, each segment run again recorded,
then swept back). Each gradient against central differences and forward
mode, on target python and cpu, across trip counts around the segment
boundaries; then the same functions within the budget (recorded whole)."""

import math

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.runtime import checkpoints


def heat(u0, dt, steps):
    n = u0.shape[0]
    u = np.copy(u0)
    v = np.copy(u0)
    for step in range(steps):
        for i in range(1, n - 1):
            v[i] = u[i] + dt * (u[i - 1] - 2.0 * u[i] + u[i + 1]) * (1.0 + 0.1 * u[i] * u[i])
        for i in range(1, n - 1):
            u[i] = v[i]
    return np.sum(u * u)


def recorded_before(x, c, steps):
    """A loop before the time loop keeps values on the tape, which its
    reverse sweep reads after the time loop's: the checkpointed loop must
    leave the tape as it found it."""
    scale = c
    for k in range(3):
        scale = math.sin(scale) + 0.5
    u = np.copy(x)
    for step in range(steps):
        for i in range(x.shape[0]):
            u[i] = math.tanh(u[i] * scale)
    return np.sum(u * u)


def carried_scalars(x, c, steps):
    """A float and an int carried from step to step, read before they are
    assigned in each step: part of the state saved per segment."""
    u = np.copy(x)
    scale = 1.0
    count = 0
    for step in range(steps):
        for i in range(x.shape[0]):
            u[i] = math.tanh(u[i] * scale + c * count)
        scale = scale * 0.9 + 0.05 * u[0]
        count = count + 1
    return np.sum(u * u) + scale


def grid_steps(a, c, steps):
    """A 2-D state updated in place, a descending inner loop, a step of 3."""
    r = np.copy(a)
    for step in range(1, 3 * steps + 1, 3):
        for i in range(r.shape[0] - 1, 0, -1):
            for j in range(r.shape[1]):
                r[i, j] = r[i, j] * c + math.sin(r[i - 1, j]) * 0.5
    return np.sum(r * r)


CASES = {
    "heat": (heat, lambda rng, steps: (rng.uniform(-1, 1, 6), 0.2, steps), (0, 1)),
    "carried-scalars": (carried_scalars,
                        lambda rng, steps: (rng.normal(size=4) * 0.5, 0.3, steps), (0, 1)),
    "recorded-before": (recorded_before,
                        lambda rng, steps: (rng.normal(size=4) * 0.5, 0.3, steps), (0, 1)),
    "grid": (grid_steps, lambda rng, steps: (rng.normal(size=(3, 4)) * 0.5, 0.7, steps),
             (0, 1)),
}


@pytest.fixture
def no_budget(monkeypatch):
    monkeypatch.setattr(checkpoints, "CHECKPOINT_BUDGET", 0)


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("name", list(CASES))
def test_checkpointed_gradients_match_differences(name, target, no_budget):
    function, make, wrt = CASES[name]
    rng = np.random.default_rng(5)
    gradient = jit.grad(function, wrt=wrt, target=target)
    # generated first with the loop recorded whole, after a check of the
    # budget; the first call beyond it makes the checkpointed form
    text = adjit.source(gradient, *make(rng, 3))
    assert "rt.require_budget" in text and "_states_" not in text, text
    gradient(*make(rng, 3))
    assert "rt.checkpoint_stride" in gradient.source and "_states_" in gradient.source
    for steps in (0, 1, 2, 3, 4, 5, 9, 10) if target == "python" else (0, 1, 4, 10):
        assert adjit.gradcheck(function, make(rng, steps), wrt=wrt, target=target)


@pytest.mark.parametrize("name", list(CASES))
def test_within_the_budget_the_loop_is_recorded_whole(name):
    function, make, wrt = CASES[name]
    rng = np.random.default_rng(6)
    gradient = jit.grad(function, wrt=wrt, target="python")
    for steps in (0, 1, 7):
        gradient(*make(rng, steps))
        assert "_states_" not in gradient.source
        assert adjit.gradcheck(function, make(rng, steps), wrt=wrt, target="python")


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_after_a_call_beyond_the_budget_the_checkpointed_form_stays(target, monkeypatch):
    """A derivative that switched to its checkpointed form for a key gives
    the same gradients as the form recording whole, for calls beyond the
    budget and within it, and raises nothing of its own."""
    function, make, wrt = CASES["carried-scalars"]
    rng = np.random.default_rng(8)
    inputs = {steps: make(rng, steps) for steps in (0, 1, 3, 12)}
    whole = jit.grad(function, wrt=wrt, target=target)
    expected = {steps: whole(*args) for steps, args in inputs.items()}
    monkeypatch.setattr(checkpoints, "CHECKPOINT_BUDGET", 40)     # the state is 4 + 2 values
    switching = jit.grad(function, wrt=wrt, target=target)
    for steps in (1, 12, 0, 3, 1):
        got = switching(*inputs[steps])
        for part, reference in zip(got, expected[steps]):
            np.testing.assert_allclose(part, reference, rtol=1e-12, atol=1e-14)
    assert "_states_" in switching.source


def test_a_checkpointed_gradient_differentiated_again(no_budget):
    """The saves and restores are element loops: forward mode over the
    gradient (a Hessian-vector product) differentiates them too."""
    rng = np.random.default_rng(7)
    u0, v = rng.uniform(-1, 1, 6), rng.normal(size=6)
    product = jit.hvp(heat, wrt=0)(u0, 0.2, 9, v)
    gradient = jit.grad(heat, wrt=0)
    step = 1e-6
    expected = (gradient(u0 + step * v, 0.2, 9) - gradient(u0 - step * v, 0.2, 9)) / (2 * step)
    np.testing.assert_allclose(product, expected, rtol=1e-6, atol=1e-8)


def test_segments_cover_the_trip_count():
    for trips in range(0, 50):
        stride = checkpoints.checkpoint_stride.py_func(trips, 10**9, 1000) \
            if hasattr(checkpoints.checkpoint_stride, "py_func") \
            else checkpoints.checkpoint_stride(trips, 10**9, 1000)
        count = checkpoints.segment_count(trips, stride)
        assert stride * count >= trips and (count - 1) * stride < max(trips, 1)
        assert stride * stride >= trips and (stride - 1) ** 2 < max(trips, 1)
