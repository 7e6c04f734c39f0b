"""What the array, call, control and parallel families share: a `Writer`
that emits lines, tags each construct it emits, and knows which second-order
modes docs/limitations.md#higher-order lets adjit refuse for what it emitted.

Tags name constructs (`"view q[:, j]"`, `"np.prod axis"`): coverage.py maps
the constructs of docs/supported.md to them. Marks (`Writer.mark`) name what
makes a documented refusal possible:

    reduction in loop    a whole-array reduction of a view in a loop
                         (`total += np.dot(q[i], w)`): every second order
    adjoint in loop      an array adjoint accumulated in a loop or a branch,
    adjoint in branch    a sum into an operand broadcast through `None`
    none axis            axes, a slice write: reverse over reverse
    slice write          (`vjp(grad)`, `grad(grad)`)
    no third order       lgamma, gamma, np.prod: `grad(grad(grad))`
"""

from __future__ import annotations

import random

REV_OVER_REV = ("vjp_grad", "grad_grad")
SECOND_ORDER = ("hvp", "hessian", "jvp_grad", "vjp_grad", "grad_jvp", "grad_grad", "grad3")

_WHY = {
    "reduction in loop": "limitations.md#higher-order: a gradient that accumulates a "
                         "whole-array adjoint inside a loop, in every mode",
    "adjoint in loop": "limitations.md#higher-order: reverse over reverse of a gradient that "
                       "accumulates an array adjoint inside a loop",
    "adjoint in branch": "limitations.md#higher-order: reverse over reverse of a gradient "
                         "that accumulates an array adjoint inside a branch",
    "none axis": "limitations.md#higher-order: reverse over reverse through a view with "
                 "None axes",
    "slice write": "limitations.md#higher-order: reverse over reverse of a slice write",
    "no third order": "limitations.md#higher-order: lgamma, gamma, np.prod have no third "
                      "derivative",
}


def refusable(marks) -> dict:
    """mode -> the documented reason adjit may refuse it, for these marks."""
    out = {}
    for mark in sorted(marks):
        why = _WHY[mark]
        if mark == "reduction in loop":
            modes = SECOND_ORDER
        elif mark == "no third order":
            modes = ("grad3",)
        else:
            modes = REV_OVER_REV
        for mode in modes:
            out.setdefault(mode, why)
    return out


class Writer:
    def __init__(self, seed: int, avoid=frozenset()):
        self.rng = random.Random(seed)
        self.lines: list[str] = []
        self.tags: set[str] = set()
        self.marks: set[str] = set()
        self.avoid = frozenset(avoid)      # tags to emit in an equivalent other form
        self.count = 0

    # ------------------------------------------------------------- drawing
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def choice(self, options):
        return self.rng.choice(list(options))

    def coef(self, lo=-0.9, hi=0.9) -> str:
        c = round(self.rng.uniform(lo, hi), 2)
        if c == 0.0:
            c = 0.35
        return f"({c})" if c < 0 else str(c)

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    # ------------------------------------------------------------ emitting
    def emit(self, line: str, depth: int = 0):
        self.lines.append("    " * depth + line)

    def tag(self, *names: str):
        self.tags.update(names)

    def mark(self, *names: str):
        for name in names:
            assert name in _WHY, name
        self.marks.update(names)

    def body(self, depth: int = 1) -> str:
        return "\n".join("    " * depth + line if line else "" for line in self.lines)

    def smooth(self, e: str) -> str:
        """An elementwise function of `e` (scalar or array, np. form) that
        stays in range and smooth."""
        e = f"({e})"
        return self.choice([f"np.tanh({e})", f"np.sin({e})", f"np.log1p({e} * {e})",
                            f"np.sqrt(1.0 + {e} * {e})", f"{e} / (2.0 + {e} * {e})",
                            f"np.exp(0.3 * np.tanh({e}))", f"0.5 * {e} * {e}"])

    def smooth_scalar(self, e: str) -> str:
        e = f"({e})"
        return self.choice([f"math.tanh({e})", f"math.sin({e})", f"math.log1p({e} * {e})",
                            f"math.sqrt(1.0 + {e} * {e})", f"{e} / (2.0 + {e} * {e})",
                            f"math.exp(0.3 * math.tanh({e}))", f"0.5 * {e} * {e}"])
