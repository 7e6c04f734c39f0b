"""Gradient of the Gaussian kernel norm, written as loops, against the Numba
primal and a hand-written Numba gradient, in one run.

    python bench/kernel_norm.py [--sizes 1000 4000] [--repeats 3]

H(q, p) = 1/2 sum_ij exp(-|q_i - q_j|^2 / (2 s^2)) <p_i, p_j>, D = 3. adjit
recomputes each pair's distance in the reverse sweep instead of recording
it, so the gradient needs O(N) memory (the gradient arrays) like the
hand-written one, where a tape-based tool would record N^2 values.

The functions live in ``bench/workloads/kernel_norm.py``; ``python -m bench
--only kernel_norm`` times them with the peers, in separate processes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from a clone
import adjit  # noqa: E402
from adjit import jit  # noqa: E402
from bench.scalar_loop import median_seconds  # noqa: E402  (the same timing for every script)
from bench.workloads.kernel_norm import (  # noqa: E402
    kernel_norm,
    kernel_norm_gradient_by_hand,
    make_inputs,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args(argv)
    primal = adjit.differentiable(kernel_norm)
    gradient = jit.grad(kernel_norm, wrt=(0, 1))
    print(f"kernel_norm (D = 3), median of {options.repeats}, Numba {numba.__version__}")
    print(f"{'N':>7}{'primal':>12}{'hand grad':>12}{'adjit grad':>12}"
          f"{'adjit/primal':>14}{'adjit/hand':>12}")
    worst = 0.0
    for n in options.sizes:
        args = make_inputs(n, seed=0)
        mine, theirs = gradient(*args), kernel_norm_gradient_by_hand(*args)
        worst = max(worst, max(float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b))))
                               for a, b in zip(mine, theirs)))
        primal_time = median_seconds(primal, args, options.repeats)
        hand_time = median_seconds(kernel_norm_gradient_by_hand, args, options.repeats)
        adjit_time = median_seconds(gradient, args, options.repeats)
        print(f"{n:>7}{primal_time * 1e3:>9.1f} ms{hand_time * 1e3:>9.1f} ms"
              f"{adjit_time * 1e3:>9.1f} ms{adjit_time / primal_time:>13.2f}x"
              f"{adjit_time / hand_time:>11.2f}x")
    print(f"gradients agree with the hand-written one to {worst:.1e} (relative)")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
