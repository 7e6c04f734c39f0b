"""Array helpers that generated code calls as `rt.NAME` (re-exported by
`helpers`): summing an adjoint back to a broadcast operand's shape, and the
other steps of array rules that NumPy, as Numba compiles it, lacks.

Each is a plain NumPy function for `target="python"`, with a Numba
implementation chosen by the ranks of its arguments for `target="cpu"`.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload, register_jitable


def unbroadcast(gradient, like):
    """`gradient`, the adjoint of a broadcast result, summed back to the
    shape of `like`, the operand that was broadcast."""
    gradient = np.asarray(gradient)
    shape = np.shape(like)
    while gradient.ndim > len(shape):
        gradient = gradient.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and gradient.shape[axis] != 1:
            gradient = gradient.sum(axis=axis, keepdims=True)
    return gradient


@register_jitable
def _index(i, size):
    return i if size > 1 else 0


@overload(unbroadcast)
def _unbroadcast_numba(gradient, like):
    if not (isinstance(gradient, types.Array) and isinstance(like, types.Array)):
        return None
    ranks = (gradient.ndim, like.ndim)
    if ranks == (1, 1):
        def impl(gradient, like):
            if gradient.shape[0] == like.shape[0]:
                return gradient.copy()
            out = np.zeros(like.shape, gradient.dtype)
            out[0] = np.sum(gradient)
            return out
    elif ranks == (2, 1):
        def impl(gradient, like):
            out = np.zeros(like.shape, gradient.dtype)
            for i in range(gradient.shape[0]):
                for j in range(gradient.shape[1]):
                    out[_index(j, like.shape[0])] += gradient[i, j]
            return out
    elif ranks == (2, 2):
        def impl(gradient, like):
            out = np.zeros(like.shape, gradient.dtype)
            for i in range(gradient.shape[0]):
                for j in range(gradient.shape[1]):
                    out[_index(i, like.shape[0]), _index(j, like.shape[1])] += gradient[i, j]
            return out
    elif ranks == (3, 1):
        def impl(gradient, like):
            out = np.zeros(like.shape, gradient.dtype)
            for i in range(gradient.shape[0]):
                for j in range(gradient.shape[1]):
                    for k in range(gradient.shape[2]):
                        out[_index(k, like.shape[0])] += gradient[i, j, k]
            return out
    elif ranks == (3, 2):
        def impl(gradient, like):
            out = np.zeros(like.shape, gradient.dtype)
            for i in range(gradient.shape[0]):
                for j in range(gradient.shape[1]):
                    for k in range(gradient.shape[2]):
                        out[_index(j, like.shape[0]), _index(k, like.shape[1])] += \
                            gradient[i, j, k]
            return out
    elif ranks == (3, 3):
        def impl(gradient, like):
            out = np.zeros(like.shape, gradient.dtype)
            for i in range(gradient.shape[0]):
                for j in range(gradient.shape[1]):
                    for k in range(gradient.shape[2]):
                        out[_index(i, like.shape[0]), _index(j, like.shape[1]),
                            _index(k, like.shape[2])] += gradient[i, j, k]
            return out
    else:
        return None
    return impl


@register_jitable
def broadcast_like(value, like):
    """`value` broadcast to the shape of `like` (a new array): the tangent of
    a broadcast result whose active operands are all smaller than it."""
    return value + np.zeros_like(like)


def add_at_flat(array, flat_index, value):
    """`array[the element at flat_index in C order] += value`."""
    array[np.unravel_index(flat_index, array.shape)] += value


@overload(add_at_flat)
def _add_at_flat_numba(array, flat_index, value):
    if not isinstance(array, types.Array):
        return None
    if array.ndim == 1:
        def impl(array, flat_index, value):
            array[flat_index] += value
    elif array.ndim == 2:
        def impl(array, flat_index, value):
            columns = array.shape[1]
            array[flat_index // columns, flat_index % columns] += value
    elif array.ndim == 3:
        def impl(array, flat_index, value):
            plane = array.shape[1] * array.shape[2]
            rest = flat_index % plane
            array[flat_index // plane, rest // array.shape[2], rest % array.shape[2]] += value
    else:
        return None
    return impl


@register_jitable
def product_of_others(x):
    """For each element, the product of all the others (d prod(x) / dx),
    exact when elements are zero (no division)."""
    flat = np.ravel(x)
    n = flat.size
    before = np.ones(n, flat.dtype)
    after = np.ones(n, flat.dtype)
    for k in range(1, n):
        before[k] = before[k - 1] * flat[k - 1]
    for k in range(n - 2, -1, -1):
        after[k] = after[k + 1] * flat[k + 1]
    return np.reshape(before * after, x.shape)


def extremum_along(x, axis, largest):
    """np.max (largest) or np.min of a 2-D array along `axis` (0 or 1)."""
    return np.max(x, axis=axis) if largest else np.min(x, axis=axis)


def extremum_index_along(x, axis, largest):
    """For each result element, the index along `axis` that
    `extremum_along` picked (the first, at ties, as np.argmax)."""
    return np.argmax(x, axis=axis) if largest else np.argmin(x, axis=axis)


@overload(extremum_along)
def _extremum_along_numba(x, axis, largest):
    if not isinstance(x, types.Array) or x.ndim != 2:
        return None

    def impl(x, axis, largest):
        picks = extremum_index_along(x, axis, largest)
        out = np.empty(picks.shape[0], x.dtype)
        for k in range(picks.shape[0]):
            out[k] = x[picks[k], k] if axis == 0 else x[k, picks[k]]
        return out
    return impl


@overload(extremum_index_along)
def _extremum_index_along_numba(x, axis, largest):
    if not isinstance(x, types.Array) or x.ndim != 2:
        return None

    def impl(x, axis, largest):
        count = x.shape[1] if axis == 0 else x.shape[0]
        length = x.shape[0] if axis == 0 else x.shape[1]
        picks = np.zeros(count, np.int64)
        for k in range(count):
            best = x[0, k] if axis == 0 else x[k, 0]
            for i in range(1, length):
                value = x[i, k] if axis == 0 else x[k, i]
                if (value > best) if largest else (value < best):
                    best = value
                    picks[k] = i
        return picks
    return impl


@register_jitable
def add_at_extremum_along(adjoint, x, gradient, axis, largest):
    """The adjoint of `extremum_along`: each result's gradient goes to the
    one element it was taken from."""
    picks = extremum_index_along(x, axis, largest)
    for k in range(picks.shape[0]):
        if axis == 0:
            adjoint[picks[k], k] += gradient[k]
        else:
            adjoint[k, picks[k]] += gradient[k]


@register_jitable
def take_at_extremum_along(tangent, x, axis, largest):
    """The tangent of `extremum_along`: the tangent of each picked element."""
    picks = extremum_index_along(x, axis, largest)
    out = np.empty(picks.shape[0], tangent.dtype)
    for k in range(picks.shape[0]):
        out[k] = tangent[picks[k], k] if axis == 0 else tangent[k, picks[k]]
    return out
