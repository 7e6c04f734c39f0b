"""Random loop nests whose inner loop reads an element fixed by the outer
index: the loops `passes/optimize/accumulate.py` rewrites (an adjoint element
summed in a local over the inner loop, added after it when it made a trip).

`random_nest_program(seed)` writes `f(x, y, A, s)` (the signature of
`array_programs`, whose `check` it shares), for example

    n = x.shape[0]
    u = np.empty(n)                       # sometimes: the outer reads x itself
    for i in range(n):
        u[i] = math.sin(x[i]) * s
    q = np.copy(y)
    for i in range(n):
        for j in range(i + 1, n):         # or range(n - i), range(i), range(n), ...
            q[j] = q[j] + 0.3 * A[1, j] * u[i]
            total += u[i] * q[j] * 0.1    # sometimes
    return sum(q * q) + total

The inner ranges include ones that make no trip for some `i` (`range(i +
1, n)` at the last `i`, `range(n - i - 1)`), and outer ranges that run
past `n` (`range(n + 2)` with `range(n - i)`), where the element the inner
loop would read does not exist.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from array_programs import ArrayProgram, M, campaign
from array_programs import check as check_program

_INNER = ("range(i + 1, n)", "range(n - i - 1)", "range(i)", "range(n)", "range(1, n - i)",
          "range(n - 1, i, -1)")
_TERMS = ("{c} * A[{k}, j] * {e}", "{c} * math.sin({e} * y[j])", "{c} * {e} * {e} * x[j]",
          "{c} * math.tanh({e} + q[j])", "{c} * {e} * s")


def check(program: ArrayProgram, targets=("python",), directory: Path | None = None) -> str:
    return check_program(program, targets, directory)


def random_nest_program(seed: int) -> ArrayProgram:
    rng = random.Random(seed)
    lines = ["n = x.shape[0]", "total = 0.0"]
    if rng.random() < 0.5:
        lines += ["u = np.empty(n)", "for i in range(n):",
                  f"    u[i] = {rng.choice(['math.sin(x[i]) * s', 'x[i] * x[i] + y[i]'])}"]
        element = "u[i]"
    else:
        element = "x[i]"
    lines.append(rng.choice(["q = np.copy(y)", "q = np.zeros(n)"]))
    ragged = rng.random() < 0.25
    lines.append(f"for i in range({'n + 2' if ragged else 'n'}):")
    inner = "range(n - i)" if ragged else rng.choice(_INNER)
    lines.append(f"    for j in {inner}:")
    for _ in range(rng.randint(1, 2)):
        term = rng.choice(_TERMS).format(c=round(rng.uniform(-0.5, 0.5), 2),
                                         k=rng.randrange(M), e=element)
        lines.append(f"        q[j] = q[j] + {term}")
    if rng.random() < 0.5:
        lines.append(f"        total += {element} * q[j] * {round(rng.uniform(-0.2, 0.2), 2)}")
    lines += ["for j in range(n):", "    total += math.sin(q[j]) * q[j]", "return total"]
    body = "\n".join("    " + line for line in lines)
    return ArrayProgram(seed, f"import math\n\nimport numpy as np\n\n\ndef f(x, y, A, s):\n"
                              f"{body}\n")


if __name__ == "__main__":                     # python tests/fuzz/nest_programs.py 300 0 15
    campaign(random_nest_program, check, "nest", sys.argv[1:])
