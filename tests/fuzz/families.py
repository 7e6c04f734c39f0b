"""Every random-program family behind one interface, for campaigns
(campaign.py, `report.py --families`), the CI slice (test_families.py) and
the coverage table (coverage.py).

A family draws program number `seed` (`family.make(seed, avoid)`), tags the
constructs it drew (`family.tags(program)`), and checks it on targets
(`family.check(program, targets, timeout)`, a case_harness.Outcome):

    scalar       generator.py: the scalar subset (checked by fuzz_harness.py,
                 whose finite differences follow the branch trace), plus
                 second order (hessian, hvp, jvp(grad), grad(jvp),
                 vjp(grad), grad(grad), grad(grad(grad)))
    array        array_programs.py: whole-array expressions and element loops
    stencil      stencil_programs.py: time-stepped stencils (element loops, or
                 slice statements and in-place operators)
    nest         nest_programs.py: loop nests reading an outer element
    snapshot     snapshot_programs.py: nests inside a loop over components
    views        view_programs.py: elements, views, writes, aliases, copies,
                 creation, shapes, 3-D, float32
    wholearray   op_programs.py: whole-array operations, reductions,
                 products, shapes, linear algebra
    control      control_programs.py: control flow around arrays, reductions
                 in loops, tuple results, stop_gradient
    calls        call_programs.py: helpers, closures, custom rules
    prange       parallel_programs.py: parallel loops
    recurrences  recurrence_programs.py: recurrences over 1-D arrays and grids
                 (and their near misses), items calling helpers, long time
                 loops (checkpointed on cpu)

`KNOWN_WRONG` lists, per family, the constructs that give wrong results or
wrong refusals today, each with its minimal program: a failing program that
contains one is drawn again with `avoid` (the same program with an
equivalent spelling of those constructs); when that variant passes, the
failure is attributed to the construct (counted as `known`, not a failure),
otherwise it stays a failure. Remove an entry once its fix lands.
"""

from __future__ import annotations

import ast
import dataclasses
import random
import sys
import time

import numpy as np

import case_harness
from case_harness import Case, Outcome
from program_writer import refusable

# construct -> what goes wrong (minimal program: docs/fuzzing.md#known-wrong)
KNOWN_WRONG: dict[str, dict[str, str]] = {}


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    module: str
    description: str
    make: object            # (seed, avoid) -> program
    check: object           # (program, targets, timeout) -> Outcome
    tags: object            # program -> frozenset
    render: object          # program -> str
    known_wrong: tuple = ()

    def draw(self, seed: int, avoid=frozenset()):
        return self.make(seed, frozenset(avoid))


def _case_check(case, targets, timeout=None):
    return case_harness.check_case(case, targets, timeout=timeout)


def _case_family(name, module, description, make):
    return Family(name, module, description, make, _case_check, lambda case: case.tags,
                  lambda case: case.render(), tuple(KNOWN_WRONG.get(name, ())))


# --------------------------------------------------------------------------
# the families written before case_harness: array, stencil, nest, snapshot


def ast_tags(source: str) -> frozenset:
    """What a program written as text uses, read from its AST (for the
    families whose generators do not tag)."""
    tags = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                    func.value.id in ("np", "math"):
                tags.add(f"{func.value.id}.{func.attr}")
        elif isinstance(node, ast.For):
            tags.add("for loop")
            if any(isinstance(inner, ast.For) for inner in ast.walk(node) if inner is not node):
                tags.add("nested loops")
        elif isinstance(node, ast.Subscript):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            if any(isinstance(p, ast.Slice) for p in parts):
                tags.add("slice view" if isinstance(node.ctx, ast.Load) else "slice write")
            elif isinstance(node.ctx, ast.Store):
                tags.add("element write")
            else:
                tags.add("element read")
            if any(isinstance(p, ast.Constant) and p.value is None for p in parts):
                tags.add("None axis")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            tags.add("@")
        elif isinstance(node, ast.Attribute) and node.attr == "T":
            tags.add("x.T")
        elif isinstance(node, ast.IfExp):
            tags.add("conditional expression")
        elif isinstance(node, ast.arg) and node.annotation is not None:
            tags.add("annotations")
        elif isinstance(node, ast.Raise):
            tags.add("raise guard")
        elif isinstance(node, ast.Assert):
            tags.add("assert guard")
    return frozenset(tags)


def _legacy_marks(tags) -> set:
    marks = set()
    if "for loop" in tags:
        marks.add("adjoint in loop")
    if "None axis" in tags:
        marks.add("none axis")
    if "slice write" in tags:
        marks.add("slice write")
    if "conditional expression" in tags:
        marks.add("adjoint in branch")
    return marks


def _legacy(name, module_name, make_name, inputs_module=None):
    def make(seed, avoid):
        module = sys.modules.get(module_name) or __import__(module_name)
        program = getattr(module, make_name)(seed)
        inputs = getattr(sys.modules.get(inputs_module or "array_programs")
                         or __import__(inputs_module or "array_programs"), "inputs")

        def make_inputs(attempt, seed=seed):
            return inputs(seed if attempt == 0 else seed * 7919 + attempt)
        tags = ast_tags(program.source) | program.tags
        rng = random.Random(f"second:{name}:{seed}")
        second = rng.choice(["hvp", "hvp", "jvp_grad"]) if rng.random() < 0.25 else None
        tags = tags | {f"second order {second}" if second else "first order only"}
        return Case(name, seed, program.source, make_inputs, (0, 1, 2, 3), frozenset(tags),
                    second=second, refusable=refusable(_legacy_marks(tags)))
    return make


# --------------------------------------------------------------------------
# the scalar family (generator.py, fuzz_harness.py)


@dataclasses.dataclass
class ScalarProgram:
    seed: int
    program: object                  # generator.Program
    second: str | None
    tags: frozenset

    @property
    def source(self):
        return self.program.source

    def render(self):
        return self.program.source


def _scalar_make(seed, avoid):
    import generator
    program = generator.random_program(seed)
    rng = random.Random(f"second:scalar:{seed}")
    second = None
    if rng.random() < 0.3:
        second = rng.choice(["hessian", "hessian", "hvp", "jvp_grad", "grad_jvp", "vjp_grad",
                             "grad_grad", "grad3"])
    tags = set(program.tags) | {f"second order {second}" if second else "first order only"}
    return ScalarProgram(seed, program, second, frozenset(tags))


def _scalar_points(seed):
    rng = random.Random(f"inputs:scalar:{seed}")
    while True:
        yield ((rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0), rng.randint(0, 6)),
               (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)))


def _scalar_check(program: ScalarProgram, targets, timeout=None):
    case_harness._alarm(timeout)
    try:
        return _scalar_check_inner(program, targets)
    except case_harness.CheckTimeout:
        return Outcome("timeout", [f"check took more than {timeout} s"])
    finally:
        case_harness._disarm(timeout)


def _scalar_check_inner(program: ScalarProgram, targets):
    import fuzz_harness
    source = program.source
    try:
        fn = fuzz_harness.load(source)
    except Exception as error:
        return Outcome("invalid", [f"import failed: {error}"])
    cache: dict = {}
    points = _scalar_points(program.seed)
    result = None
    for attempt in range(3):
        args, direction = next(points)
        result = fuzz_harness.check(source, args, direction, targets, fn=fn, cache=cache)
        if result.status not in ("nonsmooth", "unstable"):
            break
    status = {"nonsmooth": "unstable"}.get(result.status, result.status)
    messages = list(result.messages)
    outcome = Outcome(status, messages, checked=status == "ok", args=result.args)
    if status != "ok" or program.second is None:
        return outcome
    # second order, where the branch trace does not change within the stencil
    case = Case("scalar", program.seed, source, lambda attempt, a=result.args: a, (0, 1),
                program.tags, second=program.second,
                second_wrt=(0,) if program.second in ("grad_grad", "grad3", "grad_jvp",
                                                      "vjp_grad") else (0, 1),
                refusable=refusable({"no third order"}
                                    if program.tags & {"math.gamma", "math.lgamma"} else ()))
    traced = fuzz_harness.make_traced(source)
    base = traced(*result.args)[1]
    derivs = {t: case_harness._Derivatives(fn, case, t) for t in targets}
    rng = np.random.default_rng([program.seed, 5])
    notes: list = []
    with np.errstate(all="ignore"):
        second = _scalar_second(case, fn, result.args, derivs, messages, rng, notes, traced,
                                base)
    outcome.second_status = second
    if second in case_harness.FAILED:
        outcome.status = second
    return outcome


def _scalar_second(case, fn, args, derivs, messages, rng, notes, traced, base):
    # the stencil of the finite differences of the gradient must keep the trace
    swrt = case.second_wrt
    vector = tuple(float(v) for v in rng.normal(size=len(swrt)))
    scale = max(1.0, max(abs(args[k]) for k in swrt))
    for step in case_harness.STEPS:
        for k in (2, 1, -1, -2):
            point = case_harness.shifted(args, swrt, vector, k * step * scale)
            try:
                if traced(*point)[1] != base:
                    return "skipped"
            except Exception:
                return "skipped"
    return case_harness._check_second(fn, case, args, derivs, None, messages, rng, notes,
                                      vector=vector)


# --------------------------------------------------------------------------
# the registry


def _families():
    import call_programs
    import control_programs
    import op_programs
    import parallel_programs
    import recurrence_programs
    import view_programs
    return [
        Family("scalar", "generator.py", "the scalar subset: arithmetic, math functions, "
               "branches, loops, early exits", _scalar_make, _scalar_check,
               lambda p: p.tags, lambda p: p.render()),
        _case_family("array", "array_programs.py", "whole-array expressions and element loops",
                     _legacy("array", "array_programs", "random_array_program")),
        _case_family("stencil", "stencil_programs.py", "time-stepped stencils, as element "
                     "loops or as slice statements and in-place operators",
                     _legacy("stencil", "stencil_programs", "random_stencil_program",
                             "stencil_programs")),
        _case_family("nest", "nest_programs.py", "loop nests reading an outer element",
                     _legacy("nest", "nest_programs", "random_nest_program")),
        _case_family("snapshot", "snapshot_programs.py", "loop nests inside a loop over "
                     "components", _legacy("snapshot", "snapshot_programs",
                                           "random_snapshot_program")),
        _case_family("views", "view_programs.py", "elements, views, writes, aliases, copies, "
                     "creation, shapes, 3-D, float32", view_programs.random_view_program),
        _case_family("wholearray", "op_programs.py", "whole-array operations, reductions, "
                     "products, shapes, linear algebra", op_programs.random_op_program),
        _case_family("control", "control_programs.py", "control flow around arrays, reductions "
                     "in loops, tuple results, stop_gradient",
                     control_programs.random_control_program),
        _case_family("calls", "call_programs.py", "helpers, closures, custom rules",
                     call_programs.random_call_program),
        _case_family("prange", "parallel_programs.py", "parallel loops",
                     parallel_programs.random_parallel_program),
        _case_family("recurrences", "recurrence_programs.py", "recurrences over arrays and "
                     "grids and their near misses, items calling helpers, long time loops",
                     recurrence_programs.random_recurrence_program),
    ]


FAMILIES = {family.name: family for family in _families()}
NEW_FAMILIES = ("views", "wholearray", "control", "calls", "prange", "recurrences")


# --------------------------------------------------------------------------
# checking one program, with the attribution of known-wrong constructs


@dataclasses.dataclass
class Result:
    family: str
    seed: int
    cpu: bool
    tags: frozenset
    status: str                  # a case_harness status, or "known"
    second: str | None           # second-order mode drawn
    second_status: str | None
    checked: bool
    notes: list
    known: tuple = ()            # the KNOWN_WRONG constructs a "known" failure is put on
    messages: list = dataclasses.field(default_factory=list)
    source: str | None = None    # for failures
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in case_harness.FAILED


def run(family: Family, seed: int, cpu: bool, timeout: float | None = None) -> Result:
    """Draw program `seed` of `family`, check it (python, and cpu when `cpu`),
    and put a failure on a known-wrong construct when the program without it
    passes."""
    targets = ("python", "cpu") if cpu else ("python",)
    started = time.perf_counter()
    program = family.draw(seed)
    tags = family.tags(program)
    try:
        outcome = family.check(program, targets, timeout)
    except Exception as error:            # a harness error: report it as a crash
        outcome = Outcome("crash", [f"harness raised {type(error).__name__}: {error}"])
    status, known = outcome.status, ()
    if outcome.status in case_harness.FAILED and outcome.status != "timeout":
        suspects = tuple(sorted(set(family.known_wrong) & set(tags)))
        if suspects:
            control = family.check(family.draw(seed, suspects), targets, timeout)
            if control.status not in case_harness.FAILED:
                status, known = "known", suspects
    second = getattr(program, "second", None)
    return Result(family.name, seed, cpu, tags, status, second, outcome.second_status,
                  outcome.checked, outcome.notes, known,
                  outcome.messages if status != "ok" else [],
                  family.render(program) if status in case_harness.FAILED else None,
                  time.perf_counter() - started)
