"""Family `recurrences`: element loops whose iterations read what earlier
iterations wrote, written the way people write Numba code: the loops the
dependence analysis (`passes/analysis/dependence.py`) proves need no record
of the elements they overwrite, their near misses, and the long time loops
the reverse sweep checkpoints (`passes/reverse/checkpoints.py`, on
target="cpu": segments of about sqrt(steps) iterations replayed from saved
states).

`random_recurrence_program(seed)` draws one of four kinds:

1. `chain`: a recurrence over a 1-D array `s` created by `np.empty`,
   `np.zeros` or `np.copy(x)`, `def f(x, w, a, c)`:

       s = np.empty(n)
       s[0] = math.tanh(x[0])
       for i in range(1, n):                 # or range(2, n): s[i - 1], s[i - 2]
           s[i] = a * x[i] + (1.0 - a) * s[i - 1]
       return np.sum(s * s)                  # or np.dot(s, w), s[n - 1] + c np.sum(s)

   descending too (`for i in range(n - 2, -1, -1): s[i] = F(x[i], s[i + 1])`),
   with an index temporary (`j = i - 1; s[j]`), and the near misses whose
   elements must be recorded: reading ahead in an array filled before
   (`s[i + 1]`), reading then writing one element (`s[i] = F(s[i], ...)`,
   `s[i] += F(x[i], s[i - 1])`),
   an index assigned only inside an `if` (or twice) in the loop, a
   descending loop reading `s[i - 1]`; sometimes a later loop rescales `s`
   in place, a time loop runs around the recurrence, `s` is read (or
   written) through a second name (`t = s`), an element is written again
   after it, or a second recurrence runs back over the first's result.
2. `grid`: a 2-D recurrence `r[i, j]` from `r[i - 1, j]`, `r[i, j - 1]`,
   `r[i - 1, j - 1]` (sometimes `r[i - 1, j + 1]`, the inner loop kept to
   `range(1, m - 1)`), `def f(A, B, a, c)`; sometimes swept column by
   column, near misses reading the row below or the element itself.
3. `items`: a loop over independent items calling helpers of the same
   module (one or two levels deep, with `if` branches on their arguments,
   returning floats), writing `out1[i]` and `out2[i]` (`np.empty`),
   sometimes reading the inputs through short local names (`S = spot`),
   `def f(spot, strike, a, c)`, returning `np.sum(out1) + c * np.sum(out2)`.
4. `time`: `for step in range(steps):` (1 to 40 steps, a literal or an int
   argument) around element loops: a stencil into a second array and a copy
   back, an in-place update, a Gauss-Seidel sweep, a sweep keeping the old
   neighbour in a scalar; sometimes the second array created in every step,
   a float carried across steps (into the objective, or into the update's
   rate), an int counter carried across steps;
   objective `np.sum(u * u)` and the like, `def f(x, w, a, c[, steps])`.

Inputs are N(0, 1) * 0.5, sizes 1 to 8 (grids up to 6 x 6), coefficients
below 1, so values stay bounded and finite differences well conditioned.
Gradients are taken with respect to every float argument (sometimes a
subset); some programs check second order (hvp, jvp(grad)) too.
"""

from __future__ import annotations

import numpy as np

from case_harness import Case
from program_writer import Writer, refusable

# --------------------------------------------------------------------------
# inputs


def make_inputs(seed: int, specs):
    """`specs`: per argument ("vec", n), ("mat", n, m), ("float", lo, hi) or
    ("int", value)."""
    def inputs(attempt: int):
        rng = np.random.default_rng([seed, attempt, 31])
        out = []
        for spec in specs:
            if spec[0] == "vec":
                out.append(rng.normal(size=spec[1]) * 0.5)
            elif spec[0] == "mat":
                out.append(rng.normal(size=(spec[1], spec[2])) * 0.5)
            elif spec[0] == "float":
                out.append(float(rng.uniform(spec[1], spec[2])))
            else:
                out.append(int(spec[1]))
        return tuple(out)
    return inputs


# --------------------------------------------------------------------------
# the step functions of the recurrences: {x} the input element, {p} the
# previous element (or a combination of the previous ones), {k} a coefficient
# below 1 in size

STEP = (
    ("smoothing", "a * {x} + (1.0 - a) * {p}"),
    ("tanh", "math.tanh({k} * {p} + {x})"),
    ("linear plus sin", "{k} * {p} + c * math.sin({x})"),
    ("product with exp", "{k} * {p} * math.exp(0.3 * math.tanh({x}))"),
    ("product", "{x} + {k} * {p} * {x}"),
    ("sin", "{k} * math.sin({p} + a * {x})"),
    ("rational", "{k} * {p} / (1.0 + {p} * {p}) + c * {x}"),
    ("square plus tanh", "c * {x} * {x} + {k} * math.tanh({p})"),
)

# two previous elements {p1}, {p2} into one {p}
COMBINE = ("{k1} * {p1} + {k2} * {p2}", "0.5 * ({p1} + {p2})", "{p1} * (1.0 + {k2} * {p2})",
           "{k1} * {p1} - {k2} * math.sin({p2})")

SEEDS = ("{x}", "a * {x}", "math.tanh({x})", "c * {x} + 0.1")


class _Program:
    def __init__(self, seed: int, avoid):
        self.w = Writer(seed, avoid)
        self.seed = seed
        self.helpers: list[str] = []

    # ------------------------------------------------------------ drawing
    def k(self, lo=-0.9, hi=0.9) -> str:
        return self.w.coef(lo, hi)

    def step(self, x: str, p: str) -> str:
        """`F(x, p)`: a step of a first-order recurrence."""
        name, template = self.w.choice(STEP)
        self.w.tag(f"step: {name}")
        return template.format(x=x, p=f"({p})" if " " in p else p, k=self.k())

    def step2(self, x: str, p1: str, p2: str) -> str:
        """`F(x, p1, p2)`: a step of a second-order recurrence."""
        combined = self.w.choice(COMBINE).format(p1=p1, p2=p2, k1=self.k(-0.6, 0.6),
                                                 k2=self.k(-0.35, 0.35))
        return self.step(x, combined)

    def first(self, x: str) -> str:
        return self.w.choice(SEEDS).format(x=x)

    # ------------------------------------------------------------ kind 1
    def chain(self):
        w = self.w
        w.tag("kind: 1-D recurrence")
        base = w.choice(["first", "first", "first", "second", "second", "descending",
                         "descending", "reads ahead", "same element", "index in a branch",
                         "index assigned twice", "descending reads before", "augmented"])
        near = base in ("reads ahead", "same element", "augmented", "index in a branch",
                        "index assigned twice", "descending reads before")
        w.tag(("near miss: " if near else "recurrence: ") + base)
        init = w.choice(["empty", "zeros", "copy"])
        n_low = 2 if base in ("second", "descending") and init == "empty" else 1
        n = w.rng.randint(n_low, 8)
        self.specs = [("vec", n), ("vec", n), ("float", 0.2, 0.9), ("float", 0.1, 0.9)]
        self.params = ["x", "w", "a", "c"]
        w.emit(w.choice(["n = x.shape[0]", "n = x.shape[0]", "n = len(x)"]))
        alias = w.chance(0.2)
        timed = w.chance(0.2)
        second_order_descending = base == "descending" and w.chance(0.35)

        # the array and what is written before the recurrence
        if near and base != "index in a branch" and base != "index assigned twice":
            # an array filled beforehand
            if init == "copy" or w.chance(0.4):
                w.tag("array from np.copy(x)")
                w.emit("s = np.copy(x)")
            else:
                w.tag(f"array from np.{init}, filled by a loop")
                w.emit(f"s = np.{init}(n)")
                w.emit("for i in range(n):")
                fill = w.choice(["math.sin(x[i]) * c", "x[i] + 0.1 * a", "x[i] * w[i]"])
                w.emit(f"    s[i] = {fill}")
        else:
            w.tag(f"array from np.{init}" + ("(x)" if init == "copy" else ""))
            if init == "copy":
                w.emit("s = np.copy(x)")
            else:
                w.emit(f"s = np.{init}(n)")
            if base == "descending":
                if init == "empty" or w.chance(0.5):
                    w.emit(f"s[n - 1] = {self.first('x[n - 1]')}")
                if second_order_descending and init == "empty":
                    w.emit(f"s[n - 2] = {self.step('x[n - 2]', 's[n - 1]')}")
            else:
                if init == "empty" or w.chance(0.5):
                    w.emit(f"s[0] = {self.first('x[0]')}")
                if base == "second" and init == "empty":
                    w.emit(f"s[1] = {self.step('x[1]', 's[0]')}")
        reader = writer = "s"
        if alias:
            w.tag("array read through a second name (t = s)")
            w.emit("t = s")
            reader = "t"
            if w.chance(0.4):
                w.tag("array written through a second name")
                reader, writer = "s", "t"

        depth = 0
        if timed:
            w.tag("time loop around the recurrence")
            w.emit(f"for rep in range({w.rng.randint(1, 6)}):")
            depth = 1

        def emit(line):
            w.emit(line, depth)

        if base == "first":
            emit("for i in range(1, n):")
            index = "i - 1"
            if w.chance(0.3):
                w.tag("index temporary (j = i - 1)")
                emit("    j = i - 1")
                index = "j"
            emit(f"    {writer}[i] = {self.step('x[i]', f'{reader}[{index}]')}")
        elif base == "second":
            emit("for i in range(2, n):")
            one, two = "i - 1", "i - 2"
            if w.chance(0.3):
                w.tag("index temporary (j = i - 1)")
                emit("    j = i - 1")
                emit("    jj = j - 1")
                one, two = "j", "jj"
            emit(f"    {writer}[i] = "
                 f"{self.step2('x[i]', f'{reader}[{one}]', f'{reader}[{two}]')}")
        elif base == "descending":
            if second_order_descending:
                w.tag("second-order descending recurrence")
                emit("for i in range(n - 3, -1, -1):")
                emit(f"    {writer}[i] = "
                     f"{self.step2('x[i]', f'{reader}[i + 1]', f'{reader}[i + 2]')}")
            else:
                emit("for i in range(n - 2, -1, -1):")
                emit(f"    {writer}[i] = {self.step('x[i]', f'{reader}[i + 1]')}")
        elif base == "reads ahead":
            emit("for i in range(n - 1):")
            emit(f"    {writer}[i] = {self.step('x[i]', f'{reader}[i + 1]')}")
        elif base == "same element":
            if w.chance(0.5):
                emit("for i in range(1, n):")
                emit(f"    {writer}[i] = {self.step(f'{reader}[i]', f'{reader}[i - 1]')}")
            else:
                emit("for i in range(n):")
                emit(f"    {writer}[i] = {self.step('x[i]', f'{reader}[i]')}")
        elif base == "augmented":
            emit("for i in range(1, n):")
            emit(f"    {writer}[i] += {self.step('x[i]', f'{reader}[i - 1]')}")
        elif base == "index in a branch":
            emit("k = 0")
            emit("for i in range(1, n):")
            emit(f"    if {w.choice(['i % 2 == 1', 'i > 2', 'i != 3', 'i < 4'])}:")
            emit("        k = i - 1")
            emit(f"    {writer}[i] = {self.step('x[i]', f'{reader}[k]')}")
        elif base == "index assigned twice":
            emit("for i in range(1, n):")
            emit("    k = i")
            emit("    k = k - 1")
            emit(f"    {writer}[i] = {self.step('x[i]', f'{reader}[k]')}")
        else:   # descending reads before
            emit("for i in range(n - 1, 0, -1):")
            emit(f"    {writer}[i] = {self.step('x[i]', f'{reader}[i - 1]')}")

        if w.chance(0.25):
            w.tag("later loop rescaling the array in place")
            w.emit("for i in range(n):")
            rescaled = w.choice(["s[i] * w[i]", "0.5 * s[i] * s[i]", "s[i] * (1.0 - 0.5 * c)"])
            w.emit(f"    s[i] = {rescaled}")
        if w.chance(0.1):
            w.tag("element written again after the recurrence")
            w.emit("s[0] = c * s[n - 1] + s[0]")
        terms = [w.choice(["np.sum(s * s)", "np.dot(s, w)", "s[n - 1] + c * np.sum(s)",
                           "loop"])]
        if terms[0] == "loop":
            w.emit("total = 0.0")
            w.emit("for i in range(n):")
            w.emit("    total += w[i] * s[i] * s[i]")
            terms = ["total"]
        if w.chance(0.2):
            w.tag("second recurrence back over the first's result")
            w.emit("r = np.empty(n)")
            w.emit("r[n - 1] = s[n - 1]")
            w.emit("for i in range(n - 2, -1, -1):")
            w.emit(f"    r[i] = {self.step('s[i]', 'r[i + 1]')}")
            terms.append(f"{self.k()} * np.sum(r * w)")
        w.emit(f"return {' + '.join(terms)}")

    # ------------------------------------------------------------ kind 2
    def grid(self):
        w = self.w
        w.tag("kind: 2-D grid recurrence")
        n, m = w.rng.randint(1, 6), w.rng.randint(1, 6)
        self.specs = [("mat", n, m), ("mat", n, m), ("float", 0.2, 0.9), ("float", 0.1, 0.9)]
        self.params = ["A", "B", "a", "c"]
        w.emit("n = A.shape[0]")
        w.emit("m = A.shape[1]")
        near = w.choice([None] * 6 + ["reads the next row", "same element"])
        upright = near is None and w.chance(0.3)
        by_column = near is None and not upright and w.chance(0.2)
        init = "copy" if near else w.choice(["empty", "zeros", "copy"])
        w.tag(f"grid from np.{init}" + ("(A)" if init == "copy" else ""))
        if init == "copy":
            w.emit("r = np.copy(A)")
        else:
            w.emit(f"r = np.{init}((n, m))")
        if init == "empty" or (init == "zeros" and w.chance(0.5)):
            w.tag("grid borders filled by recurrences")
            w.emit(f"r[0, 0] = {self.first('A[0, 0]')}")
            w.emit("for j in range(1, m):")
            w.emit(f"    r[0, j] = {self.step('A[0, j]', 'r[0, j - 1]')}")
            w.emit("for i in range(1, n):")
            w.emit(f"    r[i, 0] = {self.step('A[i, 0]', 'r[i - 1, 0]')}")
            borders = True
        else:
            borders = False
        neighbours = ["r[i - 1, j]", "r[i, j - 1]", "r[i - 1, j - 1]"]
        if upright:
            w.tag("grid reads r[i - 1, j + 1]")
            neighbours.append("r[i - 1, j + 1]")
        if near == "reads the next row":
            w.tag("near miss: grid reads r[i + 1, j - 1]")
            neighbours.append("r[i + 1, j - 1]")
        used = [p for p in neighbours if w.chance(0.7)] or [neighbours[0]]
        for extra in neighbours[3:]:
            if extra not in used:
                used.append(extra)
        # a near miss reads its neighbours nonlinearly: the values it overwrites matter
        form = w.choice(["softmin", "tanh"] if near else ["linear", "linear", "softmin", "tanh"])
        w.tag(f"grid step: {form}")
        if form == "softmin":
            combined = "-math.log(" + " + ".join(f"math.exp(-{p})" for p in used) + ")"
            combined = f"{self.k(0.2, 0.6)} * ({combined})"
        else:
            share = 0.9 / len(used)
            combined = " + ".join(f"{self.k(-share, share)} * {p}" for p in used)
            if form == "tanh":
                combined = f"math.tanh({combined})"
        element = "A[i, j]" if near != "same element" else "r[i, j]"
        if near == "same element":
            w.tag("near miss: grid reads the element it writes")
        value = f"{element} * {w.choice(['a', 'c', '1.0'])} + {combined}"
        if w.chance(0.3):
            value += f" + {self.k(-0.3, 0.3)} * B[i, j] * {used[0]}"
        rows = "range(1, n - 1)" if near == "reads the next row" else "range(1, n)"
        columns = "range(1, m - 1)" if upright else "range(1, m)"
        if by_column:
            w.tag("grid swept column by column")
            w.emit(f"for j in {columns}:")
            w.emit(f"    for i in {rows}:")
        else:
            w.emit(f"for i in {rows}:")
            w.emit(f"    for j in {columns}:")
        w.emit(f"        r[i, j] = {value}")
        if upright and borders:
            # the last column, which the inner loop leaves out
            w.emit("    r[i, m - 1] = " + self.step("A[i, m - 1]", "r[i - 1, m - 1]"))
        objective = w.choice(["np.sum(r * r)", "r[n - 1, m - 1] + c * np.sum(r * B)", "loop"])
        if objective == "loop":
            w.emit("total = 0.0")
            w.emit("for i in range(n):")
            w.emit("    for j in range(m):")
            w.emit("        total += B[i, j] * r[i, j] * r[i, j]")
            objective = "total"
        w.emit(f"return {objective}")

    # ------------------------------------------------------------ kind 3
    HELPERS = {
        "gain": "def gain(u, v):\n    if u > v:\n        return {k1} * (u - v) * (u - v) + "
                "0.5 * math.tanh(u * v)\n    return {k2} * (u - v) * (u - v) * v + "
                "0.5 * math.tanh(u * v)\n",
        "softplus": "def softplus(u):\n    if u > 0.0:\n        return u + "
                    "math.log1p(math.exp(-u))\n    return math.log1p(math.exp(u))\n",
        "cdf": "def cdf(d):\n    k = 1.0 / (1.0 + 0.2316419 * math.fabs(d))\n"
               "    series = k * (0.31938153 + k * (-0.356563782 + k * (1.781477937\n"
               "                  + k * (-1.821255978 + k * 1.330274429))))\n"
               "    value = 0.3989422804014327 * math.exp(-0.5 * d * d) * series\n"
               "    if d > 0:\n        value = 1.0 - value\n    return value\n",
        "clipped": "def clipped(u, c):\n    t = math.tanh(u)\n    if t > {k1}:\n"
                   "        t = {k1} + 0.1 * (t - {k1})\n    return t * c + 0.1 * u * u\n",
        # two levels
        "price": "def price(s, x, c):\n    d = (s - x) * c + 0.1\n"
                 "    return s * cdf(d) - x * cdf(d - 0.2 * c)\n",
        "mix": "def mix(u, v):\n    return gain(u, v) + 0.5 * softplus(u * v)\n",
        "chain": "def chain(u, c):\n    return clipped(u, c) * softplus(u - c)\n",
    }
    NEEDS = {"price": ("cdf",), "mix": ("gain", "softplus"), "chain": ("clipped", "softplus")}

    def use(self, name):
        for needed in self.NEEDS.get(name, ()):
            self.use(needed)
        if name not in self.helpers:
            self.helpers.append(name)
            self.w.tag(f"helper {name}" + (" (two levels)" if name in self.NEEDS else ""))

    def call(self, u: str, v: str) -> str:
        name = self.w.choice(["gain", "softplus", "cdf", "clipped", "price", "mix", "chain"])
        self.use(name)
        return {"gain": f"gain({u}, {v})", "softplus": f"softplus({u} - {v})",
                "cdf": f"cdf({u} + 0.5 * {v})", "clipped": f"clipped({u}, {v})",
                "price": f"price({u}, {v}, c)", "mix": f"mix({u}, {v})",
                "chain": f"chain({u}, {v})"}[name]

    def items(self):
        w = self.w
        w.tag("kind: independent items calling helpers")
        n = w.rng.randint(1, 8)
        self.specs = [("vec", n), ("vec", n), ("float", 0.2, 0.9), ("float", 0.1, 0.9)]
        self.params = ["spot", "strike", "a", "c"]
        S, X = "spot", "strike"
        if w.chance(0.5):
            w.tag("inputs read through short local names (S = spot)")
            w.emit("S = spot")
            w.emit("X = strike")
            S, X = "S", "X"
        w.emit(w.choice([f"n = {S}.shape[0]", f"n = len({S})"]))
        w.emit("out1 = np.empty(n)")
        w.emit("out2 = np.empty(n)")
        u, v = f"{S}[i]", f"{X}[i]"
        local = w.chance(0.4)
        split = w.chance(0.25)
        w.emit("for i in range(n):")
        if local:
            w.tag("local of the item")
            w.emit(f"    d = a * {S}[i] - {X}[i]")
        first = self.call(u, "d" if local else v)
        w.emit(f"    out1[i] = {first}")
        if split:
            w.tag("two loops over the items")
            w.emit("for i in range(n):")
        second = self.call(v, f"{u} * a")
        if w.chance(0.3):
            w.tag("second output reads the first")
            second += f" + {self.k()} * out1[i]"
        w.emit(f"    out2[i] = {second}")
        w.emit("return np.sum(out1) + c * np.sum(out2)")

    # ------------------------------------------------------------ kind 4
    def time(self):
        w = self.w
        w.tag("kind: long time loop")
        n = w.rng.randint(1, 8) if w.chance(0.2) else w.rng.randint(3, 8)
        steps = w.choice([w.rng.randint(1, 6), w.rng.randint(7, 40), w.rng.randint(7, 40)])
        w.tag("steps 1-6" if steps <= 6 else "steps 7-40")
        self.specs = [("vec", n), ("vec", n), ("float", 0.2, 0.9), ("float", 0.1, 0.9)]
        self.params = ["x", "w", "a", "c"]
        count = str(steps)
        if w.chance(0.4):
            w.tag("step count from an argument")
            self.specs.append(("int", steps))
            self.params.append("steps")
            count = "steps"
        w.emit("n = x.shape[0]")
        w.emit("u = np.copy(x)")
        carried = w.chance(0.3)
        if carried:
            w.tag("scalar carried across steps")
            w.emit("energy = 0.0")
        update = w.choice(["stencil and copy back", "stencil and copy back", "in-place update",
                           "gauss-seidel sweep", "sweep keeping the old neighbour"])
        w.tag(f"time loop: {update}")
        fresh = update == "stencil and copy back" and w.chance(0.25)
        if update == "stencil and copy back" and not fresh:
            w.emit(w.choice(["v = np.zeros(n)", "v = np.copy(x)", "v = np.empty(n)"]))
        gain = w.chance(0.25)
        if gain:
            w.tag("scalar carried into the update")
            w.emit("g = 1.0")
        counter = w.chance(0.2)
        if counter:
            w.tag("int counter carried across steps")
            w.emit("count = 0")
        w.emit(f"for step in range({count}):")
        if fresh:
            w.tag("array created in every step")
            w.emit(f"    v = np.{w.choice(['empty', 'zeros'])}(n)")
        if gain:
            keep = round(w.rng.uniform(0.5, 0.9), 2)
            w.emit(f"    g = {keep} * g + {round(1.0 - keep, 2)} + 0.05 * math.tanh(u[0])")
        if counter:
            if w.chance(0.5):
                w.emit("    if step % 2 == 0:")
                w.emit("        count += 1")
            else:
                w.emit("    count += 1")
        rate = self.k(0.05, 0.2) + (" * g" if gain else "")
        react = w.choice([f"{self.k(-0.1, 0.1)} * c * math.sin(u[i])",
                          f"{self.k(-0.1, -0.02)} * c * u[i] * u[i] * u[i]",
                          f"{self.k(-0.1, 0.1)} * math.tanh(w[i] * u[i])",
                          f"{self.k(0.02, 0.1)} * a * x[i]"])
        if counter:
            react += " * (1.0 + 0.01 * count)"
        elif w.chance(0.2):
            w.tag("step index used as a number")
            react += " * (1.0 + 0.01 * step)"
        if update == "stencil and copy back":
            w.emit("    for i in range(1, n - 1):")
            w.emit(f"        v[i] = u[i] + {rate} * a * (u[i - 1] - 2.0 * u[i] + u[i + 1]) "
                   f"+ {react}")
            w.emit("    for i in range(1, n - 1):")
            w.emit("        u[i] = v[i]")
        elif update == "in-place update":
            w.emit("    for i in range(n):")
            w.emit(f"        u[i] = u[i] * (1.0 - {rate} * c) + {rate} * a * "
                   f"math.sin(x[i] + u[i]) + {react}")
        elif update == "gauss-seidel sweep":
            w.emit("    for i in range(1, n - 1):")
            w.emit(f"        u[i] = (1.0 - {rate}) * u[i] + {rate} * 0.5 * (u[i - 1] + u[i + 1])"
                   f" + {react}")
        else:
            w.emit("    old = u[0]")
            w.emit("    for i in range(1, n - 1):")
            w.emit("        here = u[i]")
            w.emit(f"        u[i] = here + {rate} * a * (old - 2.0 * here + u[i + 1]) + {react}")
            w.emit("        old = here")
        if carried:
            w.emit(f"    energy = energy * {self.k(0.5, 0.95)} + 0.01 * u[0] * u[n - 1]")
        objective = w.choice(["np.sum(u * u)", "np.dot(u, w)", "np.sum(w * u * u)",
                              "np.sum(u * u) + c * np.sum(u)"])
        w.emit(f"return {objective}" + (" + energy" if carried else ""))

    # ------------------------------------------------------------ program
    def program(self) -> Case:
        w = self.w
        kind = w.choice(["chain", "chain", "chain", "grid", "items", "time", "time"])
        getattr(self, kind)()
        w.mark("adjoint in loop")
        positions = [k for k, spec in enumerate(self.specs) if spec[0] != "int"]
        wrt = tuple(positions)
        if w.chance(0.2):
            subset = tuple(k for k in positions if w.chance(0.5))
            if subset and subset != wrt:
                wrt = subset
                w.tag("gradient with respect to some arguments")
        second = None
        if w.chance(0.15):
            second = w.choice(["hvp", "hvp", "jvp_grad"])
        w.tag(f"second order {second}" if second else "first order only")
        blocks = [self.HELPERS[name].format(k1=self.k(0.2, 0.8), k2=self.k(-0.8, 0.8))
                  for name in self.helpers]
        source = ("import math\n\nimport numpy as np\n\n\n" +
                  "".join(block + "\n\n" for block in blocks) +
                  f"def f({', '.join(self.params)}):\n{w.body()}\n")
        return Case("recurrences", self.seed, source, make_inputs(self.seed, self.specs), wrt,
                    frozenset(w.tags), second=second, refusable=refusable(w.marks))


def random_recurrence_program(seed: int, avoid=frozenset()) -> Case:
    return _Program(seed, avoid).program()


if __name__ == "__main__":                     # python tests/fuzz/recurrence_programs.py 5
    import sys
    for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        case = random_recurrence_program(seed)
        print(case.render(), "#", case.wrt, sorted(case.tags), case.second)
