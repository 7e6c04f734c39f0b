"""Reductions along one axis that NumPy, as Numba compiles it, lacks:
`np.prod`, `np.max` and `np.min` along an axis, their derivatives, and
`keepdims`. Generated code calls them as `rt.NAME` (re-exported by
`helpers`).

Every helper sees an array `x` of any rank and an axis `k` (negative
counts from the end) through its *fibres*: `x` as a C-ordered 3-D array
`(before, along, after)`, where `before` is the product of the sizes of
the axes before `k` and `after` that of the axes after it. A result along
the axis is then a `(before, after)` array, reshaped to `x`'s shape without
axis `k` (a scalar for a 1-D `x`, as NumPy gives).

Each helper is plain Python/NumPy for `target="python"` and has a Numba
implementation for `target="cpu"` (`register_jitable` code serves both;
`overload` where Numba needs a shape known when it compiles).
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple


@register_jitable
def normalized_axis(axis, ndim):
    """`axis` in `range(ndim)` (`-1` is the last axis)."""
    return axis + ndim if axis < 0 else axis


@register_jitable
def axis_size(x, axis):
    """`x.shape[axis]` (the count np.mean along `axis` divides by)."""
    return x.shape[normalized_axis(axis, x.ndim)]


@register_jitable
def fibres(x, axis):
    """`x` (any rank) as a C-ordered `(before, along, after)` array: element
    `[a, i, c]` is the `i`-th element of fibre `(a, c)` along `axis`. A view
    of `x` when `x` is C-contiguous, else a copy: read it, never write it."""
    axis = normalized_axis(axis, x.ndim)
    before = 1
    for k in range(axis):
        before *= x.shape[k]
    after = 1
    for k in range(axis + 1, x.ndim):
        after *= x.shape[k]
    return np.ascontiguousarray(x).reshape((before, x.shape[axis], after))


def reduced(values, x, axis):
    """`values`, one per fibre of `x` along `axis` as a `(before, after)`
    array, in the shape of `x` without `axis` (a scalar for a 1-D `x`)."""
    if x.ndim == 1:
        return values[0, 0]
    axis = normalized_axis(axis, x.ndim)
    return np.reshape(values, x.shape[:axis] + x.shape[axis + 1:])


@overload(reduced)
def _reduced_numba(values, x, axis):
    if x.ndim == 1:
        return lambda values, x, axis: values[0, 0]
    rank = x.ndim - 1

    def impl(values, x, axis):
        axis = normalized_axis(axis, x.ndim)
        shape = np.empty(rank, np.int64)
        j = 0
        for k in range(x.ndim):
            if k != axis:
                shape[j] = x.shape[k]
                j += 1
        return values.reshape(to_fixed_tuple(shape, rank))
    return impl


def per_fibre(g, x, axis):
    """`g`, shaped like a result of a reduction of `x` along `axis` (a
    scalar for a 1-D `x`), as the `(before, after)` array of `fibres`."""
    cube = fibres(x, axis)
    return np.reshape(np.ascontiguousarray(g), (cube.shape[0], cube.shape[2]))


@overload(per_fibre)
def _per_fibre_numba(g, x, axis):
    if isinstance(g, types.Array):
        def impl(g, x, axis):
            cube = fibres(x, axis)
            return np.ascontiguousarray(g).reshape((cube.shape[0], cube.shape[2]))
    else:
        def impl(g, x, axis):
            return np.full((1, 1), g)
    return impl


# ----- np.prod along an axis ---------------------------------------------------

def prod_along(x, axis):
    """np.prod(x, axis=axis)."""
    return np.prod(x, axis=axis)


@overload(prod_along)
def _prod_along_numba(x, axis):
    if not isinstance(x, types.Array):
        return None

    def impl(x, axis):
        cube = fibres(x, axis)
        out = np.ones((cube.shape[0], cube.shape[2]), x.dtype)
        for a in range(cube.shape[0]):
            for i in range(cube.shape[1]):
                for c in range(cube.shape[2]):
                    out[a, c] *= cube[a, i, c]
        return reduced(out, x, axis)
    return impl


@register_jitable
def product_of_others_along(x, axis):
    """For each element of `x`, the product of the other elements of its
    fibre along `axis`: d np.prod(x, axis) / dx, exact where elements are
    zero (prefix times suffix products, no division)."""
    cube = fibres(x, axis)
    out = np.empty(cube.shape, x.dtype)
    for a in range(cube.shape[0]):
        running = np.ones(cube.shape[2], x.dtype)       # the product before i
        for i in range(cube.shape[1]):
            out[a, i] = running
            running = running * cube[a, i]
        running = np.ones(cube.shape[2], x.dtype)       # the product after i
        for i in range(cube.shape[1] - 1, -1, -1):
            out[a, i] = out[a, i] * running
            running = running * cube[a, i]
    return out.reshape(x.shape)


@register_jitable
def product_of_others_along_jvp(x, v, axis):
    """The directional derivative of `product_of_others_along(x, axis)`
    along `v` (shaped like `x`): for each element, the sum over the other
    elements k of its fibre of v[k] times the product of the rest. Its
    Jacobian is symmetric, so this is also its vector-Jacobian product.
    Exact where elements are zero: prefix and suffix products and their
    derivatives, no division."""
    cube = fibres(x, axis)
    tangent = fibres(v, axis)
    length = cube.shape[1]
    out = np.empty(cube.shape, x.dtype)
    prefix = np.empty(length)            # the product of the elements before i
    d_prefix = np.empty(length)          # and its derivative along v
    for a in range(cube.shape[0]):
        for c in range(cube.shape[2]):
            product, d_product = 1.0, 0.0
            for i in range(length):
                prefix[i], d_prefix[i] = product, d_product
                d_product = d_product * cube[a, i, c] + product * tangent[a, i, c]
                product = product * cube[a, i, c]
            product, d_product = 1.0, 0.0                  # the suffix products
            for i in range(length - 1, -1, -1):
                out[a, i, c] = d_prefix[i] * product + prefix[i] * d_product
                d_product = d_product * cube[a, i, c] + product * tangent[a, i, c]
                product = product * cube[a, i, c]
    return out.reshape(x.shape)


@register_jitable
def product_of_others_jvp(x, v):
    """`product_of_others_along_jvp` for the whole array (d np.prod(x))."""
    return product_of_others_along_jvp(np.ravel(x), np.ravel(v), 0).reshape(x.shape)


# ----- keepdims ------------------------------------------------------------------

def keep_dims(value, x, axis=None):
    """The result `value` of a reduction of `x` (along `axis`, or of the
    whole array), reshaped as `keepdims=True` gives it: `x`'s shape with
    the reduced axis (every axis) of size 1."""
    shape = [1] * x.ndim if axis is None else list(x.shape)
    if axis is not None:
        shape[normalized_axis(axis, x.ndim)] = 1
    return np.reshape(value, tuple(shape))


@overload(keep_dims)
def _keep_dims_numba(value, x, axis=None):
    if isinstance(value, types.Array):
        def impl(value, x, axis=None):
            return np.expand_dims(value, axis)
    else:
        ones = (1,) * x.ndim

        def impl(value, x, axis=None):
            return np.full(ones, value)
    return impl
