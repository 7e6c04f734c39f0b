"""The benchmark harness produces its report (its timings are not tested:
performance lives in bench/, docs/performance.md has the figures)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_bench_writes_its_tables_and_checks_gradients(tmp_path):
    command = [sys.executable, "-m", "bench", "--only", "scalar_loop", "--sizes", "1000",
               "--peers", "none", "--repeats", "1", "--out", str(tmp_path)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads((tmp_path / "latest.json").read_text())
    text = (tmp_path / "latest.md").read_text()
    assert "scalar_loop" in text and "adjit" in text and "numba primal" in text
    rows = json.dumps(report)
    assert "adjit" in rows and "numba hand" in rows
