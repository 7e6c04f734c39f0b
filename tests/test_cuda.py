"""target="cuda": device functions and element-wise kernels of derivatives
of scalar functions.

The GPU checks run in one subprocess (tests/cuda_checks.py) with
NUMBA_ENABLE_CUDASIM=1, since the simulator must be chosen before numba.cuda
is first imported; set ADJIT_TEST_CUDA_DEVICE=1 to run them on a real GPU
instead. Availability errors are unit tests here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import adjit
from adjit import jit
from adjit.runtime import cuda as cuda_runtime
from tests.cuda_fixtures import pair_energy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    environment = dict(os.environ)
    if os.environ.get("ADJIT_TEST_CUDA_DEVICE") != "1":
        environment["NUMBA_ENABLE_CUDASIM"] = "1"
    environment["ADJIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cuda-cache"))
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in [environment.get("PYTHONPATH")] if p])
    run = subprocess.run([sys.executable, "-m", "tests.cuda_checks"], cwd=ROOT,
                         env=environment, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    results = {name: (ok, detail) for name, ok, detail in json.loads(run.stdout)}
    assert "setup" not in results, results["setup"][1]
    return results


def passed(checks, name):
    ok, detail = checks[name]
    assert ok, detail
    return detail


def test_device_functions_called_from_a_user_kernel_match_cpu(checks):
    assert passed(checks, "device_from_user_kernel") == 29


def test_elementwise_calls_on_arrays_match_a_loop_of_cpu_gradients(checks):
    assert passed(checks, "elementwise_arrays") > 0


def test_jvp_of_a_loop_runs_on_the_device(checks):
    assert passed(checks, "jvp_of_a_loop") == 17


def test_a_loop_that_needs_a_tape_is_refused_at_its_line(checks):
    message = passed(checks, "taped_loop_refused")
    assert "cuda_fixtures.py:25:4" in message
    assert "for i in range(steps):" in message
    assert "tape" in message and "jit.jvp" in message


def test_array_arguments_are_refused(checks):
    indexed, two_dimensional = passed(checks, "array_arguments_refused")
    assert "cuda_fixtures.py:31:4" in indexed and "used as an array" in indexed
    assert "not supported yet" in indexed
    assert "2-D array" in two_dimensional and "not supported yet" in two_dimensional


def test_the_kernel_is_readable_generated_source(checks):
    (text,) = passed(checks, "generated_kernel_source")
    assert "@cuda.jit(device=True)\ndef pair_energy_grad(r, epsilon, sigma):" in text
    assert "return pair_energy_grad(float(r), float(epsilon), float(sigma))" in text
    assert "if _i < _n:" in text          # bounds check
    assert "np." not in text.split("def pair_energy_grad", 1)[1]


# ---- without CUDA --------------------------------------------------------------------

class _NoGpu:
    @staticmethod
    def is_available():
        return False


def test_missing_numba_cuda_says_how_to_install():
    reason = cuda_runtime.unavailable_reason(None, simulator=False)
    assert "pip install 'adjit[cuda]'" in reason and "NUMBA_ENABLE_CUDASIM=1" in reason


def test_no_gpu_without_the_simulator_says_what_to_do():
    reason = cuda_runtime.unavailable_reason(_NoGpu, simulator=False)
    assert "no CUDA GPU" in reason and "NUMBA_ENABLE_CUDASIM=1" in reason
    assert cuda_runtime.unavailable_reason(_NoGpu, simulator=True) is None


def test_target_cuda_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(cuda_runtime, "_import_cuda", lambda: None)
    with pytest.raises(adjit.AdjitError, match=r"target='cuda' is not available.*numba-cuda"):
        jit.grad(pair_energy, target="cuda")


def test_operators_without_a_cuda_target_are_refused(monkeypatch):
    monkeypatch.setattr(cuda_runtime, "require_cuda", lambda: None)
    for make in (lambda: jit.vjp(pair_energy, target="cuda"),
                 lambda: jit.hessian(pair_energy, target="cuda"),
                 lambda: jit.hvp(pair_energy, target="cuda"),
                 lambda: jit.jacobian(pair_energy, target="cuda")):
        with pytest.raises(adjit.AdjitError, match="no target='cuda' yet"):
            make()


def test_device_needs_target_cuda():
    with pytest.raises(adjit.AdjitError, match="target='cuda'"):
        jit.grad(pair_energy).device
