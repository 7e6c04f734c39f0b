"""What adjit.torch adds to a call: the op against adjit on NumPy arrays.

    python bench/torch_overhead.py [--sizes 100 100000] [--repeats 2000]

For `2 sin(x)` on float64 vectors, times (median per call, one thread;
the calls compared take turns):

    forward     op(x)                          against the Numba primal on x.numpy()
    backward    op(x).backward(g)              against the primal and the vjp (the
                                               cotangent alone) on arrays
    double      an element-wise Hessian-vector product by double backward,
                against the primal, jit.vjp and jit.vjp(jit.jvp(f)) on arrays

and prints the time each op call adds (`added`: PyTorch's graph,
conversions, the bridge's Python). Part of it is PyTorch's price for any
custom operation, which no bridge can avoid: `PyTorch's floor` is the same
call made with an autograd.Function that holds nothing but torch
arithmetic (the square, x * x, whose backward is a second autograd.Function
so that it has a double backward, as the op has), less the time of that
arithmetic on its own. `bridge` is what is left: `added` less the floor,
the time adjit.torch's own Python takes (checks, conversions between
tensors and arrays, saving the inputs for backward).
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


def _medians(calls, repeats: int) -> list[float]:
    """The median time of each call, in seconds. The calls take turns, so
    that a change in the machine's load while they run weighs on all of
    them alike."""
    for call in calls:
        call()
    samples = [[] for _ in calls]
    clock = time.perf_counter
    for _ in range(repeats):
        for call, times in zip(calls, samples):
            started = clock()
            call()
            times.append(clock() - started)
    return [statistics.median(times) for times in samples]


def _floor_functions(torch):
    """The square as two autograd.Functions with nothing but torch
    arithmetic in them, built as adjit.torch builds the op: the forward
    saves its input, the backward is a function of its own when a graph is
    recorded (`create_graph`) and a plain computation otherwise."""

    class SquareBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, g, x):
            ctx.save_for_backward(g, x)
            return g * x * 2.0

        @staticmethod
        def backward(ctx, d):
            g, x = ctx.saved_tensors
            return d * x * 2.0, d * g * 2.0

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            if torch.is_grad_enabled():
                return SquareBackward.apply(g, x)
            return g * x * 2.0

    return Square.apply


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
    second = jit.vjp(jit.jvp(scaled_sine, wrt=op.wrt_names), wrt=op.wrt_names)
    square = _floor_functions(torch)
    print("| n | call | adjit on arrays | adjit.torch op | added | PyTorch's floor | bridge |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    for n in options.sizes:
        repeats = max(20, options.repeats * 100 // max(n, 100))
        x = torch.linspace(0.0, 1.0, n, dtype=torch.float64, requires_grad=True)
        g = torch.ones(n, dtype=torch.float64)
        plain = x.detach()
        array, cotangent = plain.numpy(), g.numpy()

        def backward(function):
            return lambda: function(x).backward(g)

        def double(function):
            def call():
                gradient, = torch.autograd.grad(function(x), x, g, create_graph=True)
                torch.autograd.grad(gradient, x, g)
            return call

        rows = {   # adjit on arrays, the op; the floor's function, its arithmetic alone
            "forward": (lambda: primal(array), lambda: op(x),
                        lambda: square(x), lambda: plain * plain),
            "backward": (lambda: (primal(array), vjp(array, cotangent)), backward(op),
                         backward(square), lambda: (plain * plain, g * plain * 2.0)),
            "double": (lambda: (primal(array), vjp(array, cotangent),
                                second(array, cotangent, cotangent)), double(op),
                       double(square), lambda: (plain * plain, g * plain * 2.0,
                                                g * plain * 2.0, g * g * 2.0)),
        }
        # every call once before any is timed: the first large tensors freed
        # move glibc's threshold for serving big blocks from the heap, which
        # changes the time of the NumPy calls too, and PyTorch's first
        # backward starts its machinery
        for calls in rows.values():
            for call in calls:
                call()
        for name, calls in rows.items():
            adjit_time, op_time, floor_time, arithmetic_time = [
                seconds * 1e6 for seconds in _medians(calls, repeats)]
            added = op_time - adjit_time
            price = floor_time - arithmetic_time
            print(f"| {n} | {name} | {adjit_time:.1f} µs | {op_time:.1f} µs | {added:.1f} µs "
                  f"| {price:.1f} µs | {added - price:.1f} µs |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
