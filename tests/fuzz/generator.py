"""Random programs in adjit's scalar subset, as source text.

Every program is a module defining

    def f(x, y, n):      # x, y floats (differentiated), n a small int (0..6)
        ...
        return <float>

built from the constructs listed in docs/supported.md: arithmetic, `**` with
small integer exponents or variable exponents of positive bases, `math.*` and
`np.*` functions kept inside their domains, abs/min/max, if/elif/else,
`for i in range(...)` (negative steps too), bounded `while` loops, break,
continue, early return (inside loops too), tuple swaps, augmented assignment,
integer counters, conditional expressions, nested loops, temporaries,
annotations (`def f(x: float, ...) -> float`) and input checks (`raise`,
`assert`) that the inputs pass.

One generator serves two drivers, through a *chooser* that makes every random
decision:

* `RandomChooser(random.Random(seed))`: the deterministic driver of
  tests/fuzz/report.py;
* `DrawChooser(draw)`: hypothesis draws (`programs()` strategy), so that
  hypothesis can shrink a failing program. Every choice is an integer whose
  smallest value is the simplest option (a leaf, no statement, the first
  alternative), so shrinking moves towards small programs.

Programs terminate quickly (every loop has a small trip count or an iteration
cap counter incremented first thing in its body) and keep values bounded:
every math function gets an argument inside its domain (`sqrt(1.0 + a * a)`,
`asin(0.9 * tanh(a))`, ...), divisions are by quantities bounded away from
zero, variable exponents have positive bases and bounded exponents, and an
expression whose estimated magnitude grows too large is squashed (tanh, atan,
sin).  The generator tags each construct as it emits it (`Program.tags`).
"""

from __future__ import annotations

import dataclasses
import math
import random

# --------------------------------------------------------------------------
# choosers


class RandomChooser:
    """Choices from a `random.Random`."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser:
    """Choices drawn by hypothesis (`draw` from `st.composite` or `st.data`)."""

    def __init__(self, draw):
        from hypothesis import strategies as st
        self._st = st
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(self._st.integers(lo, hi))


def _chance(ch, p: float) -> bool:
    """True with probability about p; shrinks to False."""
    return ch.integer(0, 999) >= 1000 - round(1000 * p)


def _weighted(ch, table):
    """One value of [(weight, value), ...]; shrinks to the first."""
    table = [(round(w * 100), value) for w, value in table if w > 0]
    r = ch.integer(0, sum(w for w, _ in table) - 1)
    for w, value in table:
        if r < w:
            return value
        r -= w
    return table[-1][1]


def _pick(ch, options):
    return options[ch.integer(0, len(options) - 1)]


# --------------------------------------------------------------------------
# the program


@dataclasses.dataclass
class Program:
    source: str                 # the whole module
    tags: frozenset             # constructs it contains
    function: str = "f"

    def __str__(self):
        return self.source


# Every construct tagged, in the order of the report's table.
CONSTRUCTS = [
    "if", "elif", "else", "nested if", "for", "nested for", "triple nested loop",
    "range(stop)", "range(start, stop)", "range(start, stop, step)", "negative step",
    "data-dependent trip count", "while", "nested while", "break", "break in while",
    "break in nested loop", "continue", "continue in while", "early return",
    "return in loop", "tuple swap", "tuple assign", "int tuple swap", "augassign",
    "augassign +=", "augassign -=", "augassign *=", "augassign /=", "annotated assign",
    "int counter", "int temp", "int in float expr", "param reassign",
    "defined in both branches", "return in else", "conditional expression", "and/or/not",
    "int condition", "pass", "global constant",
    "int literal in float expr", "mixed int/float conditional expression",
    "int-initialised float variable", "bool flag", "int param reassign", "int variable bound",
    "run-time step sign", "long loop", "loop var after loop", "pow int variable exponent",
    "pow 0/1 exponent",
    "min", "max", "min of three", "max of three", "abs", "division", "pow int exponent", "pow float exponent",
    "pow variable exponent", "float %", "floor", "np.*", "math.floor",
    "annotations", "raise guard", "assert guard",
]
MATH_FUNCTIONS = [
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "exp", "expm1", "log", "log1p", "log2", "log10",
    "sqrt", "hypot", "pow", "erf", "erfc", "gamma", "lgamma", "fabs", "copysign",
]
SCIPY_FUNCTIONS = ["gammaln", "expit", "erf", "log_ndtr", "xlogy", "logit"]
ALL_TAGS = CONSTRUCTS + ["math." + name for name in MATH_FUNCTIONS] \
    + ["scipy." + name for name in SCIPY_FUNCTIONS]

VAR_BOUND = 4.0        # magnitude assumed for any float variable
SQUASH_ABOVE = 40.0    # expressions estimated larger than this are squashed

# math functions: (name, template, bound) -- {a} any expression, {sa} the
# square of it, {b} a second expression, {sb} its square.  Arguments are kept
# inside the domain whatever {a} is.
_MATH = [
    ("sin", "math.sin({a})", lambda a, b: 1.0),
    ("cos", "math.cos({a})", lambda a, b: 1.0),
    ("tan", "math.tan(0.7 * math.tanh({a}))", lambda a, b: 0.9),
    ("tan", "math.tan(0.5 * math.sin({a}))", lambda a, b: 0.6),
    ("asin", "math.asin(0.9 * math.tanh({a}))", lambda a, b: 1.2),
    ("asin", "math.asin(0.8 * math.sin({a}))", lambda a, b: 1.0),
    ("acos", "math.acos(0.9 * math.sin({a}))", lambda a, b: 2.7),
    ("atan", "math.atan({a})", lambda a, b: 1.6),
    ("atan2", "math.atan2({a}, 1.5 + {sb})", lambda a, b: 1.6),
    ("atan2", "math.atan2(1.0 + {sa}, {b})", lambda a, b: 3.2),
    ("sinh", "math.sinh(math.tanh({a}))", lambda a, b: 1.2),
    ("sinh", "math.sinh(0.5 * math.sin({a}))", lambda a, b: 0.6),
    ("cosh", "math.cosh(math.tanh({a}))", lambda a, b: 1.6),
    ("tanh", "math.tanh({a})", lambda a, b: 1.0),
    ("asinh", "math.asinh({a})", lambda a, b: math.asinh(a)),
    ("acosh", "math.acosh(1.5 + {sa})", lambda a, b: math.acosh(1.5 + a * a)),
    ("atanh", "math.atanh(0.9 * math.tanh({a}))", lambda a, b: 1.5),
    ("exp", "math.exp(math.tanh({a}))", lambda a, b: 2.8),
    ("exp", "math.exp(-{sa})", lambda a, b: 1.0),
    ("exp", "math.exp(0.3 * math.sin({a}))", lambda a, b: 1.4),
    ("expm1", "math.expm1(math.tanh({a}))", lambda a, b: 1.8),
    ("log", "math.log(1.0 + {sa})", lambda a, b: math.log(1.0 + a * a)),
    ("log", "math.log(2.0 + math.sin({a}))", lambda a, b: 1.1),
    ("log1p", "math.log1p({sa})", lambda a, b: math.log1p(a * a)),
    ("log1p", "math.log1p(0.5 * math.tanh({a}))", lambda a, b: 0.7),
    ("log2", "math.log2(1.5 + {sa})", lambda a, b: math.log2(1.5 + a * a)),
    ("log10", "math.log10(2.0 + math.cos({a}))", lambda a, b: 0.5),
    ("sqrt", "math.sqrt(1.0 + {sa})", lambda a, b: 1.0 + a),
    ("sqrt", "math.sqrt(2.0 + math.sin({a}))", lambda a, b: 1.8),
    ("sqrt", "math.sqrt(abs({a}) + 0.25)", lambda a, b: math.sqrt(a + 0.25)),
    ("hypot", "math.hypot({a}, 1.0 + {sb})", lambda a, b: a + 1.0 + b * b),
    ("erf", "math.erf({a})", lambda a, b: 1.0),
    ("erfc", "math.erfc({a})", lambda a, b: 2.0),
    ("gamma", "math.gamma(1.5 + math.tanh({a}))", lambda a, b: 1.8),
    ("lgamma", "math.lgamma(1.5 + math.tanh({a}))", lambda a, b: 0.6),
    ("lgamma", "math.lgamma(1.0 + {sa})", lambda a, b: max(1.0, math.lgamma(1.0 + a * a))),
    ("pow", "math.pow(1.0 + {sa}, 0.5 * math.tanh({b}))", lambda a, b: math.sqrt(1.0 + a * a)),
    ("pow", "math.pow({a}, 2.0)", lambda a, b: a * a),
    ("fabs", "math.fabs({a})", lambda a, b: a),
    ("copysign", "math.copysign({a}, {b})", lambda a, b: a),
    # scipy.special (imported as `sc`), tagged "scipy.NAME"
    ("scipy.gammaln", "sc.gammaln(1.5 + math.tanh({a}))", lambda a, b: 0.6),
    ("scipy.gammaln", "sc.gammaln(1.0 + {sa})", lambda a, b: max(1.0, math.lgamma(1.0 + a * a))),
    ("scipy.expit", "sc.expit({a})", lambda a, b: 1.0),
    ("scipy.erf", "sc.erf({a})", lambda a, b: 1.0),
    ("scipy.log_ndtr", "sc.log_ndtr({a})", lambda a, b: 0.5 * a * a + math.log(1.0 + a) + 1.0),
    ("scipy.xlogy", "sc.xlogy({a}, 1.0 + {sb})", lambda a, b: a * math.log(1.0 + b * b)),
    ("scipy.logit", "sc.logit(0.5 + 0.4 * math.tanh({a}))", lambda a, b: 2.2),
]
_NP = [
    ("np.sin({a})", lambda a: 1.0),
    ("np.cos({a})", lambda a: 1.0),
    ("np.tanh({a})", lambda a: 1.0),
    ("np.exp(np.tanh({a}))", lambda a: 2.8),
    ("np.sqrt(1.0 + {sa})", lambda a: 1.0 + a),
    ("np.log(1.0 + {sa})", lambda a: math.log(1.0 + a * a)),
    ("np.arctan({a})", lambda a: 1.6),
]


@dataclasses.dataclass
class _E:
    """A float expression: its text, a bound on its magnitude, whether it is
    an atom (a name or a constant: safe to repeat)."""
    text: str
    bound: float
    atom: bool = False


class ProgramGenerator:
    def __init__(self, ch, max_statements: int | None = None):
        self.ch = ch
        self.tags: set[str] = set()
        self.lines: list[str] = []
        self.fvars: list[str] = ["x", "y"]      # float variables in scope
        self.ivars: list[str] = ["n"]           # int variables in scope (not loop vars)
        self.loopvars: list[str] = []           # active loop variables
        self.counters: list[str] = []           # int counters defined at the top
        self.flags: list[str] = []              # bool variables in scope
        self.loops: list[str] = []              # enclosing loops: "for" / "while"
        self.next_id = 0
        self.ifs = 0                            # enclosing if statements
        top = 16 if max_statements is None else max(1, max_statements)
        self.budget = min(top, 3) + ch.integer(0, max(0, top - 3))  # statements, about
        self.scale = None                       # value of the global SCALE, if used

    # ---------------------------------------------------------------- names
    def fresh(self, prefix: str) -> str:
        name = f"{prefix}{self.next_id}"
        self.next_id += 1
        return name

    def emit(self, depth: int, text: str):
        self.lines.append("    " * (depth + 1) + text)

    def tag(self, *names: str):
        self.tags.update(names)

    # ---------------------------------------------------------- expressions
    def const(self, lo=-20, hi=20, nonzero=False) -> _E:
        k = self.ch.integer(lo, hi)
        if nonzero and k == 0:
            k = 5
        value = k / 10
        text = repr(value)
        if value < 0:
            text = f"({text})"
        return _E(text, abs(value), atom=True)

    def int_atom(self) -> str:
        options = list(self.ivars) + list(self.loopvars) + list(self.counters)
        return _pick(self.ch, options)

    def float_leaf(self) -> _E:
        kind = _weighted(self.ch, [(6, "var"), (2, "const"), (1, "int"), (0.3, "global")])
        if kind == "var":
            name = _pick(self.ch, self.fvars)
            return _E(name, 2.0 if name in ("x", "y") else VAR_BOUND, atom=True)
        if kind == "const":
            return self.const()
        if kind == "int":
            self.tag("int in float expr")
            name = self.int_atom()
            form = _pick(self.ch, ["0.25 * ({} % 5)", "float({} % 4)", "({} % 3) * 0.5"])
            return _E(form.format(name), 4.0)
        self.tag("global constant")
        if self.scale is None:
            self.scale = self.ch.integer(5, 25) / 10
        return _E("SCALE", self.scale, atom=True)

    def square(self, e: _E) -> str:
        if e.atom:
            return f"{e.text} * {e.text}"
        self.tag("pow int exponent")
        return f"({e.text}) ** 2"

    def squash(self, e: _E) -> _E:
        form = _pick(self.ch, ["math.tanh({})", "math.atan({})", "math.sin({})",
                               "math.tanh(0.1 * ({}))"])
        self.tag("math." + form.split("(")[0].split(".")[1])
        return _E(form.format(e.text), 1.6)

    def fexpr(self, depth: int = 2, no_ifexp: bool = False) -> _E:
        e = self._fexpr(depth, no_ifexp)
        if e.bound > SQUASH_ABOVE:
            e = self.squash(e)
        return e

    def _fexpr(self, depth: int, no_ifexp: bool) -> _E:
        if depth <= 0:
            return self.float_leaf()
        kind = _weighted(self.ch, [
            (4, "leaf"), (4, "addsub"), (3, "mul"), (1.5, "div"), (4, "math"),
            (1.2, "pow"), (0.6, "powvar"), (1, "abs"), (1.5, "minmax"),
            (0 if no_ifexp else 0.8, "ifexp"), (0.5, "neg"), (0.4, "np"),
            (0.2, "mod"), (0.2, "floor"),
        ])
        sub = lambda: self.fexpr(depth - 1, no_ifexp)  # noqa: E731
        if kind == "leaf":
            return self.float_leaf()
        if kind == "addsub":
            a, b = sub(), sub()
            if _chance(self.ch, 0.15):
                self.tag("int literal in float expr")
                b = _E(str(self.ch.integer(1, 3)), 3.0, True)
            op = _pick(self.ch, ["+", "-"])
            return _E(f"{a.text} {op} {b.text}", a.bound + b.bound)
        if kind == "mul":
            a, b = sub(), sub()
            if _chance(self.ch, 0.15):
                self.tag("int literal in float expr")
                b = _E(str(self.ch.integer(2, 3)), 3.0, True)
            return _E(f"({a.text}) * ({b.text})", a.bound * b.bound)
        if kind == "div":
            self.tag("division")
            form = _pick(self.ch, ["const", "abs", "square", "cos"])
            a = sub()
            if form == "const":
                c = self.const(5, 30)
                return _E(f"({a.text}) / {c.text}", a.bound / c.bound)
            b = sub()
            if form == "abs":
                self.tag("abs")
                return _E(f"({a.text}) / (1.0 + abs({b.text}))", a.bound)
            if form == "square":
                return _E(f"({a.text}) / (0.5 + {self.square(b)})", 2 * a.bound)
            self.tag("math.cos")
            return _E(f"({a.text}) / (2.0 + math.cos({b.text}))", a.bound)
        if kind == "math":
            name, template, bound = _pick(self.ch, _MATH)
            self.tag(name if name.startswith("scipy.") else "math." + name)
            a = sub()
            b = sub() if "{b}" in template or "{sb}" in template else _E("0.0", 0.0, True)
            if "{b}" in template and "tanh({b})" in template:
                self.tag("math.tanh")
            for inner in ("tanh", "sin", "cos"):
                if f"math.{inner}(" in template and inner != name:
                    self.tag("math." + inner)
            text = template.format(a=a.text, b=b.text,
                                   sa=self.square(a) if "{sa}" in template else "",
                                   sb=self.square(b) if "{sb}" in template else "")
            return _E(text, bound(a.bound, b.bound))
        if kind == "pow":
            a = sub()
            form = _pick(self.ch, ["int", "int", "float", "negative", "half", "intvar", "zero-one"])
            if form == "intvar":
                self.tag("pow int variable exponent")
                k = self.int_atom()
                if a.bound > 1.2:
                    a = _E(f"math.tanh({a.text})", 1.0)
                    self.tag("math.tanh")
                return _E(f"({a.text}) ** ({k} % 4)", a.bound ** 3 + 1.0)
            if form == "zero-one":
                self.tag("pow 0/1 exponent")
                return _E(f"({a.text}) ** {self.ch.integer(0, 1)}", a.bound + 1.0)
            if form == "int":
                self.tag("pow int exponent")
                k = self.ch.integer(2, 3)
                return _E(f"({a.text}) ** {k}", a.bound ** k)
            if form == "float":
                self.tag("pow float exponent")
                k = self.ch.integer(2, 3)
                return _E(f"({a.text}) ** {k}.0", a.bound ** k)
            if form == "negative":
                self.tag("pow int exponent")
                k = self.ch.integer(1, 2)
                return _E(f"(1.0 + {self.square(a)}) ** -{k}", 1.0)
            self.tag("pow float exponent")
            return _E(f"(1.0 + {self.square(a)}) ** 0.5", 1.0 + a.bound)
        if kind == "powvar":
            self.tag("pow variable exponent")
            a, b = sub(), sub()
            if b.bound > 3.0:
                self.tag("math.tanh")
                b = _E(f"2.0 * math.tanh({b.text})", 2.0)
            form = _pick(self.ch, ["sin", "square", "exp"])
            if form == "sin":
                self.tag("math.sin")
                base, bb = f"(1.5 + math.sin({a.text}))", 2.5
            elif form == "square":
                base, bb = f"(1.0 + {self.square(a)})", 1.0 + a.bound ** 2
            else:
                self.tag("math.exp", "math.tanh")
                base, bb = f"math.exp(math.tanh({a.text}))", 2.8
            return _E(f"{base} ** ({b.text})", bb ** b.bound + 1.0)
        if kind == "abs":
            self.tag("abs")
            a = sub()
            return _E(f"abs({a.text})", a.bound)
        if kind == "minmax":
            which = _pick(self.ch, ["min", "max"])
            self.tag(which)
            a, b = sub(), sub()
            if len(a.text) % 3 == 0:
                # a third argument, chosen without a draw: the programs
                # drawn so far stay the same
                self.tag(f"{which} of three")
                third = 0.25 + 0.5 * (len(b.text) % 4)
                return _E(f"{which}({a.text}, {b.text}, {third})",
                          max(a.bound, b.bound, third))
            return _E(f"{which}({a.text}, {b.text})", max(a.bound, b.bound))
        if kind == "ifexp":
            self.tag("conditional expression")
            cond = self.cond(depth - 1, no_ifexp=True)
            a, b = sub(), sub()
            if _chance(self.ch, 0.2):
                self.tag("mixed int/float conditional expression")
                a = _E(str(self.ch.integer(0, 2)), 2.0, True)
            return _E(f"({a.text} if {cond} else {b.text})", max(a.bound, b.bound))
        if kind == "neg":
            a = sub()
            return _E(f"-({a.text})", a.bound)
        if kind == "np":
            self.tag("np.*")
            template, bound = _pick(self.ch, _NP)
            a = sub()
            return _E(template.format(a=a.text, sa=self.square(a) if "{sa}" in template else ""),
                      bound(a.bound))
        if kind == "mod":
            self.tag("float %")
            a = sub()
            c = self.const(10, 25)
            return _E(f"({a.text}) % {c.text}", c.bound)
        self.tag("floor", "math.floor")
        a = sub()
        return _E(f"0.5 * math.floor({a.text})", a.bound / 2 + 1)

    def cond(self, depth: int = 1, no_ifexp: bool = False) -> str:
        kind = _weighted(self.ch, [(5, "float"), (1.5, "int"), (1, "bool"),
                                   (0.6 if self.flags else 0, "flag")])
        if kind == "flag":
            self.tag("bool flag")
            flag = _pick(self.ch, self.flags)
            return flag if _chance(self.ch, 0.6) else f"not {flag}"
        if kind == "float":
            a = self.fexpr(min(depth, 1), no_ifexp)
            op = _pick(self.ch, [">", "<", ">=", "<="])
            b = self.fexpr(0, no_ifexp) if _chance(self.ch, 0.5) else self.const()
            return f"{a.text} {op} {b.text}"
        if kind == "int":
            self.tag("int condition")
            v = self.int_atom()
            form = _pick(self.ch, ["{v} % 2 == 0", "{v} > {c}", "{v} < {c}", "{v} != {c}",
                                   "{v} >= n - 1"])
            return form.format(v=v, c=self.ch.integer(0, 4))
        self.tag("and/or/not")
        form = _pick(self.ch, ["and", "or", "not"])
        if form == "not":
            return f"not ({self.cond(0, no_ifexp)})"
        return f"({self.cond(0, no_ifexp)}) {form} ({self.cond(0, no_ifexp)})"

    def small(self, e: _E, limit: float = 1.5) -> _E:
        """An expression bounded by about `limit`."""
        if e.bound <= limit:
            return e
        form = _pick(self.ch, ["math.sin({})", "math.tanh({})", "0.5 * math.atan({})"])
        self.tag("math." + form.split("(")[0].split(".")[-1])
        return _E(form.format(e.text), 1.0)

    def bounded(self, e: _E) -> _E:
        """An expression fit to be stored in a float variable."""
        if e.bound <= VAR_BOUND:
            return e
        form = _pick(self.ch, ["2.0 * math.tanh({})", "math.atan({})", "3.0 * math.sin({})",
                               "({0}) / (1.0 + abs({0}))"])
        name = form.split("(")[0].split(".")[-1]
        if name in ("tanh", "atan", "sin"):
            self.tag("math." + name)
        else:
            self.tag("division", "abs")
        return _E(form.format(e.text), VAR_BOUND)

    # ----------------------------------------------------------- statements
    def block(self, depth: int, count: int | None = None):
        """Emit a nested block (at least one statement); names defined in it
        go out of scope at its end."""
        saved = (len(self.fvars), len(self.ivars), len(self.flags))
        count = count if count is not None else 1 + self.ch.integer(0, 2)
        emitted = 0
        for _ in range(count):
            if self.budget <= 0 and emitted:
                break
            self.statement(depth)
            emitted += 1
        del self.fvars[saved[0]:]
        del self.ivars[saved[1]:]
        del self.flags[saved[2]:]

    def statement(self, depth: int):
        self.budget -= 1
        in_loop = bool(self.loops)
        nest_ok = depth < 4 and self.budget > 0
        loop_ok = nest_ok and len(self.loops) < 3
        kind = _weighted(self.ch, [
            (3, "assign"), (2.5, "update"), (2, "aug"),
            (1 if self.counters else 0, "counter"),
            (0.8 if len(self.fvars) >= 2 else 0, "tuple"),
            (2 if nest_ok else 0, "if"),
            (1.8 if loop_ok else 0, "for"),
            (0.8 if loop_ok else 0, "while"),
            (1.5 if in_loop else 0, "break"),
            (1.2 if in_loop else 0, "continue"),
            (0.6, "return"),
            (0.5 if nest_ok else 0, "branch def"),
            (0.4, "int temp"),
            (0.2, "annotated"),
            (0.3, "flag"),
            (0.15 if not self.loops else 0, "n reassign"),
            (0.1, "pass"),
        ])
        getattr(self, "stmt_" + kind.replace(" ", "_"))(depth)

    def stmt_assign(self, depth):
        e = self.bounded(self.fexpr(2))
        name = self.fresh("t")
        self.emit(depth, f"{name} = {e.text}")
        self.fvars.append(name)

    def stmt_annotated(self, depth):
        self.tag("annotated assign")
        e = self.bounded(self.fexpr(1))
        name = self.fresh("t")
        self.emit(depth, f"{name}: float = {e.text}")
        self.fvars.append(name)

    def stmt_update(self, depth):
        target = _pick(self.ch, self.fvars)
        if target in ("x", "y"):
            self.tag("param reassign")
        if self.loops and _chance(self.ch, 0.5):
            # a carried value that stays bounded: a contraction of itself
            e = self.small(self.fexpr(2))
            c = self.ch.integer(3, 9) / 10
            self.emit(depth, f"{target} = {c} * {target} + {e.text}")
            return
        e = self.bounded(self.fexpr(2))
        self.emit(depth, f"{target} = {e.text}")

    def stmt_aug(self, depth):
        self.tag("augassign")
        target = _pick(self.ch, self.fvars)
        if target in ("x", "y"):
            self.tag("param reassign")
        op = _pick(self.ch, ["+=", "-=", "*=", "/="])
        self.tag("augassign " + op)
        if op in ("+=", "-="):
            e = self.small(self.fexpr(2))
            self.emit(depth, f"{target} {op} {e.text}")
        elif op == "*=":
            form = _pick(self.ch, ["const", "cos", "tanh"])
            if form == "const":
                self.emit(depth, f"{target} *= {self.ch.integer(-9, 9) / 10}")
            elif form == "cos":
                self.tag("math.cos")
                self.emit(depth, f"{target} *= math.cos({self.fexpr(1).text})")
            else:
                self.tag("math.tanh")
                self.emit(depth, f"{target} *= 0.5 + 0.4 * math.tanh({self.fexpr(1).text})")
        else:
            self.tag("division")
            form = _pick(self.ch, ["square", "sin", "const"])
            if form == "square":
                self.emit(depth, f"{target} /= 1.0 + {self.square(self.fexpr(1))}")
            elif form == "sin":
                self.tag("math.sin")
                self.emit(depth, f"{target} /= 2.0 + math.sin({self.fexpr(1).text})")
            else:
                self.emit(depth, f"{target} /= {self.ch.integer(11, 30) / 10}")

    def stmt_counter(self, depth):
        self.tag("int counter")
        k = _pick(self.ch, self.counters)
        form = _pick(self.ch, ["{k} += 1", "{k} += {i}", "{k} = ({k} + {c}) % 7", "{k} -= 1"])
        self.emit(depth, form.format(k=k, i=self.int_atom(), c=self.ch.integer(1, 5)))

    def stmt_int_temp(self, depth):
        self.tag("int temp")
        name = self.fresh("m")
        form = _pick(self.ch, ["{a} // 2", "({a} + {b}) % 3", "{a} - {b}", "{a} * 2 + 1"])
        self.emit(depth, f"{name} = " + form.format(a=self.int_atom(), b=self.int_atom()))
        self.ivars.append(name)

    def stmt_tuple(self, depth):
        a, b = _pick(self.ch, [(p, q) for p in self.fvars for q in self.fvars if p != q])
        if a in ("x", "y") or b in ("x", "y"):
            self.tag("param reassign")
        form = _pick(self.ch, ["swap", "swap", "fib", "rotate", "int"])
        if form == "swap":
            self.tag("tuple swap")
            self.emit(depth, f"{a}, {b} = {b}, {a}")
        elif form == "fib":
            self.tag("tuple assign")
            c = self.ch.integer(2, 7) / 10
            self.emit(depth, f"{a}, {b} = {b}, {c} * ({a} + {b})")
        elif form == "rotate":
            self.tag("tuple assign", "math.sin", "math.cos")
            self.emit(depth, f"{a}, {b} = 0.8 * {a} * math.cos({b}), math.sin({a} - {b})")
        else:
            ints = self.ivars[1:] + self.counters
            if len(ints) >= 2:
                self.tag("int tuple swap")
                p, q = ints[0], ints[1]
                self.emit(depth, f"{p}, {q} = {q}, {p}")
            else:
                self.tag("tuple swap")
                self.emit(depth, f"{a}, {b} = {b}, {a}")

    def stmt_branch_def(self, depth):
        """A variable defined on both sides of an if/else, used after it."""
        self.tag("if", "else", "defined in both branches")
        name = self.fresh("b")
        self.ifs += 1
        self.emit(depth, f"if {self.cond()}:")
        self.block(depth + 1, self.ch.integer(0, 1))
        self.emit(depth + 1, f"{name} = {self.bounded(self.fexpr(2)).text}")
        self.emit(depth, "else:")
        if _chance(self.ch, 0.3):
            self.tag("early return", "return in else")
            if self.loops:
                self.tag("return in loop")
            self.emit(depth + 1, f"return {self.fexpr(2).text}")
        else:
            self.block(depth + 1, self.ch.integer(0, 1))
            self.emit(depth + 1, f"{name} = {self.bounded(self.fexpr(2)).text}")
        self.ifs -= 1
        self.fvars.append(name)

    def stmt_flag(self, depth):
        self.tag("bool flag")
        name = self.fresh("fl")
        self.emit(depth, f"{name} = {self.cond(1)}")
        self.flags.append(name)

    def stmt_n_reassign(self, depth):
        self.tag("int param reassign")
        self.emit(depth, _pick(self.ch, ["n = n - 1", "n = n // 2 + 1", "n = (n + 3) % 5"]))

    def stmt_pass(self, depth):
        self.tag("pass")
        self.emit(depth, "pass")

    def stmt_if(self, depth):
        self.tag("if")
        if self.ifs:
            self.tag("nested if")
        self.ifs += 1
        self.emit(depth, f"if {self.cond()}:")
        self.block(depth + 1)
        for _ in range(self.ch.integer(0, 2) if _chance(self.ch, 0.4) else 0):
            self.tag("elif")
            self.emit(depth, f"elif {self.cond()}:")
            self.block(depth + 1)
        if _chance(self.ch, 0.5):
            self.tag("else")
            self.emit(depth, "else:")
            self.block(depth + 1)
        self.ifs -= 1

    def range_header(self) -> str:
        deep = len(self.loops) >= 2
        if deep:
            self.tag("triple nested loop")
            return f"range({self.ch.integer(1, 3)})"
        outer = self.loopvars[-1] if self.loopvars else None
        form = _weighted(self.ch, [
            (3, "stop"), (1.5, "start-stop"), (1, "step"), (2, "negative"), (0.5, "data"),
            (0.6 if (self.counters or self.ivars[1:]) else 0, "int var"),
            (0.5, "step var"), (0.4, "long"),
        ])
        if form == "int var":
            self.tag("int variable bound", "range(stop)")
            v = _pick(self.ch, self.counters + self.ivars[1:])
            return f"range({v} % 5)" if _chance(self.ch, 0.5) else f"range(1, 2 + {v} % 4)"
        if form == "step var":
            self.tag("run-time step sign", "range(start, stop, step)")
            step = _pick(self.ch, ["2 * (n % 2) - 1", "1 - 3 * (n % 2)", "2 - n % 2 * 4"])
            start, stop = _pick(self.ch, [("n", "2"), ("2", "n"), ("0", "5"), ("4", "-1"),
                                          ("n - 3", "3")])
            return f"range({start}, {stop}, {step})"
        if form == "long":
            self.tag("long loop", "range(stop)")
            return f"range({self.ch.integer(2, 4)} * n + {self.ch.integer(1, 5)})"
        if form == "stop":
            self.tag("range(stop)")
            stop = _pick(self.ch, ["n", "n + 1", str(self.ch.integer(0, 5))]
                         + ([outer, f"{outer} + 1"] if outer else []))
            return f"range({stop})"
        if form == "start-stop":
            self.tag("range(start, stop)")
            start = _pick(self.ch, ["1", "2", "n // 2"] + ([outer] if outer else []))
            stop = _pick(self.ch, ["n", "n + 2", "5"])
            return f"range({start}, {stop})"
        if form == "step":
            self.tag("range(start, stop, step)")
            start = _pick(self.ch, ["0", "1", "n // 3"] + ([outer] if outer else []))
            stop = _pick(self.ch, ["n", "n + 3", "7"])
            return f"range({start}, {stop}, {self.ch.integer(2, 3)})"
        if form == "negative":
            self.tag("range(start, stop, step)", "negative step")
            start = _pick(self.ch, ["n", "n - 1", "5", "n + 1"] + ([outer] if outer else []))
            stop = _pick(self.ch, ["-1", "0", "1", "n // 2"])
            return f"range({start}, {stop}, -{self.ch.integer(1, 2)})"
        self.tag("data-dependent trip count", "range(stop)", "math.tanh")
        e = self.fexpr(1)
        return f"range(int(2.0 + 2.0 * math.tanh({e.text})))"

    def loop_body(self, depth, kind):
        """A loop body that updates at least one float variable of the
        enclosing scope (a carried value)."""
        self.loops.append(kind)
        saved = (len(self.fvars), len(self.ivars), len(self.flags))
        self.budget -= 1
        self.stmt_update(depth) if _chance(self.ch, 0.5) else self.stmt_aug(depth)
        self.block(depth, self.ch.integer(0, 2))
        del self.fvars[saved[0]:]
        del self.ivars[saved[1]:]
        del self.flags[saved[2]:]
        self.loops.pop()

    def stmt_for(self, depth):
        self.tag("for")
        if self.loops:
            self.tag("nested for" if "for" in self.loops else "nested while")
        header = self.range_header()
        var = "ijq"[len(self.loopvars)] if len(self.loopvars) < 3 else self.fresh("i")
        after = "after" if _chance(self.ch, 0.15) and not self.loopvars else ""
        if after:
            header = f"range({_pick(self.ch, ['n + 1', '1, n + 2', 'n, -1, -1', '3'])})"
            self.tag("loop var after loop")
        self.emit(depth, f"for {var} in {header}:")
        self.loopvars.append(var)
        self.loop_body(depth + 1, "for")
        self.loopvars.pop()
        if after:
            target = _pick(self.ch, self.fvars)
            self.emit(depth, f"{target} = {target} + 0.1 * {var}")

    def stmt_while(self, depth):
        self.tag("while")
        if self.loops:
            self.tag("nested while")
        cap = self.ch.integer(1, 3) if len(self.loops) >= 1 else self.ch.integer(2, 8)
        if len(self.loops) >= 2:
            self.tag("triple nested loop")
            cap = self.ch.integer(1, 2)
        w = self.fresh("w")
        v = _pick(self.ch, self.fvars)
        self.emit(depth, f"{w} = 0")
        form = _pick(self.ch, ["{v} > {c}", "{v} < {c}", "abs({v}) > {c}", "{v} * {v} < {c}"])
        if form.startswith("abs"):
            self.tag("abs")
        cond = form.format(v=v, c=self.const(0, 20).text)
        if _chance(self.ch, 0.5):
            header = f"while {cond} and {w} < {cap}:"
        else:
            header = f"while {w} < {cap} and {cond}:"
        self.emit(depth, header)
        self.emit(depth + 1, f"{w} += 1")
        # the condition's variable changes in the body
        self.loops.append("while")
        self.budget -= 1
        e = self.small(self.fexpr(1))
        c = self.ch.integer(3, 9) / 10
        self.emit(depth + 1, f"{v} = {c} * {v} + {e.text}")
        self.loops.pop()
        self.loop_body(depth + 1, "while")

    def stmt_break(self, depth, word="break"):
        self.tag(word)
        if self.loops[-1] == "while":
            self.tag(word + " in while")
        if word == "break" and len(self.loops) >= 2:
            self.tag("break in nested loop")
        self.tag("if")
        self.emit(depth, f"if {self.cond()}:")
        if _chance(self.ch, 0.4) and self.budget > 0:
            self.block(depth + 1, 1)
        self.emit(depth + 1, word)

    def stmt_continue(self, depth):
        self.stmt_break(depth, "continue")

    def stmt_return(self, depth):
        self.tag("early return", "if")
        if self.loops:
            self.tag("return in loop")
        self.emit(depth, f"if {self.cond()}:")
        if _chance(self.ch, 0.3) and self.budget > 0:
            self.block(depth + 1, 1)
        self.emit(depth + 1, f"return {self.fexpr(2).text}")

    # ------------------------------------------------------------ program
    def program(self) -> Program:
        # prologue: a few float temporaries and the integer counters
        for _ in range(1 + self.ch.integer(0, 1)):
            e = self.bounded(self.fexpr(1))
            name = self.fresh("s")
            self.emit(0, f"{name} = {e.text}")
            self.fvars.append(name)
        if _chance(self.ch, 0.2):
            self.tag("int-initialised float variable")
            name = self.fresh("s")
            self.emit(0, f"{name} = {self.ch.integer(0, 1)}")
            self.fvars.append(name)
        for _ in range(self.ch.integer(0, 2)):
            name = self.fresh("k")
            self.emit(0, f"{name} = 0")
            self.counters.append(name)
        while self.budget > 0:
            self.statement(0)
        last = _pick(self.ch, self.fvars[2:] or self.fvars)
        e = self.fexpr(2)
        op = _pick(self.ch, ["+", "-", "*"])
        self.emit(0, f"return {last} {op} ({e.text})")
        # drawn last, so that the rest of each program is what it was
        signature, checks = self.annotations_and_checks()
        header = ["import math", "", "import numpy as np", ""]
        if any(tag.startswith("scipy.") for tag in self.tags):
            header += ["import scipy.special as sc", ""]
        if self.scale is not None:
            header += [f"SCALE = {self.scale}", ""]
        source = "\n".join(header + ["", signature] + checks + self.lines) + "\n"
        return Program(source, frozenset(self.tags))

    def annotations_and_checks(self) -> tuple[str, list[str]]:
        """The `def` line, annotated or not, and input checks (`raise`,
        `assert`) that the fuzz inputs pass."""
        signature = "def f(x, y, n):"
        if _chance(self.ch, 0.25):
            self.tag("annotations")
            signature = "def f(x: float, y: float, n: int) -> float:"
        checks = []
        if _chance(self.ch, 0.2):
            self.tag("raise guard")
            checks += ["    if n < 0:", '        raise ValueError("n must not be negative")']
        if _chance(self.ch, 0.2):
            self.tag("assert guard")
            checks.append('    assert abs(x) < 1e9, "x out of range"')
        return signature, checks


def generate(ch, max_statements: int | None = None) -> Program:
    return ProgramGenerator(ch, max_statements).program()


def random_program(seed: int, max_statements: int | None = None) -> Program:
    """The program number `seed` of the deterministic generator."""
    return generate(RandomChooser(random.Random(seed)), max_statements)


def programs(max_statements: int | None = None):
    """A hypothesis strategy for `Program`s (shrinks towards small ones)."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        return generate(DrawChooser(draw), max_statements)
    return strategy()


if __name__ == "__main__":
    import sys
    for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        p = random_program(seed)
        print(p.source)
        print("#", sorted(p.tags))
