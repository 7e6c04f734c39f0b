"""What a derivative call adds over calling Numba directly, at tiny sizes.

    python bench/call_overhead.py [--repeats 20000]

For a function of two numbers (`x * y + x`) and a sum of squares over a
10-element array, times (median per call, after warm-up, one process):

    primal        the Numba-compiled function (`adjit.differentiable(f).compiled()`)
    numba hand    a hand-written Numba derivative returning the same results
    adjit         jit.grad, jit.value_and_grad, jit.vjp and jit.jvp

and prints what each adjit call adds over the hand-written Numba function
doing the same work: at these sizes that is adjit's dispatch (argument
types, the fast key, the checks on tangents and cotangents), since the
arithmetic is the same. The target is 1 µs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from a clone

TARGET_ADDED = 1e-6


def product(x, y):
    return x * y + x


def squares(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * a[i]
    return s


@numba.njit
def product_gradient(x, y):
    return y + 1.0, x


@numba.njit
def product_value_and_gradient(x, y):
    return x * y + x, y + 1.0, x


@numba.njit
def product_tangent(x, y, dx):
    return x * y + x, (y + 1.0) * dx


@numba.njit
def squares_gradient(a, cotangent):
    gradient = np.empty_like(a)
    for i in range(a.shape[0]):
        gradient[i] = 2.0 * a[i] * cotangent
    return gradient


def _median(call, repeats: int) -> float:
    call()
    call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20000)
    options = parser.parse_args(argv)

    import adjit
    from adjit import jit
    a = np.linspace(0.0, 1.0, 10)
    rows = [
        ("x * y + x", "grad", lambda: product_gradient(1.5, 2.0),
         jit.grad(product, wrt=(0, 1)), (1.5, 2.0)),
        ("x * y + x", "value_and_grad", lambda: product_value_and_gradient(1.5, 2.0),
         jit.value_and_grad(product, wrt=(0, 1)), (1.5, 2.0)),
        ("x * y + x", "jvp", lambda: product_tangent(1.5, 2.0, 1.0),
         jit.jvp(product), (1.5, 2.0, 1.0)),
        ("squares, n = 10", "grad", lambda: squares_gradient(a, 1.0),
         jit.grad(squares), (a,)),
        ("squares, n = 10", "vjp", lambda: squares_gradient(a, 1.0),
         jit.vjp(squares), (a, 1.0)),
    ]
    primals = {"x * y + x": (adjit.differentiable(product).compiled(), (1.5, 2.0)),
               "squares, n = 10": (adjit.differentiable(squares).compiled(), (a,))}
    print("| function | call | primal | numba hand | adjit | added over hand |\n"
          "| --- | --- | --- | --- | --- | --- |")
    worst = 0.0
    for function, call, hand, derivative, args in rows:
        primal, primal_args = primals[function]
        primal_time = _median(lambda: primal(*primal_args), options.repeats)
        hand_time = _median(hand, options.repeats)
        adjit_time = _median(lambda: derivative(*args), options.repeats)
        added = adjit_time - hand_time
        worst = max(worst, added)
        print(f"| {function} | {call} | {primal_time * 1e6:.2f} µs | {hand_time * 1e6:.2f} µs "
              f"| {adjit_time * 1e6:.2f} µs | {added * 1e6:.2f} µs |", flush=True)
    print(f"\nmost added: {worst * 1e6:.2f} µs (target {TARGET_ADDED * 1e6:.0f} µs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
