"""Array helpers that generated code calls as `rt.NAME` (re-exported by
`helpers`): summing an adjoint back to a broadcast operand's shape (and
broadcasting it out again), and the other steps of array rules that NumPy,
as Numba compiles it, lacks. Reductions along an axis are in `axes` and
`extrema`.

Each is a plain NumPy function for `target="python"`, with a Numba
implementation chosen by the ranks of its arguments for `target="cpu"`.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload, register_jitable

from adjit.errors import ShapeError


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
    elif ranks[0] >= ranks[1]:
        offset = ranks[0] - ranks[1]

        def impl(gradient, like):
            return _unbroadcast_any_rank(gradient, like, offset)
    else:
        return None
    return impl


@register_jitable
def _unbroadcast_any_rank(gradient, like, offset):
    """`unbroadcast` for arrays of any ranks: each element of `gradient`, in
    C order, added to the element of `like`'s shape it was broadcast from
    (the leading `offset` axes summed, axes of size 1 there summed)."""
    out = np.zeros(like.shape, gradient.dtype)
    flat_out = out.reshape(out.size)
    flat = np.ascontiguousarray(gradient).reshape(gradient.size)
    shape, target = gradient.shape, like.shape
    for k in range(flat.size):
        rest, place, stride = k, 0, 1
        for axis in range(len(shape) - 1, offset - 1, -1):
            index = rest % shape[axis]
            rest //= shape[axis]
            size = target[axis - offset]
            if size > 1:
                place += index * stride
            stride *= size
        flat_out[place] += flat[k]
    return out


@register_jitable
def broadcast_like(value, like):
    """`value` broadcast to the shape of `like` (a new array): the tangent of
    a broadcast result whose active operands are all smaller than it."""
    return value + np.zeros_like(like)


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


@register_jitable
def reshape_like(value, like):
    """`value` reshaped to the shape of `like` (the same number of elements,
    in C order)."""
    return np.ascontiguousarray(value).reshape(like.shape)


def cotangent_like(cotangent, value):
    """The cotangent a vjp was given for its result `value`, checked to be
    a float where `value` is one, and an array of floats of its shape where
    it is an array (a `ShapeError` otherwise)."""
    if np.ndim(value) == 0:
        if np.ndim(cotangent) != 0:
            raise ShapeError("the cotangent", np.shape(cotangent), ())
        return cotangent
    if not isinstance(cotangent, np.ndarray):
        raise ShapeError("the cotangent", (), np.shape(value))
    if cotangent.shape != np.shape(value):
        raise ShapeError("the cotangent", cotangent.shape, np.shape(value))
    if cotangent.dtype.kind != "f":
        raise ShapeError("the cotangent", f"an array of {cotangent.dtype}",
                         "an array of floats")
    return cotangent


@overload(cotangent_like)
def _cotangent_like_numba(cotangent, value):
    given, wanted = isinstance(cotangent, types.Array), isinstance(value, types.Array)
    if given and wanted and not isinstance(cotangent.dtype, types.Float):
        found = f"an array of {cotangent.dtype}"

        def impl(cotangent, value):
            raise ShapeError("the cotangent", found, "an array of floats")
            return cotangent
    elif given and wanted:
        def impl(cotangent, value):
            if cotangent.shape != value.shape:
                raise ShapeError("the cotangent", cotangent.shape, value.shape)
            return cotangent
    elif given:
        def impl(cotangent, value):
            raise ShapeError("the cotangent", cotangent.shape, ())
            return 0.0
    elif wanted:
        def impl(cotangent, value):
            raise ShapeError("the cotangent", (), value.shape)
            return np.zeros_like(value)
    else:
        def impl(cotangent, value):
            return cotangent
    return impl
