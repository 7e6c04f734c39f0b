"""Mutation testing of adjit's derivative rules and of a few analyses.

    python -m tests.mutation              # from the repository root: everything
    python tests/mutation.py --rules      # only the rule mutants (in memory)
    python tests/mutation.py --named      # only the named patches (subprocesses)
    python tests/mutation.py --only Pow   # rule mutants whose id contains "Pow"
    python tests/mutation.py --named --only e2-,f-   # named mutants e2 and f
    python tests/mutation.py --list       # the mutants (after the unmutated checks)

Two kinds of mutant:

* **Rule mutants**, made in memory, for every registered rule. A scalar rule
  is the tuple of partial-derivative ASTs of its `Primitive`
  (`partial_expressions`, instantiated by both modes): each partial is
  negated, replaced by 0, scaled by 1.001, and each `+`/`-` in it loses one
  of its terms; the two partials of a binary primitive are swapped. A
  structured array rule (`ARRAY_RULES`) is wrapped: each statement of its
  reverse rule is negated, scaled by 1.001 or dropped; its forward
  expression is negated, scaled by 1.001, and each `+`/`-` in it loses one
  of its terms. Each mutant runs the checks of tests/test_rules.py as plain
  functions on target="python" (first those meant for the mutated rule,
  then, if it survives them, all the others), with a fresh
  `ADJIT_CACHE_DIR` and no generated module left in `sys.modules`: the
  cache key hashes adjit's source, not the rules in memory, so a stale
  derivative would otherwise hide the mutant. A mutant whose wrapper never
  changed anything (a reverse statement that no case produces) is reported
  as not reached.
* **Named mutants** (`NAMED`): textual patches of a temporary copy of the
  package (with a copy of tests/ and bench/ beside it), each run with
  pytest in a subprocess on the test ids named for it, with `PYTHONPATH`
  and the working directory pointing at the copy and `NUMBA_BOUNDSCHECK=1`
  (a compiled helper mutated to index the wrong axis raises instead of
  writing out of bounds). The same ids run first on an unpatched copy; a
  test failing there is reported and not counted as a killer.

Each mutant is reported killed (by which check or tests) or survived. The
exit status is 1 if a mutant survives that `EQUIVALENT` does not explain
(a one-line reason each), or if the unmutated checks fail.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

SCALE = 1.001
CHECK_TIMEOUT_S = 120

# Survivors that are not bugs, by mutant id (a regular expression matched
# against the whole id), each with the reason it cannot be killed.
# (np.copy's partial, shared with float and np.float64 and killed through
# them, needs no entry: the array passes write np.copy's tangent and adjoint
# themselves)
EQUIVALENT: dict[str, str] = {}


# ---- mutants ------------------------------------------------------------------------------

@dataclass
class Mutant:
    id: str
    kind: str
    key: object                                   # the rule's key (ARRAY_RULES), or the
                                                  # tuple of keys sharing a scalar template
    apply: Callable[[], Callable[[], None]]       # makes the change; returns its undo
    reached: Callable[[], bool] = lambda: True    # did the change take effect anywhere?


@dataclass
class Outcome:
    mutant: Mutant
    status: str                                   # killed / survived / equivalent / not reached
    by: str = ""
    detail: str = ""
    seconds: float = 0.0


def _negated(expression: ast.expr) -> ast.expr:
    return ast.UnaryOp(ast.USub(), copy.deepcopy(expression))


def _scaled(expression: ast.expr) -> ast.expr:
    return ast.BinOp(ast.Constant(SCALE), ast.Mult(), copy.deepcopy(expression))


def _sums(expression: ast.expr) -> list[ast.BinOp]:
    return [node for node in ast.walk(expression)
            if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub))]


def _without_term(expression: ast.expr, index: int, keep: str) -> ast.expr | None:
    """`expression` with its `index`-th `+`/`-` (in ast.walk order) replaced by
    one of its terms (`keep` "left" or "right", negated after a `-`), or None
    if it has no such sum."""
    expression = copy.deepcopy(expression)
    sums = _sums(expression)
    if index >= len(sums):
        return None
    target = sums[index]
    kept = target.left if keep == "left" else (
        target.right if isinstance(target.op, ast.Add) else ast.UnaryOp(ast.USub(), target.right))

    class Replace(ast.NodeTransformer):
        def visit_BinOp(self, node):
            if node is target:
                return kept
            self.generic_visit(node)
            return node
    return Replace().visit(expression)


def _is_zero(expression: ast.expr) -> bool:
    return isinstance(expression, ast.Constant) and expression.value == 0


def scalar_mutants() -> list[Mutant]:
    """One mutant per change of a partial template. A template registered
    under several keys (`np.sin` and `math.sin`; `scipy.special.gammaln`
    and the `rt.special.gammaln` that generated code calls) is changed in
    every primitive that shares it, as a wrong line in the template would
    be: changing one of the copies alone models no bug anyone could make,
    and the copy used only by second-order code then survives unless a
    check happens to reach it through the primal's value."""
    from adjit.rules import REGISTRY
    import test_rules
    sharing: dict[int, list] = {}
    for primitive in REGISTRY.primitives():
        if primitive.differentiable:
            sharing.setdefault(id(primitive.partials), []).append(primitive)
    mutants = []
    for group in sharing.values():
        primitive = group[0]
        name = "|".join(dict.fromkeys(test_rules.primitive_name(member) for member in group))
        keys = tuple(member.key for member in group)
        partials = primitive.partial_expressions
        for position, partial in enumerate(partials):
            if _is_zero(partial):
                continue            # a zero partial: negated or scaled it stays zero
            variants = [("negate", _negated(partial)), ("zero", ast.Constant(0.0)),
                        ("scale", _scaled(partial))]
            for index in range(len(_sums(partial))):
                for keep in ("left", "right"):
                    variants.append((f"drop-term{index}-keep-{keep}",
                                     _without_term(partial, index, keep)))
            for how, replacement in variants:
                mutated = list(partials)
                mutated[position] = ast.fix_missing_locations(
                    ast.Expression(replacement)).body
                mutants.append(Mutant(f"scalar:{name}[{position}]:{how}",
                                      f"scalar {how.split('-')[0]}", keys,
                                      _setter(group, tuple(mutated))))
        if len(partials) == 2 and ast.dump(partials[0]) != ast.dump(partials[1]):
            mutants.append(Mutant(f"scalar:{name}:swap", "scalar swap", keys,
                                  _setter(group, (partials[1], partials[0]))))
    return mutants


def _setter(group, expressions):
    """Sets the partials of every primitive in `group`; returns the undo."""
    def apply():
        saved = [primitive.partial_expressions for primitive in group]
        for primitive in group:
            primitive.partial_expressions = expressions

        def undo():
            for primitive, expressions_before in zip(group, saved):
                primitive.partial_expressions = expressions_before
        return undo
    return apply


def _mutated_statements(code: list[str], index: int, how: str) -> list[str]:
    code = list(code)
    if how == "drop":
        del code[index]
        return code
    node = ast.parse(code[index]).body[0]
    node.value = _negated(node.value) if how == "negate" else _scaled(node.value)
    code[index] = ast.unparse(ast.fix_missing_locations(node))
    return code


def _mutated_expression(text: str, how: str) -> str | None:
    if how == "negate":
        return f"-({text})"
    if how == "scale":
        return f"{SCALE} * ({text})"
    _, index, _, keep = how.split("-")          # drop-term<k>-keep-<side>
    changed = _without_term(ast.parse(text, mode="eval").body, int(index[len("term"):]), keep)
    return None if changed is None else ast.unparse(changed)


def array_mutants(shapes: dict) -> list[Mutant]:
    """Mutants of every array rule the checks reach; `shapes` holds, per rule,
    the most reverse statements and forward sums the checks made it produce
    (`probe_array_rules`)."""
    import test_rules
    mutants = []
    for key in test_rules.adjit_array_rules():
        name = _rule_name(key)
        statements, sums = shapes.get(key, (0, 0))
        for index in range(statements):
            for how in ("negate", "scale", "drop"):
                mutants.append(_array_mutant(key, f"array:{name}:reverse[{index}]:{how}",
                                             f"reverse {how}", reverse=(index, how)))
        hows = ["negate", "scale"] + [f"drop-term{k}-keep-{side}" for k in range(sums)
                                      for side in ("left", "right")]
        for how in hows:
            mutants.append(_array_mutant(key, f"array:{name}:forward:{how}",
                                         f"forward {how.split('-')[0]}", forward=how))
    return mutants


def probe_array_rules():
    """Wraps every array rule to record what it produces; returns (the
    record, key -> (most reverse statements, most forward sums)), and the
    undo."""
    from adjit.rules.arrays import ARRAY_RULES, ArrayRule
    shapes: dict = {}
    saved = dict(ARRAY_RULES)
    for key, rule in saved.items():
        def reverse(operands, rule=rule, key=key):
            code = rule.reverse(operands)
            statements, sums = shapes.get(key, (0, 0))
            shapes[key] = (max(statements, len(code)), sums)
            return code

        def forward(operands, rule=rule, key=key):
            text = rule.forward(operands)
            statements, sums = shapes.get(key, (0, 0))
            shapes[key] = (statements,
                           max(sums, len(_sums(ast.parse(text, mode="eval").body))))
            return text
        ARRAY_RULES[key] = ArrayRule(rule.result_type, reverse, forward, rule.reads_result)

    def undo():
        ARRAY_RULES.update(saved)
    return shapes, undo


def _rule_name(key) -> str:
    from adjit.rules import REGISTRY
    primitive = REGISTRY.lookup(key)
    return primitive.spelling if primitive is not None else repr(key)


def _array_mutant(key, identifier, kind, reverse=None, forward=None) -> Mutant:
    from adjit.rules.arrays import ARRAY_RULES, ArrayRule
    state = {"reached": False}

    def apply():
        rule = ARRAY_RULES[key]

        def mutated_reverse(operands):
            code = rule.reverse(operands)
            if reverse is not None and reverse[0] < len(code):
                state["reached"] = True
                return _mutated_statements(code, *reverse)
            return code

        def mutated_forward(operands):
            text = rule.forward(operands)
            if forward is not None:
                changed = _mutated_expression(text, forward)
                if changed is not None:
                    state["reached"] = True
                    return changed
            return text
        ARRAY_RULES[key] = ArrayRule(rule.result_type, mutated_reverse, mutated_forward,
                                     rule.reads_result)

        def undo():
            ARRAY_RULES[key] = rule
        return undo
    return Mutant(identifier, kind, key, apply, lambda: state["reached"])


# ---- running rule mutants in-process --------------------------------------------------------

_GENERATED = re.compile(r"adjit_.+_[0-9a-f]{20}$")


def forget_generated_code() -> None:
    """No derivative made before survives: generated modules leave
    sys.modules and the checks' derivatives are dropped."""
    import test_rules
    for name in [name for name in sys.modules if _GENERATED.match(name)]:
        del sys.modules[name]
    test_rules.forget_derivatives()


class _CheckTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise _CheckTimeout(f"no result in {CHECK_TIMEOUT_S} s")


def run_checks(checks, stop_at_first=True):
    """Runs checks in order; returns [(check id, error)] of those that failed."""
    failed = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for check in checks:
            signal.alarm(CHECK_TIMEOUT_S)
            try:
                check.run()
            except Exception as error:        # a wrong value, or code that no longer runs
                failed.append((check.id, f"{type(error).__name__}: {error}"))
                if stop_at_first:
                    break
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return failed


def ordered_checks(checks, key):
    """The checks meant for `key` first, then the scalar checks, then the
    array checks."""
    keys = key if isinstance(key, tuple) else (key,)
    mine = [c for c in checks if any(k is mutated for k in c.keys for mutated in keys)]
    chosen = {c.id for c in mine}
    rest = [c for c in checks if c.id not in chosen]
    return mine, sorted(rest, key=lambda c: c.kind != "scalar")


def run_mutant(mutant: Mutant, checks, scratch: Path, targeted_only=False) -> Outcome:
    """Runs the checks against `mutant` (those meant for its rule first; the
    rest only if it survives them, unless `targeted_only`), then undoes it."""
    started = time.time()
    directory = Path(tempfile.mkdtemp(prefix="cache-", dir=scratch))
    saved = os.environ.get("ADJIT_CACHE_DIR")
    os.environ["ADJIT_CACHE_DIR"] = str(directory)
    forget_generated_code()
    undo = mutant.apply()
    try:
        mine, rest = ordered_checks(checks, mutant.key)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")        # a mutated partial may well divide by 0
            failed = run_checks(mine)
            if not failed and not targeted_only:
                failed = run_checks(rest)
    finally:
        undo()
        forget_generated_code()
        if saved is None:
            os.environ.pop("ADJIT_CACHE_DIR", None)
        else:
            os.environ["ADJIT_CACHE_DIR"] = saved
        shutil.rmtree(directory, ignore_errors=True)
    seconds = time.time() - started
    if failed:
        return Outcome(mutant, "killed", failed[0][0], failed[0][1].splitlines()[0][:200],
                       seconds)
    if not mutant.reached():
        return Outcome(mutant, "not reached", seconds=seconds)
    for pattern, reason in EQUIVALENT.items():
        if re.fullmatch(pattern, mutant.id):
            return Outcome(mutant, "equivalent", detail=reason, seconds=seconds)
    return Outcome(mutant, "survived", seconds=seconds)


# ---- named mutants: patches of a copy of the package ------------------------------------------

@dataclass
class NamedMutant:
    name: str
    description: str
    patches: list[tuple[str, str, str]]      # (path in the repository, old text, new text)
    tests: list[str]                          # pytest ids, relative to the repository


REGRESSIONS = "tests/test_regressions.py::"
RULES = "tests/test_rules.py::"
DEPENDENCE = "tests/test_dependence.py"
ARRAY_CORPUS = "tests/test_array_corpus.py::test_grad_python["

NAMED = [
    NamedMutant(
        "a-recompute-ignores-arrays-written-after-a-loop",
        "recompute.py: a loop is recomputed although it reads an array written after it",
        [("adjit/passes/reverse/recompute.py",
          "if not live_in & (changed | self.mutable) \\",
          "if not live_in & changed \\")],
        [REGRESSIONS + "test_loop_reading_an_array_overwritten_by_a_slice_after_it",
         "tests/test_array_loops.py::"
         "test_a_loop_reading_an_array_its_successor_rescales_in_place",
         "tests/test_private_arrays.py", "tests/test_snapshot.py"]),
    NamedMutant(
        "b-tbr-does-not-record-an-overwritten-value",
        "tbr.py: an assignment to a name the reverse sweep reads pushes nothing",
        [("adjit/passes/reverse/tbr.py",
          "                self.mark(context, node, [target])\n",
          "                pass\n")],
        ["tests/test_corpus.py::test_grad_matches_finite_differences",
         RULES + "test_scalar_rule"]),
    NamedMutant(
        "c1-private-array-read-before-its-fill",
        "private.py: an array read before the loop that fills it counts as private",
        [("adjit/passes/analysis/private.py",
          "    if any(_touches(statement, array) for statement in body[:index]):\n"
          "        return False\n", "")],
        ["tests/test_private_arrays.py"]),
    NamedMutant(
        "c2-private-array-filled-by-a-loop-with-a-break",
        "private.py: a filling loop that may stop early counts as filling every element",
        [("adjit/passes/analysis/private.py",
          "        return []              # a loop that may stop early need not fill everything\n",
          "        pass\n")],
        ["tests/test_private_arrays.py", RULES + "test_near_misses_of_the_analyses"]),
    NamedMutant(
        "c3-private-array-read-then-written-again",
        "private.py: a read between two writes of the array no longer disqualifies it",
        [("adjit/passes/analysis/private.py",
          "        if _touches(body[k], array) and not _writes(body[k], array):\n"
          "            return False\n", "        pass\n")],
        ["tests/test_private_arrays.py"]),
    NamedMutant(
        "d1-scatter-without-never-negative",
        "scatter.py: shifted increments split although an index can be negative",
        [("adjit/passes/optimize/scatter.py",
          "            if plan is not None and lowest is not None and all(\n"
          "                    never_negative(lowest, offset, nonnegative)\n"
          "                    for offset in plan[0].values()):\n",
          "            if plan is not None and lowest is not None:\n")],
        ["tests/test_vectorise.py"]),
    NamedMutant(
        "d2-lanes-without-independence",
        "lanes.py: an accumulator mentioned outside the inner loop is summed in lanes",
        [("adjit/passes/optimize/lanes.py",
          "            if _only_in(nest, loop, accumulator) and \\\n",
          "            if True and \\\n")],
        ["tests/test_vectorise.py", RULES + "test_near_misses_of_the_analyses"]),
    NamedMutant(
        "d3-lanes-without-never-negative",
        "lanes.py: a reversed inner loop's lanes are indexed by its index although it "
        "visits negative indices",
        [("adjit/passes/optimize/lanes.py",
          "    if integer_constant(stop) is not None and integer_constant(stop) >= -1:\n",
          "    if True:\n")],
        ["tests/test_vectorise.py", RULES + "test_near_misses_of_the_analyses"]),
    NamedMutant(
        "e1-python-unbroadcast-sums-the-wrong-axis",
        "runtime/arrays.py: the Python rt.unbroadcast sums leading axes from the end",
        [("adjit/runtime/arrays.py",
          "        gradient = gradient.sum(axis=0)\n",
          "        gradient = gradient.sum(axis=-1)\n")],
        [RULES + "test_array_rule", RULES + "test_array_rules_combined",
         "tests/test_array_ops.py", REGRESSIONS + "test_broadcast_operand_adjoint"]),
    NamedMutant(
        "e2-compiled-unbroadcast-2-1-sums-the-wrong-axis",
        "runtime/arrays.py: the compiled rt.unbroadcast of a 2-D contribution to a "
        "1-D operand indexes the operand by the row",
        [("adjit/runtime/arrays.py",
          "out[_index(j, like.shape[0])] += gradient[i, j]",
          "out[_index(i, like.shape[0])] += gradient[i, j]")],
        [RULES + "test_array_rules_compiled", "tests/test_array_ops.py",
         REGRESSIONS + "test_broadcast_operand_adjoint"]),
    NamedMutant(
        "e3-compiled-unbroadcast-2-2-swaps-the-axes",
        "runtime/arrays.py: the compiled rt.unbroadcast between 2-D arrays swaps the axes",
        [("adjit/runtime/arrays.py",
          "out[_index(i, like.shape[0]), _index(j, like.shape[1])] += gradient[i, j]",
          "out[_index(j, like.shape[0]), _index(i, like.shape[1])] += gradient[i, j]")],
        [RULES + "test_array_rules_compiled", "tests/test_array_ops.py",
         REGRESSIONS + "test_broadcast_operand_adjoint"]),
    NamedMutant(
        "e4-compiled-unbroadcast-3-2-sums-the-wrong-axis",
        "runtime/arrays.py: the compiled rt.unbroadcast of a 3-D contribution to a "
        "2-D operand indexes the operand by the outer axis",
        [("adjit/runtime/arrays.py",
          "out[_index(j, like.shape[0]), _index(k, like.shape[1])] += \\",
          "out[_index(i, like.shape[0]), _index(k, like.shape[1])] += \\")],
        [RULES + "test_array_rules_compiled", "tests/test_array_axis.py",
         REGRESSIONS + "test_broadcast_operand_adjoint"]),
    NamedMutant(
        "f-dot-forward-transposed",
        "rules/arrays.py: the tangent of np.dot / @ uses the transposed tangent of the left "
        "operand",
        [("adjit/rules/arrays.py",
          'terms = ([f"np.dot({da}, {b})"] if da else [])',
          'terms = ([f"np.dot({da}.T, {b})"] if da else [])')],
        [RULES + "test_array_rule", RULES + "test_array_rules_compiled", "tests/test_array_ops.py",
         REGRESSIONS + "test_matrix_product_tangent"]),
    NamedMutant(
        "g-power-second-order-without-log",
        "rules/scalar.py: d/dy of the y partial of x ** y loses its log x factor",
        [("adjit/rules/scalar.py",
          "            rt.pow_exponent_partial(x, y) * math.log(x))",
          "            rt.pow_exponent_partial(x, y))")],
        [RULES + "test_scalar_rule", RULES + "test_scalar_rule_compiled",
         RULES + "test_the_second_order_factor_of_a_power_is_checked",
         REGRESSIONS + "test_hessian_of_a_variable_power", "tests/test_second_order.py"]),
    NamedMutant(
        "h-mod-divisor-partial-sign",
        "rules/scalar.py: the divisor partial of x % y changes sign",
        [("adjit/rules/scalar.py", "    return 1.0, -math.floor(x / y)",
          "    return 1.0, math.floor(x / y)")],
        [RULES + "test_scalar_rule", RULES + "test_scalar_rule_compiled",
         RULES + "test_array_rule", REGRESSIONS + "test_remainder_by_a_variable",
         REGRESSIONS + "test_elementwise_remainder_by_a_variable"]),
    NamedMutant(
        "i1-dependence-ignores-the-direction",
        "dependence.py: a write one iteration ahead of the element read counts as before it",
        [("adjit/passes/analysis/dependence.py",
          "            return gap * step > 0\n", "            return False\n")],
        [DEPENDENCE, ARRAY_CORPUS + "recurrence_reading_ahead]"]),
    NamedMutant(
        "i2-dependence-ignores-loops-that-do-not-fix-the-element",
        "dependence.py: a loop around both whose iteration the element does not fix "
        "(a time loop) is passed over",
        [("adjit/passes/analysis/dependence.py",
          "                return True                     # a later iteration may\n",
          "                continue\n")],
        [DEPENDENCE, ARRAY_CORPUS + "recurrence_in_a_time_loop]"]),
    NamedMutant(
        "i3-dependence-ignores-the-order-of-statements",
        "dependence.py: a write after the read in the same iteration counts as before it",
        [("adjit/passes/analysis/dependence.py",
          "        return write.order > read.order\n", "        return False\n")],
        [DEPENDENCE, ARRAY_CORPUS + "recurrence_reading_ahead]"]),
    NamedMutant(
        "i4-dependence-trusts-an-index-set-in-a-branch",
        "dependence.py: an index assigned under an `if` is read as its assignment",
        [("adjit/passes/analysis/dependence.py",
          "        if guarded or defined_at >= order \\\n",
          "        if defined_at >= order \\\n")],
        [DEPENDENCE, ARRAY_CORPUS + "index_set_in_a_branch]"]),
    NamedMutant(
        "i5-recompute-rereads-loads-no-write-was-checked-against",
        "recompute.py: a loop writing a restored array is recomputed although its slice "
        "reads the array through loads the writes were not checked against",
        [("adjit/passes/reverse/recompute.py",
          "                    and not _unchecked_loads(body_slice, rewritten) \\\n", "")],
        [ARRAY_CORPUS + "rk4_pendulum_scratch]", ARRAY_CORPUS + "euler_nbody]"]),
    NamedMutant(
        "i6-local-arrays-read-again-as-data",
        "arrays.py: every local array counts as the caller's unchanged data, not only "
        "names for the arguments",
        [("adjit/passes/analysis/arrays.py",
          "                if all(_base_name(node.value) in data for node in nodes):\n",
          "                if True:\n")],
        [ARRAY_CORPUS + "copy_of_the_state_per_step]",
         ARRAY_CORPUS + "short_name_of_an_argument_written_later]",
         "tests/test_array_soundness.py"]),
    NamedMutant(
        "i7-dependence-reads-a-measured-array",
        "dependence.py: `np.zeros_like(a)` and `len(a)` count as reads of every element",
        [("adjit/passes/analysis/dependence.py",
          "            if _measures(node.func) and node.args and isinstance(node.args[0], "
          "ast.Name):\n",
          "            if False:\n")],
        [DEPENDENCE]),
    NamedMutant(
        "i8-dependence-any-assignment-in-the-function-is-the-one",
        "dependence.py: an index temporary assigned in the loop is read from the first "
        "assignment anywhere, inside the loop or not",
        [("adjit/passes/analysis/dependence.py",
          "        for depth in range(len(loops), 0, -1):\n",
          "        assignments = assignments[:1]\n        for depth in range(0):\n")],
        [DEPENDENCE, ARRAY_CORPUS + "recurrence_reading_ahead]"]),
    NamedMutant(
        "j1-checkpoints-forget-scalars-read-before-assigned",
        "checkpoints.py: a scalar a step reads before assigning it is not saved per segment",
        [("adjit/passes/reverse/checkpoints.py",
          "        carried = (exposed(loop.body, {loop.target.id}) | pushed) & written\n",
          "        carried = pushed & written\n")],
        ["tests/test_checkpoints.py"]),
    NamedMutant(
        "j2-checkpoints-forget-arrays",
        "checkpoints.py: the arrays a loop writes are not saved per segment",
        [("adjit/passes/reverse/checkpoints.py",
          "                        if is_array(self.types.get(name)) and name not in created "
          "| refilled)\n",
          "                        if False)\n")],
        ["tests/test_checkpoints.py"]),
    NamedMutant(
        "j3-checkpoints-budget-never-exceeded",
        "runtime/checkpoints.py: a loop recorded whole never asks for the checkpointed form",
        [("adjit/runtime/checkpoints.py",
          "        raise CheckpointsNeeded(\"a long loop exceeds the checkpoint budget\")\n",
          "        return\n")],
        ["tests/test_checkpoints.py"]),
    NamedMutant(
        "j4-checkpoints-run-the-last-segment-again",
        "checkpoints.py: the reverse sweep runs the last segment again, its forward record "
        "left on the tape",
        [("adjit/passes/reverse/checkpoints.py",
          "        rerun = statement(f\"if {names['segment']} < {names['segments']} - 1:\\n    pass\")\n",
          "        rerun = statement(f\"if {names['segment']} < {names['segments']}:\\n    pass\")\n")],
        ["tests/test_checkpoints.py"]),
]

NAMED_TIMEOUT_S = 3600


def _copy_tree(scratch: Path, name: str) -> Path:
    root = scratch / name
    ignored = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", ".pytest_cache")
    for folder in ("adjit", "tests", "bench"):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignored)
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _patch(root: Path, patches) -> None:
    for path, old, new in patches:
        file = root / path
        text = file.read_text()
        count = text.count(old)
        if count != 1:
            raise RuntimeError(f"{path}: the text to patch occurs {count} times "
                               f"(the code changed: update NAMED): {old!r}")
        file.write_text(text.replace(old, new))


def run_pytest(root: Path, tests: list[str]) -> tuple[set[str], str, float]:
    """The ids of the tests that fail or error, pytest's output tail, seconds."""
    environment = dict(os.environ)
    environment.update(PYTHONPATH=str(root), ADJIT_CACHE_DIR=str(root / ".adjit-cache"),
                       NUMBA_BOUNDSCHECK="1", PYTHONDONTWRITEBYTECODE="1")
    started = time.time()
    check = subprocess.run([sys.executable, "-c", "import adjit; print(adjit.__file__)"],
                           cwd=root, env=environment, capture_output=True, text=True)
    if not check.stdout.strip().startswith(str(root)):
        raise RuntimeError(f"the copy's adjit is not the one imported: {check.stdout}"
                           f"{check.stderr}")
    try:
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "-o", "addopts=", "-rfE", "--tb=line", *tests],
                             cwd=root, env=environment, capture_output=True, text=True,
                             timeout=NAMED_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {f"pytest ran past {NAMED_TIMEOUT_S} s"}, "", time.time() - started
    failed = set(re.findall(r"^(?:FAILED|ERROR) (\S+)", run.stdout, re.MULTILINE))
    # a module that no longer imports fails as a whole
    failed = {f"{test} (does not import)" if "::" not in test else test for test in failed}
    if run.returncode not in (0, 1) and not failed:
        # the run itself broke (a crash): name it
        failed = {f"pytest exit status {run.returncode}"}
    return failed, run.stdout[-3000:] + run.stderr[-2000:], time.time() - started


def run_named(selected: list[NamedMutant], scratch: Path, report) -> list[tuple]:
    results = []
    baseline_root = _copy_tree(scratch, "baseline")
    union = sorted({t for named in selected for t in named.tests})
    report(f"named: unpatched run of {len(union)} test selections ...")
    baseline_failed, tail, seconds = run_pytest(baseline_root, union)
    report(f"named: unpatched run took {seconds:.0f} s; failing there: "
           f"{sorted(baseline_failed) or 'none'}")
    if baseline_failed:
        report(tail)
    shutil.rmtree(baseline_root, ignore_errors=True)
    for named in selected:
        root = _copy_tree(scratch, named.name)
        _patch(root, named.patches)
        tests = named.tests
        failed, tail, seconds = run_pytest(root, tests)
        killers = sorted(failed - baseline_failed)
        status = "killed" if killers else "survived"
        results.append((named, status, killers, seconds))
        report(f"{status.upper():9} {named.name} ({seconds:.0f} s): {named.description}")
        for killer in killers:
            report(f"            by {killer}")
        if not killers:
            report(f"            tests run: {tests}")
        shutil.rmtree(root, ignore_errors=True)
    return results


# ---- the command --------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", action="store_true", help="only the rule mutants")
    parser.add_argument("--named", action="store_true", help="only the named mutants")
    parser.add_argument("--only", default="",
                        help="rule mutants whose id contains this text, named mutants whose "
                             "name starts with it (several: comma-separated)")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--verbose", action="store_true", help="print every killed mutant")
    options = parser.parse_args(argv)
    do_rules = options.rules or not options.named
    do_named = options.named or not options.rules
    started = time.time()

    def report(line: str) -> None:
        print(line, flush=True)

    wanted = options.only.split(",")

    def chosen(identifier: str) -> bool:
        return any(part in identifier for part in wanted)
    named = [n for n in NAMED if any(n.name.startswith(part) for part in wanted)] \
        if do_named else []
    scratch = Path(tempfile.mkdtemp(prefix="adjit-mutation-"))
    # terminated, still remove the copies and caches (`finally` below)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    unexplained = 0
    try:
        outcomes = []
        if do_rules:
            import test_rules
            checks = test_rules.all_checks()
            # the unmutated checks, recording what each array rule produces
            os.environ["ADJIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="cache-", dir=scratch)
            forget_generated_code()
            shapes, undo = probe_array_rules()
            try:
                failed = run_checks(checks, stop_at_first=False)
            finally:
                undo()
                forget_generated_code()
            if failed:
                for check_id, error in failed:
                    report(f"unmutated check fails: {check_id}: {error[:300]}")
                return 1
            mutants = [m for m in scalar_mutants() + array_mutants(shapes) if chosen(m.id)]
            report(f"rules: {len(checks)} checks of tests/test_rules.py pass unmutated on "
                   f"target=\"python\" ({time.time() - started:.0f} s); {len(mutants)} mutants")
            if options.list:
                for mutant in mutants:
                    report(mutant.id)
                mutants = []
        if options.list:
            for entry in named:
                report(f"named:{entry.name}: {entry.description} <- {entry.tests}")
            return 0
        if do_rules:
            for mutant in mutants:
                outcome = run_mutant(mutant, checks, scratch)
                outcomes.append(outcome)
                if outcome.status != "killed" or options.verbose:
                    report(f"{outcome.status.upper():11} {mutant.id} ({outcome.seconds:.1f} s)"
                           + (f" by {outcome.by}: {outcome.detail}" if outcome.by else "")
                           + (f": {outcome.detail}" if outcome.status == "equivalent" else ""))
            _summary(outcomes, report)
            unexplained += sum(1 for o in outcomes if o.status == "survived")
        if named:
            results = run_named(named, scratch, report)
            unexplained += sum(1 for _, status, _, _ in results if status == "survived")
            for entry, status, killers, _ in results:
                if status == "killed" and len(killers) < 2:
                    report(f"note: {entry.name} is killed by one test only")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report(f"unexplained survivors: {unexplained}; total time {time.time() - started:.0f} s")
    return 1 if unexplained else 0


def _summary(outcomes: list[Outcome], report) -> None:
    kinds: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        counts = kinds.setdefault(outcome.mutant.kind, {})
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    report("")
    report(f"{'kind':22} {'mutants':>8} {'killed':>7} {'survived':>9} {'equivalent':>11} "
           f"{'not reached':>12}")
    for kind in sorted(kinds):
        counts = kinds[kind]
        report(f"{kind:22} {sum(counts.values()):8} {counts.get('killed', 0):7} "
               f"{counts.get('survived', 0):9} {counts.get('equivalent', 0):11} "
               f"{counts.get('not reached', 0):12}")
    totals = {s: sum(1 for o in outcomes if o.status == s)
              for s in ("killed", "survived", "equivalent", "not reached")}
    report(f"{'all':22} {len(outcomes):8} {totals['killed']:7} {totals['survived']:9} "
           f"{totals['equivalent']:11} {totals['not reached']:12}")
    report("")


if __name__ == "__main__":
    sys.exit(main())
