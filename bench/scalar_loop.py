"""Scalar loop benchmark: the gradient of a loop that carries one value.

    def loop(a, b, n):
        for i in range(n):
            a = a * 0.9 + math.sin(a) * b
        return a

Times, in one run and after warm-up (the median of --repeats calls each):

* the Numba-compiled primal (``adjit.differentiable(loop)`` called directly),
* adjit's reverse-mode gradient ``adjit.jit.grad(loop, wrt=(0, 1))``,
* a hand-written Numba gradient (forward sweep storing ``a`` in a
  preallocated array, reverse sweep), the expert baseline,
* and adjit's forward mode (jvp) and Hessian-vector product.

The function and the hand-written gradient live in
``bench/workloads/scalar_loop.py``; ``python -m bench --only scalar_loop``
times them with the peers, in separate processes.

Targets (docs/performance.md): gradient <= 3x the primal, and <= 1.3x the hand-written
gradient.

    python bench/scalar_loop.py [--n 1000000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numba

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from a clone
import adjit  # noqa: E402
from adjit import jit  # noqa: E402
from bench.workloads.scalar_loop import loop, loop_gradient_by_hand, make_inputs  # noqa: E402

TARGET_VS_PRIMAL = 3.0
TARGET_VS_HAND = 1.3
TARGET_JVP = 2.0     # forward mode: a jvp <= 2x the primal
TARGET_HVP = 6.0     # Hessian-vector product by forward over reverse


def median_seconds(function, args, repeats):
    function(*args)                                    # warm-up (compiles)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="loop trip count")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls; the median is shown")
    options = parser.parse_args(argv)
    args = make_inputs(options.n, seed=0)       # (0.5, 0.1, n): see the workload on why b = 0.1

    primal = adjit.differentiable(loop)
    gradient = jit.grad(loop, wrt=(0, 1))

    by_adjit = gradient(*args)
    by_hand = loop_gradient_by_hand(*args)
    difference = max(abs(x - y) / max(1.0, abs(y)) for x, y in zip(by_adjit, by_hand))

    tangent = jit.jvp(loop, wrt=(0, 1))
    hessian_vector = jit.hvp(loop, wrt=(0, 1))
    direction = (1.0, 0.5)

    primal_time = median_seconds(primal, args, options.repeats)
    adjit_time = median_seconds(gradient, args, options.repeats)
    hand_time = median_seconds(loop_gradient_by_hand, args, options.repeats)
    jvp_time = median_seconds(tangent, args + (direction,), options.repeats)
    hvp_time = median_seconds(hessian_vector, args + (direction,), options.repeats)

    print(f"scalar_loop: n={options.n}, median of {options.repeats}, "
          f"Numba {numba.__version__}, adjit {adjit.__version__}")
    print(f"{'':28}{'time':>12}{'vs primal':>12}{'vs hand':>10}")
    rows = (("Numba primal", primal_time),
            ("hand-written Numba gradient", hand_time),
            ("adjit jit.grad", adjit_time))
    for name, seconds in rows:
        print(f"{name:28}{seconds * 1e3:9.3f} ms{seconds / primal_time:11.2f}x"
              f"{seconds / hand_time:9.2f}x")
    print(f"targets: adjit <= {TARGET_VS_PRIMAL}x primal "
          f"({'met' if adjit_time <= TARGET_VS_PRIMAL * primal_time else 'MISSED'}), "
          f"<= {TARGET_VS_HAND}x hand-written "
          f"({'met' if adjit_time <= TARGET_VS_HAND * hand_time else 'MISSED'})")
    for name, seconds, target in (("adjit jit.jvp (forward)", jvp_time, TARGET_JVP),
                                  ("adjit jit.hvp (fwd over rev)", hvp_time, TARGET_HVP)):
        verdict = "met" if seconds <= target * primal_time else "MISSED"
        print(f"{name:28}{seconds * 1e3:9.3f} ms{seconds / primal_time:11.2f}x"
              f"{'':10}  target <= {target}x primal: {verdict}")
    print(f"gradients agree with the hand-written one to {difference:.1e} (relative)")
    return 0 if difference < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
