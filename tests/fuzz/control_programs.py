"""Family `control`: control flow around array code, whole-array reductions
inside loops, tuple results, stop_gradient, and the small statements of
docs/supported.md#statements-and-control-flow in array programs.

Most programs (`random_control_program(seed)`) are

    def f(x, y, Q, s, k):       # x, y: (6,), Q: (4, 6), s: a float, k: an int (0..5)
        ...
        return <a float>

with element loops that `break`, `continue` or `return` early on a data
condition, `if`/`elif`/`else` on array data (scalar work in the branches),
`while` loops over elements, loops of a run-time trip count (`k`), loops
with a negative step, nested loops leaving the inner one, whole-array
reductions inside loops (`total += np.dot(Q[i], x)`: supported at first
order, refused at second order as docs/limitations.md#higher-order says),
element writes in branches, integer counters and flags, tuple unpacking and
swaps of elements, tuple values (a pair named, aliased, unpacked and
indexed; a loop over a tuple of arrays; `enumerate` of a tuple; a nested
tuple passed to a module-level helper that unpacks it), loops
over arrays (`enumerate`, `zip`, elements, rows, `np.ndindex`, `.flat`),
conditional expressions, `min`/`max` (of two or more) and `abs` of elements,
`adjit.stop_gradient` of a scalar, a reduction or an array, `float(...)`,
`np.float64(...)`, annotated assignments, `pass` and a docstring.

One program in five is instead a function of three floats and an int
returning a tuple of two or three floats, checked through `jit.jvp` (a
tuple of tangents) and `jit.jacobian` in both modes. One in twelve or so
is `f(params, x, s)` with a tuple argument (a pair, a nested pair, a tuple
of layers) differentiated with respect to it as well: a tuple of
gradients, a tuple of tangents.
"""

from __future__ import annotations

import numpy as np

from case_harness import Case
from program_writer import Writer, refusable

N, M = 6, 4


def make_inputs(seed: int):
    def inputs(attempt: int):
        rng = np.random.default_rng([seed, attempt, 17])
        return (rng.uniform(-1, 1, N), rng.uniform(-1, 1, N), rng.uniform(-1, 1, (M, N)),
                float(rng.uniform(0.5, 1.5)), int(rng.integers(0, 6)))
    return inputs


def make_tuple_inputs(seed: int):
    def inputs(attempt: int):
        rng = np.random.default_rng([seed, attempt, 19])
        return (float(rng.uniform(-1.5, 1.5)), float(rng.uniform(-1.5, 1.5)),
                float(rng.uniform(0.3, 1.5)), int(rng.integers(0, 5)))
    return inputs


class _Control:
    def __init__(self, seed: int, avoid):
        self.w = Writer(seed, avoid)
        self.terms: list[str] = []
        self.vectors = ["x", "y"]
        self.helpers: list[str] = []        # module-level functions the program calls

    def vec(self):
        return self.w.choice(self.vectors)

    def add(self, term):
        self.terms.append(term)

    def threshold(self):
        return str(round(self.w.rng.uniform(0.3, 2.5), 2))

    # ------------------------------------------------------------- snippets
    def reduction_in_loop(self):
        w = self.w
        w.tag("whole-array reduction in a loop")
        w.mark("reduction in loop")
        t = w.fresh("t")
        a = self.vec()
        w.emit(f"{t} = 0.0")
        form = w.choice(["rows", "columns", "slices"])
        if form == "rows":
            w.tag("view q[i]")
            w.emit("for i in range(Q.shape[0]):")
            w.emit(f"    {t} += " + w.choice([f"np.dot(Q[i], {a})", f"np.sum(Q[i]) * s",
                                             f"np.tanh(np.dot(Q[i], {a}))",
                                             f"np.max(Q[i]) * {a}[i]", f"Q[i].dot({a}) * s"]))
        elif form == "columns":
            w.tag("view q[:, j]")
            w.emit("for j in range(Q.shape[1]):")
            w.emit(f"    {t} += " + w.choice([f"np.dot(Q[:, j], Q[:, j]) * {a}[j]",
                                             f"np.mean(Q[:, j]) * {a}[j]"]))
        else:
            w.tag("view x[1:-1]")
            w.emit("for i in range(1, 4):")
            w.emit(f"    {t} += np.dot({a}[i:], {a}[:-i]) * {w.coef()}")
        self.add(w.smooth_scalar(t))

    def products_in_loop(self):
        """Operations with array results inside a loop (lowered to element
        loops): matrix products of a matrix and its transpose with vectors,
        a product of matrices, outer products, sums along an axis - a few
        steps of gradient descent, or a recurrence."""
        w = self.w
        w.tag("array-valued product in a loop")
        w.mark("adjoint in loop")
        form = w.choice(["descent", "matrix", "outer", "axis sum"])
        v = w.fresh("v")
        a = self.vec()
        w.emit(f"{v} = {a} * {w.coef(0.5, 1.0)}")
        w.emit(f"for it in range({w.rng.randint(2, 3)}):")
        if form == "descent":
            w.tag("matrix product Q @ v in a loop", "Q.T @ r in a loop")
            op = w.choice(["-=", "= " + v + " -"])
            step = f"0.1 * (Q.T @ np.tanh(Q @ {v} - {w.coef()} * s)) / Q.shape[0]"
            w.emit(f"    {v} {op} {step}")
            self.add(f"np.sum({v} * {v})")
        elif form == "matrix":
            w.tag("matrix product of matrices in a loop")
            P = w.fresh("P")
            w.emit(f"    {P} = np.dot(Q * s, Q.T) * {w.coef(0.1, 0.3)}")
            w.emit(f"    {v} = {v} + np.tanh(Q.T @ ({P} @ Q[:, 0]))")
            self.add(f"np.sum({v} * {v})")
        elif form == "outer":
            w.tag("outer product in a loop")
            P = w.fresh("P")
            w.emit(f"    {P} = np.outer(Q[:, 1], {v}) * Q")
            w.emit(f"    {v} = {v} * 0.5 + np.sin(np.sum({P}, axis=0)) * s")
            self.add(f"np.sum({v} * {v})")
        else:
            w.tag("sum along an axis in a loop")
            c = w.fresh("c")
            w.emit(f"    {c} = np.sum(Q * {v}, {w.choice(['1', 'axis=1'])})")
            w.emit(f"    {v} = {v} * s + 0.1 * np.sum(Q.T * np.tanh({c}), axis=1)")
            self.add(f"np.sum({v} * {v}) + np.sum({c})")

    def early_exit(self):
        w = self.w
        w.mark("adjoint in loop", "adjoint in branch")
        acc = w.fresh("acc")
        a, b = self.vec(), self.vec()
        word = w.choice(["break", "continue", "return", "nested break"])
        w.tag(f"{word.split()[-1]} in an array loop", "if on array data")
        if word == "return":
            # what the rest of the function computed so far, summed before
            # the loop (whole-array work inside a loop is refused)
            rest = w.fresh("rest")
            w.emit(f"{rest} = {' + '.join(self.terms) if self.terms else '0.0'}")
            self.terms = [rest]
        w.emit(f"{acc} = 0.0")
        if word == "nested break":
            w.tag("nested loops", "break in nested loop")
            w.emit("for i in range(Q.shape[0]):")
            w.emit("    for j in range(Q.shape[1]):")
            w.emit(f"        if Q[i, j] * {a}[j] > {self.threshold()}:")
            w.emit("            break")
            w.emit(f"        {acc} += Q[i, j] * {b}[j] * {w.coef()}")
        else:
            if w.chance(0.3):
                w.tag("loop with negative step")
                w.emit("for i in range(x.shape[0] - 1, -1, -1):")
            else:
                w.emit("for i in range(x.shape[0]):")
            if word == "continue":
                w.emit(f"    if {a}[i] < {w.coef(-0.8, 0.3)}:")
                w.emit("        continue")
                w.emit(f"    {acc} += {a}[i] * {b}[i] + {w.coef()} * s")
            else:
                w.emit(f"    {acc} += {a}[i] * {a}[i] * s + {w.coef()} * {b}[i]")
                w.emit(f"    if {acc} > {self.threshold()}:")
                if word == "break":
                    w.emit("        break")
                else:
                    w.tag("early return")
                    w.emit(f"        return {acc} * {w.coef()} + {rest}")
        self.add(f"{w.coef()} * {acc}")

    def branches(self):
        w = self.w
        w.tag("if on array data", "if / elif / else")
        w.mark("adjoint in branch")
        t = w.fresh("t")
        a, b = self.vec(), self.vec()
        w.emit(f"if np.sum({a}) > {w.coef(-1.0, 1.0)}:")
        w.emit(f"    {t} = {a}[0] * s + np.dot({a}, {b})")
        if w.chance(0.5):
            w.tag("elif")
            w.emit(f"elif {b}[1] < {w.coef(-0.5, 0.5)}:")
            w.emit(f"    {t} = math.sin({b}[1]) * {a}[2]")
        if w.chance(0.3):
            w.tag("pass")
            w.emit(f"elif {a}[3] > 2.0:")
            w.emit("    pass")
            w.emit(f"    {t} = 0.0")
        w.emit("else:")
        w.emit(f"    {t} = " + w.choice([f"{a}[1] * {b}[2] - s", f"np.sum({b}) * 0.3"]))
        self.add(f"{w.coef()} * {t}")

    def while_loop(self):
        w = self.w
        w.tag("while loop over an array", "integer counter")
        w.mark("adjoint in loop")
        acc, j = w.fresh("acc"), w.fresh("j")
        a = self.vec()
        w.emit(f"{acc} = 0.0")
        w.emit(f"{j} = 0")
        w.emit(f"while {j} < x.shape[0] and {acc} < {self.threshold()}:")
        w.emit(f"    {acc} += {a}[{j}] * {a}[{j}] + 0.1 * s")
        w.emit(f"    {j} += 1")
        self.add(f"{w.coef()} * {acc}")

    def runtime_trip(self):
        w = self.w
        w.tag("run-time trip count")
        w.mark("adjoint in loop")
        acc = w.fresh("acc")
        a = self.vec()
        w.emit(f"{acc} = s")
        w.emit(w.choice(["for i in range(k):", "for i in range(1, k + 2):",
                         "for i in range(k, -1, -1):"]))
        w.emit(f"    {acc} = 0.7 * {acc} + 0.3 * math.sin({a}[i % x.shape[0]] + {acc})")
        self.add(acc)

    def branch_writes(self):
        w = self.w
        w.tag("element write in a branch", "element write a[i, j] = v", "nested loops")
        w.mark("adjoint in loop", "adjoint in branch")
        B = w.fresh("B")
        a = self.vec()
        w.emit(f"{B} = np.zeros((Q.shape[0], Q.shape[1]))")
        w.emit("for i in range(Q.shape[0]):")
        w.emit("    for j in range(Q.shape[1]):")
        w.emit(f"        if Q[i, j] > {w.coef(-0.5, 0.5)}:")
        w.emit(f"            {B}[i, j] = Q[i, j] * {a}[j]")
        w.emit("        else:")
        w.emit(f"            {B}[i, j] = {w.coef()} * s * Q[i, j]")
        self.add(f"np.sum({w.smooth(B)})")

    def counters(self):
        w = self.w
        w.tag("integer counter", "bool flag")
        w.mark("adjoint in loop", "adjoint in branch")
        c, flag, acc = w.fresh("count"), w.fresh("flag"), w.fresh("acc")
        a = self.vec()
        w.emit(f"{c} = 0")
        w.emit(f"{flag} = False")
        w.emit(f"{acc} = 0.0")
        w.emit("for i in range(x.shape[0]):")
        w.emit(f"    if {a}[i] > 0.0:")
        w.emit(f"        {c} += 1")
        w.emit(f"        {flag} = True")
        w.emit(f"    {acc} += {a}[i] * s if {flag} else {w.coef()} * {a}[i]")
        self.add(f"0.1 * {c} * s + {w.coef()} * {acc}")

    def small_statements(self):
        w = self.w
        a, b = self.vec(), self.vec()
        form = w.choice(["tuple", "swap", "ifexp", "minmax", "minmax of several", "float",
                         "annotated", "abs", "floordiv", "rounding", "mod"])
        t = w.fresh("t")
        if form == "tuple":
            w.tag("tuple unpacking")
            u = w.fresh("u")
            w.emit(f"{t}, {u} = {a}[0] * s, {b}[1] + {a}[2]")
            self.add(f"{t} * {u}")
        elif form == "swap":
            w.tag("tuple swap")
            u = w.fresh("u")
            w.emit(f"{t}, {u} = {a}[0], {b}[1]")
            w.emit(f"{t}, {u} = {u}, {t} + 0.5 * {u}")
            self.add(f"{t} * {w.coef()} + {u} * {u}")
        elif form == "ifexp":
            w.tag("conditional expression")
            w.emit(f"{t} = {a}[0] * s if {a}[0] > {b}[0] else {b}[0] * {b}[1]")
            self.add(t)
        elif form == "minmax":
            w.tag("min/max of elements")
            w.emit(f"{t} = max({a}[2], {b}[3]) + min({a}[4] * s, {b}[5])")
            self.add(f"{w.coef()} * {t}")
        elif form == "minmax of several":
            w.tag("min/max of several elements")
            w.emit(f"{t} = max({a}[2], {b}[3], {a}[0] * s) + "
                   f"min({a}[4] * s, {b}[5], {b}[0], 0.5)")
            self.add(f"{w.coef()} * {t}")
        elif form == "abs":
            w.tag("abs of an element")
            w.emit(f"{t} = abs({a}[1] - 0.3 * {b}[2])")
            self.add(f"{w.coef()} * {t}")
        elif form == "floordiv":
            w.tag("x // y")
            w.emit(f"{t} = ({a}[0] * 3.0 + 4.0) // 1.5 * 0.2 + {b}[1] * s")
            self.add(t)
        elif form == "mod":
            w.tag("x % y")
            w.emit(f"{t} = ({a}[0] + 2.0) % 0.7 * s + {b}[2]")
            self.add(t)
        elif form == "rounding":
            w.tag("floor, ceil, trunc, int(), round()")
            w.emit(f"{t} = {a}[2] * s + 0.1 * (math.floor({b}[0] * 3.0) + math.ceil({a}[0] * 3.0)"
                   f" + math.trunc({b}[1] * 3.0) + round({a}[3] * 3.0) + int({b}[4] * 3.0))")
            self.add(t)
        elif form == "float":
            which = w.choice(["float", "np.float64"])
            w.tag(f"{which}(x)")
            w.emit(f"{t} = {which}(np.sum({a} * {b})) * s")
            self.add(w.smooth_scalar(t))
        else:
            w.tag("annotated assignment")
            w.emit(f"{t}: float = {a}[3] * {b}[4] + s")
            self.add(f"{w.coef()} * {t}")

    def tuples(self):
        w = self.w
        a, b = self.vec(), self.vec()
        form = w.choice(["pair", "loop over pairs", "enumerate a tuple", "passed to a helper"])
        t = w.fresh("t")
        if form == "pair":
            w.tag("tuple value", "tuple indexed by a constant")
            p, q, u, v = w.fresh("p"), w.fresh("q"), w.fresh("u"), w.fresh("v")
            w.emit(f"{p} = ({a}[0] * s, {b}[1] + {a}[2])")
            w.emit(f"{q} = {p}")
            w.emit(f"{u}, {v} = {q}")
            w.emit(f"{t} = {p}[0] * {v} + len({p}) * {u} * {w.coef()}")
            self.add(t)
        elif form == "loop over pairs":
            w.tag("loop over a tuple of arrays")
            u, v = w.fresh("u"), w.fresh("v")
            w.emit(f"{t} = 0.0")
            w.emit(f"for ({u}, {v}) in (({a}, {b}), ({b}, Q[1])):")
            w.emit(f"    {t} += np.dot({u}, {v}) * {w.coef()}")
            self.add(w.smooth_scalar(t))
        elif form == "passed to a helper":
            w.tag("tuple passed to a helper")
            if not self.helpers:
                self.helpers.append("def h_tuple(params, v):\n    a, (u, c) = params\n"
                                    "    return a * np.dot(u, v) + c * len(params)\n")
            w.emit(f"{t} = h_tuple((s, ({a}, {b}[0] * {w.coef()})), {b})")
            self.add(w.smooth_scalar(t))
        else:
            w.tag("enumerate a tuple")
            i, u = w.fresh("i"), w.fresh("u")
            w.emit(f"{t} = 0.0")
            w.emit(f"for {i}, {u} in enumerate(({a}[0], {b}[1] * s, {a}[3])):")
            w.emit(f"    {t} += ({i} + 1) * {u} * {u} * {w.coef()}")
            self.add(t)

    def iteration(self):
        w = self.w
        w.mark("adjoint in loop")
        a, b = self.vec(), self.vec()
        t = w.fresh("t")
        form = w.choice(["enumerate", "zip", "elements", "rows", "ndindex", "ndindex tuple",
                         "flat"])
        w.tag(f"for over an array: {form}")
        w.emit(f"{t} = 0.0")
        if form == "enumerate":
            i, v = w.fresh("i"), w.fresh("v")
            w.emit(f"for {i}, {v} in enumerate({a}):")
            w.emit(f"    {t} += ({i} + 1) * {v} * {v} * {w.coef()}")
        elif form == "zip":
            u, v = w.fresh("u"), w.fresh("v")
            w.emit(f"for {u}, {v} in zip({a}, {b}):")
            w.emit(f"    {t} += {u} * math.sin({v}) * {w.coef()}")
        elif form == "elements":
            v = w.fresh("v")
            w.tag("x.size")
            w.emit(f"for {v} in {a}:")
            w.emit(f"    {t} += {v} * {v} * {v} * {w.coef()} / {a}.size")
        elif form == "rows":
            r = w.fresh("r")
            w.emit(f"for {r} in Q:")
            w.emit(f"    {t} += {r}[0] * {r}[2] * {w.coef()} + {r}[1] * s")
        elif form == "ndindex":
            i, j = w.fresh("i"), w.fresh("j")
            w.tag("x.ndim")
            w.emit(f"for {i}, {j} in np.ndindex(Q.shape):")
            w.emit(f"    {t} += Q[{i}, {j}] * {a}[{j}] * {w.coef()} * Q.ndim")
        elif form == "ndindex tuple":
            ij = w.fresh("ij")
            w.emit(f"for {ij} in np.ndindex(Q.shape[0], 3):")
            w.emit(f"    {t} += Q[{ij}] * {a}[{ij}[1]] * {w.coef()}")
        else:
            v = w.fresh("v")
            w.emit(f"for {v} in Q.flat:")
            w.emit(f"    {t} += math.tanh({v}) * {v} * {w.coef()}")
        self.add(t)

    def stop(self):
        w = self.w
        w.tag("stop_gradient")
        t = w.fresh("t")
        a, b = self.vec(), self.vec()
        form = w.choice(["scalar", "reduction", "loop"])
        if form == "scalar":
            w.emit(f"{t} = adjit.stop_gradient({a}[0] * s) * {b}[1] + {a}[2]")
        elif form == "reduction":
            w.emit(f"{t} = {a}[0] / (1.0 + adjit.stop_gradient(np.sum({a} * {a})))")
        else:
            w.mark("adjoint in loop")
            w.emit(f"{t} = 0.0")
            w.emit("for i in range(x.shape[0]):")
            w.emit(f"    {t} += adjit.stop_gradient({a}[i] * s) * {b}[i]")
        self.add(t)

    SNIPPETS = ("reduction_in_loop", "products_in_loop", "early_exit", "early_exit", "branches",
                "while_loop",
                "runtime_trip", "branch_writes", "counters", "small_statements",
                "small_statements", "stop", "tuples", "iteration", "iteration")

    def program(self, seed: int) -> Case:
        w = self.w
        if w.chance(0.3):
            w.tag("docstring")
            w.emit('"""A generated program."""')
        snippets = [w.choice(self.SNIPPETS) for _ in range(w.rng.randint(2, 6))]
        # an early return leaves the rest of the function: keep it last
        snippets.sort(key=lambda name: name == "early_exit")
        for name in snippets:
            getattr(self, name)()
        w.emit(f"return {' + '.join(self.terms)}")
        helpers = "".join(helper + "\n\n" for helper in self.helpers)
        source = ("import math\n\nimport numpy as np\n\nimport adjit\n\n\n"
                  f"{helpers}def f(x, y, Q, s, k):\n{w.body()}\n")
        wrt = (0, 1, 2, 3)
        second, second_wrt = None, None
        # a stopped value has derivative zero at every order (as in JAX), which
        # finite differences of the gradient do not see: first order only
        if w.chance(0.3) and "stop_gradient" not in w.tags:
            second = w.choice(["hvp", "hvp", "jvp_grad", "grad_jvp", "vjp_grad", "hessian",
                               "grad_grad"])
            if second in ("hessian", "grad_grad"):
                second_wrt = (3,)
            elif second in ("grad_jvp", "vjp_grad"):
                second_wrt = (w.choice(wrt),)
        w.tag(f"second order {second}" if second else "first order only")
        return Case("control", seed, source, make_inputs(seed), wrt, frozenset(w.tags),
                    second=second, second_wrt=second_wrt, refusable=refusable(w.marks))

    # ------------------------------------------------------- tuple results
    def tuple_program(self, seed: int) -> Case:
        w = self.w
        w.tag("tuple result", "jacobian mode=rev", "jacobian mode=fwd", "jvp of a tuple")
        w.emit(f"p = a * b + {w.coef()} * c")
        w.emit(f"q = {w.smooth_scalar('a - c')} + b")
        if w.chance(0.6):
            w.tag("run-time trip count")
            w.emit("for i in range(n):")
            w.emit(f"    p = 0.8 * p + {w.coef()} * math.cos(q * c + i)")
            if w.chance(0.4):
                w.tag("if on a value", "break")
                w.emit(f"    if p > {self.threshold()}:")
                w.emit("        break")
        if w.chance(0.4):
            w.tag("if on a value")
            w.emit(f"if q > {w.coef()}:")
            w.emit(f"    q = q * c + {w.coef()}")
        outputs = [f"p * {w.coef()}", "q * c", f"math.exp(0.3 * math.tanh(p * q))"]
        count = w.choice([2, 3])
        w.emit(f"return {', '.join(outputs[:count])}")
        source = f"import math\n\nimport numpy as np\n\n\ndef f(a, b, c, n):\n{w.body()}\n"
        return Case("control", seed, source, make_tuple_inputs(seed), (0, 1, 2),
                    frozenset(w.tags), output="tuple")


def make_tuple_argument_inputs(seed: int, form: str):
    def inputs(attempt: int):
        rng = np.random.default_rng([seed, attempt, 23])
        x = rng.uniform(-1, 1, N)
        s = float(rng.uniform(0.5, 1.5))
        if form == "layers":
            params = ((rng.uniform(-0.6, 0.6, (M, N)), rng.uniform(-0.5, 0.5, M)),
                      (rng.uniform(-0.6, 0.6, (3, M)), rng.uniform(-0.5, 0.5, 3)))
        elif form == "nested":
            params = (float(rng.uniform(0.5, 1.5)), (rng.uniform(-1, 1, N),
                                                     float(rng.uniform(-1, 1))))
        else:
            params = (rng.uniform(-1, 1, N), float(rng.uniform(-1, 1)))
        return (params, x, s)
    return inputs


def tuple_argument_program(w: Writer, seed: int) -> Case:
    """`f(params, x, s)` whose first argument is a tuple - a pair of an
    array and a float, unpacked or indexed; a float and a nested pair,
    unpacked in one statement; a tuple of (weights, bias) layers looped
    over - differentiated with respect to it too (a tuple of gradients)."""
    w.tag("tuple argument", "wrt a tuple argument")
    w.mark("adjoint in loop")
    form = w.choice(["pair", "nested", "layers"])
    if form == "pair":
        if w.chance(0.5):
            w.tag("tuple argument unpacked")
            w.emit("u, c = params")
        else:
            w.tag("tuple argument indexed")
            w.emit("u = params[0]")
            w.emit("c = params[1]")
        w.emit(f"t = np.sum(np.tanh(u * x + c)) * s + {w.coef()} * c * c")
        if w.chance(0.5):
            w.tag("element loop over a tuple argument's array")
            w.emit("for i in range(x.shape[0]):")
            w.emit(f"    t += u[i] * x[i] * {w.coef()}")
    elif form == "nested":
        w.tag("nested tuple argument unpacked")
        w.emit("a, (u, c) = params")
        w.emit(f"t = a * np.sum(u * x) + math.sin(c * s) + {w.coef()} * a * c")
    else:
        w.tag("tuple of tuples of arrays argument", "loop over a tuple of arrays")
        w.emit("h = x")
        w.emit("for W, b in params:")
        w.emit(f"    h = np.tanh(W @ h + b * {w.coef(0.5, 1.5)})")
        w.emit("t = np.sum(h * h) * s")
    w.emit("return t")
    source = ("import math\n\nimport numpy as np\n\n\n"
              f"def f(params, x, s):\n{w.body()}\n")
    second = None
    if w.chance(0.3):
        second = "hvp"
        w.tag("second order hvp")
    else:
        w.tag("first order only")
    return Case("control", seed, source, make_tuple_argument_inputs(seed, form), (0, 1, 2),
                frozenset(w.tags), second=second, second_wrt=(1,) if second else None,
                refusable=refusable(w.marks))


def random_control_program(seed: int, avoid=frozenset()) -> Case:
    maker = _Control(seed, avoid)
    if maker.w.chance(0.2):
        return maker.tuple_program(seed)
    if maker.w.chance(0.1):
        return tuple_argument_program(maker.w, seed)
    return maker.program(seed)


if __name__ == "__main__":
    import sys
    for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        case = random_control_program(seed)
        print(case.source, "#", sorted(case.tags), case.second)
