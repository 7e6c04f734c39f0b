"""Random array programs (tests/fuzz/array_programs.py): reverse mode
against finite differences and against forward mode, on target="python"
for every program and target="cpu" for every tenth.

    ADJIT_FUZZ_EXAMPLES=500 python -m pytest -m fuzz tests/fuzz/test_array_fuzz.py
    python tests/fuzz/array_programs.py 1000          # a campaign, with a summary
    python tests/fuzz/stencil_programs.py 300 0 15    # stencils, cpu every 15th
    python tests/fuzz/nest_programs.py 300 0 15       # loop nests, cpu every 15th
    python tests/fuzz/snapshot_programs.py 300 0 15   # nests kept per component
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import array_programs  # noqa: E402
import nest_programs  # noqa: E402
import snapshot_programs  # noqa: E402
import stencil_programs  # noqa: E402

COUNT = max(10, int(os.environ.get("ADJIT_FUZZ_EXAMPLES", "20")) // 10)


@pytest.mark.fuzz
@pytest.mark.parametrize("seed", range(COUNT))
def test_random_array_program(seed, tmp_path):
    program = array_programs.random_array_program(seed)
    targets = ("python", "cpu") if seed % 10 == 0 else ("python",)
    outcome = array_programs.check(program, targets, tmp_path)
    assert outcome == "ok", outcome


@pytest.mark.fuzz
@pytest.mark.parametrize("seed", range(COUNT))
def test_random_stencil_program(seed, tmp_path):
    """Time-stepped stencils: the reverse sweep's scatter, lanes and nest
    reservation at work (tests/fuzz/stencil_programs.py)."""
    program = stencil_programs.random_stencil_program(seed)
    targets = ("python", "cpu") if seed % 10 == 0 else ("python",)
    assert stencil_programs.check(program, targets, tmp_path) == "ok"


@pytest.mark.fuzz
@pytest.mark.parametrize("seed", range(COUNT))
def test_random_nest_program(seed, tmp_path):
    """Loop nests reading an element fixed by the outer index in the inner
    loop: the reverse sweep's local sums (tests/fuzz/nest_programs.py)."""
    program = nest_programs.random_nest_program(seed)
    targets = ("python", "cpu") if seed % 10 == 0 else ("python",)
    assert nest_programs.check(program, targets, tmp_path) == "ok"


@pytest.mark.fuzz
@pytest.mark.parametrize("seed", range(COUNT))
def test_random_snapshot_program(seed, tmp_path):
    """Loop nests inside a loop over components, whose results the reverse
    sweep copies back instead of recomputing them, and near misses
    (tests/fuzz/snapshot_programs.py)."""
    program = snapshot_programs.random_snapshot_program(seed)
    targets = ("python", "cpu") if seed % 10 == 0 else ("python",)
    assert snapshot_programs.check(program, targets, tmp_path) == "ok"


# Programs once generated wrong, checked in every run. 9111: summing the
# increments of one adjoint moved `_b_x += e` past an element write into an
# array `e` reads (a silently wrong gradient).
REGRESSIONS = (9111,)


@pytest.mark.parametrize("seed", REGRESSIONS)
def test_array_program_found_wrong_once(seed, tmp_path):
    outcome = array_programs.check(array_programs.random_array_program(seed), ("python",),
                                   tmp_path)
    assert outcome == "ok", outcome
