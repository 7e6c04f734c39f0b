"""One gradient of the heat stencil over many steps, outside the harness:
its time and its peak memory growth, against what recording every step
would hold.

    python bench/heat_long.py 100000 15000      # steps, points

`jit.grad` of the bench's loop form (`bench/workloads/heat.py`), compiled
first on a small input of the same signature; the first call beyond the
checkpoint budget compiles the checkpointed form too, and is reported
apart; the time and the peak are the second call's: the peak is the process's
VmHWM after the call (reset just before it through /proc/self/clear_refs)
less its resident memory before the call. Recording every step would hold
one float per point per step (`steps * (n - 2) * 8` bytes); the
checkpointed gradient holds a state per segment of about sqrt(steps)
steps, and one segment's record.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adjit import jit                                   # noqa: E402
from bench.peak import measured                         # noqa: E402
from bench.workloads.heat import DT, heat               # noqa: E402


def main(steps: int, n: int) -> None:
    u0 = np.random.default_rng(0).uniform(-1.0, 1.0, n)
    gradient = jit.grad(heat, wrt=(0, 1))
    gradient(u0[:10], DT, 3)                          # compiles (same signature)
    # the first call beyond the budget compiles the checkpointed form too
    _, first, _ = measured(lambda: gradient(u0, DT, steps))
    (d_u0, d_dt), elapsed, growth = measured(lambda: gradient(u0, DT, steps))
    record = steps * (n - 2) * 8
    print(f"steps={steps}, n={n}: gradient {elapsed:.1f} s (first call {first:.1f} s), "
          f"peak memory growth {growth / 2**20:.1f} MB (recording every step: "
          f"{record / 2**30:.1f} GiB), |d/du0| {np.linalg.norm(d_u0):.6e}, "
          f"d/ddt {d_dt:.6e}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 15_000)
