"""Checks one generated program of an array, call, control or parallel family
(a `Case`) at one or more input points. The scalar family keeps its own,
trace-aware checks (fuzz_harness.py); families.py puts both behind one
interface.

A `Case` is a module source defining `f` (and the helpers it calls), the
positions `wrt` to differentiate, a function drawing the inputs, the tags of
the constructs drawn, and optionally a second-order mode. `check_case`
runs, on each target asked for:

* the primal: `f` run by plain Python on copies of the inputs (a program
  whose primal raises or leaves its range is `invalid`: a generator
  problem, never an adjit one);
* first order, by the output of `f`:
  - a float: `jit.grad`, `jit.value_and_grad`, `jit.jvp`;
  - an array: `jit.vjp` with a random cotangent, `jit.jvp`;
  - a tuple of floats: `jit.jacobian` (mode "rev" and "fwd"), `jit.jvp`;
  and compares the reverse gradient along a random direction with central
  finite differences of the primal (fourth order, at two step sizes that
  must agree with each other, else the point is `unstable`), the forward
  tangent with the reverse gradient, the derivatives' values with the
  primal, `grad` with `value_and_grad`, every gradient's shape and dtype
  with its argument's, and the cpu target with the python one; a derivative
  must leave its arguments unchanged;
* second order (`case.second`): `hvp`, `hessian`, `jvp(grad)`,
  `vjp(grad)`, `grad(jvp)`, `grad(grad)` or `grad(grad(grad))`, against
  central finite differences of the python target's derivative one order
  below (itself checked first).

Outcomes (`Outcome.status`):

    ok             checked, everything agrees
    mismatch       a disagreement (a wrong derivative)
    crash          adjit raised something other than a located refusal
    wrong-refusal  a located refusal of a construct documented as supported
    refused        a located refusal of a combination the docs list as
                   refused (`case.refusable`): counted, not a failure
    timeout        the check ran past its time limit
    unstable       finite differences not usable at any point tried
                   (a kink, a branch switch): skipped, counted
    invalid        the program itself failed (the generator's fault)

A second-order refusal the docs list leaves a checked first order: the
outcome is `ok` with `second_status` "refused".
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import itertools
import os
import signal
import sys
import tempfile
import traceback
import warnings

import numpy as np

FAILED = ("mismatch", "crash", "wrong-refusal", "timeout")
SKIPPED = ("unstable", "nonsmooth")
STATUSES = ("ok", "refused", "unstable", "nonsmooth", "invalid", "mismatch", "crash",
            "wrong-refusal", "timeout")

MODE_RTOL = 1e-8          # mode against mode, value against primal, cpu against python
FD_RTOL = 1e-6            # first order against finite differences
SECOND_RTOL = 1e-5        # second order against finite differences of the first
FLOAT32_RTOL = 2e-4       # float32 arguments: float32 arithmetic in the derivatives
VALUE_LIMIT = 1e6
STEPS = (1e-3, 1e-4)

SECOND_MODES = ("hvp", "hessian", "jvp_grad", "vjp_grad", "grad_jvp", "grad_grad", "grad3")


class CheckTimeout(Exception):
    """The check of one program ran past its time limit."""


@dataclasses.dataclass
class Case:
    family: str
    seed: int
    source: str                       # the module; `HELPERS_MODULE` names `helpers`
    make_inputs: object               # attempt -> tuple of arguments
    wrt: tuple                        # positions differentiated (floats, float arrays)
    tags: frozenset
    helpers: str | None = None        # source of a second module the program imports
    output: str = "scalar"            # "scalar", "array", "tuple"
    second: str | None = None         # a SECOND_MODES entry, or None
    second_wrt: tuple | None = None   # positions for second order (default: wrt)
    refusable: dict = dataclasses.field(default_factory=dict)
    # mode ("first", or a SECOND_MODES entry) -> why a located refusal is
    # documented (the row of docs/limitations.md); absent: a refusal is wrong
    expect_refusal: str | None = None  # a near miss drawn on purpose (documented refused)
    compiled_primal: bool = False     # on cpu, also run adjit.differentiable(f) itself
    gradcheck: bool = False           # also run adjit.gradcheck on target="python"
    function: str = "f"

    def render(self) -> str:
        """The program as a reader would write it (helpers module inlined
        as a comment block)."""
        if not self.helpers:
            return self.source
        return (f"# --- module HELPERS_MODULE ---\n{self.helpers}\n"
                f"# --- the program ---\n{self.source}")


@dataclasses.dataclass
class Outcome:
    status: str
    messages: list
    second_status: str | None = None  # None (not asked), "ok", "refused", "skipped", or a failure
    checked: bool = False             # first order compared with finite differences
    args: tuple | None = None

    @property
    def notes(self) -> list:
        """Deviations from the docs that are not wrong numbers (counted apart)."""
        return [m[len("[note] "):] for m in self.messages if m.startswith("[note] ")]

    def report(self, case: Case | None = None) -> str:
        lines = [f"status: {self.status}" + (f" (second order {case.second}: "
                                              f"{self.second_status})" if case and case.second
                                             else "")]
        lines += ["  " + m.replace("\n", "\n  ") for m in self.messages]
        if case is not None:
            lines += [f"wrt {case.wrt}, tags: {', '.join(sorted(case.tags))}", "program:",
                      case.render()]
        return "\n".join(lines)


# --------------------------------------------------------------------------
# loading

_DIR = None
_COUNTER = itertools.count()


def workdir() -> str:
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="adjit-fuzz-cases-")
        sys.path.insert(0, _DIR)
    return _DIR


def _import(name: str, source: str):
    path = os.path.join(workdir(), name + ".py")
    with open(path, "w") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load(case: Case):
    """Write the program (and its helpers module) to fresh files, import
    them, return `f`."""
    digest = hashlib.sha1(case.source.encode()).hexdigest()[:8]
    stem = f"fz_{case.family}_{os.getpid()}_{next(_COUNTER)}_{digest}"
    source = case.source
    if case.helpers is not None:
        helpers = f"{stem}_helpers"
        _import(helpers, case.helpers)
        source = source.replace("HELPERS_MODULE", helpers)
    return getattr(_import(stem, source), case.function)


def frozen(case: Case, fn):
    """For a program calling `adjit.stop_gradient`: `(record, replay)`, two
    runs of a copy of `f` whose stop_gradient calls are `_sg(site, value)`.
    `record(*args)` runs it and keeps each call's value; `replay(*args)`
    returns, at each call, the value recorded at the same call, so that
    finite differences of `replay` see a stopped value as a constant. Without
    stop_gradient: `(fn, fn)`."""
    if "stop_gradient" not in case.source:
        return fn, fn
    import ast

    sites = itertools.count()

    class Freeze(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "stop_gradient":
                return ast.Call(ast.Name("_sg", ast.Load()),
                                [ast.Constant(next(sites)), node.args[0]], [])
            return node

    tree = Freeze().visit(ast.parse(case.source.replace("HELPERS_MODULE",
                                                        fn.__module__ + "_helpers")))
    ast.fix_missing_locations(tree)
    recorded: dict = {}
    state = {"mode": "record", "seen": {}}

    def _sg(site, value):
        value = value.copy() if isinstance(value, np.ndarray) else value
        k = state["seen"].get(site, 0)
        state["seen"][site] = k + 1
        if state["mode"] == "record":
            recorded.setdefault(site, []).append(value)
            return value
        return recorded[site][k]

    namespace = {"__name__": fn.__module__ + "_frozen", "_sg": _sg}
    exec(compile(tree, "<frozen>", "exec"), namespace)
    copy = namespace[case.function]

    def record(*args):
        recorded.clear()
        state.update(mode="record", seen={})
        return copy(*args)

    def replay(*args):
        state.update(mode="replay", seen={})
        return copy(*args)
    return record, replay


# --------------------------------------------------------------------------
# values


# Arguments, directions and gradients are tuples whose entries are floats,
# arrays, or tuples of those (a tuple argument, and its tuple of gradients).

def leaves(values) -> list:
    """The floats and arrays of a (nested) tuple, in order."""
    if isinstance(values, (tuple, list)):
        return [leaf for value in values for leaf in leaves(value)]
    return [values]


def copies(args):
    return tuple(copies(a) if isinstance(a, tuple) else
                 a.copy() if isinstance(a, np.ndarray) else a for a in args)


def as_float64(args):
    return tuple(as_float64(a) if isinstance(a, tuple) else
                 a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32
                 else a for a in args)


def is_float32(args) -> bool:
    return any(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in leaves(args))


def _moved(value, direction, t):
    if isinstance(value, tuple):
        return tuple(_moved(v, d, t) for v, d in zip(value, direction))
    return value + t * direction


def shifted(args, wrt, direction, t):
    moved = list(args)
    for k, d in zip(wrt, direction):
        moved[k] = _moved(args[k], d, t)
    return tuple(moved)


def inner(a, b) -> float:
    """Sum of the products of matching entries of two tuples of floats/arrays."""
    return float(sum(float(np.sum(np.asarray(p, dtype=np.float64) * np.asarray(q, dtype=np.float64)))
                     for p, q in zip(leaves(a), leaves(b))))


def magnitude(a) -> float:
    return float(sum(float(np.sum(np.abs(np.asarray(p, dtype=np.float64)))) for p in leaves(a)))


def _random_like(rng, value):
    if isinstance(value, tuple):
        return tuple(_random_like(rng, v) for v in value)
    return rng.normal(size=value.shape) if isinstance(value, np.ndarray) else float(rng.normal())


def random_like(rng, args, wrt):
    return tuple(_random_like(rng, args[k]) for k in wrt)


def _as_tuple(value, wrt):
    return (value,) if len(wrt) == 1 else tuple(value)


def _max_abs(values) -> float:
    return max([float(np.max(np.abs(np.asarray(v, dtype=np.float64)))) if np.size(v) else 0.0
                for v in leaves(values)] + [0.0])


def _max_diff(a, b) -> float:
    return max([float(np.max(np.abs(np.asarray(p, dtype=np.float64)
                                    - np.asarray(q, dtype=np.float64)))) if np.size(p) else 0.0
                for p, q in zip(leaves(a), leaves(b))] + [0.0])


def _finite(values) -> bool:
    return all(np.all(np.isfinite(np.asarray(v, dtype=np.float64))) for v in leaves(values))


# --------------------------------------------------------------------------
# refusals


def _located(error) -> bool:
    from adjit.errors import DifferentiationError, UnsupportedSyntaxError
    return isinstance(error, (DifferentiationError, UnsupportedSyntaxError)) and \
        getattr(error, "location", None) is not None


class _Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _classify(error, case: Case, mode: str) -> tuple[str, str]:
    """(status, message) of an exception raised by adjit in `mode`."""
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, CheckTimeout):
        return "timeout", "timed out"
    if _located(error):
        if mode in case.refusable or (case.expect_refusal and mode == "first"):
            why = case.refusable.get(mode) or case.expect_refusal
            return "refused", f"[{mode}] refused as documented ({why}): {first}"
        return "wrong-refusal", (f"[{mode}] refused, but the docs say this is supported: "
                                 f"{type(error).__name__}: {error}")
    tb = "".join(traceback.format_exception(error)[-4:]).rstrip()
    return "crash", f"[{mode}] adjit raised {type(error).__name__}: {first}\n{tb}"


# --------------------------------------------------------------------------
# finite differences


def _fd(function, args, wrt, direction, step):
    """Fourth-order central difference of `function` (tuple of floats/arrays
    or a float) along `direction` in the `wrt` arguments."""
    scale = max(1.0, max(_max_abs([args[k]]) for k in wrt))
    h = step * scale
    values = [function(shifted(args, wrt, direction, k * h)) for k in (2, 1, -1, -2)]
    if isinstance(values[0], tuple):
        return tuple((-p2 + 8 * p1 - 8 * m1 + m2) / (12 * h)
                     for p2, p1, m1, m2 in zip(*values))
    p2, p1, m1, m2 = values
    return (-p2 + 8 * p1 - 8 * m1 + m2) / (12 * h)


def directional_fd(function, args, wrt, direction):
    """(estimate, other estimate) at the two step sizes."""
    return tuple(_fd(function, args, wrt, direction, step) for step in STEPS)


# --------------------------------------------------------------------------
# the derivatives


class _Derivatives:
    """The derivatives of one program on one target, built once."""

    def __init__(self, fn, case: Case, target: str):
        self.fn, self.case, self.target = fn, case, target
        self.cache = {}
        self.mutations: list[str] = []

    def get(self, key, build):
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def call(self, name, function, args, *extra):
        """`function(*args, *extra)` on copies, noting any copy it modified."""
        given = copies(args) + tuple(copies(e) if isinstance(e, tuple) else
                                     (e.copy() if isinstance(e, np.ndarray) else e)
                                     for e in extra)
        result = function(*given)
        originals = tuple(args) + tuple(extra)
        for k, (before, after) in enumerate(zip(originals, given)):
            for p, q in zip(leaves(before), leaves(after)):
                if isinstance(p, np.ndarray) and not np.array_equal(p, q, equal_nan=True):
                    what = f"argument {k}" if k < len(args) else "its tangent/cotangent argument"
                    self.mutations.append(f"[{self.target}] {name} modified {what}: "
                                          f"{_short([p])} became {_short([q])}")
        return result

    def first(self, args, direction, cotangent):
        """(gradient tuple, (value, gradient) of value_and_grad / vjp /
        jacobian fwd, (jvp value, tangent))."""
        from adjit import jit
        case, fn, target, wrt = self.case, self.fn, self.target, self.case.wrt
        self.mutations = []
        jvp = self.get("jvp", lambda: jit.jvp(fn, wrt=wrt, target=target))
        # wrt is always a tuple here: tangents and gradients are tuples too
        jvp_value, tangent = self.call("jvp", jvp, args, tuple(direction))
        if case.output == "scalar":
            grad = self.get("grad", lambda: jit.grad(fn, wrt=wrt, target=target))
            vg = self.get("vg", lambda: jit.value_and_grad(fn, wrt=wrt, target=target))
            gradient = tuple(self.call("grad", grad, args))
            vg_value, vg_gradient = self.call("value_and_grad", vg, args)
            return gradient, (vg_value, tuple(vg_gradient)), (jvp_value, tangent)
        if case.output == "array":
            vjp = self.get("vjp", lambda: jit.vjp(fn, wrt=wrt, target=target))
            vjp_value, gradient = self.call("vjp", vjp, args, cotangent)
            return tuple(gradient), (vjp_value, tuple(gradient)), (jvp_value, tangent)
        # a tuple of floats: one Jacobian row per output, contracted with the cotangent
        rev = self.get("jac_rev", lambda: jit.jacobian(fn, wrt=wrt, mode="rev", target=target))
        fwd = self.get("jac_fwd", lambda: jit.jacobian(fn, wrt=wrt, mode="fwd", target=target))
        rows_rev = self.call("jacobian", rev, args)
        rows_fwd = self.call("jacobian", fwd, args)
        gradient = tuple(sum(c * float(tuple(row)[k]) for c, row in zip(cotangent, rows_rev))
                         for k in range(len(wrt)))
        gradient_fwd = tuple(sum(c * float(tuple(row)[k])
                                 for c, row in zip(cotangent, rows_fwd))
                             for k in range(len(wrt)))
        return gradient, (None, gradient_fwd), (jvp_value, tangent)


def _second(deriv: _Derivatives, mode, args, swrt, vector):
    """The second-order quantity of `mode`: a tuple over `swrt` (H v), or
    for grad3 the third derivative (a 1-tuple)."""
    from adjit import jit
    fn, target = deriv.fn, deriv.target
    single = len(swrt) == 1
    w = swrt[0] if single else swrt
    v = vector[0] if single else vector
    if mode == "hvp":
        h = deriv.get("hvp", lambda: jit.hvp(fn, wrt=w, target=target))
        return _as_tuple(deriv.call(mode, h, args, v), swrt)
    if mode == "jvp_grad":
        h = deriv.get("jvp_grad", lambda: jit.jvp(jit.grad(fn, wrt=w, target=target), wrt=w,
                                                  target=target))
        return _as_tuple(deriv.call(mode, h, args, v)[1], swrt)
    if mode == "vjp_grad":
        h = deriv.get("vjp_grad", lambda: jit.vjp(jit.grad(fn, wrt=w, target=target), wrt=w,
                                                  target=target))
        return _as_tuple(deriv.call(mode, h, args, v)[1], swrt)
    if mode == "grad_jvp":
        h = deriv.get("grad_jvp", lambda: jit.grad(jit.jvp(fn, wrt=w, target=target), wrt=w,
                                                   target=target))
        return _as_tuple(deriv.call(mode, h, args, *vector), swrt)
    if mode == "hessian":
        h = deriv.get("hessian", lambda: jit.hessian(fn, wrt=w, target=target))
        rows = deriv.call(mode, h, args)
        if single:
            return (float(rows) * float(v),)
        return tuple(sum(float(rows[i][j]) * float(vector[j]) for j in range(len(swrt)))
                     for i in range(len(swrt)))
    if mode == "grad_grad":
        h = deriv.get("grad_grad", lambda: jit.grad(jit.grad(fn, wrt=w, target=target), wrt=w,
                                                    target=target))
        return (float(deriv.call(mode, h, args)) * float(v),)
    if mode == "grad3":
        h = deriv.get("grad3", lambda: jit.grad(jit.grad(jit.grad(fn, wrt=w, target=target),
                                                         wrt=w, target=target),
                                                wrt=w, target=target))
        return (float(deriv.call(mode, h, args)) * float(v),)
    raise ValueError(mode)


# --------------------------------------------------------------------------
# the check


def _alarm(seconds):
    if seconds and hasattr(signal, "SIGALRM"):
        def raise_timeout(signum, frame):
            raise CheckTimeout()
        signal.signal(signal.SIGALRM, raise_timeout)
        signal.alarm(int(seconds))


def _disarm(seconds):
    if seconds and hasattr(signal, "SIGALRM"):
        signal.alarm(0)


def check_case(case: Case, targets=("python",), attempts: int = 3,
               timeout: float | None = None) -> Outcome:
    """Check `case` on `targets` (python first); retry at new input points
    while finite differences are not usable there (up to `attempts`)."""
    _alarm(timeout)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _check_case(case, targets, attempts)
    except CheckTimeout:
        return Outcome("timeout", [f"check took more than {timeout} s"])
    finally:
        _disarm(timeout)


def _check_case(case: Case, targets, attempts) -> Outcome:
    try:
        fn = load(case)
    except Exception as error:
        return Outcome("invalid", [f"import failed: {type(error).__name__}: {error}"])
    derivs = {target: _Derivatives(fn, case, target) for target in targets}
    outcome = None
    for attempt in range(attempts):
        outcome = _check_point(fn, case, case.make_inputs(attempt), derivs, attempt)
        if outcome.status not in SKIPPED and not (outcome.status == "ok" and
                                                  outcome.second_status == "skipped"
                                                  and attempt + 1 < attempts):
            break
    if case.expect_refusal and outcome.status not in ("refused", "invalid") + FAILED:
        outcome.messages.append(f"[note] not refused: {case.expect_refusal}")
    if case.gradcheck and outcome.status == "ok":
        try:
            import adjit
            adjit.gradcheck(fn, copies(outcome.args), wrt=case.wrt, target="python",
                            rtol=1e-5, atol=1e-7)
        except Exception as error:
            outcome.status = "mismatch" if type(error).__name__ == "GradcheckError" else "crash"
            outcome.messages.append(f"[gradcheck] {type(error).__name__}: {error}")
    return outcome


def _check_point(fn, case: Case, args, derivs, attempt) -> Outcome:
    messages: list = []
    float32 = is_float32(args)
    rtol = FLOAT32_RTOL if float32 else MODE_RTOL
    wrt = case.wrt

    def done(status, **kw):
        return Outcome(status, messages, args=args, **kw)

    # the primal, by plain Python
    try:
        value = fn(*copies(args))
        reference = fn(*copies(as_float64(args))) if float32 else value
    except Exception as error:
        messages.append(f"primal raised {type(error).__name__}: {error}")
        return done("invalid")
    flat = value if case.output == "tuple" else (value,)
    if case.output == "tuple" and not isinstance(value, tuple):
        messages.append(f"primal returned {type(value).__name__}, not a tuple")
        return done("invalid")
    if not _finite(flat) or _max_abs(flat) > VALUE_LIMIT:
        messages.append(f"primal value {value!r} not finite and bounded")
        return done("invalid")
    scale = max(1.0, _max_abs(flat))

    rng = np.random.default_rng([case.seed, attempt, 7])
    direction = random_like(rng, args, wrt)
    if case.output == "array":
        cotangent = rng.normal(size=np.shape(value))
    elif case.output == "tuple":
        cotangent = tuple(float(c) for c in rng.normal(size=len(value)))
    else:
        cotangent = None

    record, replay = frozen(case, fn)

    def phi(point):
        out = replay(*copies(point))
        if case.output == "array":
            return float(np.sum(np.asarray(out, dtype=np.float64) * cotangent))
        if case.output == "tuple":
            return float(sum(c * o for c, o in zip(cotangent, out)))
        return float(out)

    fd_args = as_float64(args)
    try:
        record(*copies(fd_args))
        e1, e2 = directional_fd(phi, fd_args, wrt, direction)
    except Exception as error:
        messages.append(f"primal raised {type(error).__name__} near the point: {error}")
        return done("invalid")

    # first order, target by target
    results = {}
    mismatch = False
    for target, deriv in derivs.items():
        try:
            results[target] = deriv.first(args, direction, cotangent)
        except Exception as error:
            status, message = _classify(error, case, "first")
            messages.append(f"[{target}] " + message)
            return done(status)
        if deriv.mutations:
            mismatch = True
            messages.extend(deriv.mutations)
        if case.compiled_primal and target == "cpu":
            import adjit
            try:
                compiled = deriv.get("primal", lambda: adjit.differentiable(fn))
                got = compiled(*copies(args))
            except Exception as error:
                status, message = _classify(error, case, "first")
                messages.append(f"[cpu] compiled primal: " + message)
                return done(status if status != "refused" else "wrong-refusal")
            if _max_diff([got], [value]) > 1e-9 * scale:
                mismatch = True
                messages.append(f"[cpu] compiled primal {got!r} != python primal {value!r}")
    for target, (gradient, (vg_value, vg_gradient), (jvp_value, tangent)) in results.items():
        tag = f"[{target}]"
        for k, g in zip(wrt, gradient):
            a = args[k]
            if isinstance(a, tuple):
                if _structure(g) != _structure(a):
                    mismatch = True
                    messages.append(f"{tag} gradient of tuple argument {k} is shaped "
                                    f"{_structure(g)}, the argument {_structure(a)}")
            elif isinstance(a, np.ndarray):
                if np.shape(g) != a.shape or np.asarray(g).dtype != a.dtype:
                    mismatch = True
                    messages.append(f"{tag} gradient of argument {k}: shape {np.shape(g)} dtype "
                                    f"{np.asarray(g).dtype}, argument {a.shape} {a.dtype}")
            elif np.ndim(g) != 0:
                mismatch = True
                messages.append(f"{tag} gradient of scalar argument {k} has shape {np.shape(g)}")
        if not _finite(gradient) or not _finite([np.asarray(tangent, dtype=np.float64)]):
            mismatch = True
            messages.append(f"{tag} non-finite derivative: grad {gradient}, tangent {tangent}")
            continue
        # values against the primal
        values = [("jvp", jvp_value)] + ([("value_and_grad" if case.output == "scalar"
                                           else "vjp", vg_value)] if vg_value is not None else [])
        for name, v in values:
            if case.output == "tuple":
                same = isinstance(v, tuple) and len(v) == len(value)
            else:
                same = np.shape(v) == np.shape(value)
            if not same:
                mismatch = True
                messages.append(f"{tag} {name} value {v!r} is not shaped like the primal "
                                f"{value!r}")
            elif _max_diff(v if case.output == "tuple" else (v,), flat) > rtol * scale:
                mismatch = True
                messages.append(f"{tag} {name} value {v!r} != primal {value!r}")
        # reverse against forward
        if case.output == "scalar" and _max_diff(vg_gradient, gradient) > rtol * max(
                1.0, _max_abs(gradient)):
            mismatch = True
            messages.append(f"{tag} value_and_grad gradient {vg_gradient} != grad {gradient}")
        if case.output == "tuple" and _max_diff(vg_gradient, gradient) > rtol * max(
                1.0, _max_abs(gradient)):
            mismatch = True
            messages.append(f"{tag} jacobian mode=fwd {vg_gradient} != mode=rev {gradient}")
        dot = inner(gradient, direction)
        size = max(magnitude([np.asarray(g, dtype=np.float64) * np.asarray(d) for g, d in
                              zip(leaves(gradient), leaves(direction))]), 1e-300)
        if case.output == "array":
            forward = float(np.sum(np.asarray(tangent, dtype=np.float64) * cotangent))
        elif case.output == "tuple":
            forward = float(sum(c * t for c, t in zip(cotangent, tangent)))
        else:
            forward = float(tangent)
        if abs(dot - forward) > rtol * max(size, abs(forward)) + 1e-12 * scale:
            mismatch = True
            messages.append(f"{tag} forward tangent {forward!r} != reverse gradient . direction "
                            f"{dot!r}")
        if target != "python" and "python" in results:
            py_gradient = results["python"][0]
            if _max_diff(gradient, py_gradient) > rtol * max(1.0, _max_abs(py_gradient)):
                mismatch = True
                messages.append(f"{tag} gradient differs from target=python: "
                                f"{gradient} != {py_gradient}")

    # against finite differences, where they can be trusted
    checked = False
    fd_scale = max(abs(e1), abs(e2))
    tolerance = (FLOAT32_RTOL if float32 else FD_RTOL) * max(fd_scale, 1.0) + 1e-9 * scale
    if abs(e1 - e2) <= FD_RTOL * max(fd_scale, 1.0) + 1e-9 * scale:
        checked = True
        for target, (gradient, _, _) in results.items():
            dot = inner(gradient, direction)
            if not abs(dot - e1) <= tolerance:
                mismatch = True
                messages.append(f"[{target}] reverse gradient . direction {dot!r}, finite "
                                f"differences {e1!r} (and {e2!r} at a 10x smaller step)")
    if mismatch:
        return done("mismatch", checked=checked)
    if not checked:
        messages.append(f"finite differences not usable: {e1!r} vs {e2!r}")
        return done("unstable")

    # second order
    if case.second is None or case.output != "scalar":
        return done("ok", checked=True)
    notes: list = []
    second_status = _check_second(fn, case, args, derivs, results, messages, rng, notes)
    for note in sorted(set(notes)):
        messages.append("[note] " + note)
    if second_status in FAILED:
        return done(second_status, checked=True, second_status=second_status)
    return done("ok", checked=True, second_status=second_status)


def _check_second(fn, case: Case, args, derivs, results, messages, rng, notes,
                  vector=None) -> str:
    from adjit import jit
    mode = case.second
    swrt = case.second_wrt or case.wrt
    if mode in ("hessian", "grad_grad", "grad3"):
        assert all(not isinstance(args[k], np.ndarray) for k in swrt), "scalar wrt only"
    if mode in ("vjp_grad", "grad_grad", "grad3", "grad_jvp"):
        assert len(swrt) == 1 or mode == "grad_jvp"
    if vector is None:
        vector = random_like(rng, args, swrt)
    float32 = is_float32(args)

    # the reference: finite differences of the python target's derivative one order below
    w = swrt[0] if len(swrt) == 1 else swrt
    if mode == "grad3":
        lower = jit.grad(jit.grad(fn, wrt=w, target="python"), wrt=w, target="python")
    else:
        lower = jit.grad(fn, wrt=w, target="python")

    def below(point):
        return tuple(np.asarray(g, dtype=np.float64) for g in _as_tuple(lower(*copies(point)),
                                                                        swrt))
    try:
        r1, r2 = directional_fd(below, as_float64(args), swrt, vector)
    except Exception as error:
        status, message = _classify(error, case, mode if mode == "grad3" else "first")
        messages.append("[second order reference] " + message)
        return status if status != "refused" else "refused"
    ref_scale = max(1.0, _max_abs(r1))
    stable = _max_diff(r1, r2) <= SECOND_RTOL * ref_scale
    status = "ok"
    got = {}
    for target, deriv in derivs.items():
        deriv.mutations = []
        try:
            got[target] = _second(deriv, mode, args, swrt, vector)
        except Exception as error:
            st, message = _classify(error, case, mode)
            messages.append(f"[{target}] " + message)
            return st
        if deriv.mutations:
            messages.extend(deriv.mutations)
            status = "mismatch"
        value = got[target]
        if mode != "grad3":
            for k, part, reference in zip(swrt, value, r1):
                if np.shape(part) != np.shape(args[k]):
                    if np.ndim(part) == 0 and part == 0.0 and \
                            _max_abs([reference]) <= SECOND_RTOL * ref_scale:
                        notes.append(f"{mode} gives a scalar 0.0, not zeros of its shape, for "
                                     "an array argument its gradient does not depend on")
                        continue
                    messages.append(f"[{target}] {mode}: the part for argument {k} has shape "
                                    f"{np.shape(part)}, the argument {np.shape(args[k])}")
                    status = "mismatch"
        if not _finite(value):
            messages.append(f"[{target}] {mode}: non-finite {value}")
            status = "mismatch"
            continue
        if stable and _max_diff(value, r1) > (FLOAT32_RTOL if float32 else SECOND_RTOL) * ref_scale:
            messages.append(f"[{target}] {mode} {_short(value)} != finite differences of the "
                            f"{'second' if mode == 'grad3' else 'first'} derivative "
                            f"{_short(r1)}")
            status = "mismatch"
        if target != "python" and "python" in got and \
                _max_diff(value, got["python"]) > 1e-7 * ref_scale:
            messages.append(f"[{target}] {mode} differs from target=python")
            status = "mismatch"
    if status == "ok" and not stable:
        return "skipped"
    return status


def _structure(value):
    """A (nested) tuple's shape: the shapes of its floats and arrays."""
    if isinstance(value, (tuple, list)):
        return tuple(_structure(v) for v in value)
    return np.shape(value)


def _short(values) -> str:
    return "(" + ", ".join(np.array2string(np.asarray(v, dtype=np.float64), precision=6,
                                           threshold=12) for v in leaves(values)) + ")"
