"""Random draws as generated code makes them: `rt.draws.NAME`.

NumPy's `np.random` functions, one per shape of result (a float, a vector,
a matrix), so that the rank of each draw is known before the code runs.
With `target="python"` they draw from NumPy's global generator; compiled
by Numba (`target="cpu"`) from Numba's own, which `np.random.seed` inside
compiled code seeds: the two streams differ (docs/limitations.md#randomness).

`np.random.normal(loc, scale, size)` and `np.random.uniform(low, high,
size)` are written with these as `loc + scale * z` and `low + (high - low)
* u` (`adjit/rules/random.py`), which is how both generators compute them.
"""

import numpy as np
from numba.extending import register_jitable


@register_jitable
def seed(value):
    """np.random.seed(value); returns 0 (a statement made an assignment)."""
    np.random.seed(value)
    return 0


@register_jitable
def normal():
    return np.random.standard_normal()


@register_jitable
def normal_vector(n):
    return np.random.standard_normal(n)


@register_jitable
def normal_matrix(n, m):
    return np.random.standard_normal((n, m))


@register_jitable
def uniform():
    return np.random.random()


@register_jitable
def uniform_vector(n):
    return np.random.random(n)


@register_jitable
def uniform_matrix(n, m):
    return np.random.random((n, m))
