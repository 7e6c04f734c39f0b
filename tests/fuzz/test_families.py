"""A fixed-seed slice of every program family (tests/fuzz/families.py), as CI
runs it: programs 0..K-1 of each family, K = ADJIT_FUZZ_EXAMPLES // 20
(10 in CI, where ADJIT_FUZZ_EXAMPLES=200; at least 4), on target="python",
and on target="cpu" too for program 0 of each family (every 10th).

The slice runs once, as a campaign in a subprocess (tests/fuzz/campaign.py,
two worker processes, a time limit per program, Numba at NUMBA_OPT=0 so that
a cpu compile takes seconds); then one test per family fails when a program
of that family failed (a mismatch, a crash, a refusal of a documented
construct, a timeout, an invalid program), when the family skipped more
than 5% of its programs (finite differences unusable at every point tried),
or when it checked nothing. A failure on a construct of
families.KNOWN_WRONG that goes away without that construct is not a
failure here (it is counted as `known`).

    ADJIT_FUZZ_EXAMPLES=200 python -m pytest -m fuzz tests/fuzz/test_families.py
    python tests/fuzz/campaign.py --examples 300 --jobs 2     # a campaign
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import case_harness  # noqa: E402
import families  # noqa: E402

EXAMPLES = int(os.environ.get("ADJIT_FUZZ_EXAMPLES", "20"))
PER_FAMILY = max(4, EXAMPLES // 20)
CPU_EVERY = 10
JOBS = max(1, min(2, os.cpu_count() or 1))


@pytest.fixture(scope="module")
def slice_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz-slice") / "results.json"
    command = [sys.executable, os.path.join(HERE, "campaign.py"), "--families", "all",
               "--examples", str(PER_FAMILY), "--cpu-every", str(CPU_EVERY), "--jobs", str(JOBS),
               "--timeout", "300", "--show", "100", "--json", str(out), "--numba-opt", "0"]
    process = subprocess.run(command, capture_output=True, text=True, timeout=3600,
                             env=dict(os.environ, NUMBA_OPT="0"))
    if not out.exists():
        pytest.fail("the campaign did not finish:\n" + process.stdout[-5000:] +
                    process.stderr[-5000:])
    with open(out) as handle:
        return process.stdout, [json.loads(line) for line in handle if line.strip()]


@pytest.mark.fuzz
@pytest.mark.parametrize("name", list(families.FAMILIES))
def test_family_slice(name, slice_results):
    report, results = slice_results
    mine = [r for r in results if r["family"] == name]
    assert len(mine) == PER_FAMILY, f"{name}: {len(mine)} results, expected {PER_FAMILY}"
    failing = [r for r in mine if r["status"] in case_harness.FAILED or r["status"] == "invalid"]
    details = "\n\n".join(f"program {r['seed']} ({'python, cpu' if r['cpu'] else 'python'}): "
                          f"{r['status']}\n" + "\n".join(r["messages"]) + "\n" + (r["source"] or "")
                          for r in failing)
    assert not failing, f"{name}: {len(failing)} failing program(s)\n{details}"
    skipped = sum(r["status"] in case_harness.SKIPPED for r in mine)
    assert skipped <= 0.05 * len(mine), \
        f"{name}: {skipped} of {len(mine)} programs skipped (finite differences unusable)"
    assert any(r["checked"] for r in mine), f"{name}: no program was checked\n{report[-3000:]}"


# The harness itself: a wrong derivative is caught, a discontinuity is skipped
# and counted, a documented refusal is told apart from a wrong one.

_WRONG_RULE = '''import math

import adjit


@adjit.differentiable
def bent(u):
    return math.sin(u)


@bent.defvjp
def bent_vjp(g, ans, u):
    return g * math.cos(u) * 1.001


@bent.defjvp
def bent_jvp(tangents, ans, u):
    return tangents[0] * math.cos(u)


def f(x, y):
    return bent(x) * y
'''


def _case(source, inputs, wrt=(0, 1), **kw):
    return case_harness.Case("harness", 0, source, lambda attempt: inputs, wrt, frozenset(), **kw)


@pytest.mark.fuzz
def test_harness_reports_a_wrong_rule():
    outcome = case_harness.check_case(_case(_WRONG_RULE, (0.4, 1.3)))
    assert outcome.status == "mismatch"
    assert any("finite differences" in m for m in outcome.messages)
    assert any("forward tangent" in m for m in outcome.messages)


@pytest.mark.fuzz
def test_harness_counts_a_jump_as_skipped():
    source = "import numpy as np\n\n\ndef f(x):\n    return np.sum(np.where(x > 0.0, x + 1.0, x))\n"
    outcome = case_harness.check_case(_case(source, (np.array([0.0, 0.5, -0.3]),), wrt=(0,)),
                                      attempts=1)
    assert outcome.status == "unstable"


@pytest.mark.fuzz
def test_harness_tells_documented_refusals_from_wrong_ones():
    source = ("import numpy as np\n\n\ndef f(x):\n    t = 0.0\n    for i in range(3):\n"
              "        t += np.dot(x[i:], x[:4 - i])\n    return t\n")
    inputs = (np.array([0.3, -0.2, 0.5, 0.1]),)
    why = {"hvp": "a whole-array reduction in a loop"}
    documented = case_harness.check_case(_case(source, inputs, wrt=(0,), second="hvp",
                                               refusable=why))
    assert documented.status == "ok" and documented.second_status in ("refused", "ok")
    if documented.second_status == "refused":
        wrong = case_harness.check_case(_case(source, inputs, wrt=(0,), second="hvp"))
        assert wrong.status == "wrong-refusal"
