"""`passes/optimize/ascending.py`: reversed loops whose iterations are independent
run upwards; every other loop keeps its order.

The pass is checked on hand-written reverse-sweep code, one loop per rule
(each near miss is a loop whose order matters, or might), and on the
generated gradients of the heat stencil and GMM's triangle; the derivatives
themselves are checked against finite differences by the whole corpus,
which runs through this pass.
"""

from __future__ import annotations

import ast
import textwrap

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.passes.optimize.ascending import ascend_independent_loops
from bench.workloads.heat import heat

CODE = textwrap.dedent('''
    def g(x, n, d, _t15):
        _b_a = np.zeros_like(x)
        view = _b_a[0]
        _b_c = np.zeros_like(x)
        _b_e = np.zeros_like(x)
        for k in range(3):
            for j in range(n - 1, -1, -1):
                _t1 = x[k, j]
                _b_e[k, j] = _t1 * 2.0
            for j in range(n - 1, -1, -1):
                _b_a[k, j] += x[k, j]
            for j in range(n - 1, 0, -1):
                _b_c[k, j] = _t2
                _t2 = x[k, j]
            for j in range(n - 1, 0, -1):
                _b_c[k, j] = _b_c[k, j - 1] * 2.0
            for j in range(d - 1, _t15 - 1, -1):
                _t3 = j + 1
                _b_c[k, _t3] += x[k, j]
                _b_e[k, j] += x[k, j] * 2.0
            for j in range(d - 1, _t15 - 1, -1):
                _t3 = j + 1
                _b_c[k, _t3] += x[k, j]
                _b_e[k, j] += _b_c[k, j]
            for j in range(n - 1, -1, -1):
                s = x[k, j]
                _b_c[k, j] = s
            for j in range(n - 1, -1, -1):
                _top_f -= 1
                _b_c[k, j] = _tape_f[_top_f]
            for j in range(n - 1, -1, -1):
                _b_t4 = x[k, j]
                _b_top -= _b_t4
            for j in range(n - 1, -1, -1):
                _b_top -= x[k, j]
                _b_c[k, j] = _b_top
            for j in range(4, 0, -1):
                _b_e[k, j] = x[k, j]
            for j in range(n - 1, -3, -1):
                _b_e[k, j] = x[k, j] * j
        return _b_c
''')
# what each loop of `CODE` becomes, in order
EXPECTED = [
    "range(n)",                  # own elements: ascends
    "range(n - 1, -1, -1)",      # writes _b_a, which `view` aliases
    "range(n - 1, 0, -1)",       # _t2 is read before this iteration binds it
    "range(n - 1, 0, -1)",       # reads the element the previous iteration wrote
    "range(_t15, d)",            # only increments (at j + 1, at j)
    "range(d - 1, _t15 - 1, -1)",  # reads at j what the previous iteration added at j + 1
    "range(n - 1, -1, -1)",      # assigns a user's name
    "range(n - 1, -1, -1)",      # a tape pop
    "range(n)",                  # a sum nothing else reads
    "range(n - 1, -1, -1)",      # a sum the body reads
    "range(1, 5)",
    "range(n - 1, -3, -1)",      # j = -2, -1 wrap onto the last elements
]


def _inner_loops(function):
    outer = function.body[-2]
    return [ast.unparse(node.iter) for node in outer.body]


def test_each_rule_on_hand_written_reverse_sweep_code():
    function = ast.parse(CODE).body[0]
    assert _inner_loops(function)[0] == "range(n - 1, -1, -1)"
    ascend_independent_loops(function, {"x": 2, "_b_a": 2, "_b_c": 2, "_b_e": 2})
    assert _inner_loops(function) == EXPECTED


def test_a_loop_that_runs_once_keeps_its_order():
    function = ast.parse(textwrap.dedent('''
        def g(x, n):
            _b_e = np.zeros_like(x)
            for j in range(n - 1, -1, -1):
                _b_e[j] = x[j]
            return _b_e
    ''')).body[0]
    ascend_independent_loops(function, {"x": 1, "_b_e": 1})
    assert ast.unparse(function.body[1].iter) == "range(n - 1, -1, -1)"


def test_an_index_read_after_the_loop_keeps_its_order():
    function = ast.parse(textwrap.dedent('''
        def g(x, n):
            _b_e = np.zeros_like(x)
            for k in range(2):
                for j in range(n - 1, -1, -1):
                    _b_e[j] = x[j]
                _b_e[0] += j
            return _b_e
    ''')).body[0]
    ascend_independent_loops(function, {"x": 1, "_b_e": 1})
    assert ast.unparse(function.body[1].body[0].iter) == "range(n - 1, -1, -1)"


def _gradient_source(function, args, wrt):
    return adjit.source(jit.grad(function, wrt=wrt, target="python"), *args)


def test_the_heat_stencil_adjoint_runs_up():
    rng = np.random.default_rng(3)
    source = _gradient_source(heat, (rng.uniform(-1, 1, 12), 0.2, 5), (0, 1))
    reverse_sweep = source[source.index("# reverse sweep"):]
    # the copy back into u, its pops taken out in one block (`block_pops`),
    # runs up, fused with the stencil's adjoint (`handoff`)
    assert "for i in range(1, _t20):" in reverse_sweep
    # and so do the shifted increments
    assert reverse_sweep.count("for i in range(1, _t2):") == 2
    assert ", 0, -1)" not in reverse_sweep


def test_gmm_triangle_stepped_loop_keeps_its_order():
    from tests.test_vectorise import PROGRAMS
    function, make, wrt = PROGRAMS["triangle"]
    source = _gradient_source(function, make(np.random.default_rng(0)), wrt)
    reverse_sweep = source[source.index("# reverse sweep"):]
    # the inner loop steps `index`: the nest is walked in the primal's order
    # from where the primal starts `index` (`counting`), never upwards from
    # the value `index` was left at (the reset once went missing for a nest
    # at the top level of the reverse sweep)
    assert "index = d\n    for i in range(d):" in reverse_sweep


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_ascending_loops_agree_with_finite_differences(target):
    """GMM's shape, where the pass turns most reversed loops around."""
    from tests.test_snapshot import PROGRAMS
    from tests.test_vectorise import check_gradient_along
    function, make, wrt = PROGRAMS["mixture"]
    rng = np.random.default_rng(11)
    args = make(rng)
    source = _gradient_source(function, args, wrt)
    reverse_sweep = source[source.index("# reverse sweep"):]
    assert "for j in range(d):" in reverse_sweep
    directions = [rng.standard_normal(np.shape(args[p])) for p in wrt]
    check_gradient_along(function, args, wrt, directions, target)
