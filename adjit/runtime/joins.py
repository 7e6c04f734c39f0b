"""Arrays made of several values: `np.array([a, b, c])`, `np.stack`,
`np.concatenate`, `np.hstack` and `np.vstack` as generated code calls
them (`rt.NAME`, re-exported by `helpers`). Each takes its values as
separate arguments, so that every value is an operand of the statement
with an adjoint of its own:

* `array_of(v0, v1, ...)`: numbers in a new 1-D array (floats, or ints
  when every value is an int), or arrays of one shape stacked along a new
  first axis (`np.array([[a, b], [c, d]])` is `array_of(array_of(a, b),
  array_of(c, d))`);
* `stack_along(k, a0, a1, ...)`: np.stack along the new axis `k`;
* `concatenate_along(k, a0, a1, ...)`: np.concatenate along the axis `k`.

Plain NumPy for `target="python"`; for `target="cpu"` explicit loops over
the fibres of the result (Numba's np.stack and np.concatenate take one
tuple of arrays of one layout, and no negative axis for np.stack).
"""

from __future__ import annotations

import numpy as np
from numba import literal_unroll, types
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple

from adjit.runtime.axes import fibres, normalized_axis


def array_of(*values):
    """np.array(values): numbers in a 1-D array, or arrays stacked."""
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if np.ndim(values[0]) == 0:
        return np.array(values, dtype=np.float64)
    return np.stack(values)


@overload(array_of)
def _array_of_numba(*values):
    if isinstance(values[0], types.Array):
        def impl(*values):
            return stack_along(0, *values)
        return impl
    integers = all(isinstance(v, types.Integer) for v in values)
    dtype = np.int64 if integers else np.float64

    def impl_numbers(*values):
        out = np.empty(len(values), dtype)
        i = 0
        for value in literal_unroll(values):
            out[i] = value
            i += 1
        return out
    return impl_numbers


def stack_along(axis, *arrays):
    """np.stack(arrays, axis)."""
    return np.stack(arrays, axis)


def concatenate_along(axis, *arrays):
    """np.concatenate(arrays, axis)."""
    return np.concatenate(arrays, axis)


@register_jitable
def _shape_with(like, axis, length, inserted):
    """`like.shape` with the length of `axis` set to `length`, or with a new
    axis of that length before `axis` (`inserted`), as an int array."""
    rank = like.ndim + (1 if inserted else 0)
    shape = np.empty(rank, np.int64)
    j = 0
    for k in range(rank):
        if k == axis:
            shape[k] = length
            if not inserted:
                j += 1
        else:
            shape[k] = like.shape[j]
            j += 1
    return shape


@register_jitable
def _as_cube(out, shape, axis):
    """The new C-contiguous array `out` of shape `shape` as the writable
    `(before, along, after)` view of its fibres along `axis`."""
    before = 1
    for k in range(axis):
        before *= shape[k]
    after = 1
    for k in range(axis + 1, len(shape)):
        after *= shape[k]
    return out.reshape((before, shape[axis], after))


@overload(stack_along)
def _stack_along_numba(axis, *arrays):
    rank = arrays[0].ndim + 1
    dtype = arrays[0].dtype

    def impl(axis, *arrays):
        axis = normalized_axis(axis, rank)
        shape = _shape_with(arrays[0], axis, len(arrays), True)
        out = np.empty(to_fixed_tuple(shape, rank), dtype)
        cube = _as_cube(out, shape, axis)
        i = 0
        for array in literal_unroll(arrays):
            cube[:, i, :] = np.ascontiguousarray(array).reshape(
                (cube.shape[0], cube.shape[2]))
            i += 1
        return out
    return impl


@overload(concatenate_along)
def _concatenate_along_numba(axis, *arrays):
    rank = arrays[0].ndim
    dtype = arrays[0].dtype

    def impl(axis, *arrays):
        axis = normalized_axis(axis, rank)
        total = 0
        for array in literal_unroll(arrays):
            total += array.shape[axis]
        shape = _shape_with(arrays[0], axis, total, False)
        out = np.empty(to_fixed_tuple(shape, rank), dtype)
        cube = _as_cube(out, shape, axis)
        start = 0
        for array in literal_unroll(arrays):
            part = fibres(array, axis)
            cube[:, start:start + part.shape[1], :] = part
            start += part.shape[1]
        return out
    return impl


def hstack(*arrays):
    """np.hstack(arrays): 1-D arrays end to end, others along axis 1."""
    return np.hstack(arrays)


def vstack(*arrays):
    """np.vstack(arrays): 1-D arrays as the rows of a matrix, others along
    axis 0."""
    return np.vstack(arrays)


@overload(hstack)
def _hstack_numba(*arrays):
    axis = 0 if arrays[0].ndim == 1 else 1

    def impl(*arrays):
        return concatenate_along(axis, *arrays)
    return impl


@overload(vstack)
def _vstack_numba(*arrays):
    if arrays[0].ndim == 1:
        def impl(*arrays):
            return stack_along(0, *arrays)
        return impl

    def impl_matrices(*arrays):
        return concatenate_along(0, *arrays)
    return impl_matrices


def atleast_1d(x):
    """np.atleast_1d(x): a number as an array of one element."""
    return np.atleast_1d(x)


def atleast_2d(x):
    """np.atleast_2d(x): a number or a 1-D array as a matrix of one row."""
    return np.atleast_2d(x)


@overload(atleast_1d)
def _atleast_1d_numba(x):
    if isinstance(x, types.Array):
        return lambda x: np.atleast_1d(x)
    return lambda x: np.full(1, x)


@overload(atleast_2d)
def _atleast_2d_numba(x):
    if isinstance(x, types.Array):
        return lambda x: np.atleast_2d(x)
    return lambda x: np.full((1, 1), x)
