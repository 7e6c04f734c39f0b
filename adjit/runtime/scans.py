"""Running sums, running products and differences along one axis, with
their derivatives: `np.cumsum`, `np.cumprod` and `np.diff` as generated
code calls them (`rt.NAME`, re-exported by `helpers`). Numba compiles
np.cumsum and np.cumprod only of a whole array, flattened, and np.diff
only along the last axis; these take any axis of an array of any rank.

Each reads `x` through the fibres of `axes` (a C-ordered
`(before, along, after)` view) and is written as explicit loops, the same
code for `target="python"` and `target="cpu"`:

* `cumsum_along(x, k, backwards)`: running sums along `k`, from the end
  when `backwards` (the suffix sums: the transpose of the running sums);
* `cumprod_along(x, k)`: running products; `cumprod_jvp(x, v, k)` and
  `cumprod_vjp(x, g, k)` its derivative along `v` and its transpose
  applied to `g`; `cumprod_second(x, v, u, k)` and
  `cumprod_second_vjp(x, g, u, k)` the derivatives of those two along `u`
  (for second derivatives); all exact where elements are zero (prefix
  products and recurrences, no division);
* `diff_along(x, k)`: `x[i + 1] - x[i]` along `k` (one element fewer);
  `diff_transpose(g, k)` its transpose (one element more).
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple

from adjit.runtime.axes import fibres, normalized_axis


@register_jitable
def cumsum_along(x, axis, backwards):
    """np.cumsum(x, axis); with `backwards`, the sums from each element to
    the end of its fibre."""
    cube = fibres(x, axis)
    out = np.empty(cube.shape, x.dtype)
    length = cube.shape[1]
    for a in range(cube.shape[0]):
        for c in range(cube.shape[2]):
            running = 0.0
            for step in range(length):
                i = length - 1 - step if backwards else step
                running += cube[a, i, c]
                out[a, i, c] = running
    return out.reshape(x.shape)


@register_jitable
def cumprod_along(x, axis):
    """np.cumprod(x, axis)."""
    cube = fibres(x, axis)
    out = np.empty(cube.shape, x.dtype)
    for a in range(cube.shape[0]):
        for c in range(cube.shape[2]):
            running = 1.0
            for i in range(cube.shape[1]):
                running *= cube[a, i, c]
                out[a, i, c] = running
    return out.reshape(x.shape)


@register_jitable
def cumprod_jvp(x, v, axis):
    """The derivative of np.cumprod(x, axis) along `v`: per fibre,
    dy[i] = x[i] dy[i - 1] + (x[0] ... x[i - 1]) v[i]."""
    cube = fibres(x, axis)
    tangent = fibres(v, axis)
    out = np.empty(cube.shape, x.dtype)
    for a in range(cube.shape[0]):
        for c in range(cube.shape[2]):
            before, derivative = 1.0, 0.0          # the product before i, dy[i - 1]
            for i in range(cube.shape[1]):
                derivative = cube[a, i, c] * derivative + before * tangent[a, i, c]
                before *= cube[a, i, c]
                out[a, i, c] = derivative
    return out.reshape(x.shape)


@register_jitable
def cumprod_vjp(x, g, axis):
    """The adjoint of x for np.cumprod(x, axis) with result adjoint `g`:
    per fibre, (x[0] ... x[j - 1]) s[j] with s[j] = g[j] + x[j + 1] s[j + 1]
    (the sum over i >= j of g[i] times the product of x[j + 1] ... x[i])."""
    cube = fibres(x, axis)
    adjoint = fibres(g, axis)
    out = np.empty(cube.shape, x.dtype)
    length = cube.shape[1]
    for a in range(cube.shape[0]):
        for c in range(cube.shape[2]):
            suffix, after = 0.0, 1.0               # s[j + 1], x[j + 1]
            for j in range(length - 1, -1, -1):
                suffix = adjoint[a, j, c] + after * suffix
                after = cube[a, j, c]
                out[a, j, c] = suffix
            before = 1.0
            for j in range(length):
                out[a, j, c] *= before
                before *= cube[a, j, c]
    return out.reshape(x.shape)


@register_jitable
def cumprod_second(x, v, u, axis):
    """The second derivative of np.cumprod(x, axis) along `v` and `u`: the
    derivative of `cumprod_jvp(x, v, axis)` along `u` (symmetric in `v` and
    `u`). Per fibre, with y, t, s the running product and its derivatives
    along v and u: r[i] = x[i] r[i - 1] + u[i] t[i - 1] + v[i] s[i - 1]."""
    cube = fibres(x, axis)
    first = fibres(v, axis)
    second = fibres(u, axis)
    out = np.empty(cube.shape, x.dtype)
    for a in range(cube.shape[0]):
        for c in range(cube.shape[2]):
            product, along_v, along_u, both = 1.0, 0.0, 0.0, 0.0
            for i in range(cube.shape[1]):
                element = cube[a, i, c]
                both = element * both + second[a, i, c] * along_v \
                    + first[a, i, c] * along_u
                along_v = element * along_v + first[a, i, c] * product
                along_u = element * along_u + second[a, i, c] * product
                product *= element
                out[a, i, c] = both
    return out.reshape(x.shape)


@register_jitable
def cumprod_second_vjp(x, g, u, axis):
    """The derivative of `cumprod_vjp(x, g, axis)` along `u` (x moving, g
    fixed): the second derivative of np.cumprod contracted with `g` and `u`.
    Per fibre, with p[j] = x[0] ... x[j - 1] and s[j] = g[j] + x[j + 1]
    s[j + 1] as in `cumprod_vjp`: dp[j] s[j] + p[j] ds[j], where d is the
    derivative along u."""
    cube = fibres(x, axis)
    adjoint = fibres(g, axis)
    tangent = fibres(u, axis)
    length = cube.shape[1]
    out = np.empty(cube.shape, x.dtype)
    suffix = np.empty(length)
    d_suffix = np.empty(length)
    for a in range(cube.shape[0]):
        for c in range(cube.shape[2]):
            running, d_running, after, d_after = 0.0, 0.0, 1.0, 0.0
            for j in range(length - 1, -1, -1):     # s[j] and its derivative along u
                d_running = after * d_running + d_after * running
                running = adjoint[a, j, c] + after * running
                suffix[j], d_suffix[j] = running, d_running
                after, d_after = cube[a, j, c], tangent[a, j, c]
            before, d_before = 1.0, 0.0             # p[j] and its derivative along u
            for j in range(length):
                out[a, j, c] = d_before * suffix[j] + before * d_suffix[j]
                d_before = cube[a, j, c] * d_before + tangent[a, j, c] * before
                before *= cube[a, j, c]
    return out.reshape(x.shape)


def resized(x, axis, length):
    """`x.shape` with the length of `axis` replaced by `length`."""
    shape = list(x.shape)
    shape[normalized_axis(axis, x.ndim)] = length
    return tuple(shape)


@overload(resized)
def _resized_numba(x, axis, length):
    if not isinstance(x, types.Array):
        return None
    rank = x.ndim

    def impl(x, axis, length):
        shape = np.empty(rank, np.int64)
        for k in range(rank):
            shape[k] = x.shape[k]
        shape[normalized_axis(axis, rank)] = length
        return to_fixed_tuple(shape, rank)
    return impl


@register_jitable
def diff_along(x, axis):
    """np.diff(x, axis=axis): x[i + 1] - x[i] along `axis`."""
    cube = fibres(x, axis)
    length = max(cube.shape[1] - 1, 0)
    out = np.empty((cube.shape[0], length, cube.shape[2]), x.dtype)
    for a in range(cube.shape[0]):
        for i in range(length):
            for c in range(cube.shape[2]):
                out[a, i, c] = cube[a, i + 1, c] - cube[a, i, c]
    return out.reshape(resized(x, axis, length))


@register_jitable
def diff_transpose(g, axis):
    """The transpose of `diff_along` applied to `g`: one element more along
    `axis`, b[i] = g[i - 1] - g[i] (the missing terms zero)."""
    cube = fibres(g, axis)
    length = cube.shape[1]
    out = np.zeros((cube.shape[0], length + 1, cube.shape[2]), g.dtype)
    for a in range(cube.shape[0]):
        for i in range(length):
            for c in range(cube.shape[2]):
                out[a, i + 1, c] += cube[a, i, c]
                out[a, i, c] -= cube[a, i, c]
    return out.reshape(resized(g, axis, length + 1))
