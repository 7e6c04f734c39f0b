"""One gradient of the kernel norm at a large N, outside the harness's 60 s
cap: its time and its peak memory growth.

    NUMBA_NUM_THREADS=2 python bench/kernel_norm_large.py 100000

`jit.grad` of the loop form with an outer `prange` (`adjit.demo.
kernel_norm_parallel`), compiled first on a small input of the same
signature; the peak is the process's VmHWM after the call (reset just
before it through /proc/self/clear_refs) less its resident memory before
the call. The O(N^2) pairs are recomputed, never stored: the growth is the
gradient arrays and the per-thread chunks, O(N).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adjit import jit                                   # noqa: E402
from adjit.demo import kernel_norm_parallel             # noqa: E402
from bench.peak import measured                         # noqa: E402


def main(n: int) -> None:
    rng = np.random.default_rng(0)
    q, p = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    gradient = jit.grad(kernel_norm_parallel, wrt=(0, 1))
    gradient(q[:100], p[:100], 2.5)                  # compiles (same signature)
    (gq, gp), elapsed, growth = measured(lambda: gradient(q, p, 2.5))
    print(f"N={n}, NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all cores')}: "
          f"gradient {elapsed:.1f} s, peak memory growth {growth / 2**20:.1f} MB, "
          f"max |dH/dq| {np.abs(gq).max():.4e}, max |dH/dp| {np.abs(gp).max():.4e}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
