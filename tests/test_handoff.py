"""`passes/optimize/block_pops.py` and `passes/optimize/handoff.py`: a reversed loop's
restoring pops done in one block copy, and an adjoint array that only
carries elements from one loop to the next replaced by a local of the two
loops fused.

Each rule is checked on hand-written reverse-sweep code (the near misses
are loops where the rewrite would change what is read, or might); the
derivatives of programs that take the rewrites, and of near misses, are
checked against finite differences and forward mode on target="python",
some on target="cpu", with the generated source checked to hold (or not)
the rewrite, so that a test cannot pass with the rewrite silently gone.
"""

from __future__ import annotations

import ast
import math
import textwrap

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.passes.optimize.block_pops import pop_in_blocks
from adjit.passes.optimize.handoff import hand_over_in_registers
from adjit.passes.ir.naming import Namer
from tests.test_vectorise import check_named_program


def _function(code: str) -> ast.FunctionDef:
    return ast.parse(textwrap.dedent(code)).body[0]


def _blocks(code: str, ranks: dict[str, int]) -> str:
    function = _function(code)
    pop_in_blocks(function, ranks, Namer(function))
    return ast.unparse(function)


# ---- block_pops on hand-written code -------------------------------------------------

POPS = '''
    def g(x, n, m, u, w, view, _tape_f, _top_f, _tape_i, _top_i):
        _b_u = np.zeros_like(x)
        _b_v = np.zeros_like(x)
        for step in range(m):
            for i in range({bounds}):
                _b_t1 = _b_u[i]
                _b_u[i] = 0.0
                _top_f -= 1
                {restore} = _tape_f[_top_f]
                _b_v[i] += _b_t1{extra}
        return _b_v, u, w, _top_f
'''


def _run(code: str, *args):
    namespace = {"np": np}
    exec(code, namespace)
    copies = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    return namespace["g"](*copies)


def _pop_arguments(m=2, n=6):
    rng = np.random.default_rng(5)
    return (rng.standard_normal(n), n, m, rng.standard_normal(n), rng.standard_normal((n, n)),
            rng.standard_normal(n), rng.standard_normal(m * n + 4), m * n + 2,
            np.arange(m * n + 4, dtype=np.float64), m * n)


def _same(before, after):
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)


def _pops(bounds="n - 2, 0, -1", restore="u[i]", extra=""):
    return POPS.format(bounds=bounds, restore=restore, extra=extra)


RANKS = {"x": 1, "u": 1, "_b_u": 1, "_b_v": 1, "w": 2, "view": 1}


def test_the_pops_of_a_loop_become_one_block_copy():
    code = _blocks(_pops(), RANKS)
    for arguments in (_pop_arguments(), _pop_arguments(n=1), _pop_arguments(m=0)):
        _same(_run(textwrap.dedent(_pops()), *arguments), _run(code, *arguments))
    assert "_count1 = max(n - 2, 0)" in code
    assert "_top_f -= _count1" in code
    assert "for _k1 in range(_count1):" in code
    assert "u[1 + _k1] = _tape_f[_top_f + _k1]" in code
    assert "_top_f -= 1" not in code


def test_a_range_from_zero_of_a_shape_needs_no_max():
    code = _blocks(_pops("x.shape[0] - 1, -1, -1"), RANKS)
    assert "_count1 = x.shape[0]" in code
    assert "u[_k1] = _tape_f[_top_f + _k1]" in code


def test_a_row_fixed_in_the_loop_is_kept_in_the_copy():
    code = _blocks(_pops(restore="w[step, i]"), RANKS)
    _same(_run(textwrap.dedent(_pops(restore="w[step, i]")), *_pop_arguments()),
          _run(code, *_pop_arguments()))
    assert "w[step, 1 + _k1] = _tape_f[_top_f + _k1]" in code


@pytest.mark.parametrize("code", [
    _pops("n - 1, -3, -1"),                       # i = -2, -1 wrap around: no slice
    _pops("n - 1, m - 1, -1"),                    # a start that may be negative
    _pops(extra="\n                _b_v[i] += u[i]"),          # reads what is restored
    _pops(extra="\n                _b_v[i] += x[i]"),          # x might be a view of u
    _pops(extra="\n                _top_i -= 1\n                _b_v[i] = _tape_i[_top_i]"),
    _pops(extra="\n                _top_f -= 1\n                view[i] = _tape_f[_top_f]"),
    _pops(restore="w[i, step]"),                  # the loop index is not the last index
    _pops(restore="w[i, i]"),
    _pops(bounds="n - 2, 0, -2"),                 # not one element per iteration
    _pops(restore="w[i]"),                        # a row, not an element
])
def test_near_misses_keep_their_pops(code):
    assert "_top_f -= 1" in _blocks(code, RANKS)


def test_an_index_read_after_the_loop_keeps_its_pops():
    code = _pops().replace("        return _b_v", "            _b_v[0] += i\n        return _b_v")
    assert "_top_f -= 1" in _blocks(code, RANKS)


# ---- handoff on hand-written code -------------------------------------------------------

HANDOFF = '''
    def g(x, u, n, m, dt):
        _t2 = n - 1
        _t20 = n - 1
        _b_u = np.zeros_like(x)
        _b_v = {allocation}
        _b_s = np.zeros_like(x)
        for step in range(m):
            for i in range(1, _t20):
                _b_t21 = _b_u[i]
                _b_u[i] = 0.0
                {increment}
            for i in range({second}):
                _t6 = dt * u[i + 1]{before}
                _b_t3 = _b_v[i]
                _b_v[i] = 0.0
                _b_s[{shared}] += _b_t3 * _t6
                _b_u[i] += _b_t3 * dt
        return _b_u, _b_s{after}
'''


def _handoff(allocation="np.zeros_like(x)", increment="_b_v[i] += _b_t21", second="1, _t2",
             before="", shared="i", after=""):
    return HANDOFF.format(allocation=allocation, increment=increment, second=second,
                          before=before, shared=shared, after=after)


def _handed_over(code: str) -> str:
    function = _function(code)
    hand_over_in_registers(function, {"x": 1, "u": 1, "_b_u": 1, "_b_v": 1, "_b_s": 1})
    return ast.unparse(function)


def _agrees(code: str, handed: str):
    rng = np.random.default_rng(2)
    for n, m in ((7, 3), (2, 2), (1, 1)):
        arguments = (rng.standard_normal(n), rng.standard_normal(n + 1), n, m, 0.3)
        _same(_run(textwrap.dedent(code), *arguments), _run(handed, *arguments))


def _loop_count(code: str) -> int:
    return sum(isinstance(node, ast.For) for node in ast.walk(ast.parse(code)))


def test_a_carried_array_is_gone_and_the_loops_are_one():
    code = _handed_over(_handoff())
    _agrees(_handoff(), code)
    assert "_b_v" not in code
    assert _loop_count(code) == 2                       # the step loop and the fused one
    assert "_b_s[i] += _b_t21 * _t6" in code and "_b_u[i] += _b_t21 * dt" in code


def test_an_increment_by_an_expression_is_bound_to_the_name_read():
    code = _handed_over(_handoff(increment="_b_v[i] -= _b_t21 * 0.5"))
    assert "_b_t3 = -(_b_t21 * 0.5)" in code and "_b_v" not in code
    _agrees(_handoff(increment="_b_v[i] -= _b_t21 * 0.5"), code)


def test_several_increments_are_summed_in_the_name_read():
    original = _handoff(increment="_b_v[i] += _b_t21\n                _b_v[i] += 2.0 * _b_t21")
    code = _handed_over(original)
    assert "_b_t3 = _b_t21" in code and "_b_t3 += 2.0 * _b_t21" in code
    _agrees(original, code)


def test_a_value_carried_from_the_previous_iteration_is_not_renamed():
    original = _handoff(increment="_b_v[i] += _b_t21").replace(
        "                _b_t21 = _b_u[i]\n                _b_u[i] = 0.0\n"
        "                _b_v[i] += _b_t21\n",
        "                _b_v[i] += _b_t21\n                _b_t21 = _b_u[i]\n"
        "                _b_u[i] = 0.0\n").replace("_b_u = np.zeros_like(x)",
                                                   "_b_u = np.zeros_like(x)\n        _b_t21 = 0.5")
    code = _handed_over(original)
    assert "_b_v" not in code and "_b_t3 = _b_t21" in code
    _agrees(original, code)


@pytest.mark.parametrize("code", [
    _handoff(allocation="np.empty_like(x)"),        # elements not known to start at 0
    _handoff(second="2, _t2"),                       # other indices
    _handoff(second="0, _t2"),                       # other indices
    _handoff(after=", _b_v"),                        # the array is read elsewhere
    _handoff(before="\n                _t7 = _b_t3"),  # the name is read before the take
    _handoff(increment="_b_v[i] += _b_t21\n                _b_s[i] += _b_t21",
             shared="i + 1"),                        # touches another iteration's element
    _handoff(increment="_b_v[i] += _b_t21\n                _b_s[i] += _b_v[i]"),
    _handoff(increment="_b_v[i] += _b_t21\n                _t6 = 1.0"),  # a name both bind
])
def test_near_misses_keep_both_loops(code):
    assert "_b_v" in _handed_over(code)


def test_a_rebound_parameter_in_the_bounds_keeps_both_loops():
    code = _handoff().replace("        _t20 = n - 1\n", "        n = n + 1\n        _t20 = n - 1\n")
    assert "_b_v" in _handed_over(code)


def test_bounds_reading_the_loop_index_keep_both_loops():
    code = _handoff().replace("range(1, _t20)", "range(1, i)").replace(
        "range(1, _t2)", "range(1, i)").replace("        _b_u = np.zeros_like(x)\n",
                                                 "        _b_u = np.zeros_like(x)\n        i = 3\n")
    assert "_b_v" in _handed_over(code)


def test_a_range_that_may_start_below_zero_keeps_both_loops():
    code = _handoff().replace("range(1, _t20)", "range(m - 3, _t20)") \
        .replace("range(1, _t2)", "range(m - 3, _t2)")
    assert "_b_v" in _handed_over(code)


def test_a_take_without_its_zeroing_keeps_both_loops():
    code = _handoff().replace("                _b_v[i] = 0.0\n", "")
    assert "_b_v" in _handed_over(code)


# ---- programs ----------------------------------------------------------------------------

def two_buffers(u0, dt, steps):
    """The heat stencil's shape: a step into v, then v copied back into u."""
    n = u0.shape[0]
    u = np.copy(u0)
    v = np.zeros(n)
    for step in range(steps):
        for i in range(1, n - 1):
            v[i] = u[i] + dt * (u[i - 1] - 2.0 * u[i] + u[i + 1]) * math.cos(u[i])
        for i in range(1, n - 1):
            u[i] = v[i]
    total = 0.0
    for i in range(n):
        total += u[i] * u[i] * u[i]
    return total


def damped_copy(u0, dt, steps):
    """The copy back scales: the carried value is an expression."""
    n = u0.shape[0]
    u = np.copy(u0)
    v = np.zeros(n)
    for step in range(steps):
        for i in range(n - 1):
            v[i] = u[i] + dt * u[i + 1] * u[i]
        for i in range(n - 1):
            u[i] = 0.9 * v[i]
    total = 0.0
    for i in range(n):
        total += math.sin(u[i]) * (i + 1)
    return total


def rows(U0, dt, steps):
    """A 2-D state stepped row by row: the pops restore U[k, i]."""
    K, n = U0.shape
    U = np.copy(U0)
    v = np.zeros(n)
    for step in range(steps):
        for k in range(K):
            for i in range(1, n - 1):
                v[i] = U[k, i] + dt * U[k, i - 1] * U[k, i + 1]
            for i in range(1, n - 1):
                U[k, i] = v[i]
    total = 0.0
    for k in range(K):
        for i in range(n):
            total += U[k, i] * U[k, i]
    return total


def shifted_start(u0, dt, start):
    """A range that starts at a parameter (possibly negative, wrapping
    around): neither rewrite may apply."""
    n = u0.shape[0]
    u = np.copy(u0)
    v = np.zeros(n)
    for step in range(3):
        for i in range(start, n - 1):
            v[i] = u[i] + dt * u[i + 1] * u[i]
        for i in range(start, n - 1):
            u[i] = v[i]
    return np.sum(u * u)


PROGRAMS = {
    "two_buffers": (two_buffers, lambda rng: (rng.uniform(-1, 1, 9), 0.2, 4), (0, 1)),
    "damped_copy": (damped_copy, lambda rng: (rng.uniform(-1, 1, 7), 0.3, 3), (0, 1)),
    "rows": (rows, lambda rng: (rng.uniform(-1, 1, (3, 6)), 0.2, 2), (0, 1)),
    "shifted_start": (shifted_start, lambda rng: (rng.uniform(-1, 1, 8), 0.3, -2), (0, 1)),
}
COMPILED = ("two_buffers", "rows", "shifted_start")


def _gradient_source(name, args):
    function, _, wrt = PROGRAMS[name]
    return adjit.source(jit.grad(function, wrt=wrt, target="python"), *args)


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_gradient_matches_finite_differences_and_forward_mode(name, target):
    if target == "cpu" and name not in COMPILED:
        pytest.skip("compiled on a representative slice (CI budget)")
    check_named_program(PROGRAMS, name, target)


@pytest.mark.parametrize("name", ["two_buffers", "damped_copy", "rows"])
def test_the_programs_take_both_rewrites(name):
    _, make, _ = PROGRAMS[name]
    source = _gradient_source(name, make(np.random.default_rng(0)))
    reverse_sweep = source[source.index("# reverse sweep"):]
    assert "] = _tape_f[_top_f + _k" in reverse_sweep
    assert "_b_v" not in reverse_sweep


def test_a_start_that_may_be_negative_takes_neither():
    _, make, _ = PROGRAMS["shifted_start"]
    source = _gradient_source("shifted_start", make(np.random.default_rng(0)))
    reverse_sweep = source[source.index("# reverse sweep"):]
    assert "_count" not in reverse_sweep and "_b_v[i]" in reverse_sweep


@pytest.mark.parametrize("name", ["rows", "damped_copy"])
def test_second_order_through_the_block_copies(name):
    """`jit.hvp` differentiates a gradient whose pops are slice copies and
    whose loops were fused."""
    from tests.test_vectorise import check_hvp_against_gradient_differences
    function, make, _ = PROGRAMS[name]
    rng = np.random.default_rng(4)
    args = make(rng)
    check_hvp_against_gradient_differences(function, args, 0,
                                           rng.standard_normal(np.shape(args[0])))

