"""Memory: the kernel-norm gradient in loop form needs O(N) memory.

N = 20 000 points are 4 * 10^8 pairs: a tool that records each pair's
distance would need gigabytes; adjit recomputes them in the reverse sweep,
so the peak resident memory grows by the inputs and the gradient arrays
only. Measured in a fresh process (the peak RSS is per process), after a
warm-up call that compiles the gradient at a small size.
"""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import math, resource, sys
    import numpy as np
    from adjit import jit
    from adjit.demo import kernel_norm

    gradient = jit.grad(kernel_norm, wrt=(0, 1))
    rng = np.random.default_rng(0)
    small = rng.normal(size=(50, 3))
    gradient(small, small, 1.0)
    n = int(sys.argv[1])
    q, p = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gq, gp = gradient(q, p, 1.0)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert gq.shape == (n, 3) and np.all(np.isfinite(gq)) and np.all(np.isfinite(gp))
    print((after - before) / 1024.0)
""")


@pytest.mark.slow
def test_kernel_norm_gradient_at_20000_points_grows_peak_memory_by_under_50_mb(tmp_path):
    script = tmp_path / "kernel_norm_memory.py"
    script.write_text(SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, str(script), "20000"], capture_output=True,
                            text=True, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr
    growth_mb = float(result.stdout.split()[-1])
    assert growth_mb < 50.0, f"peak RSS grew by {growth_mb:.1f} MB"
