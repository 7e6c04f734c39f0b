"""`passes/optimize/counting.py`: a reversed nest that steps an int counter back
down runs in the primal's order, from the value the primal starts it at.

Each rule is checked on hand-written reverse-sweep code (a packed
triangle, as in GMM), run before and after the rewrite and compared; the
near misses are nests whose order matters, or might. Gradients of
programs that take the rewrite are checked against finite differences
and forward mode on target="python" and "cpu", with their source checked
to hold it.
"""

from __future__ import annotations

import ast
import math
import textwrap

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.passes.optimize.counting import count_upwards
from tests.test_vectorise import check_hvp_against_gradient_differences, check_named_program

NEST = '''
    def g(x, icf, bq, d, m):
        _b_icf = np.zeros_like(icf)
        _b_x = np.zeros_like(x)
        total = 0.0
        for ik in range(m - 1, -1, -1):
            index = {end}
            for i in range(d - 1, -1, -1):
                _t15 = i + 1
                _b_x_i = 0.0
                for j in range(d - 1, _t15 - 1, -1):
                    _t19 = icf[ik, index - 1]
                    _t20 = x[i]{inner}
                    index = index - 1
                    _b_t16 = bq[j]
                    _b_x_i += _b_t16 * _t19
                    _b_icf[ik, index] += _b_t16 * _t20
                if d - 1 > _t15 - 1:
                    _b_x[i] += _b_x_i{outer}
            total += {after}
        return _b_icf, _b_x, total
'''


def _nest(end="d + d * (d - 1) // 2 + ik", inner="", outer="", after="0.0"):
    return textwrap.dedent(NEST.format(end=end, inner=inner, outer=outer, after=after))


RANKS = {"x": 1, "icf": 2, "bq": 1, "_b_icf": 2, "_b_x": 1}


def _counted(code: str, start: str = "d + ik", ints=("index",)) -> str:
    function = ast.parse(code).body[0]
    nest = function.body[3].body[1]
    nest.counter_starts = {"index": ast.parse(start, mode="eval").body}
    count_upwards(function, RANKS, set(ints))
    return ast.unparse(function)


def _run(code: str, d=4, m=3):
    rng = np.random.default_rng(d)
    namespace = {"np": np}
    exec(code, namespace)
    pairs = d * (d - 1) // 2
    return namespace["g"](rng.standard_normal(d), rng.standard_normal((m, d + pairs + m)),
                          rng.standard_normal(d), d, m)


def _agrees(before: str, after: str):
    for d in (4, 1, 0):
        for old, new in zip(_run(before, d), _run(after, d)):
            np.testing.assert_allclose(new, old, rtol=1e-14, atol=1e-15)


def test_the_nest_walks_up_from_the_primal_start():
    code = _counted(_nest())
    assert "for i in range(d):" in code and "for j in range(_t15, d):" in code
    assert "_t19 = icf[ik, index]" in code
    assert "index = index + 1" in code and "index = index - 1" not in code
    # the restore before it is dead, and nothing after reads `index`
    assert code.count("index = d + ik") == 1
    assert "d * (d - 1)" not in code
    _agrees(_nest(), code)


def test_a_counter_read_after_the_nest_is_restarted_after_it():
    original = _nest(after="0.01 * index")
    code = _counted(original)
    assert code.count("index = d + ik") == 2
    _agrees(original, code)


def test_a_read_of_the_counter_before_its_step_sees_one_more():
    original = _nest(inner="\n                    _b_x[i] += 0.0 * index")
    code = _counted(original)
    assert "_b_x[i] += 0.0 * (index + 1)" in code
    _agrees(original, code)


@pytest.mark.parametrize("code, start, ints", [
    (_nest(), "s", ("index",)),                             # a name bound in the loop
    (_nest(), "d + j", ("index",)),                         # not an enclosing index
    (_nest(), "d + ik", ()),                                # not an int
    (_nest(outer="\n                _t30 = index"), "d + ik", ("index",)),  # read outside
    (_nest(inner="\n                    _t31 = _b_x[i]"), "d + ik", ("index",)),  # written, read
    (_nest(inner="\n                    _t32 = _b_x_i"), "d + ik", ("index",)),  # a sum read
    (_nest(outer="\n                _b_x[i] += _b_t16"), "d + ik", ("index",)),  # last value
    (_nest(inner="\n                    s = _t20"), "d + ik", ("index",)),  # a user's name
    (_nest(inner="\n                    index = index - 1"), "d + ik", ("index",)),  # two steps
    (_nest().replace("index = index - 1", "index = index - 2"), "d + ik", ("index",)),
    (_nest().replace("_b_icf[ik, index] += _b_t16 * _t20",
                     "_b_icf[ik, index] = _b_t16 * _t20"), "d + ik", ("index",)),  # a store
    (_nest(after="i"), "d + ik", ("index",)),               # the index read after
])
def test_near_misses_keep_their_order(code, start, ints):
    assert "for i in range(d - 1, -1, -1):" in _counted(code, start, ints)


# ---- programs ---------------------------------------------------------------------------

def packed(x, means, L):
    """GMM's triangle with a packed lower triangle per component, `index`
    started at a shape: the reversed triangle walks up from it."""
    n, d = x.shape
    k = means.shape[0]
    xc = np.empty(d)
    q = np.empty(d)
    total = 0.0
    for ix in range(n):
        for ik in range(k):
            for j in range(d):
                xc[j] = x[ix, j] - means[ik, j]
            for j in range(d):
                q[j] = xc[j]
            index = d
            for i in range(d):
                for j in range(i + 1, d):
                    q[j] = q[j] + L[ik, index] * xc[i]
                    index += 1
            s = 0.0
            for j in range(d):
                s += q[j] * q[j]
            total += math.exp(-0.5 * s)
    return total


def packed_with_offsets(x, L, offsets):
    """The counter starts at an element of an int argument, per row."""
    n, d = x.shape
    total = 0.0
    q = np.empty(d)
    for r in range(n):
        for j in range(d):
            q[j] = x[r, j]
        index = offsets[r]
        for i in range(d):
            for j in range(i + 1, d):
                q[j] = q[j] + L[index] * x[r, i]
                index += 1
        for j in range(d):
            total += math.sin(q[j])
    return total


PROGRAMS = {
    "packed": (packed, lambda rng: (rng.normal(size=(3, 4)), rng.normal(size=(2, 4)),
                                    0.3 * rng.normal(size=(2, 4 + 6))), (0, 1, 2)),
    "packed_with_offsets": (packed_with_offsets,
                            lambda rng: (rng.normal(size=(3, 4)), 0.3 * rng.normal(size=20),
                                         np.array([0, 7, 14])), (0, 1)),
}


def _source(name, args):
    function, _, wrt = PROGRAMS[name]
    return adjit.source(jit.grad(function, wrt=wrt, target="python"), *args)


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_gradient_matches_finite_differences_and_forward_mode(name, target):
    args = check_named_program(PROGRAMS, name, target)
    reverse_sweep = _source(name, args)
    reverse_sweep = reverse_sweep[reverse_sweep.index("# reverse sweep"):]
    assert "index = index + 1" in reverse_sweep and "index = index - 1" not in reverse_sweep


def test_second_order_through_the_upward_walk():
    function, make, _ = PROGRAMS["packed"]
    rng = np.random.default_rng(8)
    args = make(rng)
    check_hvp_against_gradient_differences(function, args, 2,
                                           rng.standard_normal(np.shape(args[2])))
