"""Family `wholearray`: whole-array operations
(docs/supported.md#whole-array-operations) beyond what array_programs.py
draws.

`random_op_program(seed)` writes

    def f(x, y, A, B, T, s):    # x, y: (5,), A: (3, 5), B: (5, 5) invertible,
        ...                     # T: (2, 3, 4), s: a float
        return <a float>        # (sometimes a (5,) array: jit.vjp)

as straight-line code: operators with broadcasting (scalar, row,
`[:, None]`, equal-rank `(n, 1)` with `(n, m)`), `**` with an array
exponent, every differentiable function of supported.md's table in its
`np.` form, `np.abs`, `np.maximum`, `np.minimum`, `np.clip`, `np.where`
with comparisons, `np.sum`/`np.mean`/`np.max`/`np.min`/`np.prod` (whole,
along an axis given by keyword, positionally or negative, with and without
`keepdims=True`, and as methods) of 1-D, 2-D and 3-D arrays, `np.dot` and
`@` in every combination of 1-D and 2-D operands, `np.outer`, `x.dot(y)`,
`np.transpose`, `.T`, `.transpose()`, `np.reshape` (to a tuple and to
`A.shape`), `.reshape`, `np.ravel`, `.ravel()`, `np.expand_dims`,
`np.size`, `np.linalg.norm` (vector and Frobenius), `np.linalg.solve`,
`np.linalg.inv`, `np.linalg.det`, `np.cumsum`, `np.cumprod`, `np.diff`, `np.concatenate`, `np.stack`, `np.hstack`, `np.vstack`,
`np.array` of numbers and of an array, `np.asarray`, a list literal of
weights, `np.atleast_1d`/`np.atleast_2d`, `np.meshgrid`, and NumPy's
operator functions (`np.multiply`, ...). About one program in ten takes
float32 arrays (without linear algebra).
"""

from __future__ import annotations

import numpy as np

from case_harness import Case
from program_writer import Writer, refusable

N, M = 5, 3
T_SHAPE = (2, 3, 4)

# (tag, template): {a} an (n,) array expression, {b} another; arguments
# kept inside the domain whatever {a} is
ELEMENTWISE = [
    ("sin", "np.sin({a})"), ("cos", "np.cos({a})"), ("tan", "np.tan(0.6 * np.tanh({a}))"),
    ("asin", "np.arcsin(0.8 * np.tanh({a}))"), ("acos", "np.arccos(0.8 * np.tanh({a}))"),
    ("atan", "np.arctan({a})"), ("atan2", "np.arctan2({a}, 1.5 + {b} * {b})"),
    ("sinh", "np.sinh(np.tanh({a}))"), ("cosh", "np.cosh(np.tanh({a}))"),
    ("tanh", "np.tanh({a})"), ("asinh", "np.arcsinh({a})"),
    ("acosh", "np.arccosh(1.5 + {a} * {a})"), ("atanh", "np.arctanh(0.8 * np.tanh({a}))"),
    ("exp", "np.exp(np.tanh({a}))"), ("expm1", "np.expm1(np.tanh({a}))"),
    ("log", "np.log(1.0 + {a} * {a})"), ("log1p", "np.log1p({a} * {a})"),
    ("log2", "np.log2(1.5 + {a} * {a})"), ("log10", "np.log10(2.0 + np.cos({a}))"),
    ("sqrt", "np.sqrt(1.0 + {a} * {a})"), ("hypot", "np.hypot({a}, 1.0 + {b} * {b})"),
    ("pow", "np.power(1.0 + {a} * {a}, 0.5 * np.tanh({b}))"), ("fabs", "np.fabs({a})"),
    ("copysign", "np.copysign({a}, {b} + 3.0)"), ("abs", "np.abs({a})"),
    ("maximum", "np.maximum({a}, 0.5 * {b})"), ("minimum", "np.minimum({a}, {b} - 0.1)"),
    ("clip", "np.clip({a}, -0.6, 0.7)"), ("where", "np.where({a} > {b}, {a}, 0.5 * {b})"),
]


def make_inputs(seed: int, float32: bool):
    def inputs(attempt: int):
        rng = np.random.default_rng([seed, attempt, 13])
        x = rng.uniform(-1, 1, N)
        y = rng.uniform(-1, 1, N)
        A = rng.uniform(-1, 1, (M, N))
        B = 2.0 * np.eye(N) + 0.3 * rng.uniform(-1, 1, (N, N))
        T = rng.uniform(-1, 1, T_SHAPE)
        s = float(rng.uniform(0.5, 1.5))
        if float32:
            x, y, A, B, T = (a.astype(np.float32) for a in (x, y, A, B, T))
        return (x, y, A, B, T, s)
    return inputs


class _Ops:
    def __init__(self, seed: int, avoid):
        self.w = Writer(seed, avoid)
        self.pools = {"v": ["x", "y"], "r": [], "A": ["A"], "B": ["B"], "T": ["T"]}
        self.terms: list[str] = []
        self.linalg = True
        self.float32 = False

    def pick(self, kind):
        return self.w.choice(self.pools[kind])

    def new(self, kind, expression, reduce=True):
        """Bind `expression` (of kind `kind`) to a new name; its smooth sum
        joins the result."""
        w = self.w
        name = w.fresh({"v": "v", "r": "r", "A": "M", "B": "S", "T": "U", "s": "t"}[kind])
        w.emit(f"{name} = {expression}")
        if kind == "s":
            self.terms.append(w.smooth_scalar(name) if w.chance(0.5) else f"{w.coef()} * {name}")
        else:
            self.pools[kind].append(name)
            if reduce:
                self.terms.append(f"np.sum({w.smooth(name)})")
        return name

    # ------------------------------------------------------------- snippets
    def operators(self):
        w = self.w
        a, b = self.pick("v"), self.pick("v")
        form = w.choice(["+", "-", "*", "/", "**", "neg", "scalar", "row", "column", "n1",
                         "powarray"])
        if form == "row":
            w.tag("broadcast of a row", "operator *")
            self.new("A", f"{self.pick('A')} * {a}")
        elif form == "column":
            w.tag("broadcast through [:, None]", "operator +")
            w.mark("none axis")
            r = self.pick("r") if self.pools["r"] else "np.sum(A, axis=1)"
            self.new("A", f"{self.pick('A')} + 0.5 * {r}[:, None]")
        elif form == "n1":
            w.tag("broadcast (n, 1) with (n, m)", "np.reshape", "operator *")
            r = self.pick("r") if self.pools["r"] else "np.sum(A, axis=1)"
            self.new("A", f"np.reshape({r}, (3, 1)) * {self.pick('A')}")
        elif form == "scalar":
            w.tag("broadcast of a scalar", "operator *")
            self.new("v", f"s * {a} - 0.3")
        elif form == "neg":
            w.tag("unary -")
            self.new("v", f"-{a} + 0.5 * {b}")
        elif form == "powarray":
            w.tag("operator **", "** with an array exponent")
            self.new("v", f"(1.5 + np.sin({a})) ** (0.5 * {b})")
        else:
            w.tag(f"operator {form}")
            expression = {"+": f"{a} + {b}", "-": f"{a} - 0.5 * {b}", "*": f"{a} * {b}",
                          "/": f"{a} / (2.0 + {b} * {b})", "**": f"{a} ** 2"}[form]
            self.new("v", expression)

    def elementwise(self):
        w = self.w
        name, template = w.choice(ELEMENTWISE)
        w.tag(f"np.{name} elementwise" if name not in ("maximum", "minimum", "clip", "where",
                                                      "abs")
              else f"np.{name}")
        if name == "where":
            w.tag("comparison in np.where")
        kind = w.choice(["v", "v", "A"]) if "{b}" not in template else "v"
        a, b = self.pick(kind), self.pick(kind)
        self.new(kind, template.format(a=a, b=b))

    def reduction(self):
        w = self.w
        fn = w.choice(["sum", "mean", "max", "min", "prod"])
        form = w.choice(["whole", "axis", "axis", "positional", "negative", "keepdims",
                         "keepdims axis", "method", "3d"])
        if fn == "prod":
            w.mark("no third order")
        src = self.pick("A")
        if form == "whole":
            w.tag(f"np.{fn}")
            self.new("s", f"np.{fn}({self.pick('v')})" if fn != "prod"
                     else f"np.prod(0.5 + 0.5 * np.tanh({self.pick('v')}))")
        elif form == "method":
            w.tag(f"x.{fn}()")
            self.new("s", f"{self.pick('v')}.{fn}()" if fn != "prod"
                     else f"(1.0 + 0.3 * np.sin({self.pick('v')})).prod()")
        elif form in ("axis", "positional", "negative"):
            axis = w.choice([0, 1]) if form != "negative" else -1
            w.tag(f"np.{fn} along an axis", {"axis": "axis=k", "positional": "axis as the second "
                                             "argument", "negative": "negative axis"}[form])
            call = f"np.{fn}({src}, axis={axis})" if form != "positional" else \
                f"np.{fn}({src}, {axis})"
            self.new("v" if axis == 0 else "r", call)
        elif form == "keepdims":
            w.tag(f"np.{fn}", "keepdims=True")
            self.new("s", f"np.sum(np.{fn}({src}, keepdims=True) * {src})")
        elif form == "keepdims axis":
            axis = w.choice([0, 1, -1])
            w.tag(f"np.{fn} along an axis", "keepdims=True", "axis=k")
            self.new("A", f"{src} - np.{fn}({src}, axis={axis}, keepdims=True)")
        else:
            axis = w.choice([0, 1, 2, -1])
            w.tag(f"np.{fn} along an axis", "3-D array", "axis=k")
            t = self.pick("T")
            result = f"np.{fn}({t}, axis={axis})"
            self.new("s", f"np.sum({w.smooth(result)})")

    def products(self):
        w = self.w
        a, b, A, B = self.pick("v"), self.pick("v"), self.pick("A"), self.pick("B")
        form = w.choice(["dot11", "at11", "dot21", "at21", "at12", "dot12", "at22", "dot22",
                         "outer", "method", "method2"])
        tag = {"dot11": "np.dot 1-D 1-D", "at11": "@ 1-D 1-D", "dot21": "np.dot 2-D 1-D",
               "at21": "@ 2-D 1-D", "at12": "@ 1-D 2-D", "dot12": "np.dot 1-D 2-D",
               "at22": "@ 2-D 2-D", "dot22": "np.dot 2-D 2-D", "outer": "np.outer",
               "method": "x.dot(y)", "method2": "x.dot(y)"}[form]
        w.tag(tag)
        r = self.pick("r") if self.pools["r"] else f"np.sum({A}, axis=1)"
        if form == "dot11":
            self.new("s", f"np.dot({a}, {b})")
        elif form == "at11":
            self.new("s", f"{a} @ {b}")
        elif form == "dot21":
            self.new("r", f"np.dot({A}, {a})")
        elif form == "at21":
            self.new("v", f"{B} @ {a}")
        elif form == "at12":
            self.new("v", f"{r} @ {A}")
        elif form == "dot12":
            self.new("v", f"np.dot({a}, {B}) * 0.5")
        elif form == "at22":
            self.new("A", f"{A} @ {B} * 0.3")
        elif form == "dot22":
            self.new("B", f"np.dot({A}.T, {A}) * 0.3")
            w.tag("x.T")
        elif form == "outer":
            self.new("A", f"np.outer({r}, {a}) * 0.5")
        elif form == "method":
            self.new("s", f"{a}.dot({b})")
        else:
            self.new("r", f"{A}.dot({a})")

    def shapes(self):
        w = self.w
        A = self.pick("A")
        form = w.choice(["transpose", "T", "method", "reshape", "reshape like", "method reshape",
                         "ravel", "method ravel", "expand", "size", "3d reshape"])
        if form == "transpose":
            w.tag("np.transpose")
            self.new("s", f"np.sum(np.transpose({A}) @ {self.pick('r') or 'np.ones(3)'})"
                     if self.pools["r"] else f"np.sum(np.transpose({A}) * 0.5)")
        elif form == "T":
            w.tag("x.T")
            self.new("v", f"{A}.T @ np.tanh(np.sum({A}, axis=1))")
        elif form == "method":
            w.tag("x.transpose()")
            self.new("B", f"{A}.transpose() @ {A} * 0.2")
        elif form == "reshape":
            w.tag("np.reshape")
            self.new("s", f"np.sum(np.reshape({A}, ({N}, {M})) @ np.tanh(np.sum({A}, axis=1)))")
        elif form == "reshape like":
            w.tag("np.reshape", "np.reshape(x, A.shape)", "np.ravel")
            self.new("A", f"np.reshape(np.ravel({A}) * s, {A}.shape)")
        elif form == "method reshape":
            w.tag("x.reshape(shape)")
            self.new("s", f"np.sum(np.sin({A}.reshape(({N}, {M}))) * 0.5)")
        elif form == "ravel":
            w.tag("np.ravel")
            self.new("s", f"np.dot(np.ravel({A}), np.ravel({self.pick('A')}))")
        elif form == "method ravel":
            w.tag("x.ravel()")
            self.new("s", f"np.sum(np.tanh({A}.ravel()))")
        elif form == "expand":
            w.tag("np.expand_dims")
            self.new("A", f"np.expand_dims({self.pick('v')}, 0) * {A}")
        elif form == "size":
            w.tag("np.size")
            self.new("s", f"np.sum({A}) / np.size({A})")
        else:
            w.tag("3-D array", "np.reshape")
            self.new("s", f"np.sum(np.reshape({self.pick('T')}, (6, 4)) @ np.ones(4) * 0.5)")

    def linear_algebra(self):
        w = self.w
        if not self.linalg:
            self.products()
            return
        form = w.choice(["norm", "frobenius", "solve", "inv", "det"])
        a, B = self.pick("v"), self.pick("B")
        if form == "norm":
            w.tag("np.linalg.norm (vector)")
            self.new("s", f"np.linalg.norm({a}) + 1.0")
        elif form == "frobenius":
            w.tag("np.linalg.norm (Frobenius)")
            self.new("s", f"np.linalg.norm({self.pick('A')})")
        elif form == "solve":
            w.tag("np.linalg.solve")
            self.new("v", f"np.linalg.solve(B, {a})")
        elif form == "inv":
            w.tag("np.linalg.inv")
            self.new("B", "np.linalg.inv(B) * 0.5")
        else:
            w.tag("np.linalg.det")
            self.new("s", "np.log(np.linalg.det(B))")

    def three_d(self):
        w = self.w
        w.tag("3-D array")
        t = self.pick("T")
        form = w.choice(["scale", "elementwise", "broadcast"])
        if form == "scale":
            w.tag("broadcast of a scalar")
            self.new("T", f"{t} * s + 0.1")
        elif form == "elementwise":
            w.tag("np.sin elementwise")
            self.new("T", f"np.sin({t}) * {t}")
        else:
            w.tag("broadcast of a row")
            self.new("T", f"{t} * np.linspace(0.5, 1.5, 4)")
            w.tag("np.linspace")

    def numpy_functions(self):
        """Running sums, products and differences, joins, arrays of values,
        list literals, np.atleast_*, np.meshgrid, NumPy's operator functions."""
        w = self.w
        a, b, A = self.pick("v"), self.pick("v"), self.pick("A")
        forms = ["cumsum", "cumsum axis", "cumprod", "diff", "diff axis", "concatenate",
                 "concatenate axis", "stack", "stack axis", "hstack", "vstack", "atleast",
                 "operator functions", "asarray"]
        if not self.float32:           # these make float64 arrays of float32 values
            forms += ["array", "list", "meshgrid"]
        form = w.choice(forms)
        if form == "cumsum":
            w.tag("np.cumsum")
            self.new("v", f"np.cumsum({a}) * 0.2")
        elif form == "cumsum axis":
            w.tag("np.cumsum along an axis")
            self.new("A", f"np.cumsum({A}, axis={w.choice([0, 1, -1])}) * 0.3")
        elif form == "cumprod":
            w.tag("np.cumprod")
            self.new("A", f"np.cumprod(0.5 + 0.5 * np.tanh({A}), axis={w.choice([0, 1])})")
        elif form == "diff":
            w.tag("np.diff")
            self.new("s", f"np.sum(np.diff({a}, {w.choice([1, 2])}) ** 2)")
        elif form == "diff axis":
            w.tag("np.diff along an axis")
            self.new("s", f"np.sum(np.sin(np.diff({A}, axis={w.choice([0, 1])})))")
        elif form == "concatenate":
            w.tag("np.concatenate")
            self.new("s", f"np.sum(np.sin(np.concatenate(({a}, {b}, {a}[:2]))))")
        elif form == "concatenate axis":
            w.tag("np.concatenate", "axis=k")
            self.new("s", f"np.sum(np.concatenate([{A}, {self.pick('A')}], axis=1) ** 2) * 0.1")
        elif form == "stack":
            w.tag("np.stack")
            self.new("A", f"np.stack(({a}, {b}, {self.pick('v')}))")
        elif form == "stack axis":
            w.tag("np.stack", "axis=k")
            self.new("s", f"np.sum(np.tanh(np.stack([{a}, {b}], axis=-1)))")
        elif form == "hstack":
            w.tag("np.hstack")
            self.new("s", f"np.sum(np.hstack(({a}, {b})) ** 2) * 0.2")
        elif form == "vstack":
            w.tag("np.vstack")
            self.new("A", f"np.vstack(({a}, {b}, {self.pick('v')})) * s")
        elif form == "atleast":
            w.tag("np.atleast_1d", "np.atleast_2d")
            self.new("A", f"np.atleast_2d({a}) * {A} + np.atleast_1d(s)")
        elif form == "operator functions":
            w.tag("np.add, np.subtract, np.multiply, np.divide, np.negative")
            self.new("v", f"np.multiply({a}, {b}) + np.subtract({a}, np.negative(s)) "
                          f"- np.divide({b}, np.add(2.0, {a} * {a}))")
        elif form == "asarray":
            w.tag("np.asarray, np.array of an array")
            self.new("v", f"np.asarray({a}) * s + np.array({b})")
        elif form == "array":
            w.tag("np.array of numbers")
            self.new("v", f"np.array([s, {a}[0], {a}[1] * s, 1.0, s * s])")
        elif form == "list":
            w.tag("list literal of numbers")
            weights = w.fresh("w")
            w.emit(f"{weights} = [0.25, 0.5, 0.25]")
            self.new("s", f"{weights}[0] * {a}[0] + {weights}[2] * {a}[4] "
                          f"+ np.dot({weights}, {a}[1:4])")
        else:
            w.tag("np.meshgrid")
            first, second = w.fresh("X"), w.fresh("Y")
            w.emit(f"{first}, {second} = np.meshgrid({a}, {b})")
            self.new("s", f"np.sum(np.sin({first} * {second})) * 0.2")

    SNIPPETS = ("operators", "operators", "elementwise", "elementwise", "elementwise",
                "reduction", "reduction", "reduction", "products", "products", "shapes",
                "shapes", "linear_algebra", "three_d", "numpy_functions")

    def program(self, seed: int) -> Case:
        w = self.w
        float32 = w.chance(0.1)
        if float32:
            w.tag("float32 arrays")
            self.linalg = False
            self.float32 = True
        for _ in range(w.rng.randint(3, 8)):
            getattr(self, w.choice(self.SNIPPETS))()
        result = " + ".join(self.terms) if self.terms else "np.sum(x * y)"
        output = "scalar"
        if w.chance(0.12):
            w.tag("array result (vjp)")
            output = "array"
            w.emit(f"return np.tanh({self.pick('v')}) * s + 0.1 * ({result})")
        else:
            w.emit(f"return {result}")
        source = ("import math\n\nimport numpy as np\n\n\n"
                  f"def f(x, y, A, B, T, s):\n{w.body()}\n")
        wrt = (0, 1, 2, 3, 4, 5)
        second, second_wrt = None, None
        if output == "scalar" and not float32 and w.chance(0.35):
            second = w.choice(["hvp", "hvp", "jvp_grad", "grad_jvp", "vjp_grad"])
            if second in ("grad_jvp", "vjp_grad"):
                second_wrt = (w.choice(wrt),)
        w.tag(f"second order {second}" if second else "first order only")
        return Case("wholearray", seed, source, make_inputs(seed, float32), wrt,
                    frozenset(w.tags), output=output, second=second, second_wrt=second_wrt,
                    refusable=refusable(w.marks))


def random_op_program(seed: int, avoid=frozenset()) -> Case:
    return _Ops(seed, avoid).program(seed)


if __name__ == "__main__":
    import sys
    for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        case = random_op_program(seed)
        print(case.source, "#", sorted(case.tags), case.second)
