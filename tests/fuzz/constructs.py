"""Which family draws each construct the docs say adjit supports.

`CONSTRUCTS` names every construct of docs/supported.md (and of the
supported lists of docs/calls.md, docs/parallel.md, docs/higher-order.md),
each with where it is documented - the document, its section heading, and
the row: the first cell of a table row, the beginning of a bullet, or a
phrase of a paragraph - and the family tags that draw it (`family: tag`,
the tags families.py's generators attach to their programs).

tests/fuzz/test_coverage.py keeps the link true both ways: every table row
and bullet of the sections in `ENFORCED` must be named by a construct here,
every construct's row must still be in its document, and every tag named
here must be drawn in the fixed-seed sample (`sample_tags`).
`python tests/fuzz/report.py --coverage` prints the table, and
`--coverage --write` puts it into docs/fuzzing.md. (The module is not called
coverage.py: tests/fuzz is on sys.path, and Numba imports `coverage`.)
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE = 400            # programs per family in the fixed-seed sample

S, C, P, H = "supported.md", "calls.md", "parallel.md", "higher-order.md"

# (document, section) whose every table row and bullet must be named below
ENFORCED = [
    (S, "Types"), (S, "Operators"), (S, "Functions"), (S, "Statements and control flow"),
    (S, "Elements, views and writes"), (S, "Whole-array operations"),
    (S, "Whole-array statements in loops"),
    (C, "Calls between functions"), (P, "What a parallel loop may do"),
    (H, "Built on the two modes"),
]


@dataclasses.dataclass(frozen=True)
class Construct:
    name: str
    doc: str
    section: str
    row: str               # a table row's first cell, a bullet's first words, or a phrase
    draws: tuple           # "family: tag", ...


def _c(name, doc, section, row, *draws):
    return Construct(name, doc, section, row, tuple(draws))


_TRIG = "trigonometric"
_HYP = "hyperbolic"
_EXP = "exponential and logarithmic"
_NP_NAMES = {"asin": "asin", "acos": "acos", "atan": "atan", "atan2": "atan2", "asinh": "asinh",
             "acosh": "acosh", "atanh": "atanh", "pow": "pow"}


def _function(name, row, array=True):
    draws = [f"scalar: math.{name}"]
    if array:
        draws.append(f"wholearray: np.{_NP_NAMES.get(name, name)} elementwise")
    return _c(f"{name}", S, "Functions", row, *draws)


CONSTRUCTS = [
    # ---------------------------------------------------------------- types
    _c("float scalars", S, "Types", "`float` (float64) and NumPy float scalars",
       "scalar: for", "calls: plain helper"),
    _c("int and bool values (never differentiated)", S, "Types", "`int`, `bool`",
       "scalar: int counter", "scalar: bool flag", "control: integer counter"),
    _c("float64 arrays of any rank", S, "Types",
       "NumPy arrays of float64/float32 (any number of dimensions, on both targets)", "views: 3-D array",
       "wholearray: 3-D array", "views: local array"),
    _c("float32 arrays", S, "Types", "NumPy arrays of float64/float32 (any number of dimensions, on both targets)",
       "views: float32 arrays", "wholearray: float32 arrays"),
    _c("integer and boolean arrays as data", S, "Types", "NumPy arrays of integers or booleans",
       "views: integer index array x[index[k]]", "views: integer local array",
       "views: boolean local array"),
    _c("tuple of floats returned (jvp, jacobian)", S, "Types", "A function returning a tuple",
       "control: tuple result"),
    # ------------------------------------------------------------ operators
    _c("+ - * / and unary -", S, "Operators", "`+`, `-`, `*`, `/`, unary `-`",
       "scalar: division", "scalar: augassign"),
    _c("x ** y", S, "Operators", "`x ** y`", "scalar: pow int exponent",
       "scalar: pow float exponent", "scalar: pow variable exponent"),
    _c("abs(x)", S, "Operators", "`abs(x)`", "scalar: abs", "control: abs of an element"),
    _c("min(x, y), max(x, y)", S, "Operators", "`min(x, y)`, `max(x, y)`, and of more arguments (`max(a, b, c)`)",
       "scalar: min", "scalar: max", "control: min/max of elements"),
    _c("min, max of more than two arguments", S, "Operators",
       "`min(x, y)`, `max(x, y)`, and of more arguments (`max(a, b, c)`)", "scalar: min of three",
       "scalar: max of three", "control: min/max of several elements"),
    _c("x // y", S, "Operators", "`x // y`", "control: x // y"),
    _c("x % y", S, "Operators", "`x % y`", "scalar: float %", "control: x % y"),
    _c("comparisons, and, or, not", S, "Operators",
       "`<`, `<=`, `>`, `>=`, `==`, `!=`, `and`, `or`, `not`", "scalar: and/or/not",
       "scalar: int condition", "scalar: if"),
    _c("a if cond else b", S, "Operators", "`a if cond else b`",
       "scalar: conditional expression", "control: conditional expression"),
    # ------------------------------------------------------------ functions
    *[_function(name, _TRIG) for name in ("sin", "cos", "tan", "asin", "acos", "atan", "atan2")],
    *[_function(name, _HYP) for name in ("sinh", "cosh", "tanh", "asinh", "acosh", "atanh")],
    *[_function(name, _EXP) for name in ("exp", "expm1", "log", "log1p", "log2", "log10")],
    *[_function(name, "powers") for name in ("sqrt", "hypot", "pow")],
    *[_function(name, "special", array=False) for name in ("erf", "erfc", "gamma", "lgamma")],
    *[_function(name, "sign") for name in ("fabs", "copysign")],
    _c("scipy.special functions", S, "Functions", "`scipy.special`", "scalar: scipy.gammaln",
       "scalar: scipy.expit", "scalar: scipy.erf", "scalar: scipy.log_ndtr",
       "scalar: scipy.xlogy", "scalar: scipy.logit"),
    _c("np. forms of the functions on scalars", S, "Functions",
       "the same names through `np.` on scalars", "scalar: np.*"),
    _c("floor, ceil, trunc, int(), round()", S, "Functions", "Non-differentiable (derivative",
       "scalar: floor", "control: floor, ceil, trunc, int(), round()"),
    _c("float(x), np.float64(x)", S, "Functions", "`float(x)` and `np.float64(x)` are the identity",
       "control: float(x)", "control: np.float64(x)"),
    _c("stop_gradient", S, "Functions", "`adjit.stop_gradient(x)` passes the value",
       "control: stop_gradient"),
    _c("global numeric constants", S, "Functions", "Global numeric constants",
       "scalar: global constant", "calls: global constant read by a helper"),
    _c("calls to your own functions", S, "Functions", "Your own functions may be called",
       "calls: plain helper", "calls: njit helper", "calls: adjit.differentiable helper"),
    # ----------------------------------------------------------- statements
    _c("local variables, augmented and annotated assignment, pass, docstrings", S,
       "Statements and control flow", "Local variables, reassigned any number of times",
       "scalar: param reassign", "scalar: augassign", "scalar: annotated assign",
       "scalar: pass", "control: annotated assignment", "control: pass", "control: docstring"),
    _c("annotations", S, "Statements and control flow", "Annotations anywhere, never read",
       "scalar: annotations", "array: annotations"),
    _c("input checks: raise and assert", S, "Statements and control flow",
       "Input checks, kept in both derivatives", "scalar: raise guard",
       "scalar: assert guard", "array: raise guard", "array: assert guard"),
    _c("tuple unpacking and swaps", S, "Statements and control flow", "Tuple unpacking and swaps",
       "scalar: tuple swap", "scalar: tuple assign", "control: tuple unpacking",
       "control: tuple swap"),
    _c("n, d = x.shape", S, "Statements and control flow", "Tuple unpacking and swaps",
       "views: shape unpacking n, d = x.shape"),
    _c("tuples as values, loops over tuples", S, "Statements and control flow",
       "Tuples as values", "control: tuple value", "control: tuple indexed by a constant",
       "control: loop over a tuple of arrays", "control: enumerate a tuple",
       "control: tuple passed to a helper", "control: wrt a tuple argument",
       "control: tuple argument unpacked", "control: tuple argument indexed",
       "control: nested tuple argument unpacked",
       "control: tuple of tuples of arrays argument"),
    _c("loops over arrays (elements, rows, enumerate, zip, np.ndindex, flat)", S,
       "Statements and control flow", "Loops over arrays",
       *[f"control: for over an array: {form}" for form in (
           "enumerate", "zip", "elements", "rows", "ndindex", "ndindex tuple", "flat")]),
    _c("if / elif / else, nested", S, "Statements and control flow", "`if` / `elif` / `else`",
       "scalar: elif", "scalar: nested if", "control: if / elif / else"),
    _c("range(stop), range(start, stop), range(start, stop, step), negative steps", S,
       "Statements and control flow", "`for i in range(stop)`", "scalar: range(stop)",
       "scalar: range(start, stop)", "scalar: range(start, stop, step)",
       "scalar: negative step", "scalar: run-time step sign"),
    _c("while with a data-dependent condition", S, "Statements and control flow",
       "`while` loops with data-dependent conditions", "scalar: while",
       "control: while loop over an array"),
    _c("break and continue in for and while", S, "Statements and control flow",
       "`break` and `continue`", "scalar: break", "scalar: continue", "scalar: break in while",
       "scalar: continue in while", "control: break in an array loop",
       "control: continue in an array loop"),
    _c("return anywhere", S, "Statements and control flow", "`return` anywhere",
       "scalar: early return", "scalar: return in loop", "control: return in an array loop"),
    _c("calls on their own line, of helpers filling arrays", S, "Statements and control flow",
       "Calls of your own functions on their own line",
       "calls: helper filling its output argument",
       "calls: helper filling two output arguments, returning early"),
    _c("nested loops", S, "Statements and control flow", "Nested loops.", "scalar: nested for",
       "scalar: triple nested loop", "views: nested loops"),
    _c("prange loops", S, "Statements and control flow", "Parallel loops:",
       "prange: prange(n)", "prange: numba.prange(n)", "prange: prange(a, b)"),
    _c("integer counters", S, "Statements and control flow", "Integer counters and accumulators",
       "scalar: int counter", "control: integer counter"),
    # ------------------------------------------------- elements, views, writes
    _c("element reads x[i], q[i, k], x[-1], x[i - 1], x[index[k]]", S,
       "Elements, views and writes", "`x[i]`, `q[i, k]`, `x[-1]`, `x[i - 1]`, `x[index[k]]`",
       "views: element read x[i]", "views: element read q[i, k]", "views: element read x[-1]",
       "views: element read x[i - 1]", "views: integer index array x[index[k]]",
       "views: element read T[a, b, c]"),
    _c("views q[i], q[:, j], x[1:-1], x[::2], x[::-1], q[:, None, :], np.newaxis", S,
       "Elements, views and writes",
       "`q[i]`, `q[:, j]`, `x[1:-1]`, `x[::2]`, `x[::-1]`, `q[:, None, :]`, `np.newaxis`",
       "views: view q[i]", "views: view q[:, j]", "views: view x[1:-1]", "views: view x[::2]",
       "views: view x[::-1]", "views: view q[:, None, :]", "views: np.newaxis",
       "views: view T[i] of a 3-D array"),
    _c("named views", S, "Elements, views and writes",
       "`row = q[i]`, `w = x[1:]`, then `v = w`, `u = v[1:]`, `t = q.T; r = t[1]`",
       "views: named view row = q[i]", "views: named column view",
       "views: element read of a named view"),
    _c("aliases b = a (of arrays and of views)", S, "Elements, views and writes",
       "`row = q[i]`, `w = x[1:]`, then `v = w`, `u = v[1:]`, `t = q.T; r = t[1]`", "views: array alias b = a", "views: alias of a view"),
    _c("array names bound to several arrays", S, "Elements, views and writes",
       "`u = v`, `u, v = v, u`, `a, b, c = b, c, a`, `x = x * 2`, `u = u.copy()`, "
       "`a = np.zeros(n)` then `a = np.ones(n)`",
       "views: array name rebound to a new array", "views: swap of two arrays u, v = v, u"),
    _c("buffers swapped or rotated round a loop, swaps under an if", S,
       "Elements, views and writes",
       "`for t ...: ...; u, u_new = u_new, u`, `if c: u, v = v, u`",
       "views: loop-carried swap of two buffers",
       "views: rotation of three arrays a, b, c = b, c, a",
       "views: conditional swap if c: u, v = v, u",
       "views: array made afresh in each iteration u = u_new"),
    _c("views named in a loop r = q[i]", S, "Elements, views and writes",
       "`r = q[i]` in a loop", "views: named view in a loop r = q[i]"),
    _c("helpers returning views of their arguments", S, "Elements, views and writes",
       "`def tail(p): return p[2:]`, `def row(p, i): return p[i]`",
       "calls: helper returning a view"),
    _c("element writes =, +=, -=, *=, /= (1-D, 2-D, 3-D)", S, "Elements, views and writes",
       "`a[i] = v`, `a[i, j] = v`, `a[i] += v`, `a[i] -= v`, `a[i] *= v`, ...",
       "views: element write a[i] = v", "views: element write a[i, j] = v",
       "views: element write a[i] += v", "views: element write a[i] -= v",
       "views: element write a[i] *= v", "views: element write a[i] /= v",
       "views: element write a[i, j] += v", "views: element write a[i, j, k] = v"),
    _c("element writes into arguments", S, "Elements, views and writes",
       "`a[i] = v`, `a[i, j] = v`, `a[i] += v`, `a[i] -= v`, `a[i] *= v`, ...",
       "views: element write into an argument", "calls: element write into an argument"),
    _c("element writes into copies and computed arrays", S, "Elements, views and writes",
       "`a[i] = v`, `a[i, j] = v`, `a[i] += v`, `a[i] -= v`, `a[i] *= v`, ...",
       "views: element write into a copy", "views: element write into a computed array",
       "control: element write in a branch"),
    _c("slice writes", S, "Elements, views and writes", "`a[1:4] = v`, `a[2:] = c`",
       "views: slice write a[1:4] = v", "views: slice write a[2:] = c"),
    _c("writes through views", S, "Elements, views and writes",
       "`row = B[i]; row[j] += v`, `v = y[1:]; v[-1] = e`, `u = v; u[0] = e`, "
       "`t = B[1][2:]; t[0] = e`, `row *= s`, `v[1:3] += e`",
       "views: write through a named row", "views: write through a named column",
       "views: write through a slice view", "views: write through an alias of a view",
       "views: write through a view of a view", "views: in-place operator on a view",
       "views: write through a reversed or strided view"),
    _c("a view given to a helper that fills it", S, "Elements, views and writes",
       "`fill(q[i], out[i])`, `fill(x[1:], y[:-1])`", "views: helper fills a view"),
    _c("x.shape, x.shape[k], len(x), x.T", S, "Elements, views and writes",
       "`x.shape`, `x.shape[k]`, `len(x)`, `x.T`", "views: x.shape[k]", "views: len(x)",
       "views: shape x.shape", "views: x.T"),
    _c("x.size, x.ndim, len(x.shape)", S, "Elements, views and writes",
       "`x.size`, `x.ndim`, `len(x.shape)`", "control: x.size", "control: x.ndim"),
    # ------------------------------------------------------- creating arrays
    _c("np.zeros, ones, empty, full, zeros_like, ones_like, empty_like", S, "Creating arrays",
       "`np.zeros`, `np.ones`, `np.empty`, `np.full`", "views: np.zeros", "views: np.ones",
       "views: np.empty", "views: np.full", "views: np.zeros_like", "views: np.ones_like",
       "views: np.empty_like"),
    _c("creation shapes: an int, a tuple, x.shape", S, "Creating arrays",
       "shape an int, a tuple, `x.shape`", "views: shape as an int",
       "views: shape as a tuple", "views: shape x.shape"),
    _c("creation dtypes, positional and dtype=", S, "Creating arrays", "`dtype` positional or as",
       "views: dtype positional", "views: dtype=", "views: dtype np.float64",
       "views: dtype np.float32", "views: dtype np.int64", "views: dtype np.int32",
       "views: dtype np.bool_", "views: dtype float", "views: dtype int", "views: dtype bool"),
    _c("np.arange, np.linspace, np.eye", S, "Creating arrays", "`np.arange`, `np.linspace`",
       "views: np.arange", "views: np.linspace", "views: np.eye"),
    _c("np.copy(a), a.copy()", S, "Creating arrays", "`np.copy(a)` and `a.copy()`",
       "views: np.copy(a)", "views: a.copy()", "views: copy of a slice"),
    # ------------------------------------------------- whole-array operations
    _c("array operators with broadcasting, @", S, "Whole-array operations", "operators",
       "wholearray: operator +", "wholearray: operator -", "wholearray: operator *",
       "wholearray: operator /", "wholearray: operator **", "wholearray: unary -",
       "wholearray: broadcast of a scalar", "wholearray: broadcast of a row",
       "wholearray: broadcast through [:, None]", "wholearray: broadcast (n, 1) with (n, m)",
       "wholearray: ** with an array exponent"),
    _c("np.abs, np.maximum, np.minimum, np.clip, np.where, comparisons", S,
       "Whole-array operations", "elementwise", "wholearray: np.abs", "wholearray: np.maximum",
       "wholearray: np.minimum", "wholearray: np.clip", "wholearray: np.where",
       "wholearray: comparison in np.where"),
    _c("np.sum, np.mean, np.max, np.min, np.prod: whole", S, "Whole-array operations",
       "reductions", "wholearray: np.sum", "wholearray: np.mean", "wholearray: np.max",
       "wholearray: np.min", "wholearray: np.prod"),
    _c("reductions along an axis (keyword, positional, negative), of any rank", S,
       "Whole-array operations", "reductions", "wholearray: np.sum along an axis",
       "wholearray: np.mean along an axis", "wholearray: np.max along an axis",
       "wholearray: np.min along an axis", "wholearray: np.prod along an axis",
       "wholearray: axis=k", "wholearray: axis as the second argument",
       "wholearray: negative axis", "wholearray: 3-D array"),
    _c("keepdims=True", S, "Whole-array operations", "reductions", "wholearray: keepdims=True"),
    _c("np.max/np.min subgradients, np.prod exact", S, "Whole-array operations",
       "their derivatives", "wholearray: np.max along an axis", "wholearray: np.prod"),
    _c("np.add, np.subtract, np.multiply, np.divide, np.negative as the operators", S,
       "Whole-array operations", "elementwise",
       "wholearray: np.add, np.subtract, np.multiply, np.divide, np.negative"),
    _c("np.cumsum, np.cumprod, np.diff (whole, along an axis)", S, "Whole-array operations",
       "running sums and differences", "wholearray: np.cumsum",
       "wholearray: np.cumsum along an axis", "wholearray: np.cumprod", "wholearray: np.diff",
       "wholearray: np.diff along an axis"),
    _c("np.concatenate, np.stack, np.hstack, np.vstack", S, "Whole-array operations",
       "joining arrays", "wholearray: np.concatenate", "wholearray: np.stack",
       "wholearray: np.hstack", "wholearray: np.vstack"),
    _c("np.array of values, list literals, np.asarray, np.atleast_1d/2d, np.meshgrid", S,
       "Creating arrays", "Arrays of values are differentiated in each value",
       "wholearray: np.array of numbers", "wholearray: list literal of numbers",
       "wholearray: np.asarray, np.array of an array", "wholearray: np.atleast_1d",
       "wholearray: np.atleast_2d", "wholearray: np.meshgrid"),
    _c("np.dot and @ of 1-D and 2-D operands, np.outer", S, "Whole-array operations",
       "products", "wholearray: np.dot 1-D 1-D", "wholearray: np.dot 2-D 1-D",
       "wholearray: np.dot 1-D 2-D", "wholearray: np.dot 2-D 2-D", "wholearray: @ 1-D 1-D",
       "wholearray: @ 2-D 1-D", "wholearray: @ 1-D 2-D", "wholearray: @ 2-D 2-D",
       "wholearray: np.outer"),
    _c("np.transpose, x.T, np.reshape, np.ravel, np.expand_dims, np.size", S,
       "Whole-array operations", "shapes", "wholearray: np.transpose", "wholearray: x.T",
       "wholearray: np.reshape", "wholearray: np.reshape(x, A.shape)", "wholearray: np.ravel",
       "wholearray: np.expand_dims", "wholearray: np.size"),
    _c("np.linalg.norm, solve, inv, det", S, "Whole-array operations", "linear algebra",
       "wholearray: np.linalg.norm (vector)", "wholearray: np.linalg.norm (Frobenius)",
       "wholearray: np.linalg.solve", "wholearray: np.linalg.inv", "wholearray: np.linalg.det"),
    _c("methods sum, mean, max, min, prod, dot, copy, transpose, reshape, ravel", S,
       "Whole-array operations", "methods", "wholearray: x.sum()", "wholearray: x.mean()",
       "wholearray: x.max()", "wholearray: x.min()", "wholearray: x.prod()",
       "wholearray: x.dot(y)", "views: a.copy()", "wholearray: x.transpose()",
       "wholearray: x.reshape(shape)", "wholearray: x.ravel()"),
    _c("an array result (jit.vjp with an array cotangent)", S, "Types",
       "(`jit.vjp` and `jit.jvp` also take a function returning an array)",
       "views: array result (vjp)", "wholearray: array result (vjp)"),
    _c("whole-array code differentiated twice", S, "Whole-array operations",
       "Whole-array code can be differentiated twice", "wholearray: second order hvp",
       "wholearray: second order jvp_grad", "wholearray: second order vjp_grad",
       "wholearray: second order grad_jvp"),
    _c("reductions to a scalar inside loops", S, "Whole-array operations",
       "inside a loop, reductions to a scalar", "control: whole-array reduction in a loop"),
    # ------------------------------------------- whole-array statements in loops
    _c("slice writes of elementwise expressions in a loop", S,
       "Whole-array statements in loops",
       "`u_new[1:-1] = u[1:-1] + c * (u[2:] - 2.0 * u[1:-1] + u[:-2])`, "
       "`B[i, :] = A[i, :] * s + np.sin(x)` in a loop", "stencil: slice statement in a loop"),
    _c("a slice write reading the written array at other elements", S,
       "Whole-array statements in loops", "`u[1:] = u[:-1] * s` in a loop",
       "stencil: slice write reading the written array shifted"),
    _c("a fresh elementwise result in a loop", S, "Whole-array statements in loops",
       "`y = np.sin(x) * s` in a loop", "stencil: fresh array result in a loop"),
    _c("in-place operators on arrays and slices", S, "Whole-array statements in loops",
       "`x /= s`, `x += y`, `w -= lr * (w - t) * w`, `x[a:b] *= c`, `Y -= m` (`m` a row)",
       "stencil: in-place operator on an array", "stencil: in-place operator on a slice"),
    _c("sums and dots of a written array in a loop", S, "Whole-array statements in loops",
       "`total += np.sum(u * u)`, `np.dot(u, w)` in a loop that writes `u`",
       "stencil: reduction of a written array in a loop"),
    _c("matrix products with array results in a loop", S, "Whole-array statements in loops",
       "`w -= lr * (X.T @ (X @ w - y)) / n`, `C = A @ B`, `np.dot(A, v)`, `v @ A` in a loop",
       "control: matrix product Q @ v in a loop", "control: Q.T @ r in a loop",
       "control: matrix product of matrices in a loop"),
    _c("outer products and sums along an axis in a loop", S,
       "Whole-array statements in loops",
       "`P = np.outer(a, b)`, `r = np.sum(P, axis=0)`, `np.sum(A, 1)` in a loop",
       "control: outer product in a loop", "control: sum along an axis in a loop"),
    # --------------------------------------------------------------- calls
    _c("plain helpers, same module and imported", C, "Calls between functions",
       "plain Python functions", "calls: plain helper",
       "calls: helper from another module (import M as m)", "calls: from-import of a helper",
       "calls: nested call", "calls: numeric default argument", "calls: call in a loop",
       "calls: helper over arrays", "calls: helper returning an array",
       "calls: helper returning a view", "calls: helper writing into its array argument"),
    _c("helpers filling their arguments, returning nothing or a value", C, "Output arguments",
       "Helpers that fill their arguments", "calls: helper filling its output argument",
       "calls: helper filling two output arguments, returning early",
       "calls: call filling an argument in a loop",
       "calls: helper writing into its array argument"),
    _c("adjit.differentiable helpers", C, "Calls between functions",
       "`adjit.differentiable` functions", "calls: adjit.differentiable helper"),
    _c("@njit helpers", C, "Calls between functions", "Numba `@njit` functions",
       "calls: njit helper"),
    _c("a callee returning a tuple, unpacked, indexed by constants or named again", C, "Calls between functions",
       "A callee may return a tuple", "calls: tuple result indexed by constants",
       "calls: tuple result unpacked", "calls: tuple result named again"),
    _c("closures capturing numbers and functions", C, "Globals and closures",
       "Captured functions are inlined", "calls: closure capturing a number",
       "calls: closure capturing a function"),
    _c("custom rules: defvjp/defjvp, on njit functions, on arrays, nondifferentiable", C,
       "Custom rules", "`adjit.defvjp(fn, rule)` and `adjit.defjvp(fn, rule)`",
       "calls: custom rule (defvjp/defjvp decorators)",
       "calls: custom rule on an njit function (adjit.defvjp/defjvp)",
       "calls: custom rule on arrays", "calls: adjit.nondifferentiable"),
    _c("unused inputs get zero gradients of their shape", C, "Unused inputs",
       "gets a zero gradient of", "calls: unused input"),
    _c("adjit.gradcheck", C, "gradcheck", "builds the Jacobian", "calls: adjit.gradcheck"),
    # ------------------------------------------------------------- parallel
    _c("own scalars and sum reductions in a prange", P, "What a parallel loop may do",
       "compute values of its own", "prange: own scalar in a prange body",
       "prange: sum reduction += in a prange", "prange: sum reduction -= in a prange"),
    _c("reads of any array the prange does not write", P, "What a parallel loop may do",
       "read any array it does not write", "prange: reads of other elements in a prange"),
    _c("writes at the loop's own index, arrays created in the body, prange(-2, n)", P,
       "What a parallel loop may do", "write (and read) the elements of an array",
       "prange: write at the loop's own index", "prange: element write a[i] += v in a prange",
       "prange: element write a[i, j] += v in a prange",
       "prange: array created in a prange body", "prange: prange with a negative start"),
    _c("serial loops, ifs and tape-free whiles in a prange", P, "What a parallel loop may do",
       "contain serial `for` loops", "prange: serial loop inside a prange",
       "prange: if in a prange body", "prange: while loop in a prange body"),
    # refused in a prange (drawn as near misses: a located refusal is expected)
    _c("refused: a value carried between iterations", P, "What a parallel loop may do",
       "`s = s * x[i]`, `t = f(t)`", "prange: refused near miss: carried scalar"),
    _c("refused: a write at another index", P, "What a parallel loop may do",
       "`y[i + 1] = ...` or reading `y[j]` of an array the loop writes",
       "prange: refused near miss: write at another index"),
    _c("refused: a scalar read after the loop", P, "What a parallel loop may do",
       "a scalar assigned in the loop and read after it (not a sum)",
       "prange: refused near miss: scalar read after the loop"),
    _c("refused: a prange in a prange", P, "What a parallel loop may do",
       "a `prange` inside a `prange`", "prange: refused near miss: nested prange"),
    _c("refused: a prange with a step", P, "What a parallel loop may do",
       "`prange(a, b, step)` with a step", "prange: refused near miss: prange with a step"),
    _c("refused: a body needing a tape", P, "What a parallel loop may do",
       "a body whose reverse sweep needs a tape (a `while` loop or a recurrence of an inner "
       "loop whose adjoint needs overwritten values)", "prange: refused near miss: body needing a tape"),
    # --------------------------------------------------------- higher order
    _c("jit.jacobian(mode='rev')", H, "Built on the two modes", "`jit.jacobian(f, wrt, mode=\"rev\")`",
       "control: jacobian mode=rev"),
    _c("jit.jacobian(mode='fwd')", H, "Built on the two modes", "`jit.jacobian(f, wrt, mode=\"fwd\")`",
       "control: jacobian mode=fwd"),
    _c("jit.hessian", H, "Built on the two modes", "`jit.hessian(f, wrt)`",
       "scalar: second order hessian", "calls: second order hessian",
       "control: second order hessian", "prange: second order hessian"),
    _c("jit.hvp", H, "Built on the two modes", "`jit.hvp(f, wrt)`", "scalar: second order hvp",
       "views: second order hvp", "wholearray: second order hvp", "control: second order hvp",
       "calls: second order hvp", "prange: second order hvp", "array: second order hvp"),
    _c("jvp of a tuple result", H, "Forward mode: `jit.jvp`", "gives a", "control: jvp of a tuple"),
    _c("jvp(grad), vjp(grad), grad(jvp), grad(grad), grad(grad(grad))", H,
       "Derivatives of derivatives", "Every operator accepts a `jit.grad` result",
       "scalar: second order jvp_grad", "scalar: second order vjp_grad",
       "scalar: second order grad_jvp", "scalar: second order grad_grad",
       "scalar: second order grad3", "calls: second order grad3",
       "views: second order jvp_grad", "views: second order vjp_grad",
       "views: second order grad_jvp"),
]


# --------------------------------------------------------------------------
# the documents


def doc_path(doc: str) -> str:
    return os.path.join(ROOT, "docs", doc)


def doc_sections(doc: str) -> dict:
    """section heading -> {"rows": [first cells], "bullets": [first lines],
    "text": the section's text}, skipping code blocks and table headers."""
    sections = collections.OrderedDict()
    current = None
    in_code = False
    lines = open(doc_path(doc)).read().splitlines()
    for k, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if line.startswith("#"):
            current = line.lstrip("#").strip()
            sections[current] = {"rows": [], "bullets": [], "text": ""}
            continue
        if current is None:
            continue
        section = sections[current]
        section["text"] += line + "\n"
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            following = lines[k + 1] if k + 1 < len(lines) else ""
            if following.startswith("|") and set(following.replace("|", "").strip()) <= set("-: "):
                continue                    # a header row
            section["rows"].append(cells[0])
        elif line.startswith("- "):
            section["bullets"].append(line[2:].strip())
    return sections


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def row_of(construct: Construct, sections: dict):
    """The row, bullet or paragraph of `construct` in its document (None
    when it is no longer there)."""
    section = sections.get(construct.section)
    if section is None:
        return None
    for row in section["rows"]:
        if row == construct.row:
            return row
    for bullet in section["bullets"]:
        if bullet.startswith(construct.row):
            return bullet
    if _normal(construct.row) in _normal(section["text"]):
        return construct.row
    return None


def unmapped_rows() -> list:
    """Table rows and bullets of the ENFORCED sections that no construct names."""
    missing = []
    for doc, heading in ENFORCED:
        sections = doc_sections(doc)
        section = sections.get(heading)
        if section is None:
            missing.append(f"{doc}: section '{heading}' not found")
            continue
        named = [c for c in CONSTRUCTS if c.doc == doc and c.section == heading]
        for row in section["rows"]:
            if not any(c.row == row for c in named):
                missing.append(f"{doc} # {heading}: table row '{row}'")
        for bullet in section["bullets"]:
            if not any(bullet.startswith(c.row) for c in named):
                missing.append(f"{doc} # {heading}: bullet '{bullet}'")
    return missing


def stale_constructs() -> list:
    """Constructs whose row is no longer in their document."""
    stale = []
    cache = {}
    for construct in CONSTRUCTS:
        sections = cache.setdefault(construct.doc, doc_sections(construct.doc))
        if row_of(construct, sections) is None:
            stale.append(f"{construct.name}: '{construct.row}' not in {construct.doc} "
                         f"# {construct.section}")
    return stale


# --------------------------------------------------------------------------
# the sample


def sample_tags(count: int = SAMPLE) -> dict:
    """family -> Counter of tags over programs 0..count-1 (drawn, not checked)."""
    import families
    out = {}
    for name, family in families.FAMILIES.items():
        tags = collections.Counter()
        for seed in range(count):
            tags.update(family.tags(family.draw(seed)))
        out[name] = tags
    return out


def undrawn(sample: dict) -> list:
    """`family: tag` entries of CONSTRUCTS the sample never drew."""
    missing = []
    for construct in CONSTRUCTS:
        for draw in construct.draws:
            family, tag = draw.split(": ", 1)
            if sample.get(family, {}).get(tag, 0) == 0:
                missing.append(f"{construct.name}: {draw}")
    return missing


def table() -> str:
    """The markdown table of docs/fuzzing.md: construct, where documented,
    family: tag."""
    lines = ["| construct | documented in | drawn by (family: tag) |", "| --- | --- | --- |"]
    for construct in CONSTRUCTS:
        anchor = construct.section.lower()
        anchor = re.sub(r"[^a-z0-9 -]", "", anchor).replace(" ", "-")
        where = f"[{construct.doc[:-3]}: {construct.section}]({construct.doc}#{anchor})"
        draws = "; ".join(f"{d.split(': ', 1)[0]}: `{d.split(': ', 1)[1]}`"
                          for d in construct.draws)
        name = construct.name.replace("|", "\\|")
        lines.append(f"| {name} | {where} | {draws.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


BEGIN = "<!-- coverage table: generated by `python tests/fuzz/report.py --coverage --write` -->"
END = "<!-- end of coverage table -->"


def write_table(path: str | None = None) -> None:
    path = path or os.path.join(ROOT, "docs", "fuzzing.md")
    text = open(path).read()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    with open(path, "w") as handle:
        handle.write(text[:start] + "\n" + table() + text[end:])


def table_in_docs(path: str | None = None) -> str:
    path = path or os.path.join(ROOT, "docs", "fuzzing.md")
    text = open(path).read()
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].lstrip("\n")


def report(sample: dict | None = None) -> str:
    """The table with how often the fixed-seed sample drew each tag."""
    sample = sample if sample is not None else sample_tags()
    lines = [f"{'construct':<70} {'family: tag':<70} drawn/{SAMPLE}"]
    for construct in CONSTRUCTS:
        for k, draw in enumerate(construct.draws):
            family, tag = draw.split(": ", 1)
            lines.append(f"{(construct.name if k == 0 else '')[:70]:<70} {draw[:70]:<70} "
                         f"{sample.get(family, {}).get(tag, 0)}")
    return "\n".join(lines)
