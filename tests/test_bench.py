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


@pytest.mark.parametrize("steps", [0, 5, 16, 37])
def test_the_checkpointed_heat_gradient_agrees_with_the_stored_one(steps):
    """The bench's fastest hand-written heat adjoint is a baseline readers
    compare against: it must be right, for step counts that fill its
    segments exactly, partly or not at all."""
    import numpy as np
    from bench.workloads import heat
    u0 = np.random.default_rng(steps).uniform(-1.0, 1.0, 12)
    stored = heat.heat_gradient_by_hand(u0, heat.DT, steps)
    checkpointed = heat.heat_gradient_checkpointed(u0, heat.DT, steps)
    np.testing.assert_allclose(checkpointed[0], stored[0], rtol=1e-12, atol=1e-14)
    assert checkpointed[1] == pytest.approx(stored[1], rel=1e-12, abs=1e-14)


def test_the_slice_form_of_the_heat_stencil_is_the_same_function():
    """`adjit (slices)` is compared with `adjit` (loops): the two forms must
    compute the same value and gradient."""
    import numpy as np
    from adjit import jit
    from bench.workloads import heat
    u0 = np.random.default_rng(3).uniform(-1.0, 1.0, 12)
    assert heat.heat_slices(u0, heat.DT, 7) == pytest.approx(heat.heat(u0, heat.DT, 7),
                                                               rel=1e-13)
    sliced = jit.grad(heat.heat_slices, wrt=(0, 1), target="python")(u0, heat.DT, 7)
    looped = jit.grad(heat.heat, wrt=(0, 1), target="python")(u0, heat.DT, 7)
    np.testing.assert_allclose(sliced[0], looped[0], rtol=1e-12, atol=1e-14)
    assert sliced[1] == pytest.approx(looped[1], rel=1e-12)
