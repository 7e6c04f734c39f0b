"""Family `views`: array elements, views, writes, aliases, copies, shapes,
creation, integer index arrays, 3-D arrays and float32 arguments
(docs/supported.md#elements-views-and-writes, #creating-arrays).

`random_view_program(seed)` writes

    def f(x, y, Q, T, s, idx):   # x, y: (6,), Q: (4, 6), T: (2, 3, 4), s: a float,
        ...                      # idx: 4 int64 indices into x (data, not differentiated)
        return <a float>         # (sometimes an array of shape (6,): jit.vjp)

from snippets that each add a term to the result, so that every construct
drawn reaches the output: element loops (`x[i]`, `x[i - 1]`, `x[-1]`,
`Q[i, k]`, `T[a, b, c]`, `x[idx[k]]`), views in expressions (`Q[i]`,
`Q[:, j]`, `x[1:-1]`, `x[::2]`, `x[::-1]`, `Q[:, None, :]`, `np.newaxis`,
`T[1]`), named views bound outside loops and read inside them, aliases
(`b = a`, and of a view), names rebound to new arrays, swapped, rotated and
swapped under an `if` round a time loop, copies (`np.copy(x)`, `x.copy()`, of a slice),
element writes (`=`, `+=`, `-=`, `*=`, `/=`; 1-D, 2-D, 3-D) into local
arrays, copies and arguments, slice writes, shapes (`x.shape[0]`, `len(x)`,
`m, n = Q.shape`, `Q.T`, `np.zeros(x.shape)`), every creation function
with every dtype spelling. About one program in eight takes float32 arrays
(its gradients must be float32). Writes into arguments come first, before
anything reads them (a write after a whole-array read is refused,
docs/limitations.md#arrays).
"""

from __future__ import annotations

import numpy as np

from case_harness import Case
from program_writer import Writer, refusable

N, M = 6, 4
T_SHAPE = (2, 3, 4)
K = 4
ALIASED_TANGENT = "element write into a result sharing its operand's tangent (a * 1.0, a + c)"


def make_inputs(seed: int, float32: bool):
    def inputs(attempt: int):
        rng = np.random.default_rng([seed, attempt, 11])
        x = rng.uniform(-1, 1, N)
        y = rng.uniform(-1, 1, N)
        Q = rng.uniform(-1, 1, (M, N))
        T = rng.uniform(-1, 1, T_SHAPE)
        s = float(rng.uniform(0.5, 1.5))
        idx = rng.integers(0, N, K)
        if float32:
            x, y, Q, T = (a.astype(np.float32) for a in (x, y, Q, T))
        return (x, y, Q, T, s, idx)
    return inputs


class _Views:
    def __init__(self, seed: int, avoid):
        self.w = Writer(seed, avoid)
        self.terms: list[str] = []
        self.vectors = ["x", "y"]          # (N,) arrays to read
        self.rows = ["w0"]                 # (M,) arrays
        self.element_reads_of_views = False
        self.float32 = False
        self.helpers: dict[str, str] = {}  # module-level helpers the program calls

    # ---------------------------------------------------------------- helpers
    def vec(self):
        return self.w.choice(self.vectors)

    def add(self, term: str):
        self.terms.append(term)

    def elem_expr(self, a: str, b: str, i: str = "i") -> str:
        return self.w.choice([f"{a}[{i}] * {b}[{i}]", f"math.sin({a}[{i}]) * {b}[{i}]",
                              f"{a}[{i}] * {a}[{i}] * s", f"math.tanh({a}[{i}] + s * {b}[{i}])"])

    # -------------------------------------------------------------- prologue
    def shapes(self):
        w = self.w
        form = w.choice(["shape", "len", "unpack"])
        if form == "shape":
            w.tag("x.shape[k]")
            w.emit("n = x.shape[0]")
            w.emit("m = Q.shape[0]")
        elif form == "len":
            w.tag("len(x)")
            w.emit("n = len(x)")
            w.emit("m = len(Q)")
        else:
            w.tag("shape unpacking n, d = x.shape")
            w.emit("m, n = Q.shape")

    def argument_writes(self):
        w = self.w
        w.tag("element write into an argument")
        for _ in range(w.rng.randint(1, 2)):
            form = w.choice(["x0", "loop", "q", "t"])
            if form == "x0":
                w.tag("element write a[i] = v")
                w.emit(f"x[0] = x[0] * s + {w.coef()}")
            elif form == "loop":
                w.tag("element write a[i] = v")
                w.mark("adjoint in loop")
                w.emit("for i in range(n):")
                w.emit(f"    y[i] = math.sin(y[i]) + {w.coef()} * s", )
            elif form == "q":
                w.tag("element write a[i, j] += v")
                w.emit(f"Q[1, 2] += {w.coef()} * x[1]")
            else:
                w.tag("element write a[i] *= v", "3-D array")
                w.emit("T[1, 2, 3] *= 1.5")

    # -------------------------------------------------------------- snippets
    def elem_loop(self):
        w = self.w
        w.tag("element read x[i]")
        w.mark("adjoint in loop")
        t = w.fresh("t")
        a, b = self.vec(), self.vec()
        w.emit(f"{t} = 0.0")
        if w.chance(0.3):
            w.tag("loop with negative step")
            w.emit("for i in range(n - 1, -1, -1):")
        else:
            w.emit("for i in range(n):")
        w.emit(f"    {t} += {self.elem_expr(a, b)}")
        self.add(f"{w.coef()} * {t}")

    def neighbour(self):
        w = self.w
        w.mark("adjoint in loop")
        t = w.fresh("t")
        a, b = self.vec(), self.vec()
        form = w.choice(["shift", "wrap", "last"])
        if form == "shift":
            w.tag("element read x[i - 1]")
            w.emit(f"{t} = 0.0")
            w.emit("for i in range(1, n):")
            w.emit(f"    {t} += {a}[i] * {b}[i - 1]")
        elif form == "wrap":
            w.tag("element read x[i - 1]", "element read x[-1]")
            w.emit(f"{t} = 0.0")
            w.emit("for i in range(n):")
            w.emit(f"    {t} += {a}[i - 1] * math.cos({b}[i])")
        else:
            w.tag("element read x[-1]")
            w.emit(f"{t} = {a}[-1] * {b}[0] + {a}[-2] * s")
        self.add(f"{w.coef()} * {t}")

    def elem2d(self):
        w = self.w
        w.tag("element read q[i, k]", "nested loops")
        w.mark("adjoint in loop")
        t = w.fresh("t")
        a = self.vec()
        w.emit(f"{t} = 0.0")
        w.emit("for i in range(m):")
        row = "Q[i, k]"
        if w.chance(0.4):
            w.tag("named view in a loop r = q[i]")
            named = w.fresh("r")
            w.emit(f"    {named} = Q[i]")
            row = f"{named}[k]"
        w.emit(f"    for k in range({w.choice(['n', 'Q.shape[1]'])}):")
        w.emit(f"        {t} += {row} * {a}[k] * {w.coef()}")
        self.add(w.smooth_scalar(t))

    def index_array(self):
        w = self.w
        w.tag("integer index array x[index[k]]", "integer array argument")
        w.mark("adjoint in loop")
        t = w.fresh("t")
        a, b = self.vec(), self.vec()
        w.emit(f"{t} = 0.0")
        w.emit("for k in range(idx.shape[0]):")
        w.emit(f"    {t} += {a}[idx[k]] * {b}[k] + Q[k % m, idx[k]] * {w.coef()}")
        self.add(w.smooth_scalar(t))

    def elem3d(self):
        w = self.w
        w.tag("3-D array", "element read T[a, b, c]", "nested loops")
        w.mark("adjoint in loop")
        t = w.fresh("t")
        w.emit(f"{t} = 0.0")
        w.emit("for a in range(T.shape[0]):")
        w.emit("    for b in range(T.shape[1]):")
        w.emit("        for c in range(1, T.shape[2]):")
        w.emit(f"            {t} += T[a, b, c] * T[a, b, c - 1] * {w.coef()}")
        self.add(w.smooth_scalar(t))

    def view_expr(self):
        w = self.w
        form = w.choice(["row", "column", "interior", "strided", "reversed", "none", "newaxis",
                         "plane", "middle", "array"])
        a, b = self.vec(), self.vec()
        i0, j0, j1 = w.rng.randrange(M), w.rng.randrange(N), w.rng.randrange(N)
        if form == "row":
            w.tag("view q[i]")
            e = f"np.dot(Q[{i0}], {a})"
        elif form == "column":
            w.tag("view q[:, j]")
            e = w.choice([f"np.dot(Q[:, {j0}], Q[:, {j1}])", f"np.sum(Q[:, {j0}] * w0)"])
        elif form == "interior":
            w.tag("view x[1:-1]")
            e = f"np.sum({a}[1:-1] * {b}[2:])"
        elif form == "strided":
            w.tag("view x[::2]")
            e = f"np.dot({a}[::2], {b}[1::2])"
        elif form == "reversed":
            w.tag("view x[::-1]")
            e = f"np.sum({a}[::-1] * {b})"
        elif form == "none":
            w.tag("view q[:, None, :]")
            w.mark("none axis")
            e = "np.sum(np.tanh(Q[:, None, :] * Q[None, :, :]))"
        elif form == "newaxis":
            w.tag("np.newaxis")
            w.mark("none axis")
            e = f"np.sum(np.sin({a}[np.newaxis, :] * Q))"
        elif form == "plane":
            w.tag("3-D array", "view T[i] of a 3-D array")
            e = w.choice(["np.sum(T[1] * T[0])", "np.sum(T[:, 1, :] ** 2)"])
        elif form == "middle":
            w.tag("view x[1:-1]", "view q[i]")
            e = f"np.sum(Q[{i0}, 1:-1] * {a}[:-2])"
        else:
            w.tag("view x[1:-1]")
            v = w.fresh("v")
            w.emit(f"{v} = {a}[1:] * {b}[:-1]")
            self.add(f"np.sum({w.smooth(v)})")
            return
        self.add(w.smooth_scalar(e) if w.chance(0.5) else f"{w.coef()} * {e}")

    def named_view(self):
        w = self.w
        w.tag("named view row = q[i]")
        v = w.fresh("view")
        form = w.choice(["row", "column", "interior", "reversed", "strided", "plane"])
        a = self.vec()
        if form == "row":
            w.tag("view q[i]")
            w.emit(f"{v} = Q[{w.rng.randrange(M)}]")
            length, other = "n", a
        elif form == "column":
            w.tag("view q[:, j]", "named column view")
            w.emit(f"{v} = Q[:, {w.rng.randrange(N)}]")
            length, other = "m", "w0"
        elif form == "interior":
            w.tag("view x[1:-1]")
            w.emit(f"{v} = {a}[1:-1]")
            length, other = "n - 2", "y[2:]"
        elif form == "reversed":
            w.tag("view x[::-1]")
            w.emit(f"{v} = {a}[::-1]")
            length, other = "n", "x"
        elif form == "strided":
            w.tag("view x[::2]")
            w.emit(f"{v} = {a}[::2]")
            length, other = "3", "y[::2]"
        else:
            w.tag("3-D array", "view T[i] of a 3-D array")
            w.emit(f"{v} = T[1]")
            t = w.fresh("t")
            w.emit(f"{t} = 0.0")
            w.emit(f"for i in range({v}.shape[0]):")
            w.emit(f"    {t} += {v}[i, 0] * {v}[i, 3]")
            w.mark("adjoint in loop")
            w.tag("element read of a named view")
            self.element_reads_of_views = True
            self.add(f"{w.coef()} * {t} + {w.coef()} * np.sum({v} * {v})")
            return
        self.add(f"{w.coef()} * np.sum({v} * {other})")
        if w.chance(0.6):
            w.tag("element read of a named view")
            self.element_reads_of_views = True
            w.mark("adjoint in loop")
            t = w.fresh("t")
            w.emit(f"{t} = 0.0")
            w.emit(f"for i in range({length}):")
            w.emit(f"    {t} += {v}[i] * {v}[i] * {w.coef()}")
            self.add(w.smooth_scalar(t))

    def alias(self):
        w = self.w
        if w.chance(0.5):
            w.tag("array alias b = a")
            a, b = w.fresh("a"), w.fresh("b")
            w.emit(f"{a} = np.sin({self.vec()}) * s")
            w.emit(f"{b} = {a}")
            self.add(f"np.sum({b} * {self.vec()}) + {w.coef()} * np.sum({a})")
            if w.chance(0.5):
                self.add(f"{b}[1] * {a}[2]")
            self.vectors.append(b)
            return
        # an alias of a view (when avoided, families.KNOWN_WRONG, the same
        # values are written without the alias)
        w.tag("alias of a view", "named view row = q[i]", "view x[1:-1]")
        base, v = w.fresh("w"), w.fresh("v")
        a = self.vec()
        w.emit(f"{base} = {a}[1:]")
        if "alias of a view" in w.avoid:
            w.emit(f"{v} = {a}[1:]")
        else:
            w.emit(f"{v} = {base}")
        self.element_reads_of_views = True
        self.add(w.choice([f"{v}[0] * {v}[0]", f"np.sum({v} * {v}) * {w.coef()}",
                           f"{v}[1] * {base}[2] + np.sum({v})"]))

    def copy(self):
        w = self.w
        c = w.fresh("c")
        a = self.vec()
        form = w.choice(["np.copy", "method", "slice", "slice method"])
        if form == "np.copy":
            w.tag("np.copy(a)")
            w.emit(f"{c} = np.copy({a})")
            length = "n"
        elif form == "method":
            w.tag("a.copy()")
            w.emit(f"{c} = {a}.copy()")
            length = "n"
        else:
            # a copy of a slice (avoidable: families.KNOWN_WRONG)
            w.tag("copy of a slice", "view x[1:-1]")
            w.tag("np.copy(a)" if form == "slice" else "a.copy()")
            if "copy of a slice" in w.avoid:
                w.emit(f"{c} = np.zeros(n - 1)")
                w.emit("for i in range(n - 1):")
                w.emit(f"    {c}[i] = {a}[i + 1]")
            elif form == "slice":
                w.emit(f"{c} = np.copy({a}[1:])")
            else:
                w.emit(f"{c} = {a}[1:].copy()")
            length = "n - 1"
        if w.chance(0.6):
            w.tag("element write into a copy", "element write a[i] = v")
            w.emit(f"{c}[0] = {c}[0] * s + {w.coef()}")
            if w.chance(0.5):
                w.mark("adjoint in loop")
                w.emit(f"for i in range(1, {length}):")
                w.emit(f"    {c}[i] = {c}[i] * {w.coef()} + {c}[i - 1] * {w.coef(-0.5, 0.5)}")
        self.add(f"np.sum({w.smooth(c)})")

    def rebinding(self):
        """Names bound to several arrays: a rebinding to a new array, a
        straight swap, buffers swapped or rotated round a time loop, a swap
        under an `if` (docs/supported.md#elements-views-and-writes)."""
        w = self.w
        if self.float32:
            return self.copy()
        form = w.choice(["new", "swap", "loop swap", "rotation", "conditional", "fresh"])
        # buffers passed among names take their shape from an argument
        # (docs/limitations.md#arrays): `a` is one
        a, b = w.choice(["x", "y"]), self.vec()
        p, q, r = w.fresh("p"), w.fresh("q"), w.fresh("r")
        if form == "new":
            w.tag("array name rebound to a new array")
            w.emit(f"{p} = np.sin({a}) * s")
            w.emit(f"{p} = {w.choice([f'{p} * {w.coef()}', f'{p}.copy()', f'np.cos({p}) + {b}'])}")
            w.emit(f"{p}[1] = {p}[1] * {p}[0]")
            self.add(f"np.sum({p} * {b})")
            return
        if form == "swap":
            w.tag("array alias b = a", "swap of two arrays u, v = v, u")
            w.emit(f"{p} = {a} * s")
            w.emit(f"{q} = np.cos({b})")
            w.emit(f"{p}, {q} = {q}, {p}")
            w.emit(f"{p}[0] = {p}[0] * {q}[1]")
            self.add(f"np.sum({p} * {p}) + {w.coef()} * np.sum({q})")
            return
        if form == "fresh":
            w.tag("array made afresh in each iteration u = u_new")
            w.mark("adjoint in loop")
            w.emit(f"{p} = np.copy({a})")
            w.emit(f"for t in range({w.rng.randint(1, 4)}):")
            w.emit(f"    {q} = {w.choice([f'np.empty_like({a})', f'np.zeros({a}.shape)'])}")
            w.emit(f"    for i in range(x.shape[0]):")
            w.emit(f"        {q}[i] = {self.elem_expr(p, b)} + {w.coef()} * {p}[i - 1]")
            w.emit(f"    {p} = {q}")
            self.add(f"np.sum({p} * {b}) * {w.coef()}")
            return
        w.emit(f"{p} = np.copy({a})")
        # every buffer made with `a`'s shape: adjit must prove the shapes equal
        w.emit(f"{q} = {w.choice([f'np.zeros_like({a})', f'np.zeros({a}.shape)', f'{a} * s'])}")
        names = [p, q]
        if form == "rotation":
            w.tag("rotation of three arrays a, b, c = b, c, a")
            w.emit(f"{r} = np.ones_like({a})")
            names = [p, q, r]
        w.mark("adjoint in loop")
        w.emit(f"for t in range({w.rng.randint(1, 4)}):")
        w.emit(f"    for i in range(x.shape[0]):")
        w.emit(f"        {q}[i] = {self.elem_expr(p, b)} + {w.coef()} * {p}[i - 1]")
        if form == "conditional":
            w.tag("conditional swap if c: u, v = v, u")
            w.emit(f"    if {p}[0] > {w.coef(-0.3, 0.3)}:")
            w.emit(f"        {p}, {q} = {q}, {p}")
        else:
            w.tag("loop-carried swap of two buffers")
            rotated = names[1:] + names[:1]
            w.emit(f"    {', '.join(names)} = {', '.join(rotated)}")
        self.add(f"np.sum({p} * {p}) * {w.coef()} + {q}[1]")

    def computed_then_written(self):
        """Element writes into the result of a whole-array expression."""
        w = self.w
        w.tag("element write into a computed array", "element write a[i] = v")
        c = w.fresh("c")
        a = self.vec()
        form = w.choice([f"{a} * 1.0", f"{a} + 0.0", f"{a} * s", f"{a}[1:] * 1.0",
                         f"2.0 * {a}[::-1]", f"{a} - 0.5 * {self.vec()}"])
        if form.endswith("* 1.0") or form.endswith("+ 0.0"):
            # forward mode must give the result a tangent array of its own, not
            # the operand's (avoidable: families.KNOWN_WRONG)
            w.tag(ALIASED_TANGENT)
            if ALIASED_TANGENT in w.avoid:
                form = form.replace("* 1.0", "* 1.5").replace("+ 0.0", "* s")
        w.emit(f"{c} = {form}")
        w.emit(f"{c}[0] = {c}[0] * s + {w.coef()}")
        if w.chance(0.5):
            w.mark("adjoint in loop")
            w.emit(f"for i in range(1, {c}.shape[0]):")
            w.emit(f"    {c}[i] = {c}[i] * {w.coef()} + {c}[i - 1] * {w.coef(-0.5, 0.5)}")
        self.add(f"np.sum({w.smooth(c)})" + (f" + {w.coef()} * np.sum({a})" if w.chance(0.5)
                                              else ""))

    def _creation(self, shape_of: str) -> str:
        """A creation expression for a float64 array shaped like `shape_of`
        (x: (n,), Q: (m, n), T: 3-D), with the tags of what it uses."""
        w = self.w
        shape = {"x": w.choice(["n", "x.shape", "(n,)"]), "Q": w.choice(["(m, n)", "Q.shape"]),
                 "T": w.choice(["T.shape", "(2, 3, 4)"])}[shape_of]
        w.tag({"n": "shape as an int", "(n,)": "shape as a tuple", "(m, n)": "shape as a tuple",
               "(2, 3, 4)": "shape as a tuple"}.get(shape, "shape x.shape"))
        fn = w.choice(["np.zeros", "np.empty", "np.zeros_like", "np.empty_like", "np.ones",
                       "np.full", "np.ones_like"])
        w.tag(fn)
        if fn.endswith("_like"):
            return f"{fn}({shape_of})"
        dtype = w.choice(["", "", ", np.float64", ", dtype=np.float64", ", dtype=float",
                          ", float"])
        if dtype:
            w.tag("dtype positional" if "dtype=" not in dtype else "dtype=",
                  "dtype np.float64" if "np." in dtype else "dtype float")
        if fn == "np.full":
            return f"np.full({shape}, {w.coef()}{dtype})"
        return f"{fn}({shape}{dtype})"

    def writes1d(self):
        w = self.w
        w.tag("local array", "element write a[i] = v")
        w.mark("adjoint in loop")
        a = w.fresh("a")
        creation = self._creation("x")
        w.emit(f"{a} = {creation}")
        src1, src2 = self.vec(), self.vec()
        w.emit("for i in range(n):")
        w.emit(f"    {a}[i] = {self.elem_expr(src1, src2)}")
        if w.chance(0.6):
            op = w.choice(["+=", "-=", "*=", "/="])
            w.tag(f"element write a[i] {op} v")
            value = {"+=": f"{w.coef()} * {src2}[i] * s", "-=": f"{w.coef()} * math.sin({src1}[i])",
                     "*=": f"0.5 + 0.3 * math.tanh({src2}[i])",
                     "/=": f"1.5 + {src1}[i] * {src1}[i]"}[op]
            w.emit(f"    {a}[i] {op} {value}")
        self.add(f"np.sum({w.smooth(a)})")
        self.vectors.append(a)

    def writes2d(self):
        w = self.w
        w.tag("local array", "element write a[i, j] = v", "nested loops")
        w.mark("adjoint in loop")
        B = w.fresh("B")
        w.emit(f"{B} = {self._creation('Q')}")
        src = self.vec()
        w.emit("for i in range(m):")
        w.emit("    for j in range(n):")
        w.emit(f"        {B}[i, j] = Q[i, j] * {src}[j] + {w.coef()} * s")
        if w.chance(0.5):
            op = w.choice(["+=", "-=", "*="])
            w.tag(f"element write a[i, j] {op} v" if op == "+=" else f"element write a[i] {op} v")
            value = {"+=": f"{w.coef()} * Q[i, j] * Q[i, j]", "-=": f"{w.coef()} * {src}[j]",
                     "*=": f"0.5 + 0.2 * math.sin(Q[i, j])"}[op]
            w.emit(f"        {B}[i, j] {op} {value}")
        self.add(f"np.sum({w.smooth(B)})")

    def writes3d(self):
        w = self.w
        w.tag("local array", "3-D array", "3-D local array", "element write a[i, j, k] = v",
              "nested loops")
        w.mark("adjoint in loop")
        U = w.fresh("U")
        w.emit(f"{U} = {self._creation('T')}")
        w.emit("for a in range(2):")
        w.emit("    for b in range(3):")
        w.emit("        for c in range(4):")
        w.emit(f"            {U}[a, b, c] = T[a, b, c] * s + {w.coef()} * T[1 - a, b, c]")
        self.add(f"np.sum({w.smooth(U)})")

    def slice_writes(self):
        w = self.w
        w.tag("local array", "slice write a[1:4] = v")
        w.mark("slice write")
        a = w.fresh("a")
        w.emit(f"{a} = np.zeros(n)")
        p, q = self.vec(), self.vec()
        w.emit(f"{a}[1:4] = {p}[:3] * {q}[1:4]")
        if w.chance(0.6):
            w.tag("slice write a[2:] = c")
            w.emit(f"{a}[4:] = {w.coef()}")
        if w.chance(0.5):
            w.tag("element write a[i] = v")
            w.emit(f"{a}[0] = np.sum({q}) * {w.coef()}")
        self.add(f"np.sum({w.smooth(a)})")

    def view_writes(self):
        """Writes into a local array through a view of it: a named row or
        column, a slice (writes at fixed, negative and loop indices), an
        alias of a view, a view of a view, in-place operators on a view, a
        view given to a helper that fills it
        (docs/supported.md#elements-views-and-writes)."""
        w = self.w
        w.tag("write through a view")
        w.mark("adjoint in loop")
        form = w.choice(["row", "column", "slice", "alias", "view of view", "in-place",
                         "helper"])
        if form in ("row", "column", "view of view", "helper") or \
                (form == "in-place" and w.chance(0.5)):
            C = w.fresh("C")
            w.emit(f"{C} = Q * {w.coef(0.5, 1.5)}")
            if form == "row":
                w.tag("write through a named row")
                r = w.fresh("r")
                src = self.vec()
                w.emit("for i in range(m):")
                w.emit(f"    {r} = {C}[i]")
                w.emit("    for j in range(n):")
                op = w.choice(["=", "+=", "*="])
                value = {"=": f"{r}[j] * {src}[j] + {w.coef()} * s",
                         "+=": f"{w.coef()} * math.sin({r}[j]) * {src}[j]",
                         "*=": f"0.5 + 0.3 * math.tanh({src}[j])"}[op]
                w.emit(f"        {r}[j] {op} {value}")
            elif form == "column":
                w.tag("write through a named column")
                col = w.fresh("col")
                j = w.rng.randrange(N)
                w.emit(f"{col} = {C}[:, {j}]")
                w.emit(f"{col}[0] = {col}[1] * {col}[-1] * s")
                w.emit(f"{col}[-1] = math.tanh({col}[0]) + {w.coef()}")
            elif form == "view of view":
                w.tag("write through a view of a view")
                r, t = w.fresh("r"), w.fresh("t")
                w.emit(f"{r} = {C}[{w.rng.randrange(M)}]")
                w.emit(f"{t} = {r}[{w.rng.randrange(1, 3)}:]")
                w.emit(f"{t}[0] = {t}[1] * {t}[0] + {w.coef()}")
                w.emit(f"{t}[-1] *= {w.coef(0.5, 1.5)}")
            elif form == "in-place":
                w.tag("in-place operator on a view")
                r = w.fresh("r")
                w.emit("for i in range(m):")
                w.emit(f"    {r} = {C}[i]")
                w.emit(f"    {r} *= {w.coef(0.5, 1.5)} * s")
                w.emit(f"    {r}[1:] += {r}[:-1] * {w.coef()}")
            else:
                w.tag("helper fills a view")
                self.helpers["fill_row"] = (
                    "def fill_row(source, out, c):\n"
                    "    for k in range(out.shape[0]):\n"
                    "        out[k] = source[k] * source[k] * c + out[k] * 0.5\n")
                w.emit("for i in range(m):")
                w.emit(f"    fill_row(Q[i], {C}[i], s)")
            self.add(f"np.sum({w.smooth(C)})")
            return
        c = w.fresh("c")
        a = self.vec()
        w.emit(f"{c} = {a} * {w.coef(0.5, 1.5)}")
        bounds = w.choice(["1:", "1:-1", "2:", "::-1", "1::2"])
        if bounds in ("::-1", "1::2"):
            w.tag("write through a reversed or strided view")
        v = w.fresh("v")
        w.emit(f"{v} = {c}[{bounds}]")
        length = {"1:": "n - 1", "1:-1": "n - 2", "2:": "n - 2", "::-1": "n",
                  "1::2": "n // 2"}[bounds]
        if form == "alias":
            w.tag("write through an alias of a view")
            u = w.fresh("u")
            w.emit(f"{u} = {v}")
            w.emit(f"{u}[0] = {u}[1] * {v}[0] * s")
        elif form == "in-place":
            w.tag("in-place operator on a view")
            w.emit(f"{v} *= {w.coef(0.5, 1.5)}")
            w.emit(f"{v}[1:3] += {self.vec()}[:2] * s")
        else:
            w.tag("write through a slice view")
            w.emit(f"{v}[0] = {v}[1] * s + {w.coef()}")
            w.emit(f"{v}[-1] = {v}[0] * {v}[-1]")
            if w.chance(0.6):
                w.emit(f"for k in range(1, {length}):")
                w.emit(f"    {v}[k] = {v}[k] * {w.coef()} + {v}[k - 1] * {w.coef(-0.5, 0.5)}")
        self.add(f"np.sum({w.smooth(c)})")

    def transpose(self):
        w = self.w
        w.tag("x.T")
        v = w.fresh("v")
        form = w.choice(["matvec", "elementwise"])
        if form == "matvec":
            w.emit(f"{v} = Q.T @ np.tanh(w0)")
        else:
            w.emit(f"{v} = np.sum(Q.T * {self.vec()}[:, None], axis=1)")
            w.tag("view q[:, None, :]")
            w.mark("none axis")
        self.add(f"np.sum({w.smooth(v)})")
        self.vectors.append(v)

    def data_arrays(self):
        w = self.w
        form = w.choice(["arange", "linspace", "eye", "float32", "ints", "bools", "full2d"])
        t = w.fresh("t")
        a = self.vec()
        if form == "arange":
            w.tag("np.arange")
            r = w.fresh("r")
            w.emit(f"{r} = np.arange(n) * 0.1")
            self.add(f"np.sum({r} * {a}) * s")
        elif form == "linspace":
            w.tag("np.linspace")
            r = w.fresh("r")
            w.emit(f"{r} = np.linspace(0.0, 1.0, n)")
            self.add(f"np.sum(np.sin({r} + {a}))")
        elif form == "eye":
            w.tag("np.eye")
            E = w.fresh("E")
            w.emit(f"{E} = np.eye(n)")
            self.add(f"np.dot({E} @ {a}, {self.vec()}) * {w.coef()}")
        elif form == "float32":
            keyword = w.chance(0.5)
            w.tag("dtype np.float32", "dtype=" if keyword else "dtype positional")
            r = w.fresh("r")
            spelled = "dtype=np.float32" if keyword else "np.float32"
            w.emit(f"{r} = np.ones(n, {spelled})")
            self.add(f"np.sum({r} * {a} * {a}) * {w.coef()}")
        elif form == "ints":
            dtype = w.choice(["np.int64", "np.int32", "int"])
            w.tag("integer local array", {"np.int64": "dtype np.int64", "np.int32": "dtype np.int32",
                                          "int": "dtype int"}[dtype], "dtype=")
            c = w.fresh("cnt")
            w.emit(f"{c} = np.zeros(n, dtype={dtype})")
            w.emit("for i in range(n):")
            w.emit(f"    {c}[i] = i % 3")
            w.emit(f"{t} = 0.0")
            w.emit("for i in range(n):")
            w.emit(f"    {t} += {a}[i] * {c}[i]")
            w.mark("adjoint in loop")
            self.add(f"{w.coef()} * {t}")
        elif form == "bools":
            dtype = w.choice(["np.bool_", "bool"])
            w.tag("boolean local array", "dtype np.bool_" if dtype == "np.bool_" else "dtype bool",
                  "dtype positional")
            c = w.fresh("mask")
            w.emit(f"{c} = np.zeros(n, {dtype})")
            w.emit("for i in range(n):")
            w.emit(f"    {c}[i] = i % 2 == 0")
            w.emit(f"{t} = 0.0")
            w.emit("for i in range(n):")
            w.emit(f"    {t} += {a}[i] * {a}[i] if {c}[i] else {w.coef()} * {a}[i]")
            w.mark("adjoint in loop")
            self.add(f"{w.coef()} * {t}")
        else:
            w.tag("np.full", "shape as a tuple")
            F = w.fresh("F")
            w.emit(f"{F} = np.full((m, n), {w.coef()})")
            self.add(f"np.sum({F} * Q * Q)")

    SNIPPETS = ("elem_loop", "neighbour", "elem2d", "index_array", "elem3d", "view_expr",
                "view_expr", "named_view", "alias", "copy", "computed_then_written", "writes1d", "writes2d", "writes3d",
                "slice_writes", "transpose", "data_arrays", "rebinding", "view_writes",
                "view_writes")

    def program(self, seed: int):
        w = self.w
        float32 = w.chance(0.12)
        if float32:
            w.tag("float32 arrays")
        self.float32 = float32
        self.shapes()
        if w.chance(0.3):
            self.argument_writes()
        w.emit("w0 = np.sum(Q, axis=1) * 0.5")
        for _ in range(w.rng.randint(3, 7)):
            getattr(self, w.choice(self.SNIPPETS))()
        result = " + ".join(self.terms)
        output = "scalar"
        if w.chance(0.12):
            w.tag("array result (vjp)")
            output = "array"
            w.emit(f"return np.tanh({self.vec()}) * s + 0.1 * ({result})")
        else:
            w.emit(f"return {result}")
        helpers = "".join(helper + "\n\n" for helper in self.helpers.values())
        source = ("import math\n\nimport numpy as np\n\n\n"
                  f"{helpers}def f(x, y, Q, T, s, idx):\n{w.body()}\n")
        wrt = (0, 1, 2, 3, 4)
        second, second_wrt = None, None
        if output == "scalar" and not float32 and w.chance(0.3):
            second = w.choice(["hvp", "hvp", "jvp_grad", "grad_jvp", "vjp_grad"])
            if second in ("grad_jvp", "vjp_grad"):
                second_wrt = (w.choice(wrt),)
        if second and self.element_reads_of_views:
            # the gradient's forward pass loses the tangent of a named view
            # (avoidable, families.KNOWN_WRONG): first order only when avoided
            w.tag("second order of element reads of a named view")
            if "second order of element reads of a named view" in w.avoid:
                second, second_wrt = None, None
        w.tag(f"second order {second}" if second else "first order only")
        return Case("views", seed, source, make_inputs(seed, float32), wrt,
                    frozenset(w.tags), output=output, second=second, second_wrt=second_wrt,
                    refusable=refusable(w.marks))


def random_view_program(seed: int, avoid=frozenset()) -> Case:
    return _Views(seed, avoid).program(seed)


if __name__ == "__main__":
    import sys
    for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        case = random_view_program(seed)
        print(case.source, "#", sorted(case.tags), case.second)
