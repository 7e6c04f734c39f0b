"""The fence: constructs outside the subset are refused before any transformation.

Each fixture in tests/fixtures_refused.py uses one refused construct, on the
line(s) marked ``# REFUSED``.  adjit must raise ``UnsupportedSyntaxError``
(at ``jit.grad`` time or at the first call, both are accepted) whose message
reads like a compiler diagnostic: ``fixtures_refused.py:LINE:COL`` with LINE a
marked line, the construct named, and a ``hint:``.
"""

from __future__ import annotations

import inspect
import re

import pytest

import fixtures_refused as fx

import adjit
from adjit import jit

LOCATION = re.compile(r"fixtures_refused\.py:(\d+):(\d+)")

# (fixture, example arguments, words of which at least one must appear in the
# message, case-insensitively: the construct has to be named).
REFUSED = [
    (fx.uses_with, (1.5,), ("with",)),
    (fx.uses_try, (1.5,), ("try",)),
    (fx.uses_lambda, (1.5,), ("lambda",)),
    (fx.uses_nested_def, (1.5,), ("def", "function")),
    (fx.uses_nested_class, (1.5,), ("class",)),
    (fx.uses_yield, (1.5,), ("yield", "generator")),
    (fx.uses_global, (1.5,), ("global",)),
    (fx.uses_nonlocal, (1.5,), ("nonlocal",)),
    (fx.uses_async, (1.5,), ("async", "coroutine")),
    (fx.uses_varargs, (1.5,), ("*rest", "*args", "variadic", "vararg", "star")),
    (fx.uses_kwargs, (1.5,), ("**options", "**kwargs", "variadic", "kwarg", "keyword")),
    (fx.uses_list_comprehension, (1.5,), ("comprehension",)),
    (fx.uses_generator_expression, (1.5,), ("generator",)),
    (fx.uses_set_comprehension, (1.5,), ("comprehension",)),
    (fx.uses_dict_comprehension, (1.5,), ("comprehension",)),
    (fx.assigns_loop_variable, (1.5, 3), ("loop variable", "loop index", "`i`", "'i'")),
    (fx.calls_unknown_function, (1.5,), ("frexp",)),
    (fx.calls_a_derivative, (1.5,), ("derivative",)),
    (fx.calls_builtin_sum, (1.5,), ("sum",)),
    (fx.uses_list_literal, (1.5,), ("list",)),
    (fx.assigns_attribute, (1.5,), ("attribute", "x.y")),
    (fx.uses_del, (1.5,), ("del",)),
    (fx.uses_import, (1.5,), ("import",)),
    (fx.uses_import_from, (1.5,), ("import",)),
    (fx.iterates_over_reversed, (1.5,), ("range", "for")),
    (fx.uses_while_else, (1.5,), ("else",)),
    (fx.uses_for_else, (1.5, 3), ("else",)),
    # further refusals documented in docs/limitations.md
    (fx.uses_raise, (1.5,), ("SolverError", "built-in exception")),
    (fx.uses_assert, (1.5,), ("assert",)),
    (fx.uses_walrus, (1.5,), (":=", "walrus", "named expression", "assignment expression")),
    (fx.uses_match, (1.5, 1), ("match",)),
    (fx.uses_bitwise_operator, (1.5, 3), ("<<", "shift", "operator")),
    (fx.uses_string_constant, (1.5,), ("str", "constant")),
    (fx.uses_keyword_argument, (1.5,), ("keyword", "ndigits")),
    (fx.uses_max_of_one_iterable, (1.5,), ("max",)),
    (fx.uses_expression_statement, (1.5,), ("expression",)),
    (fx.uses_subscript, (1.5,), ("index", "subscript", "[")),
    (fx.uses_starred_unpacking, (1.5,), ("star", "*rest", "unpack")),
    (fx.uses_keyword_only_parameter, (1.5,), ("keyword",)),
    (fx.uses_nested_loop_variable_reuse, (1.5, 3), ("loop variable", "`i`", "'i'", "reuse")),
    (fx.mixes_bare_return, (1.5,), ("return",)),
]


def marked_lines(fn) -> set[int]:
    """File line numbers of the ``# REFUSED`` markers inside ``fn``'s source."""
    lines, first = inspect.getsourcelines(fn)
    marked = {first + offset for offset, text in enumerate(lines) if "# REFUSED" in text}
    assert marked, f"{fn.__name__} has no # REFUSED marker"
    return marked


def refusal_message(fn, args) -> str:
    with pytest.raises(adjit.UnsupportedSyntaxError) as caught:
        g = jit.grad(fn, wrt=0, target="python")
        g(*args)
    return str(caught.value)


@pytest.mark.parametrize(
    "fn, args, names", [pytest.param(*entry, id=entry[0].__name__) for entry in REFUSED]
)
def test_refused_with_location_and_hint(fn, args, names):
    message = refusal_message(fn, args)
    where = LOCATION.search(message)
    assert where, f"no fixtures_refused.py:LINE:COL location in:\n{message}"
    line = int(where.group(1))
    expected = marked_lines(fn)
    assert line in expected, f"reported line {line}, expected one of {sorted(expected)}:\n{message}"
    assert int(where.group(2)) >= 0
    assert "hint:" in message, message
    assert any(name.lower() in message.lower() for name in names), (
        f"the construct ({' or '.join(names)}) is not named in:\n{message}"
    )


def test_refused_on_cpu_target_too():
    """The fence runs before compiling: the default target refuses the same way."""
    with pytest.raises(adjit.UnsupportedSyntaxError) as caught:
        g = jit.grad(fx.uses_try)
        g(1.5)
    assert "fixtures_refused.py:" in str(caught.value)


def test_refusal_is_an_adjit_error():
    assert issubclass(adjit.UnsupportedSyntaxError, adjit.AdjitError)
    with pytest.raises(adjit.AdjitError):
        g = jit.grad(fx.uses_lambda, target="python")
        g(1.5)


def test_value_and_grad_refuses_too():
    with pytest.raises(adjit.UnsupportedSyntaxError) as caught:
        vg = jit.value_and_grad(fx.uses_with, target="python")
        vg(1.5)
    where = LOCATION.search(str(caught.value))
    assert where and int(where.group(1)) in marked_lines(fx.uses_with)


def test_fixtures_are_valid_python_outside_the_marked_construct():
    """The fixtures themselves run (sanity check of the fixture file)."""
    assert fx.uses_try(4.0) == 2.0
    assert fx.uses_while_else(2.0) == 17.0
    assert fx.calls_unknown_function(1.0) == 0.5
