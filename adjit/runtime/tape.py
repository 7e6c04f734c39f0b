"""Tapes: plain NumPy arrays with an integer top index.

Generated code pushes and pops inline, e.g. for a float value::

    if _top_f + 2 > _tape_f.shape[0]:
        _tape_f = rt.grow(_tape_f, _top_f + 2)
    _tape_f[_top_f] = a
    _top_f += 1
    ...
    _top_f -= 1
    a = _tape_f[_top_f]

Floats go to a float64 tape, integers and booleans to an int64 tape. This
module holds the only non-inline part: growing a full tape by doubling.
Device code (target="cuda") cannot grow one: its tapes are
`cuda.local.array`s of a size fixed when generated (`passes/gpu/device_tapes.py`).
"""

import numba
import numpy as np
from numba.extending import overload


def grow(tape, needed):
    """A copy of `tape` with room for at least `needed` entries (doubling).
    Plain Python under target="python"; compiled code calls `_grow`."""
    capacity = max(2 * tape.shape[0], needed, 16)
    grown = np.empty(capacity, dtype=tape.dtype)
    grown[:tape.shape[0]] = tape
    return grown


@numba.njit(cache=True)
def _grow(tape, needed):
    # compiled once per dtype into Numba's cache and called by every
    # derivative with a tape, instead of compiled into each of them (0.2 s
    # of every cold compile); a loop, not `grown[:n] = tape`, which Numba
    # compiles in seconds
    capacity = max(2 * tape.shape[0], needed, 16)
    grown = np.empty(capacity, dtype=tape.dtype)
    for k in range(tape.shape[0]):
        grown[k] = tape[k]
    return grown


@overload(grow)
def _grow_in_compiled_code(tape, needed):
    def call(tape, needed):
        return _grow(tape, needed)
    return call
