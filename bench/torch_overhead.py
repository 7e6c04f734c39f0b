"""What adjit.torch adds to a call: the op against adjit on NumPy arrays.

    python bench/torch_overhead.py [--sizes 100 100000] [--repeats 2000]

For `2 sin(x)` on float64 vectors, times (median per call, one thread):

    forward     op(x)                          against the Numba primal on x.numpy()
    backward    op(x).backward(g)              against the primal and the vjp (the
                                               cotangent alone) on arrays
    double      an element-wise Hessian-vector product by double backward,
                against the primal, jit.vjp and jit.vjp(jit.jvp(f)) on arrays

and prints the time each op call adds (PyTorch's graph, conversions, the
bridge's Python).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from a clone


def scaled_sine(x):
    return 2.0 * np.sin(x)


def _median(call, repeats: int) -> float:
    call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 100_000])
    parser.add_argument("--repeats", type=int, default=2000)
    options = parser.parse_args(argv)

    import torch

    import adjit.torch
    from adjit import jit
    torch.set_num_threads(1)
    op = adjit.torch.function(scaled_sine)
    primal = op.function.compiled()
    vjp = op._vjp              # the cotangent alone, as the op's backward runs it
    second = jit.vjp(jit.jvp(scaled_sine), wrt=0)
    print("| n | call | adjit on arrays | adjit.torch op | added |\n| --- | --- | --- | --- | --- |")
    for n in options.sizes:
        repeats = max(20, options.repeats * 100 // max(n, 100))
        x = torch.linspace(0.0, 1.0, n, dtype=torch.float64, requires_grad=True)
        g = torch.ones(n, dtype=torch.float64)
        array, cotangent = x.detach().numpy(), g.numpy()

        def op_backward():
            op(x).backward(g)

        def op_double():
            gradient, = torch.autograd.grad(op(x), x, g, create_graph=True)
            torch.autograd.grad(gradient, x, g)

        pairs = {
            "forward": (lambda: primal(array), lambda: op(x)),
            "backward": (lambda: (primal(array), vjp(array, cotangent)), op_backward),
            "double": (lambda: (primal(array), vjp(array, cotangent),
                                second(array, cotangent, cotangent)), op_double),
        }
        for name, (direct, bridged) in pairs.items():
            plain = _median(direct, repeats)
            wrapped = _median(bridged, repeats)
            print(f"| {n} | {name} | {plain * 1e6:.1f} µs | {wrapped * 1e6:.1f} µs "
                  f"| {(wrapped - plain) * 1e6:.1f} µs |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
