"""Random loop nests inside a loop over components: the nests whose results
`passes/reverse/snapshot.py` keeps (one row per component) instead of recomputing,
and near misses of every kind.

`random_snapshot_program(seed)` writes `f(x, y, A, s)` (the signature of
`array_programs`, whose `check` it shares), for example

    n = x.shape[0]
    m = A.shape[0]
    p = np.empty(n)
    total = 0.0
    for rep in range(2):                  # sometimes; sometimes carrying `c`
        for k in range(m):                # or range(1, m)
            for i in range(n):
                p[i] = x[i] * A[k, i]
            index = k                     # sometimes: an int the nest steps,
                                          # from k, n, k + n, 2 k + 1 or a local
            for i in range(n):
                for j in range(i + 1, n):   # or range(i), range(n - i - 1), ...
                    p[j] = p[j] + 0.3 * A[k, index % n] * x[i]
                    index += 1
            for i in range(n):
                total += math.tanh(p[i]) * A[k, i] + 0.01 * index
    return total

Terms that call `sin` or read `p[i]` inside the nest make its reverse sweep
read values from the tape (no snapshot then); a carried `c` makes the loop
around the components recorded (no snapshot either).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from array_programs import ArrayProgram, campaign
from array_programs import check as check_program

_INNER = ("range(i + 1, n)", "range(i)", "range(n)", "range(n - i - 1)",
          "range(n - 1, i, -1)")
_FILLS = ("x[i] * A[k, i]", "math.sin(x[i]) + s * A[k, i]", "y[i] * s - A[k, i] * x[i]")
_TERMS = ("{c} * A[k, j] * x[i]", "{c} * x[i] * x[j] * s", "{c} * A[k, i] * y[j] * y[j]")
_NEAR_MISSES = ("{c} * math.sin(x[i] * y[j])", "{c} * p[i] * x[j]")
_USES = ("math.tanh(p[i]) * A[k, i]", "p[i] * p[i]", "math.sin(p[i]) * y[i]")


def check(program: ArrayProgram, targets=("python",), directory: Path | None = None) -> str:
    return check_program(program, targets, directory)


_STARTS = ("k", "n", "k + n", "2 * k + 1")


def random_snapshot_program(seed: int) -> ArrayProgram:
    rng = random.Random(seed)
    outer = rng.random() < 0.35
    carried = outer and rng.random() < 0.4
    stepped = rng.random() < 0.5
    second = rng.random() < 0.3
    lines = ["n = x.shape[0]", "m = A.shape[0]", "p = np.empty(n)", "total = 0.0"]
    if second:
        lines.append("r = np.empty(n)")
    if carried:
        lines.append("c = 1.0")
    indent = ""
    if outer:
        lines.append("for rep in range(2):")
        indent = "    "
    lines.append(indent + f"for k in {rng.choice(['range(m)', 'range(1, m)'])}:")
    body = ["for i in range(n):", f"    p[i] = {rng.choice(_FILLS)}" + (" * c" if carried else "")]
    if second:
        body += ["for i in range(n):", "    r[i] = x[i] * y[i] + A[k, i]"]
    if stepped:
        # where the counter starts: the reversed nest walks up from a start
        # it can re-evaluate (passes/optimize/counting.py), not from a name the loop binds
        if rng.random() < 0.2:
            body += ["start = k + 1", "index = start"]
        else:
            body.append(f"index = {rng.choice(_STARTS)}")
    body += ["for i in range(n):", f"    for j in {rng.choice(_INNER)}:"]
    terms = list(_TERMS) + (["{c} * A[k, index % n] * x[i]",
                             "{c} * A[k, (index + 1) % n] * x[i] * index"] if stepped else [])
    if rng.random() < 0.25:
        terms = list(_NEAR_MISSES)
    for _ in range(rng.randint(1, 2)):
        term = rng.choice(terms).format(c=round(rng.uniform(-0.5, 0.5), 2))
        body.append(f"        p[j] = p[j] + {term}")
    if second:
        body.append(f"        r[j] = r[j] * 0.9 + {round(rng.uniform(-0.5, 0.5), 2)} * x[i]")
    if stepped:
        body.append("        index += 1")
    use = rng.choice(_USES) + (" + r[i] * p[i]" if second else "") + \
        (" + 0.01 * index" if stepped else "")
    body += ["for i in range(n):", f"    total += {use}"]
    lines += [indent + "    " + line for line in body]
    if carried:
        lines.append("    c = c * 0.5 + 0.1 * total")
        lines.append("return total + c")
    else:
        lines.append("return total")
    text = "\n".join("    " + line for line in lines)
    return ArrayProgram(seed, f"import math\n\nimport numpy as np\n\n\ndef f(x, y, A, s):\n"
                              f"{text}\n")


if __name__ == "__main__":                 # python tests/fuzz/snapshot_programs.py 300 0 15
    campaign(random_snapshot_program, check, "snapshot", sys.argv[1:])
