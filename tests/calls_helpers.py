"""Helpers in another module, called by tests/test_calls.py: a callee is
read where it was defined (its own globals), not where it is called."""

import math

import numba
import numpy as np

STIFFNESS = 3.0          # a global of this module, read by `spring`


def spring(x, rest):
    return 0.5 * STIFFNESS * (x - rest) ** 2


@numba.njit
def softplus(x):
    if x > 20.0:
        return x
    return math.log1p(math.exp(x))


def weighted_norm(v, w):
    total = 0.0
    for i in range(v.shape[0]):
        total += w[i] * v[i] * v[i]
    return math.sqrt(total)


def scale_in_place(v, factor):
    for i in range(v.shape[0]):
        v[i] = v[i] * factor
    return np.sum(v)
