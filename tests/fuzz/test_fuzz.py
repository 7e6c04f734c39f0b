"""Differential testing at scale: random programs (tests/fuzz/generator.py)
differentiated by adjit and checked (tests/fuzz/fuzz_harness.py) against

* central finite differences in float64 (fourth order, two step sizes that
  must agree with each other), where the program's branch trace does not
  change within the stencil; points near a branch switch or a non-smooth
  point are rejected (`hypothesis.reject`), never counted as failures;
* each other: reverse gradient . direction == forward tangent, the values of
  `jvp` and `value_and_grad` == the primal, `grad` == `value_and_grad`'s
  gradient, and target="cpu" == target="python".

Environment:

* `ADJIT_FUZZ_EXAMPLES`: number of programs (default 20, so that the default
  test run, which includes this `fuzz`-marked test, stays fast: without the
  variable, programs are also kept to 5 statements; with it, 3 to 16);
* `ADJIT_FUZZ_CPU_EVERY`: also check target="cpu" for about one program in
  this many (default 0: python target only; a cpu compile costs seconds);
* `ADJIT_FUZZ_RANDOM=1`: draw fresh programs on every run. Without it the
  draw is derandomized (the same programs every run), so that the test suite
  and CI are a reproducible gate; fuzzing campaigns set it (or run
  `tests/fuzz/report.py --seed S`, whose programs are chosen by seed).

    ADJIT_FUZZ_EXAMPLES=200 python -m pytest -m fuzz tests/fuzz -x
    ADJIT_FUZZ_EXAMPLES=100 ADJIT_FUZZ_CPU_EVERY=10 python -m pytest -m fuzz tests/fuzz -x

On a failure hypothesis shrinks the program; the assertion message shows the
minimal program, its inputs and both derivatives. `python tests/fuzz/report.py`
runs the same checks on thousands of programs with statistics.
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuzz_harness as harness  # noqa: E402
import generator  # noqa: E402

EXAMPLES = int(os.environ.get("ADJIT_FUZZ_EXAMPLES", "20"))
# the default run (no ADJIT_FUZZ_EXAMPLES) keeps programs small: adjit's
# transformation time grows quickly with the size of the program
MAX_STATEMENTS = None if "ADJIT_FUZZ_EXAMPLES" in os.environ else 5
CPU_EVERY = int(os.environ.get("ADJIT_FUZZ_CPU_EVERY", "0"))
RANDOM = os.environ.get("ADJIT_FUZZ_RANDOM", "") == "1"

coordinates = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
directions = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
# cpu when the draw is the largest value: shrinking moves away from the slow
# target unless the failure needs it
cpu_draws = st.integers(0, CPU_EVERY - 1) if CPU_EVERY > 0 else st.just(-1)


@pytest.mark.fuzz
@settings(deadline=None, max_examples=EXAMPLES, database=None, derandomize=not RANDOM,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(program=generator.programs(MAX_STATEMENTS), x=coordinates, y=coordinates, n=st.integers(0, 6),
       v0=directions, v1=directions, cpu=cpu_draws)
def test_random_program(program, x, y, n, v0, v1, cpu):
    note(program.source)
    targets = ("python", "cpu") if CPU_EVERY > 0 and cpu == CPU_EVERY - 1 else ("python",)
    outcome = harness.check(program.source, (x, y, n), (v0, v1), targets)
    if outcome.status in ("nonsmooth", "unstable", "invalid"):
        reject()
    assert outcome.status == "ok", "adjit disagrees:\n" + outcome.report()


# The harness itself: a wrong derivative is caught, a kink is skipped.

_KINK = '''import math


def f(x, y, n):
    s = y
    for i in range(n):
        if x * s > 0.5:
            s = s * 0.5
        else:
            s = s + x
    return abs(s) + math.sin(x)
'''


@pytest.mark.fuzz
def test_harness_checks_smooth_point_and_skips_kinks():
    assert harness.check(_KINK, (0.3, 1.1, 4), (0.4, -0.7)).status == "ok"
    # s = y + 2x exactly 0 at x = 0.35, y = -0.7 (n = 2, the else branch twice)
    assert harness.check(_KINK, (0.35, -0.7, 2), (0.4, -0.7)).status == "nonsmooth"


@pytest.mark.fuzz
def test_harness_reports_a_wrong_derivative(monkeypatch):
    real = harness.derivatives

    def off_by_a_bit(fn, target, cache=None):
        grad, jvp, value_and_grad = real(fn, target, cache)
        return (lambda *args: (grad(*args)[0] * 1.001, grad(*args)[1])), jvp, value_and_grad

    monkeypatch.setattr(harness, "derivatives", off_by_a_bit)
    outcome = harness.check(_KINK, (0.3, 1.1, 4), (0.4, -0.7))
    assert outcome.status == "mismatch"
    assert any("finite differences" in m for m in outcome.messages)
    assert any("jvp tangent" in m for m in outcome.messages)
