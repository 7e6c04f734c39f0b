"""Random time-stepped stencils: the loops the reverse sweep's vectorising
rewrites act on (`passes/optimize/scatter.py`, `passes/optimize/lanes.py`, one tape
reservation per nest in `passes/reverse/reserve.py`).

`random_stencil_program(seed)` writes `f(x, y, A, s)` (the signature of
`array_programs`, whose `check` it shares): `x` is the initial state, `s`
a parameter used at every point, `y` weights read at shifted indices too,

    u = np.copy(x); v = np.zeros(n)
    for t in range(STEPS):
        for i in range(LO, n - HI):
            v[i] = u[i] + 0.1 * s * (c1 * u[i + k1] + c2 * u[i + k2] * u[i + k3] + ...)
        for i in range(LO, n - HI):
            u[i] = <tanh(v[i]), v[i], (v[i] + u[i]) / 2, v[i] * (1 - 0.01 s)>
    return sum(y * u * u) + ...

with random offsets in [-LO, HI] and terms kept small, so values stay in
range and smooth. Some programs (drawn by a second generator, so that the
others stay as they were) write the same stencil as whole-array statements
in the time loop, which adjit lowers to element loops:

    v[LO:n - HI] = u[LO:n - HI] + 0.1 * s * (c1 * u[LO + k1:n - HI + k1] + ...)
    u[LO:n - HI] = v[LO:n - HI]; u[LO:n - HI] *= 1 - 0.01 s     (in-place, on a slice)
    w = np.tanh(v[LO:n - HI]); u[LO:n - HI] = w                 (a fresh array per step)
    u -= 0.01 * s * u                                           (in-place, on the array)
    u[1:n] = 0.5 * (u[1:n] + u[0:n - 1])                        (reads what it writes, shifted)
    total += 0.01 * np.sum(u[LO:n - HI] * v[LO:n - HI])         (or np.dot(u, y))
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
from array_programs import ArrayProgram, M, campaign
from array_programs import check as check_program

N = 11          # points: room for offsets up to 2 on each side

_TERMS = ("{c} * u[i{k}]", "{c} * u[i{k}] * u[i{k2}]", "{c} * math.sin(u[i{k}])",
          "{c} * y[i{k}] * u[i{k2}]", "{c} * u[i{k}] * s",
          # both neighbours' adjoints are one value (a shared scratch array)
          "{c} * (u[i{m}] - 2.0 * u[i] + u[i{p}]) * (1.0 + 0.1 * u[i] * u[i])")
_UPDATES = ("math.tanh(v[i])", "v[i]", "0.5 * (v[i] + u[i])", "v[i] * (1.0 - 0.01 * s)")
# the updates in slice form: (lines, with {v} and {u} the written slices; its tag)
_SLICE_UPDATES = (
    (["u{w} = np.tanh(v{w})"], "slice statement in a loop"),
    (["u{w} = v{w}", "u{w} *= 1.0 - 0.01 * s"], "in-place operator on a slice"),
    (["u{w} += 0.5 * (v{w} - u{w})"], "in-place operator on a slice"),
    (["w = np.tanh(v{w})", "u{w} = w"], "fresh array result in a loop"),
    (["u{w} = v{w}", "u -= 0.01 * s * u"], "in-place operator on an array"),
    (["u{w} = v{w}", "u[1:n] = 0.5 * (u[1:n] + u[0:n - 1])"],
     "slice write reading the written array shifted"),
)


def _offset(k: int) -> str:
    return "" if k == 0 else (f" + {k}" if k > 0 else f" - {-k}")


def inputs(seed: int):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, N), rng.uniform(-1, 1, N), rng.uniform(-1, 1, (M, N)),
            float(rng.uniform(0.5, 1.5)))


def check(program: ArrayProgram, targets=("python",), directory: Path | None = None) -> str:
    return check_program(program, targets, directory, make_inputs=inputs)


def random_stencil_program(seed: int) -> ArrayProgram:
    rng = random.Random(seed)
    low, high = rng.randint(1, 2), rng.randint(1, 2)
    # sometimes indices below 0, which wrap around (two iterations then meet
    # at one element), with a term that uses the index as a number
    wrapping = rng.random() < 0.2
    reach = 2 if wrapping else low
    if wrapping:
        low = rng.randint(-2, 0)
    sliced = not wrapping and random.Random(f"slices:{seed}").random() < 0.4
    terms = []
    for _ in range(rng.randint(2, 4)):
        template = rng.choice(_TERMS)
        symmetric = rng.randint(1, min(reach, high))
        offsets = dict(k=rng.randint(-reach, high), k2=rng.randint(-reach, high),
                       m=-symmetric, p=symmetric)
        if sliced:
            template = template.replace("math.sin", "np.sin")
            for key, k in offsets.items():
                template = template.replace(f"[i{{{key}}}]", _slice(low + k, high - k))
            terms.append(template.replace("[i]", _slice(low, high)).format(
                c=round(rng.uniform(-1.0, 1.0), 2)))
            continue
        terms.append(template.format(c=round(rng.uniform(-1.0, 1.0), 2),
                                     **{key: _offset(k) for key, k in offsets.items()}))
    if sliced:
        return _sliced_program(seed, rng, low, high, terms)
    if wrapping:
        terms.append(f"0.05 * (i + 3.0) * u[i{_offset(rng.randint(-reach, high))}]")
    lines = [
        "n = x.shape[0]",
        "u = np.copy(x)",
        "v = np.zeros(n)",
        f"for t in range({rng.randint(1, 4)}):",
        f"    for i in range({low}, n - {high}):",
        f"        v[i] = u[i] + 0.1 * s * ({' + '.join(terms)})",
        f"    for i in range({low}, n - {high}):",
        f"        u[i] = {rng.choice(_UPDATES)}",
        "total = 0.0",
        "for i in range(n):",
        "    total += y[i] * u[i] * u[i]",
        f"return total + {round(rng.uniform(0.01, 0.1), 2)} * np.sum(A * A)",
    ]
    body = "\n".join("    " + line for line in lines)
    return ArrayProgram(seed, f"import math\n\nimport numpy as np\n\n\ndef f(x, y, A, s):\n"
                              f"{body}\n")


def _slice(start: int, end: int) -> str:
    """`[start:n - end]`, the points `start <= i < n - end`."""
    return f"[{start}:{'n' if end == 0 else f'n - {end}'}]"


def _sliced_program(seed: int, rng: random.Random, low: int, high: int,
                    terms: list[str]) -> ArrayProgram:
    written = _slice(low, high)
    choices = random.Random(f"slice updates:{seed}")
    lines, tag = choices.choice(_SLICE_UPDATES)
    reduction = choices.choice([f"np.sum(u{written} * v{written})", "np.dot(u, y)"])
    body = [
        "n = x.shape[0]",
        "u = np.copy(x)",
        "v = np.zeros(n)",
        "total = 0.0",
        f"for t in range({rng.randint(1, 4)}):",
        f"    v{written} = u{written} + 0.1 * s * ({' + '.join(terms)})",
        *("    " + line.format(w=written) for line in lines),
        f"    total += 0.01 * {reduction}",
        "for i in range(n):",
        "    total += y[i] * u[i] * u[i]",
        f"return total + {round(rng.uniform(0.01, 0.1), 2)} * np.sum(A * A)",
    ]
    source = "\n".join("    " + line for line in body)
    return ArrayProgram(seed, f"import math\n\nimport numpy as np\n\n\ndef f(x, y, A, s):\n"
                              f"{source}\n", frozenset({tag, "reduction of a written array in "
                                                         "a loop"}))


if __name__ == "__main__":                     # python tests/fuzz/stencil_programs.py 300 0 15
    campaign(random_stencil_program, check, "stencil", sys.argv[1:])
