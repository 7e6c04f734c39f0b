"""Checkpoints: how many iterations a segment of a checkpointed loop holds.

A loop the reverse transform checkpoints (`passes/reverse/checkpoints.py`)
is recorded whole when its record fits the budget; otherwise it runs
forward without recording, saving the state it carries at the start of
every segment of `stride` iterations, and the reverse sweep, segment by
segment from the last, puts that state back, runs the segment again
recording it, and sweeps it back. With the stride the square root of the
trip count, the tape holds one segment and the saved states one per
segment: about 2 sqrt(n) iterations' worth instead of n, for one more run
of the loop's primal. The saves and restores are element loops in the
generated code itself, so that a derivative differentiated again
differentiates them like any other code.

The budget is `ADJIT_CHECKPOINT_MB` (default 64) megabytes, read when
adjit is imported, against the state the loop carries (its arrays and
scalars, in float64 values) times its trip count: an estimate of the
record. `CHECKPOINT_BUDGET` holds it in values; it is part of every
derivative's cache key (a compiled derivative holds it as a constant).
"""

import math
import os

from numba.extending import register_jitable

CHECKPOINT_BUDGET = int(float(os.environ.get("ADJIT_CHECKPOINT_MB", "64")) * 2**20) // 8


@register_jitable
def checkpoint_stride(trips, state):
    """Iterations per segment: all of them when `trips` iterations of a
    `state`-value state fit the budget, else the smallest s >= 1 with
    s * s >= trips."""
    if trips * max(state, 1) <= CHECKPOINT_BUDGET:
        return max(trips, 1)
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


@register_jitable
def saved_states(segments):
    """How many states to keep: one per segment, none for one segment (a
    loop recorded whole)."""
    return segments if segments > 1 else 0
