"""passes/gpu/device_tapes.py: the capacity of the per-thread tapes of device
code is an upper bound on how high each top rises, never less.

The bound is checked on hand-written statements, on random programs of
pushes, pops, branches, literal loops and breaks run in Python (the
highest top seen must never pass the bound), and on what the pipeline
generates for target="cuda" (no GPU, no simulator needed: generation only).
"""

import ast
import random
import textwrap

import pytest

from adjit.errors import AdjitError, DifferentiationError
from adjit.passes.gpu.device_tapes import MAX_SLOTS, tape_capacities
from adjit.passes.pipeline import reverse_mode
from adjit.rules.registry import FLOAT, INT
from tests import cuda_fixtures as fixtures


def bound(text: str, tops=("_top",)) -> dict:
    statements = ast.parse(textwrap.dedent(text)).body
    return tape_capacities(None, statements, list(tops), "in each thread")


@pytest.mark.parametrize("text, expected", [
    ("_top += 1\n_top += 1\n_top -= 1\n_top += 1", 2),
    ("for k in range(5):\n    _top += 1\nfor k in range(4, -1, -1):\n    _top -= 1", 5),
    ("for k in range(2, 11, 3):\n    _top += 2", 6),              # 3 iterations
    ("for k in range(3):\n    for j in range(4):\n        _top += 1\n    _top += 1", 15),
    ("if c:\n    _top += 2\nelse:\n    _top += 1\n_top += 1", 3),
    # a pop loop of unknown count lowers nothing, raises nothing
    ("for k in range(3):\n    _top += 1\nfor k in range(n):\n    _top -= 1\n_top += 1", 4),
    # an iteration left by break counts at its body's peak
    ("for k in range(4):\n    _top += 2\n    if c:\n        break\n    _top -= 1", 5),
    # ... and so does the last iteration of a loop of unknown count
    ("for k in range(n):\n    _top += 2\n    if c:\n        break\n    _top -= 2\n_top += 1", 3),
    # every iteration may end early by continue
    ("for k in range(3):\n    _top += 2\n    if c:\n        continue\n    _top -= 2", 6),
    ("for k in range(0):\n    _top += 1", 0),
    ("for k in range(5, 0):\n    _top += 1", 0),
])
def test_the_bound_of_hand_written_statements(text, expected):
    assert bound(text)["_top"] == expected


def test_a_loop_of_unknown_count_that_records_is_refused_where_marked():
    loop = ast.parse("for k in range(n):\n    _top += 1").body[0]
    user = ast.parse("\n\nfor k in range(steps):\n    a = f(a)").body[0]   # line 3
    loop.user_loop = user

    class Parsed:
        filename = "model.py"
        tree = user

        def location(self, node):
            from adjit.errors import Location
            return Location(self.filename, node.lineno, node.col_offset)

        def line_text(self, node):
            return "for k in range(steps):"
    with pytest.raises(DifferentiationError, match=r"model.py:3:0: the reverse sweep of this "
                       r"`for` loop records values on a tape in each of its iterations"):
        tape_capacities(Parsed(), [loop], ["_top"], "in each thread")


def test_a_recomputed_loop_of_unknown_count_pops_what_it_pushes():
    """`if c: push` then `if c: pop` counts +1, 0 for a branch; the mark of
    a recomputed loop's reversal says its iterations balance."""
    text = ("for i in range(n):\n    for k in range(3):\n        if c:\n            _top += 1\n"
            "    for k in range(3):\n        if c:\n            _top -= 1\n")
    loop = ast.parse(text).body[0]
    loop.pops_what_it_pushes = True
    assert tape_capacities(None, [loop], ["_top"], "in each thread") == {"_top": 3}


# ---- random programs: the bound is never below the highest top reached ---------------

def _random_block(rng: random.Random, depth: int, in_loop: bool) -> list[str]:
    """Random statements: pushes and pops of 1-3 slots, branches, loops of
    literal (possibly empty or reversed) and unknown (`n`) trip counts,
    `break` and `continue` between a push and its pop."""
    lines = []
    nested = depth < 3
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["push", "push", "pop", "pop", "if", "for", "for", "unknown",
                           "leave", "leave"])
        if kind == "push":
            lines.append(f"_top += {rng.randint(1, 3)}")
            lines.append("_peak = max(_peak, _top)")
        elif kind == "pop":
            lines.append(f"_top -= {rng.randint(1, 3)}")
        elif kind == "if" and nested:
            lines.append("if cond():")
            lines += ["    " + line for line in _random_block(rng, depth + 1, in_loop)]
            if rng.random() < 0.5:
                lines.append("else:")
                lines += ["    " + line for line in _random_block(rng, depth + 1, in_loop)]
        elif kind == "for" and nested:
            start, stop = rng.randint(-1, 2), rng.randint(-1, 5)
            step = rng.choice([1, 1, 2, -1])
            if step < 0:
                start, stop = stop, start
            lines.append(f"for k{depth} in range({start}, {stop}, {step}):")
            lines += ["    " + line for line in _random_block(rng, depth + 1, True)]
        elif kind == "unknown" and nested:
            lines.append(f"for k{depth} in range(n):")
            lines += ["    " + line for line in _random_block(rng, depth + 1, True)]
        elif kind == "leave" and in_loop:
            slots = rng.randint(1, 3)
            lines += [f"_top += {slots}", "_peak = max(_peak, _top)",
                      f"if cond():\n    {rng.choice(['break', 'continue'])}",
                      f"_top -= {slots}"]
    return [line for text in lines or ["pass"] for line in text.split("\n")]


@pytest.mark.parametrize("seed", range(400))
def test_random_programs_never_rise_above_the_bound(seed):
    rng = random.Random(seed)
    program = "\n".join(_random_block(rng, 0, False))
    try:
        capacity = bound(program)["_top"]
    except AdjitError:          # a loop of unknown count that may rise: refused
        assert "range(n)" in program
        return
    statements = ast.parse(program).body
    # (`_peak = max(_peak, _top)` after each push only reads the top)
    for trial in range(30):
        decisions = random.Random(1000 * seed + trial)
        scope = {"cond": lambda: decisions.random() < 0.3, "_top": 0, "_peak": 0,
                 "n": decisions.randint(0, 4)}
        exec(compile(ast.Module(statements, []), "<random>", "exec"), scope)
        assert scope["_peak"] <= capacity, program


# ---- what the pipeline generates (no GPU needed) ---------------------------------------

def _device_source(function, types: dict, wrt: list[str]) -> str:
    return reverse_mode(function, types, wrt, device=True).source


def test_generated_device_code_sizes_its_tape_and_never_grows_it():
    text = _device_source(fixtures.nested_map, {"x": FLOAT, "b": FLOAT}, ["x"])
    assert "_tape_f = cuda.local.array(15, np.float64)" in text
    assert "rt.grow" not in text and "np.empty" not in text
    cpu = reverse_mode(fixtures.nested_map, {"x": FLOAT, "b": FLOAT}, ["x"]).source
    assert "np.empty(64, np.float64)" in cpu and "cuda.local" not in cpu


def test_a_tape_above_the_cap_is_refused_at_its_loop():
    with pytest.raises(DifferentiationError) as error:
        _device_source(fixtures.too_long, {"x": FLOAT}, ["x"])
    message = str(error.value)
    assert fixtures.located("for k in range(3000):") in message and f"more than the {MAX_SLOTS}" in message


def test_a_while_loop_that_records_is_refused_at_its_line():
    with pytest.raises(DifferentiationError,
                       match=fixtures.located("while a > 0.1:") + r": .*`while` loop"):
        _device_source(fixtures.halving, {"x": FLOAT}, ["x"])


def test_a_runtime_trip_count_is_refused_with_the_literal_hint():
    with pytest.raises(DifferentiationError) as error:
        _device_source(fixtures.damped_orbit, {"x": FLOAT, "steps": INT}, ["x"])
    message = str(error.value)
    assert fixtures.located("for i in range(steps):") in message and "literal trip count" in message
    assert "jit.jvp" in message
