"""Family `calls`: calls to the user's own functions and custom rules
(docs/calls.md, docs/supported.md#functions).

`random_call_program(seed)` writes a module with the helpers it uses and

    def f(x, y, a, b):          # x, y: (5,), a, b: floats
        ...
        return <a float>

calling, from straight-line code and from loops: plain helpers (a global
constant of their module read inside, numeric default arguments, element
loops over arrays, whole-array bodies returning an array, a view returned
by a helper, a tuple returned and indexed by constants, helpers calling
helpers, a helper writing into the array it is given, helpers returning
nothing that fill one or two output arguments, called on their own line,
in a loop too), functions of a
second module (`import M as hm; hm.spring(...)` and `from M import
wnorm`), `@numba.njit` and `@adjit.differentiable` functions, closures
capturing a number or a function, functions with custom rules
(`@g.defvjp`/`@g.defjvp` on an `adjit.differentiable`, `adjit.defvjp` /
`adjit.defjvp` on an `@njit` function, a rule on arrays) and
`adjit.nondifferentiable` (piecewise constant). Sometimes an input is
unused (its gradient must be zeros of its shape), and sometimes
`adjit.gradcheck` is run too. Second order includes `jit.hessian`,
`grad(grad)` and `grad(grad(grad))` with respect to the floats, through
the rules' own derivatives.
"""

from __future__ import annotations

import numpy as np

from case_harness import Case
from program_writer import Writer, refusable

N = 5

HELPERS_MODULE_SOURCE = '''"""Helpers of a generated program, in a module of their own."""

import math

STIFF = {stiff}


def spring(u, rest):
    return 0.5 * STIFF * (u - rest) ** 2


def wnorm(v, w):
    total = 0.0
    for i in range(v.shape[0]):
        total += w[i] * w[i] * v[i] * v[i]
    return math.sqrt(1.0 + total)
'''

# name -> (tags, source); `{c}` a coefficient drawn per program
HELPERS = {
    "h_plain": (("plain helper", "global constant read by a helper"),
                "def h_plain(u, v):\n    return u * math.sin(v) + SCALE * 0.1 * v * v\n"),
    "h_default": (("plain helper", "numeric default argument"),
                  "def h_default(u, c={c}):\n    return math.tanh(u * c)\n"),
    "h_loop": (("helper over arrays",),
               "def h_loop(v, w):\n    t = 0.0\n    for i in range(v.shape[0]):\n"
               "        t += w[i] * v[i] * v[i]\n    return math.sqrt(1.0 + t * t)\n"),
    "h_array": (("helper returning an array",),
                "def h_array(v, c):\n    return np.tanh(v) * c\n"),
    "tail": (("helper returning a view",), "def tail(p):\n    return p[2:]\n"),
    "h_pair": (("helper returning a tuple",),
               "def h_pair(u, v):\n    return u * v, u + math.cos(v)\n"),
    "h_outer": (("nested call",),
                "def h_outer(u, v):\n    return h_plain(u, v) * 0.5 + h_default(v)\n"),
    "h_fill": (("helper writing into its array argument",),
               "def h_fill(v, factor):\n    for i in range(v.shape[0]):\n"
               "        v[i] = v[i] * factor\n    return np.sum(v)\n"),
    "h_into": (("helper filling its output argument",),
               "def h_into(v, c, out):\n    for i in range(v.shape[0]):\n"
               "        out[i] = math.tanh(v[i] * c) + 0.5 * out[i]\n"),
    "h_split": (("helper filling two output arguments, returning early",),
                "def h_split(v, c, lo, hi):\n    for i in range(v.shape[0]):\n"
                "        if v[i] > 50.0:\n            return\n"
                "        lo[i] = math.sin(v[i] * c)\n        hi[i] = v[i] * lo[i]\n"),
    "h_njit": (("njit helper",),
               "@numba.njit\ndef h_njit(u):\n    if u > 20.0:\n        return u\n"
               "    return math.log1p(math.exp(u))\n"),
    "h_diff": (("adjit.differentiable helper",),
               "@adjit.differentiable\ndef h_diff(u, v):\n    return u * u * v + {c} * v\n"),
    "scaled": (("closure capturing a number",),
               "def make_scaled(c):\n    def scaled(u):\n        return c * math.sin(u)\n"
               "    return scaled\n\n\nscaled = make_scaled({c})\n"),
    "composed": (("closure capturing a function",),
                 "def h_square(u):\n    return 0.3 * u * u\n\n\n"
                 "def make_composed(g):\n    def composed(u):\n        return g(u) * 0.5 + u\n"
                 "    return composed\n\n\ncomposed = make_composed(h_square)\n"),
    "my_sin": (("custom rule (defvjp/defjvp decorators)",),
               "@adjit.differentiable\ndef my_sin(u):\n    return math.sin(u)\n\n\n"
               "@my_sin.defvjp\ndef my_sin_vjp(g, ans, u):\n    return g * math.cos(u)\n\n\n"
               "@my_sin.defjvp\ndef my_sin_jvp(tangents, ans, u):\n"
               "    return tangents[0] * math.cos(u)\n"),
    "softclip": (("custom rule on an njit function (adjit.defvjp/defjvp)", "njit helper"),
                 "@numba.njit\ndef softclip(u, c):\n    return c * math.tanh(u / c)\n\n\n"
                 "def softclip_vjp(g, ans, u, c):\n    t = math.tanh(u / c)\n"
                 "    return g * (1.0 - t * t), g * (t - u / c * (1.0 - t * t))\n\n\n"
                 "def softclip_jvp(tangents, ans, u, c):\n    t = math.tanh(u / c)\n"
                 "    return tangents[0] * (1.0 - t * t) + tangents[1] * (t - u / c * (1.0 - t * t))"
                 "\n\n\nadjit.defvjp(softclip, softclip_vjp)\nadjit.defjvp(softclip, softclip_jvp)\n"),
    "vec_sin": (("custom rule on arrays",),
                "@adjit.differentiable\ndef vec_sin(v):\n    return np.sin(v)\n\n\n"
                "@vec_sin.defvjp\ndef vec_sin_vjp(g, ans, v):\n    return g * np.cos(v)\n\n\n"
                "@vec_sin.defjvp\ndef vec_sin_jvp(tangents, ans, v):\n"
                "    return tangents[0] * np.cos(v)\n"),
    "quantize": (("adjit.nondifferentiable",),
                 "def quantize(u):\n    return float(round(u * 4.0)) / 4.0\n\n\n"
                 "adjit.nondifferentiable(quantize)\n"),
}
REQUIRES = {"h_outer": ("h_plain", "h_default")}


def make_inputs(seed: int):
    def inputs(attempt: int):
        rng = np.random.default_rng([seed, attempt, 23])
        return (rng.uniform(-1, 1, N), rng.uniform(-1, 1, N), float(rng.uniform(-1.2, 1.2)),
                float(rng.uniform(0.5, 1.5)))
    return inputs


class _Calls:
    def __init__(self, seed: int, avoid):
        self.w = Writer(seed, avoid)
        self.used: list[str] = []
        self.imports: set[str] = set()
        self.terms: list[str] = []
        self.vectors = ["x", "y"]
        self.scalars = ["a", "b"]

    def use(self, name):
        for needed in REQUIRES.get(name, ()):
            self.use(needed)
        if name not in self.used:
            self.used.append(name)
            self.w.tag(*HELPERS[name][0])

    def vec(self):
        return self.w.choice(self.vectors)

    def sc(self):
        return self.w.choice(self.scalars)

    def elem(self):
        """A scalar expression: a float argument or an element."""
        return self.w.choice([self.sc(), f"{self.vec()}[{self.w.rng.randrange(N)}]"])

    def add(self, term):
        self.terms.append(term)

    # ------------------------------------------------------------- snippets
    def scalar_call(self):
        w = self.w
        name = w.choice(["h_plain", "h_default", "h_outer", "h_njit", "h_diff", "scaled",
                         "composed", "my_sin", "softclip", "quantize", "h_default2"])
        if name == "h_default2":
            self.use("h_default")
            w.tag("default argument given")
            call = f"h_default({self.elem()}, {w.coef(0.3, 0.9)})"
        elif name in ("h_plain", "h_outer", "h_diff"):
            self.use(name)
            call = f"{name}({self.elem()}, {self.elem()})"
        elif name == "softclip":
            self.use(name)
            call = f"softclip({self.elem()}, {w.coef(0.8, 1.5)})"
        elif name == "quantize":
            self.use(name)
            call = f"quantize({self.elem()}) * {self.elem()}"
        else:
            self.use(name)
            call = f"{name}({self.elem()})"
        t = w.fresh("t")
        if w.chance(0.35) and name != "quantize":
            w.tag("call in a loop")
            w.mark("adjoint in loop")
            v = self.vec()
            w.emit(f"{t} = 0.0")
            w.emit(f"for i in range({v}.shape[0]):")
            arg = call.split("(", 1)[0]
            inner = {"h_plain": f"h_plain({v}[i], {self.sc()})",
                     "h_outer": f"h_outer({v}[i], {self.sc()})",
                     "h_diff": f"h_diff({v}[i], {self.sc()})",
                     "softclip": f"softclip({v}[i] * {self.sc()}, 1.2)"}.get(arg, f"{arg}({v}[i])")
            w.emit(f"    {t} += {inner} * {w.coef()}")
        else:
            w.emit(f"{t} = {call}")
        self.add(f"{w.coef()} * {t}")

    def array_call(self):
        w = self.w
        name = w.choice(["h_loop", "h_array", "tail", "vec_sin", "wnorm", "h_fill",
                         "h_into", "h_split"])
        t = w.fresh("t")
        a, b = self.vec(), self.vec()
        if name == "h_loop":
            self.use(name)
            w.mark("adjoint in loop")
            w.emit(f"{t} = h_loop({a}, {b})")
            self.add(f"{w.coef()} * {t}")
        elif name == "h_array":
            self.use(name)
            w.emit(f"{t} = h_array({a}, {self.sc()})")
            self.add(f"np.sum({t} * {b})")
            self.vectors.append(t)
        elif name == "tail":
            # a helper returning a view; when the construct is avoided
            # (families.KNOWN_WRONG), the slice is written in place of the call
            self.use(name)
            if "helper returning a view" in w.avoid:
                w.emit(f"{t} = {a}[2:]")
            else:
                w.emit(f"{t} = tail({a})")
            self.add(w.choice([f"np.sum({t} * {t})", f"{t}[0] * {t}[1]",
                               f"np.dot({t}, {b}[:3])"]))
        elif name == "vec_sin":
            self.use(name)
            w.emit(f"{t} = vec_sin({a} * {self.sc()})")
            self.add(f"np.sum({t} * {b})")
            self.vectors.append(t)
        elif name == "wnorm":
            w.tag("from-import of a helper", "helper over arrays",
                  "global constant read by a helper")
            w.mark("adjoint in loop")
            self.imports.add("from")
            w.emit(f"{t} = wnorm({a}, {b})")
            self.add(f"{w.coef()} * {t}")
        elif name == "h_into":
            # called on its own line; it reads what `out` held, so calls in
            # a loop compose
            self.use(name)
            w.mark("adjoint in loop")
            w.emit(f"{t} = np.{w.choice(['zeros', 'ones'])}_like({a})")
            call = f"h_into({a}, {self.sc()}, {t})"
            if w.chance(0.4):
                w.tag("call filling an argument in a loop")
                w.emit(f"for k in range({w.rng.randint(2, 3)}):")
                call = "    " + call
            w.emit(call)
            self.add(f"np.sum({t} * {b})")
        elif name == "h_split":
            self.use(name)
            w.mark("adjoint in loop")
            hi = w.fresh("hi")
            w.emit(f"{t} = np.zeros_like({a})")
            w.emit(f"{hi} = np.zeros_like({a})")
            w.emit(f"h_split({a}, {self.sc()}, {t}, {hi})")
            self.add(f"np.sum({t} * {b}) + np.dot({hi}, {hi})")
        else:
            self.use(name)
            w.mark("adjoint in loop")
            c = w.fresh("c")
            w.emit(f"{c} = np.copy({a})")
            w.tag("np.copy(a)")
            w.emit(f"{t} = h_fill({c}, {self.sc()})")
            self.add(f"{w.coef()} * {t} + np.sum({c} * {b})")

    def module_call(self):
        w = self.w
        w.tag("helper from another module (import M as m)", "global constant read by a helper")
        self.imports.add("module")
        t = w.fresh("t")
        w.emit(f"{t} = hm.spring({self.elem()}, {self.elem()})")
        self.add(f"{w.coef()} * {t}")

    def tuple_call(self):
        w = self.w
        self.use("h_pair")
        parts, p, q = w.fresh("parts"), w.fresh("p"), w.fresh("q")
        form = w.choice(["indexed", "unpacked", "named again"])
        if form == "unpacked":
            w.tag("tuple result unpacked")
            w.emit(f"{p}, {q} = h_pair({self.elem()}, {self.elem()})")
        else:
            w.tag("tuple result indexed by constants")
            w.emit(f"{parts} = h_pair({self.elem()}, {self.elem()})")
            if form == "named again":
                w.tag("tuple result named again")
                other = w.fresh("parts")
                w.emit(f"{other} = {parts}")
                parts = other
            w.emit(f"{p} = {parts}[0]")
            w.emit(f"{q} = {parts}[1]")
        self.add(f"{p} * {w.coef()} + {w.smooth_scalar(q)}")

    SNIPPETS = ("scalar_call", "scalar_call", "scalar_call", "array_call", "array_call",
                "module_call", "tuple_call")

    def program(self, seed: int) -> Case:
        w = self.w
        unused = None
        if w.chance(0.12):
            unused = w.choice(["y", "b"])
            w.tag("unused input")
            (self.vectors if unused == "y" else self.scalars).remove(unused)
        if w.chance(0.1):
            # a helper writing into an argument of f: first, before anything reads it
            self.use("h_fill")
            w.tag("element write into an argument")
            w.mark("adjoint in loop")
            t = w.fresh("t")
            w.emit(f"{t} = h_fill(x, {self.sc()})")
            self.add(f"{w.coef()} * {t}")
        for _ in range(w.rng.randint(2, 5)):
            getattr(self, w.choice(self.SNIPPETS))()
        w.emit(f"return {' + '.join(self.terms)}")
        header = ["import math", "", "import numba", "import numpy as np", "", "import adjit"]
        if "module" in self.imports:
            header.append("import HELPERS_MODULE as hm")
        if "from" in self.imports:
            header.append("from HELPERS_MODULE import wnorm")
        header += ["", f"SCALE = {w.coef(0.5, 2.0)}", ""]
        blocks = [HELPERS[name][1].replace("{c}", w.coef(0.4, 1.2)) for name in self.used]
        source = "\n".join(header) + "\n\n" + "\n\n".join(blocks) + \
            ("\n\n" if blocks else "") + f"def f(x, y, a, b):\n{w.body()}\n"
        helpers = HELPERS_MODULE_SOURCE.format(stiff=w.coef(0.5, 3.0)) if self.imports else None
        wrt = (0, 1, 2, 3)
        second, second_wrt = None, None
        if w.chance(0.35):
            second = w.choice(["hvp", "hvp", "jvp_grad", "grad_jvp", "vjp_grad", "hessian",
                               "hessian", "grad_grad", "grad3"])
            if second == "hessian":
                second_wrt = (2, 3)
            elif second in ("grad_grad", "grad3"):
                second_wrt = (2,)
            elif second in ("grad_jvp", "vjp_grad"):
                second_wrt = (w.choice(wrt),)
        rules = {"custom rule (defvjp/defjvp decorators)",
                 "custom rule on an njit function (adjit.defvjp/defjvp)", "custom rule on arrays"}
        if second == "grad_jvp" and w.tags & rules:
            # reverse over forward through a rule (avoidable: families.KNOWN_WRONG)
            w.tag("reverse over forward through a custom rule")
            if "reverse over forward through a custom rule" in w.avoid:
                second, second_wrt = "hvp", None
        w.tag(f"second order {second}" if second else "first order only")
        gradcheck = w.chance(0.08)
        if gradcheck:
            w.tag("adjit.gradcheck")
        return Case("calls", seed, source, make_inputs(seed), wrt, frozenset(w.tags),
                    helpers=helpers, second=second, second_wrt=second_wrt,
                    refusable=refusable(w.marks), gradcheck=gradcheck)


def random_call_program(seed: int, avoid=frozenset()) -> Case:
    return _Calls(seed, avoid).program(seed)


if __name__ == "__main__":
    import sys
    for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        case = random_call_program(seed)
        print(case.render(), "#", sorted(case.tags), case.second)
