"""np.max and np.min, of a whole array and along an axis, with their
subgradients: the derivative goes to one element per result, the one
np.argmax (np.argmin) picks - the first at ties, the first NaN if any.

`extremum_along` is the primal of np.max/np.min along an axis; `take_*`
is the tangent (the tangent of the element picked), `spread_*` the adjoint
(a gradient placed on the elements picked, zero elsewhere). Take and spread
are linear in the array they move and each other's transpose, which is
what makes second derivatives work. Arrays of any rank, through the fibres
of `axes` (a 1-D array along axis 0 gives a scalar).
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload, register_jitable

from adjit.runtime.axes import fibres, per_fibre, reduced


@register_jitable
def _beats(value, best, largest):
    """Does `value` replace `best` as np.argmax (largest) / np.argmin sees it?"""
    if best != best:                      # a NaN is never replaced
        return False
    if value != value:
        return True
    return value > best if largest else value < best


@register_jitable
def picks_along(x, axis, largest):
    """The `(before, after)` array of the index along `axis` of each fibre's
    largest (smallest) element."""
    cube = fibres(x, axis)
    if cube.shape[1] == 0:
        raise ValueError("np.max/np.min along an axis of length zero")
    picks = np.zeros((cube.shape[0], cube.shape[2]), np.int64)
    for a in range(cube.shape[0]):
        for c in range(cube.shape[2]):
            best = cube[a, 0, c]
            for i in range(1, cube.shape[1]):
                if _beats(cube[a, i, c], best, largest):
                    best = cube[a, i, c]
                    picks[a, c] = i
    return picks


def extremum_along(x, axis, largest):
    """np.max (largest) or np.min of `x` along `axis`."""
    return np.max(x, axis=axis) if largest else np.min(x, axis=axis)


@overload(extremum_along)
def _extremum_along_numba(x, axis, largest):
    if not isinstance(x, types.Array):
        return None

    def impl(x, axis, largest):
        return take_at_extremum_along(x, x, axis, largest)
    return impl


@register_jitable
def take_at_extremum_along(tangent, x, axis, largest):
    """The elements of `tangent` (shaped like `x`) at the places of the
    extrema of `x` along `axis`: the tangent of `extremum_along`."""
    picks = picks_along(x, axis, largest)
    cube = fibres(tangent, axis)
    out = np.empty(picks.shape, tangent.dtype)
    for a in range(picks.shape[0]):
        for c in range(picks.shape[1]):
            out[a, c] = cube[a, picks[a, c], c]
    return reduced(out, x, axis)


@register_jitable
def spread_to_extremum_along(x, gradient, axis, largest):
    """An array shaped like `x`, zero but at the extrema of `x` along
    `axis`, which hold `gradient` (shaped like `extremum_along`'s result):
    the adjoint of `extremum_along`."""
    picks = picks_along(x, axis, largest)
    values = per_fibre(gradient, x, axis)
    cube = fibres(x, axis)
    out = np.zeros(cube.shape, x.dtype)
    for a in range(picks.shape[0]):
        for c in range(picks.shape[1]):
            out[a, picks[a, c], c] = values[a, c]
    return out.reshape(x.shape)


@register_jitable
def _flat_pick(x, largest):
    flat = np.ravel(x)
    return np.argmax(flat) if largest else np.argmin(flat)


@register_jitable
def take_at_extremum(tangent, x, largest):
    """The element of `tangent` at the place of np.max(x) (largest) or
    np.min(x): the tangent of the whole-array extremum."""
    return np.ravel(tangent)[_flat_pick(x, largest)]


@register_jitable
def spread_to_extremum(x, gradient, largest):
    """An array shaped like `x`, zero but at the place of np.max(x)
    (largest) or np.min(x), which holds `gradient`: its adjoint."""
    out = np.zeros(x.size, x.dtype)
    out[_flat_pick(x, largest)] = gradient
    return out.reshape(x.shape)
