"""Checks one generated program at one input point (shared by test_fuzz.py
and report.py).

* The program is written to a .py file and imported (adjit reads source with
  `inspect`); every module gets a unique name and stays in `sys.modules`.
* An instrumented copy of the program (`instrumented_source`) records every
  decision it takes: each comparison's outcome, the side of each `abs`,
  `fabs`, `min`, `max`, `copysign`, the integer part of `%` and `//`, the
  value of `int`, `round`, `floor`, ... Its values are bit-identical to the
  program's.
* Reference gradient: fourth-order central finite differences of the
  instrumented copy, per differentiated input, at relative steps 1e-3, 1e-4,
  1e-5. A step whose stencil points do not all follow the input's trace
  crossed a branch switch or a non-smooth point and is not used. The first
  two consecutive usable steps are compared with each other: when they
  disagree the point is `unstable`; when no two consecutive steps are usable
  the point is `nonsmooth`. Both are skipped and counted, never failures.
* Mode against mode needs no smoothness (both modes follow the branch the
  primal took) and is checked at every point: the reverse gradient dotted
  with a direction must equal the forward tangent; the values of `jvp` and
  `value_and_grad` must equal the primal; the gradients of `grad` and
  `value_and_grad` must agree; the cpu target must agree with the python one.

`check()` returns an `Outcome` whose `status` is one of

    ok, mismatch, crash, nonsmooth, unstable, invalid

`invalid`: the program itself raised or left its bounds (a generator problem,
never an adjit one; counted separately). `crash`: adjit raised on a program
in its documented subset. Mismatches found by mode-vs-mode comparison are
reported whatever the smoothness.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib.util
import itertools
import math
import os
import sys
import tempfile
import traceback

RTOL = 1e-6          # adjit against finite differences: RTOL * |fd| + ATOL * max(1, |f|)
ATOL = 1e-7
MODE_RTOL = 1e-8     # mode against mode, value against primal, cpu against python
VALUE_LIMIT = 1e6    # |f| beyond this: the generator let a value grow -> invalid
STEPS = (1e-3, 1e-4, 1e-5)
WRT = (0, 1)

_DIR = None
_COUNTER = itertools.count()


def _workdir() -> str:
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="adjit-fuzz-")
    return _DIR


def load(source: str, function: str = "f"):
    """Write `source` to a fresh .py file, import it, return the function."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:10]
    name = f"adjit_fuzz_{os.getpid()}_{next(_COUNTER)}_{digest}"
    path = os.path.join(_workdir(), name + ".py")
    with open(path, "w") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return getattr(module, function)


# --------------------------------------------------------------------------
# the instrumented copy


class _Instrument(ast.NodeTransformer):
    def __init__(self):
        self.ids = itertools.count()

    def _call(self, helper, args):
        return ast.Call(ast.Name(helper, ast.Load()),
                        [ast.Constant(next(self.ids))] + list(args), [])

    def visit_Compare(self, node):
        self.generic_visit(node)
        return self._call("_cmp", [node])

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Mod):
            return self._call("_mod", [node.left, node.right])
        if isinstance(node.op, ast.FloorDiv):
            return self._call("_floordiv", [node.left, node.right])
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else None)
        if name in ("abs", "fabs", "absolute") and len(node.args) == 1:
            return self._call("_abs", [node.args[0], node.func])
        if name in ("min", "max", "minimum", "maximum") and len(node.args) == 2:
            return self._call("_minmax", [node.args[0], node.args[1], node.func])
        if name == "copysign":
            return self._call("_copysign", [node.args[0], node.args[1]])
        if name in ("int", "round", "floor", "ceil", "trunc"):
            return self._call("_value", [node])
        return node


def instrumented_source(source: str) -> str:
    tree = _Instrument().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def make_traced(source: str, function: str = "f"):
    """The instrumented program: `traced(*args) -> (value, trace)`."""
    trace: list = []
    record = trace.append

    def _cmp(i, outcome):
        record((i, bool(outcome)))
        return outcome

    def _mod(i, a, b):
        record((i, math.floor(a / b)))
        return a % b

    def _floordiv(i, a, b):
        record((i, math.floor(a / b)))
        return a // b

    def _abs(i, a, fn):
        record((i, int(a > 0) - int(a < 0)))
        return fn(a)

    def _minmax(i, a, b, fn):
        record((i, int(a > b) - int(a < b)))
        return fn(a, b)

    def _copysign(i, a, b):
        record((i, math.copysign(1.0, b)))
        return math.copysign(a, b)

    def _value(i, value):
        record((i, value))
        return value

    namespace = {"_cmp": _cmp, "_mod": _mod, "_floordiv": _floordiv, "_abs": _abs,
                 "_minmax": _minmax, "_copysign": _copysign, "_value": _value,
                 "__name__": "adjit_fuzz_traced"}
    exec(compile(instrumented_source(source), "<instrumented>", "exec"), namespace)
    fn = namespace[function]

    def traced(*args):
        trace.clear()
        value = fn(*args)
        return value, tuple(trace)
    return traced


# --------------------------------------------------------------------------
# finite differences


def fd_gradient(traced, args, base_trace):
    """Per differentiated input: (status, fd value, detail).

    status "ok" (fd value usable), "nonsmooth", "unstable"."""
    results = []
    for index in WRT:
        estimates = []            # (step, estimate) for steps whose stencil keeps the trace
        for step in STEPS:
            h = step * max(1.0, abs(args[index]))
            values = []
            clean = True
            for k in (2, 1, -1, -2):
                moved = list(args)
                moved[index] = args[index] + k * h
                value, trace = traced(*moved)
                if trace != base_trace:
                    clean = False
                    break
                values.append(value)
            if clean:
                fm2, fm1, fp1, fp2 = values[3], values[2], values[1], values[0]
                estimates.append((step, (-fp2 + 8 * fp1 - 8 * fm1 + fm2) / (12 * h)))
            else:
                estimates.append((step, None))
        pair = None
        for (s1, e1), (s2, e2) in zip(estimates, estimates[1:]):
            if e1 is not None and e2 is not None:
                pair = (e1, e2)
                break
        if pair is None:
            results.append(("nonsmooth", None, estimates))
            continue
        e1, e2 = pair
        results.append(("ok", e2, (e1, e2)))
    return results


def close(a, b, rtol, atol) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + atol


# --------------------------------------------------------------------------
# the check


@dataclasses.dataclass
class Outcome:
    status: str
    messages: list
    source: str
    args: tuple
    direction: tuple

    def report(self) -> str:
        lines = [f"status: {self.status}",
                 f"inputs: f{self.args}   direction for jvp: {self.direction}"]
        lines += ["  " + m for m in self.messages]
        lines += ["program:", self.source]
        return "\n".join(lines)


def derivatives(fn, target, cache=None):
    """(grad, jvp, value_and_grad) of fn w.r.t. x and y, kept in `cache`."""
    from adjit import jit
    cache = {} if cache is None else cache
    if target not in cache:
        cache[target] = (jit.grad(fn, wrt=WRT, target=target),
                         jit.jvp(fn, wrt=WRT, target=target),
                         jit.value_and_grad(fn, wrt=WRT, target=target))
    return cache[target]


def _adjit_results(fn, args, direction, target, cache):
    grad, jvp, value_and_grad = derivatives(fn, target, cache)
    g = tuple(float(v) for v in grad(*args))
    value, tangent = jvp(*args, direction)
    vg_value, vg_grad = value_and_grad(*args)
    return g, (float(value), float(tangent)), (float(vg_value), tuple(float(v) for v in vg_grad))


def check(source: str, args, direction, targets=("python",), function: str = "f",
          fn=None, cache=None) -> Outcome:
    """Compare adjit with finite differences and mode with mode for
    `function` of `source` at `args` (x, y, n), in direction `direction`
    (x, y) for jvp. To check several points of one program, pass the
    function `fn` (from `load`) and one `cache` dict for all the calls: the
    derivatives are then built once."""
    args = tuple(args)
    messages: list = []

    def outcome(status):
        return Outcome(status, messages, source, args, tuple(direction))

    # the program itself
    try:
        if fn is None:
            fn = load(source, function)
        traced = make_traced(source, function)
        value = fn(*args)
        traced_value, base_trace = traced(*args)
    except Exception as error:  # the generator's fault
        messages.append(f"primal raised {type(error).__name__}: {error}")
        return outcome("invalid")
    if not isinstance(value, float) or not math.isfinite(value) or abs(value) > VALUE_LIMIT:
        messages.append(f"primal value {value!r} not a bounded float")
        return outcome("invalid")
    if traced_value != value:
        messages.append(f"instrumented copy gives {traced_value!r}, program {value!r}")
        return outcome("invalid")
    try:
        fd = fd_gradient(traced, args, base_trace)
    except Exception as error:
        messages.append(f"primal raised {type(error).__name__} near the point: {error}")
        return outcome("invalid")
    scale = max(1.0, abs(value))

    # adjit, python target first
    results = {}
    for target in targets:
        try:
            results[target] = _adjit_results(fn, args, direction, target, cache)
        except Exception as error:
            messages.append(f"[{target}] adjit raised {type(error).__name__}: {error}")
            messages.append("".join(traceback.format_exception(error)[-3:]).rstrip())
            return outcome("crash")

    mismatch = False
    for target, (g, (jvp_value, tangent), (vg_value, vg_grad)) in results.items():
        tag = f"[{target}]"
        if not close(jvp_value, value, MODE_RTOL, 1e-12 * scale):
            mismatch = True
            messages.append(f"{tag} jvp value {jvp_value!r} != primal {value!r}")
        if not close(vg_value, value, MODE_RTOL, 1e-12 * scale):
            mismatch = True
            messages.append(f"{tag} value_and_grad value {vg_value!r} != primal {value!r}")
        for k in range(len(WRT)):
            if not close(vg_grad[k], g[k], MODE_RTOL, 1e-12 * scale):
                mismatch = True
                messages.append(f"{tag} d/d{'xy'[k]}: value_and_grad {vg_grad[k]!r} != grad {g[k]!r}")
        dot = sum(gk * vk for gk, vk in zip(g, direction))
        size = sum(abs(gk * vk) for gk, vk in zip(g, direction))
        if not (math.isfinite(dot) and math.isfinite(tangent)) or \
                abs(dot - tangent) > MODE_RTOL * max(size, abs(tangent)) + 1e-12 * scale:
            mismatch = True
            messages.append(f"{tag} jvp tangent {tangent!r} != grad . direction {dot!r} "
                            f"(grad {g})")
        if target != "python" and "python" in results:
            gp = results["python"][0]
            tp = results["python"][1][1]
            for k in range(len(WRT)):
                if not close(g[k], gp[k], MODE_RTOL, 1e-12 * scale):
                    mismatch = True
                    messages.append(f"{tag} d/d{'xy'[k]} {g[k]!r} != python target {gp[k]!r}")
            if not close(tangent, tp, MODE_RTOL, 1e-12 * scale):
                mismatch = True
                messages.append(f"{tag} tangent {tangent!r} != python target {tp!r}")

    # against finite differences, where they can be trusted
    skipped = None
    for k, (status, estimate, detail) in enumerate(fd):
        name = "xy"[k]
        if status == "nonsmooth":
            skipped = skipped or "nonsmooth"
            continue
        e1, e2 = detail
        tolerance = RTOL * max(abs(e1), abs(e2)) + ATOL * scale
        if abs(e1 - e2) > tolerance:
            skipped = skipped or "unstable"
            continue
        for target, (g, _, _) in results.items():
            if not (math.isfinite(g[k]) and abs(g[k] - e2) <= RTOL * abs(e2) + ATOL * scale):
                mismatch = True
                messages.append(f"[{target}] d/d{name}: adjit {g[k]!r}, finite differences "
                                f"{e2!r} (and {e1!r} at a 10x larger step)")
    if mismatch:
        return outcome("mismatch")
    if skipped:
        messages.append(f"finite differences not usable: {skipped}")
        return outcome(skipped)
    return outcome("ok")
