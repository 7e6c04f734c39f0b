"""Functions with `numba.prange` loops for tests/test_parallel.py: ones adjit
differentiates in parallel, and ones it must refuse."""

import math
import types

import numba
import numpy as np
from numba import prange

from adjit.demo import kernel_norm_parallel  # noqa: F401  (the tests' main case)


def own_elements(x, w):
    """Each iteration writes its own element; a serial loop reads them all."""
    n = x.shape[0]
    y = np.empty(n)
    for i in prange(n):
        y[i] = math.sin(x[i]) * w + x[i] ** 2
    total = 0.0
    for i in range(n):
        total += y[i] * y[i]
    return total


def stencil_energy(x, c):
    """Neighbours read, not written: the adjoint scatters to x[i - 1], x[i + 1]."""
    n = x.shape[0]
    total = 0.0
    for i in numba.prange(1, n - 1):
        total += c * (x[i - 1] - 2.0 * x[i] + x[i + 1]) ** 2 + math.tanh(x[i])
    return total


def pairwise_with_branches(x, cutoff):
    """A parallel loop whose inner loop branches, with a while loop that
    needs no tape (its iterations only halve)."""
    n = x.shape[0]
    total = 0.0
    for i in prange(n):
        v = x[i]
        while v > 1.0:
            v = v * 0.5
        for j in range(n):
            r = abs(x[i] - x[j])
            if r < cutoff:
                total += v * (cutoff - r) ** 2
            else:
                total -= 0.1 * r * x[j]
    return total


def rows_of_a_matrix(a, x):
    """A 2-D argument, one row per iteration, a scalar reduction."""
    total = 0.0
    for i in prange(a.shape[0]):
        row = 0.0
        for j in range(a.shape[1]):
            row += a[i, j] * x[j]
        total += math.log(1.0 + row * row)
    return total


def own_rows_of_a_local_matrix(a):
    """Iterations write their own row of a 2-D array; a serial loop reads it."""
    n = a.shape[0]
    out = np.zeros((n, 3))
    for i in prange(n):
        for k in range(3):
            out[i, k] = a[i] * a[i] * (k + 1)
    s = 0.0
    for i in range(n):
        for k in range(3):
            s += out[i, k] * out[i, k]
    return s


def subtracting_reduction(x):
    s = 10.0
    for i in prange(x.shape[0]):
        s -= x[i] * x[i]
    return s * s


CASES = [own_elements, stencil_energy, pairwise_with_branches, rows_of_a_matrix,
         own_rows_of_a_local_matrix, subtracting_reduction]

ARGUMENTS = {
    "own_elements": lambda: (np.linspace(-1.0, 1.3, 9), 0.7),
    "stencil_energy": lambda: (np.linspace(-0.4, 1.5, 11) ** 2, 0.3),
    "pairwise_with_branches": lambda: (np.linspace(0.1, 2.9, 8) * np.array([1, -1] * 4), 1.1),
    "rows_of_a_matrix": lambda: (np.arange(12.0).reshape(4, 3) / 7 - 0.5,
                                 np.array([0.3, -1.2, 0.8])),
    "own_rows_of_a_local_matrix": lambda: (np.linspace(0.1, 1.2, 6),),
    "subtracting_reduction": lambda: (np.linspace(0.1, 1.2, 6),),
}


# ---- refused ----

def carried_product(x):
    s = 1.0
    for i in prange(x.shape[0]):
        s = s * x[i]
    return s


def neighbour_write(x):
    n = x.shape[0]
    y = np.zeros(n)
    for i in prange(n - 1):
        y[i + 1] = x[i]
    return np.sum(y)


def read_after_loop(x):
    t = 0.0
    for i in prange(x.shape[0]):
        t = x[i] * 2.0
    return t


def nested_prange(x):
    total = 0.0
    for i in prange(x.shape[0]):
        for j in prange(x.shape[0]):
            total += x[i] * x[j]
    return total


def prange_with_step(x):
    total = 0.0
    for i in prange(0, x.shape[0], 2):
        total += x[i]
    return total


def recorded_inner_loop(x):
    total = 0.0
    for i in prange(x.shape[0]):
        v = x[i]
        while v > 0.5:
            v = v * v * 0.6
        total += v
    return total



def scratch_array_in_the_body(x):
    total = 0.0
    for i in prange(x.shape[0]):
        t = np.zeros(3)
        for k in range(3):
            t[k] = x[i] * (k + 1)
        for k in range(3):
            total += t[k] ** 2
    return total


not_numba = types.SimpleNamespace(prange=range)


def fake_prange_loop(x):
    total = 0.0
    for i in not_numba.prange(x.shape[0]):
        total += x[i]
    return total


def wrapped_start(x, s):
    """The index starts below 0: x[-2] is x[n - 2], read by two iterations
    whose terms differ (`i` as a number), so `_b_x[i]` is shared."""
    n = x.shape[0]
    total = 0.0
    for i in numba.prange(-2, n):
        total += math.sin(x[i] * s) * (i + 3.0)
    return total
