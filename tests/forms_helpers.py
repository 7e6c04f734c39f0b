"""Helpers of tests/test_python_forms.py that live in another module: an
error inside one must be reported at its own line."""

import numpy as np


def sums_in_a_loop(x, n):
    total = 0.0
    for i in range(n):
        y = np.cumsum(x) * x * i
        total += np.sum(y)
    return total


def changes_type(x):
    s = 0.0
    for i in range(3):
        s = s + x
    return np.sum(s)
