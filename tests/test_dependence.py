"""The dependence analysis (`adjit/passes/analysis/dependence.py`): may an
element write run after an element read and store into the element it
read? Each fact on a small hand-written loop, with the near misses that
must answer "yes"; then what the reverse sweep makes of the answers (a
recurrence recorded on no tape, its near misses recorded)."""

import ast
import math
import textwrap

import numpy as np
import pytest

import adjit
from adjit import jit
from adjit.passes.analysis.dependence import Accesses
from numba import prange

from corpus_arrays import exponential_smoothing


def overwrites(code: str, parameters=("x", "n", "s", "r", "c")) -> bool:
    """Does the write marked `# W` overwrite what the read marked `# R`
    read? (The first access of the marked array on each line.)"""
    code = textwrap.dedent(code)
    tree = ast.parse(code)
    lines = code.splitlines()
    marked = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            text = lines[node.lineno - 1]
            if text.rstrip().endswith("# R"):
                marked["read"] = node
            elif text.rstrip().endswith("# W"):
                marked["write"] = node
    accesses = Accesses(tree.body, parameters)
    write = accesses.write_access(marked["write"])
    reads = [a for a in accesses.read_accesses(marked["read"]) if a.array == write.array]
    return any(accesses.overwrites(read, write) for read in reads)


NO = {
    "an index assigned before the loop and once in it, before the accesses": """
        k = 0
        for i in range(n):
            k = i + 1
            t = s[i]  # R
            s[k] = t  # W
        """,
    "recurrence reads the element before": """
        for i in range(1, n):
            t = s[i - 1]  # R
            s[i] = t * c  # W
        """,
    "through an index temporary": """
        for i in range(1, n):
            k = i - 1
            t = s[k]  # R
            s[i] = t * c  # W
        """,
    "descending loop reads the element after": """
        for i in range(n - 2, -1, -1):
            t = s[i + 1]  # R
            s[i] = t * c  # W
        """,
    "grid: the row above and the element to the left": """
        for i in range(1, n):
            for j in range(1, n):
                t = r[i - 1, j + 1] + r[i, j - 1]  # R
                r[i, j] = t  # W
        """,
    "two fixed elements": """
        for i in range(n):
            t = s[0]  # R
            s[1] = t  # W
        """,
    "written before the read, in the same iteration": """
        for i in range(n):
            s[i] = x[i]  # W
            t = s[i]  # R
        """,
    "written only before the loop that reads": """
        s[0] = c  # W
        for i in range(n):
            t = s[0]  # R
        """,
    "only the shape measured": """
        t = np.zeros_like(s)  # R
        for i in range(n):
            s[i] = c  # W
        """,
    "a name fixed through the call, two offsets": """
        m = n - 1
        for i in range(n):
            t = s[m]  # R
            s[m - 1] = t  # W
        """,
}

YES = {
    "reads ahead": """
        for i in range(n - 1):
            t = s[i + 1]  # R
            s[i] = t * c  # W
        """,
    "reads, then writes the same element": """
        for i in range(n):
            t = s[i]  # R
            s[i] = t * c  # W
        """,
    "a time loop around the recurrence": """
        for step in range(n):
            for i in range(1, n):
                t = s[i - 1]  # R
                s[i] = t * c  # W
        """,
    "written again after the loop": """
        for i in range(1, n):
            t = s[i - 1]  # R
        s[0] = c  # W
        """,
    "descending loop reads the element before": """
        for i in range(n - 1, 0, -1):
            t = s[i - 1]  # R
            s[i] = t  # W
        """,
    "an index set in a branch may be stale": """
        for i in range(n):
            if c > 0:
                k = i + 1
            t = s[i]  # R
            s[k] = t  # W
        """,
    "an index assigned in the loop after the read, and before it": """
        k = 0
        for i in range(n):
            t = s[k]  # R
            k = i + 1
            s[i] = t  # W
        """,
    "an index assigned twice in the loop": """
        for i in range(n):
            k = i + 1
            k = i
            t = s[i]  # R
            s[k + 1] = t  # W
        """,
    "a scaled index": """
        for i in range(n):
            t = s[i]  # R
            s[2 * i] = t  # W
        """,
    "an index read from an array": """
        for i in range(n):
            t = s[i]  # R
            s[r[i]] = t  # W
        """,
    "the whole array read": """
        for i in range(n):
            t = np.sum(s)  # R
            s[i] = t  # W
        """,
    "a while loop around both": """
        while c > 0:
            t = s[0]  # R
            s[0] = t  # W
        """,
    "a step that is not a constant": """
        for i in range(0, n, c):
            t = s[i - 1]  # R
            s[i] = t  # W
        """,
}


@pytest.mark.parametrize("code", list(NO.values()), ids=list(NO))
def test_proved_not_to_overwrite(code):
    assert not overwrites(code)


@pytest.mark.parametrize("code", list(YES.values()), ids=list(YES))
def test_may_overwrite(code):
    assert overwrites(code)


def smoothing_rescaled_after(x, a):
    n = x.shape[0]
    s = np.empty(n)
    s[0] = x[0]
    for i in range(1, n):
        s[i] = a * x[i] + (1.0 - a) * s[i - 1] * s[i - 1]
    for i in range(n):
        s[i] = 0.5 * s[i] * s[i]
    return np.sum(s)


def test_a_recurrence_is_reversed_without_a_tape():
    """Each element of `s` is read by the next iteration and never written
    again: the reverse sweep reads `s` as the forward sweep left it."""
    text = adjit.source(adjit.jit.grad(exponential_smoothing, wrt=(0, 1)), np.ones(5), 0.3)
    assert "_tape" not in text, text


def test_a_recurrence_rescaled_in_place_after_it_records():
    """The second loop overwrites the elements the recurrence read: they
    are recorded, and the gradient matches differences."""
    x = np.random.default_rng(0).normal(size=6) * 0.5
    text = adjit.source(adjit.jit.grad(smoothing_rescaled_after, wrt=(0, 1)), x, 0.6)
    assert "_tape" in text, text
    assert adjit.gradcheck(smoothing_rescaled_after, (x, 0.6), wrt=(0, 1))


def filled_in_parallel_then_read(x, y, s):
    n = x.shape[0]
    out = np.zeros(n)
    for i in prange(n):
        v = math.tanh(x[i] - y[i]) * s
        out[i] = v * v - 0.08 * x[i]
    total = 0.0
    for i in range(n):
        total += out[i] * out[i]
    return total


def test_a_shape_read_is_not_an_element_read():
    """Differentiating the forward-mode derivative of a prange loop that
    fills an array was refused ("would need values recorded on a tape"):
    its tangent's allocation, `_d_out = np.zeros_like(out)`, before the
    loop, counted as a read of every element of `out`, so the loop's
    writes recorded what they replaced."""
    rng = np.random.default_rng(8)
    x, y, v = rng.normal(size=5), rng.normal(size=5), rng.normal(size=5)
    tangent = jit.jvp(filled_in_parallel_then_read, wrt=0)
    gradient = jit.grad(tangent, wrt=0, target="python")(x, y, 0.7, v)
    step = 1e-6
    for k in range(5):
        e = np.zeros(5)
        e[k] = step
        difference = (tangent(x + e, y, 0.7, v)[1] - tangent(x - e, y, 0.7, v)[1]) / (2 * step)
        assert abs(gradient[k] - difference) < 1e-6 * max(1.0, abs(difference))
