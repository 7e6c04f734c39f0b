"""`python -m adjit demo`: differentiate four small programs, show the
generated source, check the gradients against finite differences and time
the compiled gradient against the Numba-compiled primal.

The programs are ordinary Python: a chain rule, a loop that carries a value
through a million iterations, a while-loop Newton iteration whose trip count
depends on the data, and the Gaussian kernel norm written as loops over
NumPy arrays (its gradient needs no tape: O(N) memory).
"""

from __future__ import annotations

import inspect
import math
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import numba
import numpy as np

FD_STEP = 1e-6
CHECK_TOLERANCE = 1e-6      # on |analytic - fd| / max(1, |fd|)
MIN_RUN_SECONDS = 0.02      # a timed run repeats fast calls until it lasts this long


def chain(a, b, c):
    return a * (b + c)


def carried_loop(a, b, n):
    for i in range(n):
        a = a * 0.9 + math.sin(a) * b
    return a


def newton_sqrt(c):
    x = c if c > 1.0 else 1.0
    steps = 0
    while abs(x * x - c) > 1e-12 and steps < 100:
        x = x - (x * x - c) / (2.0 * x)
        steps += 1
    return x


def kernel_norm(q, p, s):
    n = q.shape[0]
    total = 0.0
    for i in range(n):
        for j in range(n):
            d2 = 0.0
            for k in range(q.shape[1]):
                d2 += (q[i, k] - q[j, k]) ** 2
            dot = 0.0
            for k in range(p.shape[1]):
                dot += p[i, k] * p[j, k]
            total += math.exp(-d2 / (2 * s * s)) * dot
    return 0.5 * total


def kernel_norm_parallel(q, p, s):
    """`kernel_norm` with its rows in parallel (docs/parallel.md); not part of
    the demo's four programs, shared by tests/ and bench/."""
    n = q.shape[0]
    total = 0.0
    for i in numba.prange(n):
        for j in range(n):
            d2 = 0.0
            for k in range(q.shape[1]):
                d2 += (q[i, k] - q[j, k]) ** 2
            dot = 0.0
            for k in range(p.shape[1]):
                dot += p[i, k] * p[j, k]
            total += math.exp(-d2 / (2 * s * s)) * dot
    return 0.5 * total


@dataclass
class Example:
    title: str
    function: Callable
    wrt: Any
    check_args: tuple
    timing_args: tuple
    expected: str = ""                 # what the gradient should be, in words
    exact: Callable | None = None      # closed-form gradient at check_args, if known


def central_difference(primal: Callable, args: tuple, position: int,
                       step: float = FD_STEP) -> float:
    """d primal / d args[position] by a central finite difference."""
    plus, minus = list(args), list(args)
    plus[position] = args[position] + step
    minus[position] = args[position] - step
    return (primal(*plus) - primal(*minus)) / (2.0 * step)


def directional_difference(primal: Callable, args: tuple, position: int, direction,
                           step: float = FD_STEP) -> float:
    """d/dt primal(args with args[position] + t * direction) at t = 0."""
    plus, minus = list(args), list(args)
    plus[position] = args[position] + step * direction
    minus[position] = args[position] - step * direction
    return (primal(*plus) - primal(*minus)) / (2.0 * step)


def median_seconds(function: Callable, args: tuple, repeats: int) -> float:
    """Median over ``repeats`` runs of the time of one call; each run repeats
    the call enough times to last MIN_RUN_SECONDS, so that fast functions are
    measured above the timer's resolution."""
    function(*args)                                          # warm-up
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            function(*args)
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_RUN_SECONDS or calls >= 1 << 20:
            break
        calls *= 2
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function(*args)
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:8.3f} {unit}"
    return f"{seconds / 1e-9:8.1f} ns"


def as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def header(text: str, char: str = "=") -> None:
    print()
    print(char * 78)
    print(text)
    print(char * 78)


def section(text: str) -> None:
    print(f"\n--- {text} " + "-" * max(0, 73 - len(text)))


def run_example(number: int, example: Example, repeats: int) -> bool:
    import adjit
    from adjit import jit

    header(f"{number}. {example.title}")
    print(inspect.getsource(example.function).rstrip())

    primal = adjit.differentiable(example.function)
    gradient = jit.grad(primal, wrt=example.wrt)
    positions = as_tuple(example.wrt)

    start = time.perf_counter()
    analytic = as_tuple(gradient(*example.check_args))
    first_call = time.perf_counter() - start

    section(f"generated gradient source (wrt={example.wrt!r})")
    print(adjit.source(gradient, *example.check_args).rstrip())

    shown = tuple(f"array{a.shape}" if isinstance(a, np.ndarray) else a
                  for a in example.check_args)
    section(f"gradient at {shown!r}".replace("'", ""))
    print(f"first call (transform + Numba compile): {first_call:.2f} s")
    if example.expected:
        print(f"expected: {example.expected}")
    exact = as_tuple(example.exact(*example.check_args)) if example.exact else None
    ok = True
    print(f"{'wrt':>5}  {'adjit':>22}  {'finite difference':>22}  {'rel. error':>10}")
    for index, position in enumerate(positions):
        if isinstance(example.check_args[position], np.ndarray):
            # an array: the derivative along a random direction, <gradient, v>
            direction = np.random.default_rng(position).normal(
                size=example.check_args[position].shape)
            numeric = directional_difference(primal, example.check_args, position, direction)
            analytic = list(analytic)
            analytic[index] = float(np.sum(analytic[index] * direction))
        else:
            numeric = central_difference(primal, example.check_args, position)
        error = abs(analytic[index] - numeric) / max(1.0, abs(numeric))
        passed = error < CHECK_TOLERANCE
        matches_exact = exact is None or (
            abs(analytic[index] - exact[index]) <= 1e-10 * max(1.0, abs(exact[index])))
        ok = ok and passed and matches_exact
        verdict = "ok" if passed and matches_exact else (
            "MISMATCH" if not passed else "MISMATCH (closed form)")
        print(f"{position!r:>5}  {analytic[index]:22.15g}  {numeric:22.15g}  "
              f"{error:10.1e}  {verdict}")

    timed = tuple(f"array{a.shape}" if isinstance(a, np.ndarray) else a
                  for a in example.timing_args)
    section(f"timing, median of {repeats} (arguments {timed!r})".replace("'", ""))
    primal_time = median_seconds(primal, example.timing_args, repeats)
    gradient_time = median_seconds(gradient, example.timing_args, repeats)
    print(f"Numba primal     {format_seconds(primal_time)}")
    print(f"adjit gradient   {format_seconds(gradient_time)}   "
          f"{gradient_time / primal_time:5.2f}x the primal")
    if primal_time < 1e-5:
        print("(a call this short is mostly call overhead, not arithmetic)")
    return ok


def examples(timing_n: int) -> list[Example]:
    return [
        Example("Chain rule: f(a, b, c) = a * (b + c)", chain, wrt=(0, 1, 2),
                check_args=(2.2, -1.8, 0.1), timing_args=(2.2, -1.8, 0.1),
                expected="(b + c, a, a) = (-1.7, 2.2, 2.2)",
                exact=lambda a, b, c: (b + c, a, a)),
        Example("A loop carrying a value: a = a*0.9 + sin(a)*b, n times", carried_loop,
                wrt=(0, 1), check_args=(0.5, 0.1, 1000), timing_args=(0.5, 0.1, timing_n),
                expected="b = 0.1 makes a creep towards 0 slowly, so both derivatives "
                         "stay well scaled"),
        Example("A while loop: Newton's iteration for sqrt(c)", newton_sqrt, wrt=0,
                check_args=(2.0,), timing_args=(2.0,),
                expected="1 / (2 sqrt(c)) = %.15g" % (0.5 / math.sqrt(2.0)),
                exact=lambda c: 0.5 / math.sqrt(c)),
        Example("Arrays: the Gaussian kernel norm as loops, gradient wrt q and p",
                kernel_norm, wrt=(0, 1), check_args=_kernel_inputs(40),
                timing_args=_kernel_inputs(1000),
                expected="arrays of the shape of q and p, checked along random directions "
                         "<gradient, v>; no tape: the pair loops are recomputed"),
    ]


def _kernel_inputs(n: int) -> tuple:
    rng = np.random.default_rng(n)
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), 1.0


def main(timing_n: int = 10**6, repeats: int = 5) -> int:
    """Run the demo; 0 if every gradient matched finite differences, else 1."""
    import numba

    import adjit

    print(f"adjit {adjit.__version__}, Numba {numba.__version__}: reverse-mode gradients "
          "of plain Python and NumPy,\ngenerated as source and compiled with Numba.")
    results = [run_example(number, example, repeats)
               for number, example in enumerate(examples(timing_n), start=1)]
    header("summary")
    for example, ok in zip(examples(timing_n), results):
        print(f"{'ok      ' if ok else 'MISMATCH'}  {example.title}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
