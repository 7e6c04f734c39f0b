"""Snapshots (`passes/reverse/snapshot.py`): a loop nest inside a recomputed loop
keeps what it computes in a buffer, one row per iteration, instead of
running again in every reversed iteration.

Each program is checked against central finite differences along a random
direction and against forward mode, on target="python" (and a slice on
target="cpu"); its generated source is checked to take the snapshot (or,
for the near misses, not to), so that no test passes with the rewrite
silently gone. In `mixture` the int the nest steps ends at a different value
for each component, so a copy back that forgot it would give a wrong
gradient, not only a slower one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit import jit
from tests.test_vectorise import check_named_program, check_hvp_against_gradient_differences


# ---- programs -------------------------------------------------------------------

def mixture(x, means, L, alphas):
    """GMM's shape: per point and component, a centred point, a triangular
    product with it (the nest), a log-sum-exp over the components."""
    n = x.shape[0]
    d = x.shape[1]
    k = means.shape[0]
    xc = np.empty(d)
    q = np.empty(d)
    terms = np.empty(k)
    total = 0.0
    for ix in range(n):
        for ik in range(k):
            for j in range(d):
                xc[j] = x[ix, j] - means[ik, j]
            for j in range(d):
                q[j] = math.exp(0.1 * L[ik, j]) * xc[j]
            index = d + ik
            for i in range(d):
                for j in range(i + 1, d):
                    q[j] = q[j] + L[ik, index] * xc[i] * xc[i]
                    index += 1
            s = 0.0
            for j in range(d):
                s += q[j] * q[j]
            terms[ik] = alphas[ik] - 0.5 * s + 0.01 * index
        top = terms[0]
        for ik in range(1, k):
            top = max(top, terms[ik])
        sum_exp = 0.0
        for ik in range(k):
            sum_exp += math.exp(terms[ik] - top)
        total += math.log(sum_exp) + top
    return total


def offset_start(x, means, L, alphas):
    """`mixture` with the counter started from a name the component loop
    binds: the reverse sweep cannot restart it from that name
    (`passes/optimize/counting.py`), so its end value is kept with the nest."""
    n = x.shape[0]
    d = x.shape[1]
    k = means.shape[0]
    xc = np.empty(d)
    q = np.empty(d)
    terms = np.empty(k)
    total = 0.0
    for ix in range(n):
        for ik in range(k):
            for j in range(d):
                xc[j] = x[ix, j] - means[ik, j]
            for j in range(d):
                q[j] = math.exp(0.1 * L[ik, j]) * xc[j]
            start = d + ik
            index = start
            for i in range(d):
                for j in range(i + 1, d):
                    q[j] = q[j] + L[ik, index] * xc[i] * xc[i]
                    index += 1
            s = 0.0
            for j in range(d):
                s += q[j] * q[j]
            terms[ik] = alphas[ik] - 0.5 * s + 0.01 * index
        sum_exp = 0.0
        for ik in range(k):
            sum_exp += math.exp(terms[ik])
        total += math.log(sum_exp)
    return total


def top_level(x, L):
    """The recomputed loop at the top level of the function: the forward
    sweep itself fills the buffer."""
    d = x.shape[0]
    k = L.shape[0]
    q = np.empty(d)
    total = 0.0
    for ik in range(1, k):
        for j in range(d):
            q[j] = x[j] * L[ik, j]
        for i in range(d):
            for j in range(i + 1, d):
                q[j] = q[j] + 0.1 * L[ik, i] * x[i] * x[j]
        for j in range(d):
            total += math.tanh(q[j]) * L[ik, j]
    return total


def two_deep(x, w):
    """Two recomputed loops around the one whose nest is kept."""
    n = x.shape[0]
    m = w.shape[0]
    p = np.empty(n)
    total = 0.0
    for a in range(2):
        for b in range(m):
            for i in range(n):
                p[i] = x[i] * w[b] + a
            for i in range(n):
                for j in range(i):
                    p[i] = p[i] + x[j] * x[i] * w[b] * w[b]
            for i in range(n):
                total += p[i] * p[i] * (a + 1.0)
    return total


def two_loops(x, L, M):
    """Two kept nests, the second's buffer sized by a name bound between
    the loops."""
    d = x.shape[0]
    k = L.shape[0]
    q = np.empty(d)
    total = 0.0
    for ik in range(k):
        for j in range(d):
            q[j] = x[j] * L[ik, j]
        for i in range(d):
            for j in range(i + 1, d):
                q[j] = q[j] + L[ik, i] * x[i] * x[j]
        for j in range(d):
            total += math.tanh(q[j])
    m = M.shape[0]
    r = np.empty(d)
    for im in range(m):
        for j in range(d):
            r[j] = x[j] + M[im, j]
        for i in range(d):
            for j in range(i):
                r[j] = r[j] * 0.5 + M[im, i] * x[j]
        for j in range(d):
            total += r[j] * r[j] * M[im, j]
    return total


def with_calls(x, w):
    """Near miss: the nest calls `sin`, whose input its reverse sweep reads
    from the tape (not regenerated): it is recomputed, tape and all."""
    n = x.shape[0]
    p = np.empty(n)
    total = 0.0
    for b in range(w.shape[0]):
        for i in range(n):
            p[i] = x[i] * w[b]
        for i in range(n):
            for j in range(i):
                p[i] = p[i] + math.sin(x[j] * p[i])
        for i in range(n):
            total += p[i] * p[i]
    return total


def carried(x, w):
    """Near miss: the loop around the candidate carries `c` from one
    iteration to the next, so it is recorded, not recomputed: its forward
    sweep runs the candidate three times before the reverse sweep reads
    the first of them."""
    n = x.shape[0]
    m = w.shape[0]
    p = np.empty(n)
    c = 1.0
    for step in range(3):
        total = 0.0
        for b in range(m):
            for i in range(n):
                p[i] = x[i] * w[b] * c
            for i in range(n):
                for j in range(i):
                    p[i] = p[i] + x[j] * x[i] * w[b]
            for i in range(n):
                total += p[i] * p[i]
        c = c * 0.5 + 0.1 * total
    return c


def _vector(rng, n):
    return rng.uniform(-1.0, 1.0, size=n)


PROGRAMS = {
    "mixture": (mixture, lambda rng: (rng.normal(size=(3, 4)), rng.uniform(size=(3, 4)),
                                      0.5 * rng.normal(size=(3, 4 + 2 + 6)),
                                      rng.normal(size=3)), (0, 1, 2, 3)),
    "offset_start": (offset_start, lambda rng: (rng.normal(size=(3, 4)),
                                                rng.uniform(size=(3, 4)),
                                                0.5 * rng.normal(size=(3, 4 + 2 + 6)),
                                                rng.normal(size=3)), (0, 1, 2, 3)),
    "top_level": (top_level, lambda rng: (_vector(rng, 4), rng.uniform(-1, 1, (3, 4))),
                  (0, 1)),
    "two_deep": (two_deep, lambda rng: (_vector(rng, 4), _vector(rng, 3)), (0, 1)),
    "two_loops": (two_loops, lambda rng: (_vector(rng, 4), rng.uniform(-1, 1, (3, 4)),
                                          rng.uniform(-1, 1, (2, 4))), (0, 1, 2)),
    "with_calls": (with_calls, lambda rng: (_vector(rng, 4), _vector(rng, 3)), (0, 1)),
    "carried": (carried, lambda rng: (_vector(rng, 4), _vector(rng, 3)), (0, 1)),
}
COMPILED = ("mixture", "top_level", "two_loops")
TAKEN = ("mixture", "offset_start", "top_level", "two_deep", "two_loops")


def _arguments(name):
    function, make, wrt = PROGRAMS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    return function, make(rng), wrt, rng


def _directions(args, wrt, rng):
    return [rng.standard_normal(np.shape(args[p])) for p in wrt]


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_gradient_matches_finite_differences_and_forward_mode(name, target):
    if target == "cpu" and name not in COMPILED:
        pytest.skip("compiled on a representative slice (CI budget)")
    check_named_program(PROGRAMS, name, target)


def _source(name):
    function, args, wrt, _ = _arguments(name)
    return adjit.source(jit.grad(function, wrt=wrt, target="python"), *args)


@pytest.mark.parametrize("name", TAKEN)
def test_the_nest_is_kept_not_recomputed(name):
    source = _source(name)
    assert "_snap_" in source
    reverse_sweep = source.index("# reverse sweep")
    # copied in going forward, back going backward: one copy each way
    assert source[:reverse_sweep].count("= np.empty((") >= 1
    assert "] = _snap_" in source


def test_the_int_the_nest_steps_is_kept_with_it():
    source = _source("offset_start")
    assert "_snap_index[ik] = index" in source
    assert "index = _snap_index[ik]" in source
    # the nest runs once per component going forward; going back, only its
    # adjoint (which steps `index` down from the value copied back)
    assert source.count("index = index + 1") == 1
    assert source.count("index = index - 1") == 1


def test_an_int_the_reverse_sweep_restarts_is_not_kept():
    source = _source("mixture")
    # the adjoint of the nest walks up from `index = d + ik` (`counting`):
    # the snapshot of `index`, and its comment, are gone
    assert "_snap_index" not in source
    assert "# q after lines" in source
    assert source.count("index = index + 1") == 2
    assert source.count("index = index - 1") == 0


def test_two_kept_nests_each_allocate_after_their_sizes():
    source = _source("two_loops")
    assert "_snap_q = np.empty((k, d))" in source and "_snap_r = np.empty((m, d))" in source
    assert source.index("m = M.shape[0]") < source.index("_snap_r = np.empty((m, d))")


@pytest.mark.parametrize("name", ["with_calls", "carried"])
def test_near_misses_keep_their_recomputation(name):
    assert "_snap_" not in _source(name)


def test_second_order_through_the_snapshot():
    """`jit.hvp` differentiates the gradient source, buffers and all."""
    function, args, wrt, rng = _arguments("mixture")
    check_hvp_against_gradient_differences(function, args, 1,
                                           rng.standard_normal(args[1].shape))
