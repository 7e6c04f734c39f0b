"""Scratch arrays private to a loop's iterations (adjit/passes/analysis/private.py)
are recomputed, not recorded; arrays that only look private must still get
exact gradients (each case here is a near miss of the analysis)."""

import math

import numpy as np
import pytest

from adjit import jit
from adjit.passes.pipeline import front_end
from adjit.passes.analysis.private import private_arrays, stable_arrays
from adjit.passes.analysis.types import infer_types


def private_scratch(x, w, n):
    d = x.shape[0]
    buffer = np.empty(d)
    total = 0.0
    for t in range(n):
        for j in range(d):
            buffer[j] = x[j] * (t + 1.0) - w[j]
        for j in range(d):
            total += math.sin(buffer[j]) * buffer[j]
    return total


def filled_with_a_break(x, w, n):
    d = x.shape[0]
    buffer = np.zeros(d)
    total = 0.0
    for t in range(n):
        for j in range(d):
            buffer[j] = x[j] * (t + 1.0) - w[j]
            if buffer[j] > 1.5:
                break                      # later elements keep older values
        for j in range(d):
            total += math.sin(buffer[j]) * buffer[j]
    return total


def read_after_the_loop(x, w, n):
    d = x.shape[0]
    buffer = np.empty(d)
    total = 0.0
    for t in range(n):
        for j in range(d):
            buffer[j] = x[j] * (t + 1.0) - w[j]
        for j in range(d):
            total += math.sin(buffer[j]) * buffer[j]
    return total + buffer[0] * buffer[1]


def read_before_the_fill(x, w, n):
    d = x.shape[0]
    buffer = np.zeros(d)
    total = 0.0
    for t in range(n):
        total += buffer[0] * x[0]           # the previous iteration's value
        for j in range(d):
            buffer[j] = x[j] * (t + 1.0) - w[j]
        for j in range(d):
            total += math.sin(buffer[j]) * buffer[j]
    return total


def read_before_the_fill_of_a_filled_array(x, w, n):
    d = x.shape[0]
    buffer = np.empty(d)
    for j in range(d):
        buffer[j] = math.cos(x[j])           # read by the first iteration only
    total = 0.0
    for t in range(n):
        total += buffer[0] * buffer[1] * w[0]
        for j in range(d):
            buffer[j] = x[j] * (t + 1.0) - w[j]
        for j in range(d):
            total += math.sin(buffer[j]) * buffer[j]
    return total


def filled_partly(x, w, n):
    d = x.shape[0]
    buffer = np.zeros(d)
    total = 0.0
    for t in range(n):
        for j in range(d - 1):               # the last element is never refilled
            buffer[j] = x[j] * (t + 1.0) - w[j]
        buffer[d - 1] = buffer[d - 1] * 0.5 + x[d - 1]
        for j in range(d):
            total += math.sin(buffer[j]) * buffer[j]
    return total


def written_again_after_a_read(x, w, n):
    d = x.shape[0]
    buffer = np.empty(d)
    total = 0.0
    for t in range(n):
        for j in range(d):
            buffer[j] = x[j] * (t + 1.0) - w[j]
        for j in range(d):
            total += math.sin(buffer[j]) * buffer[j]
        for j in range(d):
            buffer[j] = buffer[j] * buffer[j]
        for j in range(d):
            total += buffer[j] * w[j]
    return total


CASES = [private_scratch, filled_with_a_break, read_after_the_loop, read_before_the_fill,
         read_before_the_fill_of_a_filled_array, filled_partly, written_again_after_a_read]
ARGS = (np.array([0.3, -0.5, 0.8, 0.1]), np.array([0.2, 0.4, -0.3, 0.6]), 3)


@pytest.mark.parametrize("target", ["python", pytest.param("cpu", marks=pytest.mark.slow)])
@pytest.mark.parametrize("fn", CASES, ids=[f.__name__ for f in CASES])
def test_near_misses_of_the_analysis_get_exact_gradients(fn, target):
    x, w, n = ARGS
    gx, gw = jit.grad(fn, wrt=(0, 1), target=target)(x, w, n)
    rng = np.random.default_rng(4)
    dx, dw = rng.normal(size=4), rng.normal(size=4)
    h = 1e-6
    numerical = (fn(x + h * dx, w + h * dw, n) - fn(x - h * dx, w - h * dw, n)) / (2 * h)
    predicted = float(np.dot(gx, dx) + np.dot(gw, dw))
    assert predicted == pytest.approx(numerical, rel=1e-6, abs=1e-8)
    _, tangent = jit.jvp(fn, wrt=(0, 1), target=target)(x, w, n, (dx, dw))
    assert tangent == pytest.approx(predicted, rel=1e-10, abs=1e-12)


def analysed(fn):
    parsed = front_end(fn)
    types = infer_types(parsed, {"x": "float[:]", "w": "float[:]", "n": "int"})
    return private_arrays(parsed.tree, types), stable_arrays(parsed.tree, types)


def test_which_arrays_the_analysis_calls_private():
    assert set(analysed(private_scratch)[0]) == {"buffer"}
    for fn in (filled_with_a_break, read_after_the_loop, read_before_the_fill,
               read_before_the_fill_of_a_filled_array, filled_partly,
               written_again_after_a_read):     # a read the later write would change
        assert analysed(fn)[0] == {}, fn.__name__


def test_the_private_scratch_needs_no_tape():
    source = jit.grad(private_scratch, wrt=(0, 1), target="python").source_for(*ARGS)
    assert "_tape_f[" not in source
