"""Helpers of the reverse sweep of parallel loops (see passes/analysis/parallel.py).

Iterations that add into shared elements of an adjoint array are split
into `chunk_count` contiguous chunks, one prange iteration each; every
chunk adds into a copy of its own, and the copies are summed after the
loop. Chunks rather than thread ids keep the compiled code cacheable.

Each is `register_jitable`: plain Python with `target="python"`, inlined
by Numba with `target="cpu"`.
"""

import numba
from numba.extending import register_jitable

# the most threads Numba will ever run (a constant to compiled code)
_MAX_THREADS = numba.config.NUMBA_NUM_THREADS


@register_jitable
def chunk_count(trips):
    """How many chunks to split `trips` iterations into: one per thread,
    and none empty."""
    return max(1, min(_MAX_THREADS, trips))


@register_jitable
def chunk_start(start, stop, chunks, chunk):
    """The first index of chunk `chunk` of range(start, stop) split into
    `chunks` contiguous parts (chunk == chunks gives `stop`)."""
    trips = max(0, stop - start)
    return start + (trips * chunk) // chunks


@register_jitable
def add_chunk_copies(target, copies):
    """`target += copies[c]` for every chunk's copy `c`."""
    for chunk in range(copies.shape[0]):
        target += copies[chunk]
