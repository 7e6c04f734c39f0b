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

import numpy as np
from numba.extending import register_jitable


@register_jitable
def grow(tape, needed):
    """A copy of `tape` with room for at least `needed` entries (doubling)."""
    capacity = max(2 * tape.shape[0], needed, 16)
    grown = np.empty(capacity, dtype=tape.dtype)
    # a loop, not `grown[:n] = tape`: Numba compiles the slice copy in
    # seconds, in every process that compiles a derivative with a tape
    for k in range(tape.shape[0]):
        grown[k] = tape[k]
    return grown
