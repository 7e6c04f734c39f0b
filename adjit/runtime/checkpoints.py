"""Checkpoints: how many iterations a segment of a checkpointed loop holds.

A loop the reverse transform checkpoints (`passes/reverse/checkpoints.py`)
is recorded whole when its record fits the budget; otherwise it runs
forward in segments of `stride` iterations, saving the state it carries at
the start of every segment but the last and dropping every record but the
last segment's; the reverse sweep, segment by segment from the last, puts
an earlier segment's state back, runs it again recording it, and sweeps
it back. With the stride the square root of the trip count, the tape
holds one segment and the saved states one per segment: about 2 sqrt(n)
iterations' worth instead of n, for one more run of the loop. The saves and restores are element loops in the
generated code itself, so that a derivative differentiated again
differentiates them like any other code.

A derivative is first generated with such loops recorded whole, each
after a check of the budget (`require_budget`); only when a call exceeds
it does the dispatcher make the checkpointed form, whose loop code is
three times the size (Numba compiles it in proportion), and use it from
then on for those argument types.

The budget is `ADJIT_CHECKPOINT_MB` (default 64) megabytes, read when
adjit is imported, against the state the loop carries (its arrays and
scalars, in float64 values) times its trip count: an estimate of the
record. `CHECKPOINT_BUDGET` holds it in values; the generated code passes
it to these helpers as a number written into the source when it is
generated (a helper compiled once per process would otherwise keep the
value it first saw), and it is part of every derivative's cache key.
"""

import math
import os

from numba.extending import register_jitable

CHECKPOINT_BUDGET = int(float(os.environ.get("ADJIT_CHECKPOINT_MB", "64")) * 2**20) // 8


class CheckpointsNeeded(Exception):
    """A long loop of a derivative generated with its long loops recorded
    whole would record beyond the budget: the dispatcher makes the
    checkpointed form of the derivative and runs that instead."""


@register_jitable
def require_budget(trips, state, budget):
    """Raise `CheckpointsNeeded` when `trips` iterations of a `state`-value
    state exceed `budget` values (where `checkpoint_stride` would choose
    more than one segment)."""
    if trips * max(state, 1) > budget:
        raise CheckpointsNeeded("a long loop exceeds the checkpoint budget")


@register_jitable
def checkpoint_stride(trips, state, budget):
    """Iterations per segment: all of them when `trips` iterations of a
    `state`-value state fit in `budget` values, else the smallest s >= 1
    with s * s >= trips."""
    if trips * max(state, 1) <= budget:
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
    """How many states to keep: one per segment but the last (whose record
    the forward sweep keeps), none for one segment (a loop recorded
    whole)."""
    return max(segments - 1, 0)
