"""Random array programs: whole-array operations and element loops.

`random_array_program(seed)` writes a function

    def f(x, y, A, s):          # x, y: (n,), A: (m, n), s: a float
        ...                     # 3 to 10 statements
        return <a float>

from a table of constructs that keep values smooth and in range
(`np.tanh`, `np.sin`, `np.log1p(e * e)`, divisions by `2 + e * e`, ...):
elementwise operators and ufuncs with broadcasting (scalar, row, `None`
axes), `@` and `np.dot`, `np.outer`, `np.sum` along each axis, `.T`,
reversed and shifted slices, `np.where`, `np.maximum`, element loops that
read and write local arrays (over `range`, or over `enumerate(zip(x, y))`;
`min`/`max` of three values), accumulations into a slice; some programs
annotated, some opening with input checks (`raise`, `assert`). Each variable
has a known shape: `v` (n,), `w` (m,), `M` (m, n), a float.

`check(program, seed)` compares, on target="python" (and "cpu" on request),
the reverse-mode gradient with respect to all four arguments against
central finite differences along a random direction, and forward mode
against reverse mode. Used by tests/fuzz/test_array_fuzz.py.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

N, M = 5, 3


@dataclass
class ArrayProgram:
    seed: int
    source: str
    tags: frozenset = frozenset()       # constructs its source alone does not show


class _Writer:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lines: list[str] = []
        self.count = 0
        self.vars = {"v": ["x", "y"], "w": ["w0"], "M": ["A"], "s": ["s"]}
        self.lines.append("w0 = np.sum(A, axis=1) * 0.5")

    def fresh(self, kind: str) -> str:
        self.count += 1
        name = {"v": "v", "w": "w", "M": "m", "s": "t"}[kind] + str(self.count)
        return name

    def pick(self, kind: str) -> str:
        return self.rng.choice(self.vars[kind])

    def smooth(self, expression: str) -> str:
        """An elementwise function of `expression` that stays in range."""
        expression = f"({expression})"
        return self.rng.choice([
            f"np.tanh({expression})", f"np.sin({expression})",
            f"np.log1p({expression} * {expression})",
            f"np.sqrt(1.0 + {expression} * {expression})",
            f"np.exp(0.3 * np.tanh({expression}))",
            f"{expression} / (2.0 + {expression} * {expression})",
            f"np.maximum({expression}, 0.5 * {expression} - 3.0)",
            f"np.where({expression} > 10.0, {expression}, 0.5 * {expression})",
            f"{expression} ** 2",
        ])

    def vector(self) -> str:
        """An expression of shape (n,)."""
        a, b = self.pick("v"), self.pick("v")
        s = self.pick("s")
        return self.rng.choice([
            f"{a} + {b}", f"{a} * {b}", f"{a} - 0.5 * {b}", f"{s} * {a}",
            f"np.tanh({s}) + {a}", f"{a}[::-1] * {b}", f"self_dot",
            f"np.sum({self.pick('M')}, axis=0)", f"{self.pick('M')}.T @ {self.pick('w')}"
            if self.vars["w"] else f"{a} * 0.7",
            f"np.sum({self.pick('M')} * {a}[None, :], axis=0)",
        ]).replace("self_dot", f"{self.pick('M')}.T @ np.tanh({self.pick('M')} @ {a})")

    def statement(self) -> None:
        rng = self.rng
        kind = rng.choice(["v", "v", "v", "w", "M", "s", "s", "loop", "slice"])
        if kind == "v":
            name = self.fresh("v")
            self.lines.append(f"{name} = {self.smooth(self.vector())}")
            self.vars["v"].append(name)
        elif kind == "w":
            name = self.fresh("w")
            matrix, vector = self.pick("M"), self.pick("v")
            self.lines.append(f"{name} = " + rng.choice([
                f"{matrix} @ {vector}", f"np.sum({matrix}, axis=1)",
                f"np.dot({matrix}, np.sin({vector}))"]))
            self.vars["w"].append(name)
        elif kind == "M":
            name = self.fresh("M")
            matrix, vector = self.pick("M"), self.pick("v")
            column = self.pick("w") if self.vars["w"] else "w0"
            self.lines.append(f"{name} = " + rng.choice([
                f"{self.smooth(matrix)}", f"{matrix} * {vector}",
                f"np.outer({column}, {vector}) + {matrix}",
                f"{matrix} + {column}[:, None] * {self.pick('s')}"]))
            self.vars["M"].append(name)
        elif kind == "s":
            name = self.fresh("s")
            a, b = self.pick("v"), self.pick("v")
            self.lines.append(f"{name} = " + rng.choice([
                f"np.dot({a}, {b})", f"np.sum({self.smooth(a)})", f"np.mean({a})",
                f"np.sum({self.pick('M')} ** 2)", f"np.max({a})",
                f"np.sum({a}[1:] * {b}[:-1])", f"np.linalg.norm({a}) + 1.0"]))
            self.vars["s"].append(name)
        elif kind == "loop":
            name = self.fresh("v")
            a, b, s = self.pick("v"), self.pick("v"), self.pick("s")
            self.lines.append(f"{name} = np.zeros({N})")
            body = rng.choice([
                f"{name}[i] = {a}[i] * {s} + math.sin({b}[i])",
                f"{name}[i] = {a}[i] * {b}[(i + 1) % {N}]",
                f"{name}[i] = {name}[i - 1] * 0.5 + {a}[i] if i > 0 else {a}[0]",
                f"{name}[i] = max({a}[i], {b}[i] * {s}, 0.2) + min({a}[i], -0.1, {b}[i])",
            ])
            if body.endswith(f"math.sin({b}[i])") and rng.random() < 0.5:
                # the same loop over the elements themselves
                self.lines.append(f"for i, (ai, bi) in enumerate(zip({a}, {b})):")
                body = f"{name}[i] = ai * {s} + math.sin(bi)"
            else:
                self.lines.append(f"for i in range({N}):")
            self.lines.append(f"    {body}")
            if rng.random() < 0.5:
                self.lines.append(f"for i in range(1, {N}):")
                self.lines.append(f"    {name}[i] += 0.3 * {name}[i - 1] * {s}")
            self.vars["v"].append(name)
        else:
            name = self.fresh("v")
            a, b = self.pick("v"), self.pick("v")
            self.lines.append(f"{name} = np.zeros({N})")
            self.lines.append(f"{name}[1:] = {a}[:-1] * 2.0")
            self.lines.append(f"{name}[0] = np.sum({b})")
            self.vars["v"].append(name)

    def result(self) -> str:
        terms = [f"np.sum({self.smooth(self.pick('v'))})", self.pick("s")]
        if self.vars["w"]:
            terms.append(f"np.dot({self.pick('w')}, {self.pick('w')})")
        if len(self.vars["M"]) > 1:
            terms.append(f"np.sum({self.vars['M'][-1]}) * 0.1")
        return " + ".join(terms)


def random_array_program(seed: int) -> ArrayProgram:
    rng = random.Random(seed)
    writer = _Writer(rng)
    for _ in range(rng.randint(3, 10)):
        writer.statement()
    result = writer.result()
    # annotations and input checks from a generator of their own, so that
    # the rest of each program is what it was
    forms = random.Random(f"forms:{seed}")
    signature, imports = "def f(x, y, A, s):", ""
    if forms.random() < 0.25:
        signature = ("def f(x: np.ndarray, y: NDArray[np.float64], A: \"np.ndarray\", "
                     "s: float) -> float:")
        imports = "from numpy.typing import NDArray\n"
    if forms.random() < 0.2:
        writer.lines[:0] = ["if s != s:", '    raise ValueError("s is NaN")']
    if forms.random() < 0.2:
        writer.lines.insert(0, 'assert x.shape[0] == y.shape[0], "x and y differ in length"')
    body = "\n".join("    " + line for line in writer.lines)
    source = (f"import math\n\nimport numpy as np\n{imports}\n\n{signature}\n{body}\n"
              f"    return {result}\n")
    return ArrayProgram(seed, source)


def load(program: ArrayProgram, directory: Path):
    path = directory / f"adjit_array_fuzz_{program.seed}.py"
    path.write_text(program.source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module.f


def inputs(seed: int):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, N), rng.uniform(-1, 1, N), rng.uniform(-1, 1, (M, N)),
            float(rng.uniform(0.5, 1.5)))


SKIPPED_UNSTABLE = "skipped: finite differences unstable"
SKIPPED_RANGE = "skipped: value out of range"


def check(program: ArrayProgram, targets=("python",), directory: Path | None = None,
          make_inputs=None) -> str:
    """"ok", `SKIPPED_UNSTABLE` or `SKIPPED_RANGE` (nothing was compared:
    counted, never "ok"), or a report of the disagreement (`make_inputs(seed)`:
    the arguments, `inputs` by default). Campaigns and CI check these
    families through families.py and case_harness.py, which also compare
    values, shapes and dtypes and retry at other points."""
    from adjit import jit
    directory = directory or Path(tempfile.mkdtemp(prefix="adjit-array-fuzz-"))
    f = load(program, directory)
    args = (make_inputs or inputs)(program.seed)
    rng = np.random.default_rng(program.seed + 1)
    directions = tuple(rng.normal(size=np.shape(a)) if np.ndim(a) else float(rng.normal())
                       for a in args)
    value = f(*args)
    if not np.isfinite(value) or abs(value) > 1e8:
        return SKIPPED_RANGE                          # out of range: not a finding
    estimates = []
    for h in (1e-5, 1e-4):
        plus = [a + h * d for a, d in zip(args, directions)]
        minus = [a - h * d for a, d in zip(args, directions)]
        estimates.append((f(*plus) - f(*minus)) / (2 * h))
    if abs(estimates[0] - estimates[1]) > 1e-5 * max(1.0, abs(estimates[0])):
        return SKIPPED_UNSTABLE                       # not smooth here (a kink)
    numerical = estimates[0]
    for target in targets:
        gradients = jit.grad(f, wrt=(0, 1, 2, 3), target=target)(*args)
        predicted = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(gradients, directions))
        _, tangent = jit.jvp(f, wrt=(0, 1, 2, 3), target=target)(*args, directions)
        scale = max(1.0, abs(numerical))
        if abs(predicted - numerical) > 1e-6 * scale or abs(tangent - predicted) > 1e-9 * scale:
            return (f"program {program.seed} [{target}]: <grad, d> = {predicted!r}, "
                    f"jvp = {tangent!r}, finite differences = {numerical!r}\n{program.source}")
    return "ok"


def campaign(make_program, check_program, kind: str, argv: list[str]) -> int:
    """Check programs `make_program(seed)` for seeds `argv[0]` (count, 100)
    from `argv[1]` (start, 0), with target="cpu" too every `argv[2]`-th
    (0: never); print each finding and a summary, return how many."""
    count = int(argv[0]) if argv else 100
    start = int(argv[1]) if len(argv) > 1 else 0
    every = int(argv[2]) if len(argv) > 2 else 0
    failures = skipped = 0
    directory = Path(tempfile.mkdtemp(prefix=f"adjit-{kind}-fuzz-"))
    for seed in range(start, start + count):
        targets = ("python", "cpu") if every and seed % every == 0 else ("python",)
        try:
            outcome = check_program(make_program(seed), targets, directory)
        except Exception as error:                    # a crash is a finding too
            outcome = f"program {seed}: {type(error).__name__}: {error}\n" \
                      f"{make_program(seed).source}"
        if outcome.startswith("skipped"):
            skipped += 1
        elif outcome != "ok":
            failures += 1
            print(outcome, flush=True)
    print(f"{count} {kind} programs, {failures} failures, {skipped} skipped "
          f"({100 * skipped / max(1, count):.1f}%; more than 5% fails the campaign)")
    return failures + (skipped > 0.05 * count)


if __name__ == "__main__":                             # python tests/fuzz/array_programs.py 500
    campaign(random_array_program, check, "array", sys.argv[1:])
