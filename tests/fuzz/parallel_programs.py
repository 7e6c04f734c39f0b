"""Family `prange`: parallel loops (docs/parallel.md, target="cpu"; on
target="python" a prange is a range).

`random_parallel_program(seed)` writes

    def f(x, y, Q, s):          # x, y: (8,), Q: (8, 3), s: a float
        n = x.shape[0]
        ...                     # 1 to 3 parallel loops, each read by serial code
        return <a float>

whose `prange` bodies do what docs/parallel.md#what-a-parallel-loop-may-do
allows: scalars of their own assigned before they are read, sum reductions
(`+=`, `-=`), reads of any array the loop does not write (neighbours,
whole rows, an inner serial loop over all elements), writes at the loop's
own index (`out[i] = ...`, `B[i, k] += ...`), an array created in the body,
`if`s, a `while` loop whose adjoint needs no recorded values;
`prange(n)`, `numba.prange(n)`, `prange(1, n - 1)` and `prange(-2, n - 2)`
(reads only). On target="cpu" the compiled primal (`adjit.differentiable(f)`
called directly) is checked too.

One program in eight adds a near miss docs/parallel.md lists as refused
(a carried scalar, a write at another index, a scalar read after the loop,
a nested prange, a step, a body whose reverse sweep needs a tape): the
expected outcome is a located refusal, counted as `refused`.
"""

from __future__ import annotations

import numpy as np

from case_harness import Case
from program_writer import Writer, refusable

N, K = 8, 3

OWN_AUGMENTED = "own element written, then augmented, in a prange"
SECOND_THROUGH_PRANGE = "second order of a prange with a branch or shared reads"
SHARED_OR_BRANCHING = frozenset({"if in a prange body", "reads of other elements in a prange",
                                 "serial loop inside a prange", "prange with a negative start",
                                 "while loop in a prange body"})

NEAR_MISSES = {
    "carried scalar": ["c = 1.0", "for i in prange(n):", "    c = c * 0.5 + x[i]",
                       "total += c"],
    "write at another index": ["z = np.zeros(n)", "for i in prange(n - 1):",
                               "    z[i + 1] = x[i] * s", "total += np.sum(z * z)"],
    "scalar read after the loop": ["last = 0.0", "for i in prange(n):", "    last = x[i] * 2.0",
                                   "total += last * s"],
    "nested prange": ["for i in prange(n):", "    for j in prange(3):",
                      "        total += Q[i, j] * x[i]"],
    "prange with a step": ["for i in prange(0, n, 2):", "    total += x[i] * y[i] * s"],
    "body needing a tape": ["for i in prange(n):", "    v = x[i]", "    for k in range(3):",
                            "        v = math.sin(v) * s", "    total += v"],
}


def make_inputs(seed: int):
    def inputs(attempt: int):
        rng = np.random.default_rng([seed, attempt, 29])
        return (rng.uniform(-1, 1, N), rng.uniform(-1, 1, N), rng.uniform(-1, 1, (N, K)),
                float(rng.uniform(0.5, 1.5)))
    return inputs


class _Parallel:
    def __init__(self, seed: int, avoid):
        self.w = Writer(seed, avoid)
        self.terms: list[str] = []

    def header(self):
        w = self.w
        form = w.choice(["prange(n)", "prange(n)", "numba.prange(n)", "prange(1, n - 1)"])
        w.tag(form if form != "prange(1, n - 1)" else "prange(a, b)")
        return f"for i in {form}:"

    def add(self, term):
        self.terms.append(term)

    # ------------------------------------------------------------- snippets
    def own_elements(self):
        w = self.w
        w.tag("write at the loop's own index", "own scalar in a prange body")
        out = w.fresh("out")
        w.emit(f"{out} = np.{w.choice(['empty', 'zeros'])}(n)")
        w.emit("for i in prange(n):")
        v = w.fresh("v")
        w.emit(f"    {v} = " + w.choice(["math.sin(x[i]) * s", "x[i] * y[i] + s",
                                         "math.tanh(x[i] - y[i])"]))
        w.emit(f"    {out}[i] = {v} * {v} + {w.coef()} * x[i]")
        if w.chance(0.25):
            w.tag("element write a[i] += v in a prange", OWN_AUGMENTED)
            if OWN_AUGMENTED in w.avoid:
                w.lines[-1] += f" + {w.coef()} * y[i] * s"
            else:
                w.emit(f"    {out}[i] += {w.coef()} * y[i] * s")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        w.emit("for i in range(n):")
        w.emit(f"    {t} += {out}[i] * {out}[i] * {w.coef()}")
        self.add(t)

    def reduction(self):
        w = self.w
        op = w.choice(["+=", "-="])
        w.tag(f"sum reduction {op} in a prange")
        t = w.fresh("t")
        w.emit(f"{t} = {w.coef()}")
        w.emit(self.header())
        w.emit(f"    {t} {op} " + w.choice(["x[i] * x[i] * s", "math.sin(x[i] * y[i])",
                                            "math.exp(0.3 * math.tanh(x[i])) * y[i]"]))
        self.add(w.smooth_scalar(t))

    def neighbours(self):
        w = self.w
        w.tag("reads of other elements in a prange", "prange(a, b)")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        w.emit(f"for i in {w.choice(['prange', 'numba.prange'])}(1, n - 1):")
        w.emit(f"    {t} += {w.coef()} * (x[i - 1] - 2.0 * x[i] + x[i + 1]) ** 2 + "
               f"math.tanh(y[i]) * s")
        self.add(t)

    def inner_loop(self):
        w = self.w
        w.tag("serial loop inside a prange", "reads of other elements in a prange")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        w.emit("for i in prange(n):")
        w.emit("    for j in range(n):")
        w.emit(f"        d = x[i] - x[j]")
        w.emit(f"        {t} += math.exp(-d * d * s) * y[i] * y[j] * {w.coef(0.05, 0.2)}")
        self.add(t)

    def rows(self):
        w = self.w
        w.tag("write at the loop's own index", "serial loop inside a prange")
        B = w.fresh("B")
        w.emit(f"{B} = np.zeros((n, {K}))")
        w.emit("for i in prange(n):")
        w.emit(f"    for k in range({K}):")
        if w.chance(0.3) and OWN_AUGMENTED not in w.avoid:
            w.tag("element write a[i, j] += v in a prange", OWN_AUGMENTED)
            w.emit(f"        {B}[i, k] = Q[i, k] * x[i] * s")
            w.emit(f"        {B}[i, k] += {w.coef()} * Q[i, k] * Q[i, k]")
        else:
            w.tag("element write a[i, j] = v in a prange")
            w.emit(f"        {B}[i, k] = Q[i, k] * x[i] * s + {w.coef()} * Q[i, k] * Q[i, k]")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        w.emit("for i in range(n):")
        w.emit(f"    for k in range({K}):")
        w.emit(f"        {t} += math.sin({B}[i, k])")
        self.add(f"{w.coef()} * {t}")

    def local_array(self):
        w = self.w
        w.tag("array created in a prange body", "serial loop inside a prange")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        tmp = w.fresh("tmp")
        c = w.coef()
        w.emit("for i in prange(n):")
        if "array created in a prange body" in w.avoid:
            # avoided (families.KNOWN_WRONG): the same values in scalars
            for k in range(K):
                w.emit(f"    {tmp}_{k} = Q[i, {k}] * s + x[i]")
            w.emit(f"    {t} += {tmp}_0 * {tmp}_1 + {c} * {tmp}_2 * {tmp}_2")
        else:
            w.emit(f"    {tmp} = np.zeros({K})")
            w.emit(f"    for k in range({K}):")
            w.emit(f"        {tmp}[k] = Q[i, k] * s + x[i]")
            w.emit(f"    {t} += {tmp}[0] * {tmp}[1] + {c} * {tmp}[2] * {tmp}[2]")
        self.add(w.smooth_scalar(t))

    def branch(self):
        w = self.w
        w.tag("if in a prange body")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        w.emit(self.header())
        w.emit(f"    if x[i] > {w.coef(-0.5, 0.5)}:")
        w.emit(f"        {t} += x[i] * y[i] * s")
        w.emit("    else:")
        # `+=` on both sides: Numba refuses a reduction variable updated by
        # both += and -= in one prange
        w.emit(f"        {t} += {w.coef()} * math.sin(y[i])")
        self.add(t)

    def halving(self):
        w = self.w
        w.tag("while loop in a prange body")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        w.emit("for i in prange(n):")
        w.emit("    v = 1.5 + 2.0 * x[i] * x[i] + s")
        w.emit("    while v > 1.0:")
        w.emit("        v = v * 0.5")
        w.emit(f"    {t} += v * y[i]")
        self.add(t)

    def negative_start(self):
        w = self.w
        w.tag("prange with a negative start", "prange(a, b)")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        w.emit("for i in prange(-2, n - 2):")
        w.emit(f"    {t} += x[i] * y[i + 2] * {w.coef()} + s * x[i] * x[i] * 0.1")
        self.add(t)

    SNIPPETS = ("own_elements", "own_elements", "reduction", "reduction", "neighbours",
                "inner_loop", "rows", "local_array", "branch", "halving", "negative_start")

    def program(self, seed: int) -> Case:
        w = self.w
        w.emit("n = x.shape[0]")
        w.emit("total = 0.0")
        for _ in range(w.rng.randint(1, 3)):
            getattr(self, w.choice(self.SNIPPETS))()
        expect = None
        if w.chance(0.12):
            expect = w.choice(sorted(NEAR_MISSES))
            w.tag(f"refused near miss: {expect}")
            for line in NEAR_MISSES[expect]:
                w.emit(line)
        w.emit(f"return total + {' + '.join(self.terms)}")
        source = ("import math\n\nimport numba\nimport numpy as np\nfrom numba import prange\n\n\n"
                  f"def f(x, y, Q, s):\n{w.body()}\n")
        wrt = (0, 1, 2, 3)
        second, second_wrt = None, None
        if expect is None and w.chance(0.25):
            second = w.choice(["hvp", "hvp", "jvp_grad", "grad_jvp", "hessian"])
            if second == "hessian":
                second_wrt = (3,)
            elif second == "grad_jvp":
                second_wrt = (w.choice(wrt),)
        if second and w.tags & SHARED_OR_BRANCHING:
            # the gradient's prange loops differentiated again (avoidable,
            # families.KNOWN_WRONG): first order only when avoided
            w.tag(SECOND_THROUGH_PRANGE)
            if SECOND_THROUGH_PRANGE in w.avoid:
                second, second_wrt = None, None
        w.tag(f"second order {second}" if second else "first order only")
        return Case("prange", seed, source, make_inputs(seed), wrt, frozenset(w.tags),
                    second=second, second_wrt=second_wrt, refusable=refusable(w.marks),
                    expect_refusal=(f"parallel.md: {expect}" if expect else None),
                    compiled_primal=True)


def random_parallel_program(seed: int, avoid=frozenset()) -> Case:
    return _Parallel(seed, avoid).program(seed)


if __name__ == "__main__":
    import sys
    for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        case = random_parallel_program(seed)
        print(case.source, "#", sorted(case.tags), case.second)
