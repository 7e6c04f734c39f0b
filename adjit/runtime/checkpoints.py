"""Checkpoints: how long a segment of a checkpointed loop is.

A loop the reverse transform checkpoints (`passes/reverse/checkpoints.py`)
runs forward once without recording, saving the state it carries (the
scalars and arrays it writes) at the start of every segment of `stride`
iterations; the reverse sweep, segment by segment from the last, puts that
state back, runs the segment again recording it, and sweeps it back. The
tape then holds one segment, the saved states one per segment: with the
stride the square root of the trip count, both are about sqrt(n)
iterations' worth instead of n. The saves and restores are element loops
in the generated code itself, so that a derivative differentiated again
differentiates them like any other code.
"""

import math

from numba.extending import register_jitable


@register_jitable
def checkpoint_stride(trips):
    """Iterations per segment: the smallest s >= 1 with s * s >= trips."""
    stride = max(1, int(math.sqrt(max(trips, 0))))
    while stride * stride < trips:
        stride += 1
    while stride > 1 and (stride - 1) * (stride - 1) >= trips:
        stride -= 1
    return stride


@register_jitable
def segment_count(trips, stride):
    """Segments of `stride` iterations that cover `trips` iterations."""
    return max(0, (trips + stride - 1) // stride)
