"""Unit tests per pass: assert on the unparsed output, then execute it."""

import ast
import inspect
import math
from math import sin as sine

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.passes import pipeline
from adjit.passes.front.anf import anf
from adjit.passes.front.desugar import desugar
from adjit.passes.front.fence import fence
from adjit.passes.front.parse import parse_function
from adjit.passes.reverse.recompute import RECORD, RECOMPUTE, LoopPlan
from adjit.passes.front.resolve import resolve
from adjit.passes.reverse.transform import instrument
from adjit.passes.analysis.types import infer_types
from adjit.passes.analysis.activity import active_variables
from adjit.passes.front.verify import check_anf, check_desugared
from adjit.runtime import helpers

from corpus_scalar import CORPUS

SCALE = 3.0


def run_tree(tree: ast.FunctionDef, *args):
    """Execute a (transformed) function tree in the generated-code namespace."""
    namespace = {"math": math, "np": np, "rt": helpers}
    module = ast.fix_missing_locations(ast.Module([tree], []))
    exec(compile(module, "<test>", "exec"), namespace)
    return namespace[tree.name](*args)


def through(fn, last: str):
    parsed = parse_function(fn)
    for name, step in (("fence", fence), ("resolve", resolve),
                       ("desugar", desugar), ("anf", anf)):
        parsed = step(parsed)
        if name == last:
            return parsed


def body_text(parsed) -> str:
    return "\n".join(ast.unparse(s) for s in parsed.tree.body)


# ---- parse --------------------------------------------------------------------

@adjit.differentiable
def decorated(x):
    return x * 2.0


def test_parse_keeps_file_line_numbers_and_drops_decorators():
    parsed = parse_function(decorated.py_func)
    first_line = inspect.getsourcelines(decorated.py_func)[1]
    assert parsed.tree.decorator_list == []
    assert parsed.tree.lineno == first_line + 1       # the `def` after the decorator
    assert parsed.tree.body[0].lineno == first_line + 2
    assert parsed.filename == __file__


# ---- resolve ------------------------------------------------------------------

def uses_aliases_and_globals(x):
    return sine(x) * SCALE + math.pi


def test_resolve_canonicalises_callees_and_inlines_numbers():
    text = body_text(through(uses_aliases_and_globals, "resolve"))
    assert text == f"return math.sin(x) * 3.0 + {math.pi!r}"


def calls_unknown(x):
    return inspect.isclass(x)


def test_resolve_refuses_unknown_callee_with_location():
    with pytest.raises(adjit.UnsupportedSyntaxError) as error:
        through(calls_unknown, "resolve")
    line = inspect.getsourcelines(calls_unknown)[1] + 1
    assert f"test_passes.py:{line}:" in str(error.value)
    assert "inspect.isclass" in str(error.value)


# ---- desugar ------------------------------------------------------------------

def swaps_and_augments(a, b):
    a, b = b, a + b
    a += b
    return a


def test_desugar_spells_out_swaps_and_augmented_assignment():
    parsed = through(swaps_and_augments, "desugar")
    check_desugared(parsed.tree)
    assert body_text(parsed).splitlines() == [
        "_old_a = a", "a = b", "b = _old_a + b", "a = a + b", "return a"]
    assert run_tree(parsed.tree, 1.5, 2.0) == swaps_and_augments(1.5, 2.0)


def jumps(x, n):
    s = 0.0
    for i in range(n):
        if i == 1:
            continue
        if s > 2.0:
            return s * x
        s += x
    return s


def test_desugar_turns_jumps_into_flags_and_guards():
    parsed = through(jumps, "desugar")
    check_desugared(parsed.tree)
    text = ast.unparse(parsed.tree)
    assert "    continue" not in text and "return s * x" not in text
    assert "_returned = True" in text and "if _returned:\n            break" in text
    assert text.rstrip().endswith("return _result")
    for args in ((0.7, 9), (0.1, 9), (1.5, 2)):
        assert run_tree(parsed.tree, *args) == jumps(*args)


# ---- anf ----------------------------------------------------------------------

def nested_expression(x, y):
    z = math.exp(x * y) + (x if x > y else y) ** 2
    return z


def test_anf_one_operation_per_statement():
    parsed = through(nested_expression, "anf")
    check_anf(parsed.tree)
    assert body_text(parsed).splitlines()[:2] == ["_t2 = x * y", "_t1 = math.exp(_t2)"]
    for args in ((0.3, 0.2), (0.1, 0.9)):
        assert run_tree(parsed.tree, *args) == nested_expression(*args)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_anf_of_the_corpus_is_anf_and_computes_the_same(case):
    parsed = through(case.fn, "anf")
    check_anf(parsed.tree)
    assert run_tree(parsed.tree, *case.args) == pytest.approx(case.fn(*case.args), rel=1e-12)


# ---- types and activity -----------------------------------------------------------

def mixed_types(x, n):
    k = n // 2
    y = x * k
    unused = x * 3.0
    flag = y > 1.0
    constant = 2.0 * n
    return y + constant


def test_types_and_activity():
    parsed = through(mixed_types, "anf")
    types = infer_types(parsed, {"x": "float", "n": "int"})
    assert types["k"] == "int" and types["y"] == "float" and types["flag"] == "bool"
    active = active_variables(parsed.tree, types, ["x"], parsed.tree.body[-1].value.id)
    assert "y" in active and "x" in active
    assert "unused" not in active      # varied but not useful
    assert "constant" not in active    # useful but not varied
    assert "k" not in active           # an int


# ---- recompute and tbr --------------------------------------------------------------

def independent_iterations(x, n):
    total = 0.0
    for i in range(n):
        d = x * i
        total += math.exp(-d * d)
    return total


def carried(x, n):
    for i in range(n):
        x = math.sin(x) * 1.1
    return x


def plan_of(fn, types):
    parsed = through(fn, "anf")
    all_types = infer_types(parsed, types)
    counters = instrument(parsed.tree, parsed.namer)
    active = active_variables(parsed.tree, all_types, ["x"], parsed.tree.body[-1].value.id)
    loop = next(s for s in parsed.tree.body if isinstance(s, ast.For))
    return LoopPlan(parsed.tree, active, counters), loop


def test_independent_iterations_are_recomputed_carried_values_recorded():
    plan, loop = plan_of(independent_iterations, {"x": "float", "n": "int"})
    assert plan.mode_of(loop) == RECOMPUTE
    assert plan.needs[id(loop)] == {"n", "x"}
    plan, loop = plan_of(carried, {"x": "float", "n": "int"})
    assert plan.mode_of(loop) == RECORD


def test_recomputed_loop_and_accumulator_use_no_tape():
    g = jit.grad(independent_iterations, target="python")
    text = adjit.source(g, 0.3, 5)
    assert "_tape" not in text
    assert "for i in range(n - 1, -1, -1):" in text


def test_carried_value_is_pushed_once_per_iteration():
    text = adjit.source(jit.grad(carried, target="python"), 0.3, 5)
    assert text.count("_tape_f[_top_f] = ") == 1
    assert text.count("= _tape_f[_top_f]") == 1


# ---- reverse, optimize, render ----------------------------------------------------

def chain(a, b, c):
    return a * (b + c)


def test_reverse_of_the_chain_rule_reads_like_hand_written_code():
    text = adjit.source(jit.grad(chain, wrt=(0, 1, 2), target="python"), 2.2, -1.8, 0.1)
    line = inspect.getsourcelines(chain)[1] + 1
    assert text.splitlines() == [
        "def chain_grad(a, b, c):",
        f"    # from line {line}: return a * (b + c)",
        "    _t1 = b + c",
        "    # reverse sweep: adjoints in reverse order",
        f"    # from line {line}: return a * (b + c)",
        "    _b_a = _t1",
        "    _b_b = a",
        "    _b_c = a",
        "    return (_b_a, _b_b, _b_c)",
    ]
    # value_and_grad keeps the primal value
    text = adjit.source(jit.value_and_grad(chain, wrt=(0, 1, 2), target="python"),
                        2.2, -1.8, 0.1)
    assert "    _result = a * _t1" in text
    assert text.rstrip().endswith("return (_result, _b_a, _b_b, _b_c)")


def test_dump_prints_the_named_passes(monkeypatch, capsys):
    monkeypatch.setenv("ADJIT_DUMP", "anf,optimize")
    pipeline.reverse_mode(chain, {"a": "float", "b": "float", "c": "float"}, ["a"])
    err = capsys.readouterr().err
    assert "after anf" in err and "after optimize" in err and "after desugar" not in err


# ---- regressions -------------------------------------------------------------------

def overwritten_in_recomputed_body(w, n):
    total = 0.0
    for i in range(n):
        y = math.sin(i * 0.3)
        z = y * w          # its adjoint reads the first y...
        y = math.cos(i * 0.7)   # ...which this overwrites
        total += z + y * w
    return total


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_value_read_by_an_adjoint_is_kept_in_a_recomputed_loop(target):
    """The recomputation of a loop body need not run `z = y * w` (nothing
    reads z), but the adjoint of that statement reads the first y: when the
    slice dropped such statements, the tape never saw the need."""
    assert adjit.gradcheck(overwritten_in_recomputed_body, (0.8, 7), wrt=0, target=target)
    text = adjit.source(jit.grad(overwritten_in_recomputed_body, target="python"), 0.8, 7)
    assert "for i in range(n - 1, -1, -1):" in text and "_tape_f[_top_f] = y" in text



def test_summed_increments_never_move_past_a_write_of_what_they_read():
    """`_b_a[i] += _b_t[j]` must not be summed into a later increment once
    `_b_t[j]` has been overwritten in between (that gave a wrong gradient);
    increments with nothing in between are summed."""
    from adjit.passes.optimize.increments import coalesce_block
    code = ast.parse("_b_a[i] += _b_t[j]\n_b_t[j] = 0.0\n_b_a[i] += 1.0\n"
                     "_b_a[k] += 2.0\n_b_a[k] += _b_s\n").body
    merged = ast.unparse(ast.Module(coalesce_block(code, {"_b_a", "_b_t"}, set()), []))
    assert merged.splitlines() == ["_b_a[i] += _b_t[j]", "_b_t[j] = 0.0", "_b_a[i] += 1.0",
                                   "_b_a[k] += 2.0 + _b_s"]
