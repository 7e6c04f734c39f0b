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
range and smooth.
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
    terms = []
    for _ in range(rng.randint(2, 4)):
        template = rng.choice(_TERMS)
        symmetric = rng.randint(1, min(reach, high))
        terms.append(template.format(c=round(rng.uniform(-1.0, 1.0), 2),
                                     k=_offset(rng.randint(-reach, high)),
                                     k2=_offset(rng.randint(-reach, high)),
                                     m=_offset(-symmetric), p=_offset(symmetric)))
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


if __name__ == "__main__":                     # python tests/fuzz/stencil_programs.py 300 0 15
    campaign(random_stencil_program, check, "stencil", sys.argv[1:])
