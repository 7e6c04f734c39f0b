"""The array program families written first (array_programs.py,
stencil_programs.py, nest_programs.py, snapshot_programs.py): their CI slice
runs with every other family in tests/fuzz/test_families.py (through
families.py and case_harness.py, which count skipped programs). Here: the
programs once generated wrong, and the legacy checker's skip reporting.

    ADJIT_FUZZ_EXAMPLES=500 python -m pytest -m fuzz tests/fuzz/test_families.py
    python tests/fuzz/array_programs.py 1000          # a campaign, with a summary
    python tests/fuzz/stencil_programs.py 300 0 15    # stencils, cpu every 15th
    python tests/fuzz/nest_programs.py 300 0 15       # loop nests, cpu every 15th
    python tests/fuzz/snapshot_programs.py 300 0 15   # nests kept per component
    python tests/fuzz/campaign.py --families array,stencil,nest,snapshot --examples 300
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import array_programs  # noqa: E402

# Programs once generated wrong, checked in every run. 9111: summing the
# increments of one adjoint moved `_b_x += e` past an element write into an
# array `e` reads (a silently wrong gradient).
REGRESSIONS = (9111,)


@pytest.mark.parametrize("seed", REGRESSIONS)
def test_array_program_found_wrong_once(seed, tmp_path):
    outcome = array_programs.check(array_programs.random_array_program(seed), ("python",),
                                   tmp_path)
    assert outcome == "ok", outcome


@pytest.mark.fuzz
def test_unusable_finite_differences_are_reported_not_passed(tmp_path):
    """A jump at the point: the checker says it compared nothing."""
    source = ("import numpy as np\n\n\ndef f(x, y, A, s):\n"
              "    return np.sum(np.where(x > 0.0, x + 1.0, x)) + s\n")
    program = array_programs.ArrayProgram(0, source)

    def inputs(seed):
        x, y, A, s = array_programs.inputs(seed)
        x[0] = 0.0
        return x, y, A, s
    assert array_programs.check(program, ("python",), tmp_path, make_inputs=inputs) == \
        array_programs.SKIPPED_UNSTABLE
