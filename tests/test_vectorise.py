"""The reverse-sweep loop rewrites that let LLVM vectorise: shifted increments
split out of stencil adjoints (`passes/optimize/scatter.py`), scalar adjoints summed
per index (`passes/optimize/lanes.py`), adjoint elements summed in a local over an
inner loop (`passes/optimize/accumulate.py`), one tape reservation for a loop nest
(`passes/reverse/reserve.py`), and an accumulated element's adjoint left as it is
rather than reset and restored (`optimize`).

Each program is checked against central finite differences along a random
direction and against forward mode, on target="python" for all and on
target="cpu" for a slice; the generated source is checked to hold (or, for
the near misses, not to hold) the rewrite, so that a test cannot pass with
the rewrite silently gone.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.runtime import checkpoints
from bench.workloads.heat import heat


# ---- programs -------------------------------------------------------------------

def five_point(u0, c, steps):
    """Offsets -2..2, asymmetric weights, a parameter in every point."""
    n = u0.shape[0]
    u = np.copy(u0)
    v = np.zeros(n)
    for step in range(steps):
        for i in range(2, n - 2):
            v[i] = u[i] + c * (0.3 * u[i - 2] - 0.1 * u[i - 1] + 0.5 * u[i + 1]
                               - 0.2 * u[i + 2] - 0.5 * u[i] * u[i])
        for i in range(2, n - 2):
            u[i] = math.tanh(v[i])
    total = 0.0
    for i in range(n):
        total += u[i] * u[i] * (1.0 + 0.01 * i)
    return total


def no_centre(u0, a):
    """Only offsets -1 and +1: the first of them is kept in the loop."""
    n = u0.shape[0]
    v = np.zeros(n)
    for i in range(1, n - 1):
        v[i] = u0[i - 1] * u0[i + 1] * a
    total = 0.0
    for i in range(n):
        total += math.sin(v[i])
    return total


def grid_stencil(u0, k):
    """A 2-D five-point stencil: row offsets are computed inside the inner
    loop, so only the column offsets split."""
    rows = u0.shape[0]
    columns = u0.shape[1]
    out = np.zeros((rows, columns))
    for i in range(1, rows - 1):
        for j in range(1, columns - 1):
            out[i, j] = k * (u0[i - 1, j] + u0[i + 1, j] + u0[i, j - 1] + u0[i, j + 1]
                             - 4.0 * u0[i, j]) + u0[i, j] ** 3
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            total += out[i, j] * out[i, j]
    return total


def weighted_rows(x, w, b):
    """`w` and `b` are used at every (row, column): their adjoints are summed
    over an inner loop, inside the row loop."""
    rows = x.shape[0]
    columns = x.shape[1]
    total = 0.0
    for r in range(rows):
        for c in range(columns):
            total += math.tanh(w * x[r, c] + b) * (c + 1)
    return total


def offset_range(x, p, start):
    """An inner loop starting at a run-time index: lanes counted from it."""
    n = x.shape[0]
    total = 0.0
    for r in range(3):
        for i in range(start, n):
            total += math.exp(-p * x[i] * (r + 1))
    return total


def downward_inner(x, p):
    """An inner loop written downwards to index 2: its reversal runs upwards
    from 2, never below 0, so its lanes are indexed by `i` itself."""
    n = x.shape[0]
    total = 0.0
    for r in range(3):
        for i in range(n - 1, 1, -1):
            total += math.exp(-p * x[i] * (r + 1))
    return total


def read_in_outer(x, p):
    """The scalar adjoint of `p` is read between inner loops through `q`: no
    lanes across the outer loop."""
    total = 0.0
    q = p
    for r in range(4):
        for i in range(x.shape[0]):
            total += math.sin(q * x[i])
        q = q * 1.1 + total * 0.01
    return total


def recurrence(x, a):
    """The adjoint array is read in the reversed loop: never split."""
    n = x.shape[0]
    u = np.zeros(n)
    u[0] = x[0]
    for i in range(1, n):
        u[i] = a * u[i - 1] + math.sin(x[i])
    total = 0.0
    for i in range(n):
        total += u[i]
    return total


def triangular_nest(x, s):
    """A recorded nest whose inner bound depends on the outer index: the
    tape keeps its per-loop checks."""
    n = x.shape[0]
    total = 0.0
    for i in range(n):
        acc = s
        for j in range(i + 1):
            acc = acc * 0.9 + math.sin(acc) * x[j]
        total += acc
    return total


def branchy_nest(x, s, steps):
    """A recorded nest with pushes in both branches of an `if`: one
    reservation before the outer loop bounds both."""
    n = x.shape[0]
    u = np.copy(x)
    for step in range(steps):
        for i in range(n):
            if u[i] > 0.0:
                u[i] = math.sin(u[i]) * s
            else:
                u[i] = u[i] * u[i] * s + 0.1
    total = 0.0
    for i in range(n):
        total += u[i]
    return total


def matvec(A, x):
    """`y[i] = y[i] + ...` in the inner loop: `_b_y[i]` is only read there."""
    n = A.shape[0]
    m = A.shape[1]
    y = np.zeros(n)
    for i in range(n):
        for j in range(m):
            y[i] = y[i] + A[i, j] * x[j]
    total = 0.0
    for i in range(n):
        total += math.tanh(y[i])
    return total


def triangle(x, L, w):
    """GMM's triangle: `xc[i]` is read at every trip of an inner loop whose
    length goes to zero, so its adjoint is summed in a local there."""
    d = x.shape[0]
    xc = np.empty(d)
    q = np.empty(d)
    for i in range(d):
        xc[i] = x[i] - w
    for j in range(d):
        q[j] = math.exp(0.1 * xc[j]) * xc[j]
    index = d
    for i in range(d):
        for j in range(i + 1, d):
            q[j] = q[j] + L[index] * xc[i]
            index += 1
    total = 0.0
    for j in range(d):
        total += q[j] * q[j]
    return total


def ragged(x, w):
    """The outer index runs past `x`, where the inner loop makes no trip: the
    summed element must not be added then (it does not exist)."""
    n = x.shape[0]
    total = 0.0
    for i in range(n + 3):
        for j in range(n - i):
            total += math.sin(w[j] * x[i])
    return total


def _vector(rng, n, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=n)


PROGRAMS = {
    "heat": (heat, lambda rng: (_vector(rng, 12), 0.2, 5), (0, 1)),
    "five_point": (five_point, lambda rng: (_vector(rng, 14, -0.8, 0.8), 0.3, 3), (0, 1)),
    "no_centre": (no_centre, lambda rng: (_vector(rng, 9), 0.7), (0, 1)),
    "grid_stencil": (grid_stencil, lambda rng: (rng.uniform(-1, 1, (5, 6)), 0.2), (0, 1)),
    "weighted_rows": (weighted_rows, lambda rng: (rng.uniform(-1, 1, (4, 5)), 0.7, -0.2),
                      (0, 1, 2)),
    "offset_range": (offset_range, lambda rng: (_vector(rng, 8, 0.1, 1.0), 0.4, 3), (0, 1)),
    "downward_inner": (downward_inner, lambda rng: (_vector(rng, 8, 0.1, 1.0), 0.4), (0, 1)),
    "read_in_outer": (read_in_outer, lambda rng: (_vector(rng, 6), 0.6), (0, 1)),
    "recurrence": (recurrence, lambda rng: (_vector(rng, 7), 0.8), (0, 1)),
    "triangular_nest": (triangular_nest, lambda rng: (_vector(rng, 5), 0.3), (0, 1)),
    "branchy_nest": (branchy_nest, lambda rng: (_vector(rng, 6), 0.9, 4), (0, 1)),
    "matvec": (matvec, lambda rng: (rng.uniform(-1, 1, (3, 4)), _vector(rng, 4)), (0, 1)),
    "triangle": (triangle, lambda rng: (_vector(rng, 5), _vector(rng, 15), 0.3), (0, 1, 2)),
    "ragged": (ragged, lambda rng: (_vector(rng, 5), _vector(rng, 5)), (0, 1)),
}
COMPILED = ("heat", "five_point", "weighted_rows", "branchy_nest", "matvec", "triangle")


def _arguments(name):
    function, make, wrt = PROGRAMS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    return function, make(rng), wrt, rng


def _directional_difference(function, args, wrt, directions, step=1e-6):
    def at(t):
        moved = list(args)
        for position, direction in zip(wrt, directions):
            moved[position] = args[position] + t * direction
        return function(*[a.copy() if isinstance(a, np.ndarray) else a for a in moved])
    return (at(step) - at(-step)) / (2 * step)


def _inner(gradients, directions):
    return sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(gradients, directions))


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_gradient_matches_finite_differences_and_forward_mode(name, target):
    if target == "cpu" and name not in COMPILED:
        pytest.skip("compiled on a representative slice (CI budget)")
    check_named_program(PROGRAMS, name, target)


def check_named_program(programs: dict, name: str, target: str):
    """The program `programs[name]` (function, make(rng), wrt), made from a
    generator seeded by its name, checked along random directions by
    `check_gradient_along`; returns its arguments."""
    function, make, wrt = programs[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    args = make(rng)
    directions = [rng.standard_normal(np.shape(args[p])) if isinstance(args[p], np.ndarray)
                  else float(rng.standard_normal()) for p in wrt]
    check_gradient_along(function, args, wrt, directions, target)
    return args


def check_gradient_along(function, args, wrt, directions, target):
    """<grad, directions> against central differences; on target="python"
    also against forward mode."""
    gradients = jit.grad(function, wrt=wrt, target=target)(*args)
    numerical = _directional_difference(function, args, wrt, directions)
    analytical = _inner(gradients, directions)
    assert analytical == pytest.approx(numerical, rel=1e-6, abs=1e-8)
    if target == "python":
        tangents = tuple(directions)
        _, forward = jit.jvp(function, wrt=wrt, target="python")(*args, tangents)
        assert analytical == pytest.approx(forward, rel=1e-10, abs=1e-12)


# ---- the rewrites are really there (and not where they must not be) -------------

def _source(name):
    function, args, wrt, _ = _arguments(name)
    return adjit.source(jit.grad(function, wrt=wrt, target="python"), *args)


def _checkpointed_source(name, monkeypatch):
    """The source of the checkpointed form, which a call beyond the budget
    makes."""
    function, args, wrt, _ = _arguments(name)
    monkeypatch.setattr(checkpoints, "CHECKPOINT_BUDGET", 0)
    gradient = jit.grad(function, wrt=wrt, target="python")
    gradient(*args)
    assert "_states_" in gradient.source
    return gradient.source


def test_stencil_adjoint_splits_shifted_increments_and_sums_dt_in_lanes(monkeypatch):
    source = _source("heat")
    # both neighbours receive the same `_b_t7`: one scratch array, stored
    # once per point at the element of the first offset
    assert "_b_u_at_m1_p1 = np.empty_like(_b_u)" in source
    assert source.count("_b_u_at_m1_p1[_t10] = _b_t7") == 1
    assert "_b_u[i + 1] += _b_u_at_m1_p1[i - 1]" in source
    assert "_b_u[i - 1] += _b_u_at_m1_p1[i - 1]" in source
    assert "_b_dt_lanes[i] += " in source and "_b_dt += np.sum(_b_dt_lanes)" in source
    # the 200 states are reserved once, before the step loop recorded whole
    # (the first copy into `u`, which no needed load precedes, records
    # nothing)
    assert source.count("rt.grow") == 1
    step_loop = source.index("\n    for step in range(steps):")
    assert "rt.grow(_tape_f, _top_f + steps * (_t20 - 1))" in source[:step_loop]
    # beyond the checkpoint budget: once before the last segment runs
    # recorded, and once per segment before it runs again recording in the
    # reverse sweep
    source = _checkpointed_source("heat", monkeypatch)
    assert source.count("rt.grow") == 2
    reverse_sweep = source.index("# reverse sweep")
    assert "rt.grow(_tape_f, _top_f + (_last1 - _first1) * (_t20 - 1))" in \
        source[:reverse_sweep]
    rerun = source.index("\n            for step in range(_first1, _last1):", reverse_sweep)
    assert "rt.grow(_tape_f, _top_f + (_last1 - _first1) * (_t20 - 1))" in \
        source[reverse_sweep:rerun]


def test_five_point_stencil_splits_four_offsets():
    source = _source("five_point")
    for suffix in ("m2", "m1", "p1", "p2"):
        assert f"_b_u_at_{suffix}" in source
    assert "_b_c_lanes" in source


def test_without_a_centre_the_first_offset_stays():
    source = _source("no_centre")
    assert "_b_u0_at_p1" in source and "_b_u0_at_m1" not in source


def test_lanes_count_from_a_run_time_start():
    source = _source("offset_range")
    assert "_b_p_lanes = np.zeros(max(n - 1 - (start - 1), 0))" in source
    assert "_b_p_lanes[n - 1 - i] -= " in source


def test_lanes_of_an_upward_reversal_from_a_non_negative_start():
    source = _source("downward_inner")
    assert "_b_p_lanes[i] -= " in source


def test_near_misses_are_left_alone():
    assert "_lanes" not in _source("read_in_outer")
    assert "_at_" not in _source("recurrence")
    triangular = _source("triangular_nest")
    # the inner bound `i + 1` changes with `i`: the check stays in the loop
    reverse_loop = triangular.index("\n    for i in range(n - 1, -1, -1):")
    assert "rt.grow" not in triangular[:reverse_loop]
    assert "rt.grow(_tape_f, _top_f + 2 * _t1)" in triangular[reverse_loop:]


def check_hvp_against_gradient_differences(function, args, position, direction, step=1e-6):
    """`jit.hvp` (the gradient source differentiated again) against central
    differences of the gradient along `direction` in argument `position`."""
    hvp = jit.hvp(function, wrt=position, target="python")(*args, direction)
    gradient = jit.grad(function, wrt=position, target="python")

    def moved(t):
        shifted = list(args)
        shifted[position] = args[position] + t * direction
        return gradient(*shifted)
    np.testing.assert_allclose(hvp, (moved(step) - moved(-step)) / (2 * step),
                               rtol=1e-5, atol=1e-8)


def test_second_order_through_the_rewritten_loops():
    """`jit.hvp` differentiates the rewritten gradient source again."""
    function, args, wrt, rng = _arguments("heat")
    check_hvp_against_gradient_differences(function, args, 0,
                                           rng.standard_normal(args[0].shape))


def test_parameters_used_at_every_element_are_summed_in_lanes():
    source = _source("weighted_rows")
    assert "_b_w_lanes[c] += " in source and "_b_b_lanes[c] += " in source
    assert "_b_w += np.sum(_b_w_lanes)" in source


def test_a_nest_with_branches_reserves_once_for_both_tapes(monkeypatch):
    source = _source("branchy_nest")
    first_loop = source.index("\n    for step in range(steps):")
    assert source.count("rt.grow") == 2
    assert "rt.grow(_tape_f, _top_f + steps * (n * 7))" in source[:first_loop]
    assert "rt.grow(_tape_i, _top_i + steps * n)" in source[:first_loop]
    # beyond the checkpoint budget: before the last segment runs recorded,
    # and per segment before it runs again recording
    source = _checkpointed_source("branchy_nest", monkeypatch)
    assert source.count("rt.grow") == 4
    reverse_sweep = source.index("# reverse sweep")
    rerun = source.index("\n            for step in range(_first1, _last1):", reverse_sweep)
    assert "rt.grow(_tape_f, _top_f + (_last1 - _first1) * (n * 7))" in \
        source[reverse_sweep:rerun]
    assert "rt.grow(_tape_i, _top_i + (_last1 - _first1) * n)" in source[reverse_sweep:rerun]


def test_an_accumulated_element_keeps_its_adjoint_instead_of_reset_and_restore():
    source = _source("matvec")
    assert "_b_t1 = _b_y[i]" in source
    assert "_b_y[i] = 0.0" not in source and "_b_y[i] += _b_t1" not in source


def test_an_element_read_across_an_inner_loop_is_summed_in_a_local():
    source = _source("triangle")
    assert "_b_xc_i = 0.0" in source and "_b_xc_i += " in source
    # added once after the loop, only when the loop made a trip
    assert "if d - 1 > _t" in source and "_b_xc[i] += _b_xc_i" in source
    # `_b_L[index]` moves with `index`, which the loop rebinds: left alone
    assert "_b_L_index" not in source


def test_a_summed_element_is_not_added_after_a_loop_without_trips():
    source = _source("ragged")
    assert "_b_x_i = 0.0" in source
    # on target="python" an unguarded `_b_x[i] += ...` at i >= n raises
    function, args, wrt, _ = _arguments("ragged")
    gradient_x, _ = jit.grad(function, wrt=wrt, target="python")(*args)
    x, w = args
    expected = [sum(math.cos(w[j] * x[i]) * w[j] for j in range(len(x) - i))
                for i in range(len(x))]
    np.testing.assert_allclose(gradient_x, expected, rtol=1e-12)


def wrapped(x, s):
    """Indices below 0 wrap around: `x[i + 1]` is `x[n - 1]` at both i = -2
    and i = n - 2, whose contributions differ (`i` is used as a number)."""
    n = x.shape[0]
    total = 0.0
    for i in range(-2, n - 1):
        total += math.sin(x[i + 1] * s) * x[i] * (i + 3.0)
    return total


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_shifted_increments_stay_when_an_index_can_wrap_around(target):
    """Two iterations would store into one scratch element (the gradient was
    off by 2.5)."""
    x, s = np.linspace(0.1, 0.9, 6), 0.7
    gradient = jit.grad(wrapped, wrt=0, target=target)(x, s)
    step = 1e-6
    expected = [(wrapped(x + step * e, s) - wrapped(x - step * e, s)) / (2 * step)
                for e in np.eye(len(x))]
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-8)
    assert "_at_p1" not in adjit.source(jit.grad(wrapped, wrt=0, target="python"), x, s)


@pytest.mark.parametrize("code, expected", [
    # the reset and the restoring term go
    ("t = a[i]\na[i] = 0.0\nb += t * 2.0\na[i] += t",
     "t = a[i]\nb += t * 2.0"),
    ("t = a[i]\na[i] = 0.0\na[i] += u + t", "t = a[i]\na[i] += u"),
    # near misses: the element is read, the index moves, another element is written
    ("t = a[i]\na[i] = 0.0\nc = a[j]\na[i] += t", None),
    ("t = a[i]\na[i] = 0.0\ni = i + 1\na[i] += t", None),
    ("t = a[i]\na[j] = 1.0\na[i] = 0.0\na[i] += t", None),
    ("t = a[i]\na[i] = 0.0\na[i] += t * 2.0", None),
])
def test_reset_and_restore_of_one_element(code, expected):
    from adjit.passes.optimize.increments import keep_unchanged_elements
    statements = ast.parse(code).body
    keep_unchanged_elements(statements, {"a", "t", "b", "c", "u"}, set())
    assert ast.unparse(ast.Module(statements, [])) == (expected or code)
