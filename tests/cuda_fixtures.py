"""Functions for tests/test_cuda.py (read by adjit from this file): of scalars,
then with an outer prange loop."""

import math

import numba
import numpy as np


def pair_energy(r, epsilon, sigma):
    """A Lennard-Jones-like pair potential with a soft cutoff."""
    s = sigma / r
    s6 = s ** 6
    energy = 4.0 * epsilon * (s6 * s6 - s6)
    return energy * math.exp(-0.1 * r * r)


def sample_loss(prediction, target, width):
    """A per-sample loss with a branch (Huber-like, then a log-cosh tail)."""
    residual = (prediction - target) / width
    if abs(residual) < 1.0:
        return 0.5 * residual * residual
    return math.log(math.cosh(residual)) + math.sqrt(width) * 0.1


def damped_orbit(x, steps):
    """A recurrence: the reverse sweep would need a tape of `a`."""
    a = x
    for i in range(steps):
        a = math.sin(a) * 1.1 + 0.01 * i
    return a


def of_array(x):
    return x[0] * 2.0


# ---- functions with an outer prange loop (kernels, one thread per iteration) ----------
# (adjit.demo.kernel_norm_parallel is the main one)

def wave_sum(x, n):
    """No arrays: a sum reduction over prange(1, n) of a scalar's function."""
    total = 0.0
    for i in numba.prange(1, n):
        total += math.sin(i * x) / i
    return total


def weighted_rows(a, w, c):
    """Each iteration reads its own row of `a` and all of `w`: the adjoint of
    `a` is written at own elements only, the adjoint of `w` is shared."""
    n = a.shape[0]
    total = 0.0
    for i in numba.prange(n):
        row = 0.0
        for k in range(a.shape[1]):
            row += a[i, k] * w[k]
        total += math.tanh(c * row)
    return total * total


def no_prange(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] * x[i]
    return total


def loop_after_prange(x, w):
    total = 0.0
    for i in numba.prange(x.shape[0]):
        total += x[i] * x[i]
    for k in range(w.shape[0]):
        total += w[k]
    return total


def array_in_prange(x):
    total = 0.0
    for i in numba.prange(x.shape[0]):
        pair = np.zeros(2)
        pair[0] = x[i]
        total += pair[0] * pair[0]
    return total


def tape_in_prange(x, steps):
    total = 0.0
    for i in numba.prange(x.shape[0]):
        a = x[i]
        for k in range(steps):
            a = math.sin(a) * 1.5
        total += a
    return total


def prange_in_a_loop(x):
    total = 0.0
    for t in range(2):
        for i in numba.prange(x.shape[0]):
            total += x[i] * t
    return total


def nested_sum(x, n, m):
    """A scalar adjoint summed in an inner loop: on the cpu, the reverse
    sweep sums it in per-index lanes (an array); device code must not."""
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += math.sin(x * j) * i
    return s


def row_stencil(u, c):
    """Increments at two offsets of an own row, inside a prange body."""
    total = 0.0
    for i in numba.prange(u.shape[0]):
        for k in range(1, u.shape[1] - 1):
            total += c * (u[i, k + 1] - u[i, k - 1]) ** 2
    return total


def returns_its_argument(x):
    """An array output (a vjp would take an array cotangent)."""
    total = 0.0
    for i in numba.prange(x.shape[0]):
        total += x[i]
    return x


def row_length(x):
    return len(x) * 2.0


# ---- functions without a prange on rows (one GPU thread per row of 2-D arguments) -----

def row_loss(x, w, c):
    """A quadratic-plus-tanh of a 3-vector row `x` with a shared weight
    vector `w` and a per-row scale `c`."""
    total = 0.0
    for k in range(x.shape[0]):
        total += w[k] * x[k] * x[k]
    return total + math.tanh(c * (x[0] - 2.0 * x[1] + x[2]))


def row_with_local_array(x):
    pair = np.zeros(2)
    pair[0] = x[0]
    return pair[0] * x[1]


def row_with_numpy(x):
    return np.sum(x) * x[0]


def row_writes_its_row(x):
    x[0] = 1.0
    return x[0] * x[1]


def row_with_tape(x):
    a = x[0]
    for k in range(x.shape[0]):
        a = math.sin(a) * x[k]
    return a


def row_shared_weights(x, w):
    """Reads each shared weight twice per iteration and w[0] once more: every
    thread makes several increments of each element of the shared adjoint."""
    total = w[0] * x[0]
    for k in range(x.shape[0]):
        total += math.sin(w[k] * x[k]) * w[k]
    return total


def row_writes_shared(x, w):
    w[0] = x[0]
    return w[0] * x[1]


def row_pair(x):
    return x[0] * x[1], x[0] + x[1]


# ---- tapes in local memory: loops of literal trip counts (docs/parallel.md#gpus) ------

def sine_map(x, b):
    """A recurrence of 5 steps: the reverse sweep pops the 5 values of `a`."""
    a = x
    for k in range(5):
        a = math.sin(a) * b
    return a


def nested_map(x, b):
    """Nested literal loops: 3 * (4 + 1) values of `a` recorded."""
    a = x
    for k in range(3):
        for j in range(4):
            a = math.sin(a) * b + 0.1 * j
        a = a * a * 0.5
    return a


def branching_map(x, b):
    """Branches (their conditions go on an int tape) and a `break`."""
    a = x
    for k in range(6):
        if a > 0.5:
            a = math.sin(a) * b
        else:
            a = a * a + b
        if a > 2.5:
            break
    return a


def overwrites(x, b):
    """Straight-line overwrites of one name, no loop."""
    a = x
    a = math.sin(a) * b
    a = math.sin(a) * a
    a = math.cos(a) + x
    return a


def outer_sum(x, n):
    """An outer loop of `n` iterations recomputed in the reverse sweep, each
    recording its own 3 steps and popping them before the next."""
    total = 0.0
    for i in range(n):
        y = x + 0.1 * i
        for k in range(3):
            y = math.sin(y) * 1.5
        total += y
    return total


def newton_roots(x, c):
    """Per element a 6-step Newton iteration for sqrt(x[i] * c)."""
    total = 0.0
    for i in numba.prange(x.shape[0]):
        y = 1.0 + x[i]
        for k in range(6):
            y = y - (y * y - x[i] * c) / (2.0 * y)
        total += math.sin(y)
    return total


def relaxed_rows(a, c):
    """A literal-count recurrence inside a loop of runtime length, in a
    prange body: one tape per thread, reused by each element of the row."""
    total = 0.0
    for i in numba.prange(a.shape[0]):
        for j in range(a.shape[1]):
            y = a[i, j]
            for k in range(4):
                y = math.tanh(y * c) + 0.5 * y
            total += y * y
    return total


def row_recurrence(x, c):
    """Per row of `x` (at least 3 long), a recurrence over its first 3 elements."""
    a = c
    for k in range(3):
        a = math.sin(a) * x[k] + a
    return a


def too_long(x):
    """3000 recorded steps: more than a GPU thread's tape holds."""
    a = x
    for k in range(3000):
        a = math.sin(a) * 0.9
    return a


def halving(x):
    """A `while` loop recording each step: no bound known in advance."""
    a = x
    while a > 0.1:
        a = math.sin(a) * 0.5
    return a


def host_overwrite(x, s):
    """An overwrite on the host (outside the prange loop), which keeps no tape."""
    t = s
    t = math.sin(t) * t
    total = 0.0
    for i in numba.prange(x.shape[0]):
        total += x[i] * t
    return total


def newton_roots_serial(x, c):
    """newton_roots with `range`: its cpu gradient is the reference."""
    total = 0.0
    for i in range(x.shape[0]):
        y = 1.0 + x[i]
        for k in range(6):
            y = y - (y * y - x[i] * c) / (2.0 * y)
        total += math.sin(y)
    return total


def relaxed_rows_serial(a, c):
    """relaxed_rows with `range`."""
    total = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            y = a[i, j]
            for k in range(4):
                y = math.tanh(y * c) + 0.5 * y
            total += y * y
    return total


def gated_sum(x, n):
    """A recorded branch in a literal loop, in a loop of `n` iterations that
    the reverse sweep recomputes (each pops what it pushes)."""
    total = 0.0
    for i in range(n):
        y = x + 0.1 * i
        for k in range(3):
            if y > 0.0:
                y = math.sin(y) * 1.5
        total += y
    return total


def located(statement: str) -> str:
    """`cuda_fixtures.py:LINE:4`, where LINE holds the first statement of a
    fixture's body spelled `statement` (errors are located there)."""
    from pathlib import Path
    lines = [line.strip() for line in Path(__file__).read_text().splitlines()]
    return f"cuda_fixtures.py:{lines.index(statement) + 1}:4"
