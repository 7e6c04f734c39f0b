"""target="cuda": device functions and element-wise kernels of derivatives
of scalar functions; kernels over the outer prange loops of functions of
arrays (the Gaussian kernel norm).

The GPU checks run in one subprocess (tests/cuda_checks.py) with
NUMBA_ENABLE_CUDASIM=1, since the simulator must be chosen before numba.cuda
is first imported; set ADJIT_TEST_CUDA_DEVICE=1 to run them on a real GPU
instead. With ADJIT_TEST_CUDA_PTX=1, tests/cuda_ptx_checks.py also compiles
every generated kernel with the real CUDA compiler (to PTX; libNVVM and
NVRTC needed, no GPU). Availability errors are unit tests here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import adjit
from adjit import jit
from adjit.targets.cuda import lanes as cuda_runtime
from tests.cuda_fixtures import located, pair_energy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    environment = dict(os.environ)
    if os.environ.get("ADJIT_TEST_CUDA_DEVICE") != "1":
        environment["NUMBA_ENABLE_CUDASIM"] = "1"
    return _run_checks("tests.cuda_checks", environment,
                       tmp_path_factory.mktemp("cuda-cache"))


def _run_checks(module: str, environment: dict, cache) -> dict:
    environment["ADJIT_CACHE_DIR"] = str(cache)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in [environment.get("PYTHONPATH")] if p])
    run = subprocess.run([sys.executable, "-m", module], cwd=ROOT,
                         env=environment, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    results = {name: (ok, detail) for name, ok, detail in json.loads(run.stdout)}
    assert "setup" not in results, results["setup"][1]
    return results


@pytest.fixture(scope="module")
def ptx_checks(tmp_path_factory):
    if os.environ.get("ADJIT_TEST_CUDA_PTX") != "1":
        pytest.skip("set ADJIT_TEST_CUDA_PTX=1 (with libNVVM and NVRTC) to compile the "
                    "kernels with the real CUDA compiler")
    environment = {key: value for key, value in os.environ.items()
                   if key != "NUMBA_ENABLE_CUDASIM"}
    return _run_checks("tests.cuda_ptx_checks", environment,
                       tmp_path_factory.mktemp("cuda-ptx-cache"))


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
    assert "cuda_fixtures.py:29:4" in message
    assert "for i in range(steps):" in message
    assert "tape" in message and "jit.jvp" in message
    assert "trip count is not a constant" in message and "literal trip count" in message


def test_array_arguments_are_refused(checks):
    """A parameter used as an array takes a 2-D (rows) or 1-D (shared)
    array, not a 3-D one; a 2-D one for a scalar parameter is refused."""
    indexed, two_dimensional = passed(checks, "array_arguments_refused")
    assert "cuda_fixtures.py:34:" in indexed and "`x` is a 3-D array" in indexed
    assert "passes a 1-D array whole to every thread" in indexed and "hint:" in indexed
    assert "2-D array" in two_dimensional and "numba.prange" in two_dimensional
    assert "uses `r` as a scalar" in two_dimensional


def test_the_kernel_is_readable_generated_source(checks):
    (text,) = passed(checks, "generated_kernel_source")
    assert "@cuda.jit(device=True)\ndef pair_energy_grad(r, epsilon, sigma):" in text
    assert "return pair_energy_grad(float(r), float(epsilon), float(sigma))" in text
    assert "if _i < _n:" in text          # bounds check
    assert "np." not in text.split("def pair_energy_grad", 1)[1]


# ---- functions of arrays: one thread per iteration of an outer prange ---------------

def test_kernel_norm_gradient_on_the_gpu_matches_its_closed_form(checks):
    assert passed(checks, "kernel_norm_grad") == [12, 3]


def test_kernel_norm_value_and_grad_and_jvp_with_device_arrays(checks):
    assert passed(checks, "kernel_norm_value_and_grad_device_arrays")


def test_kernel_norm_kernel_source_uses_atomics_and_the_grid(checks):
    text = passed(checks, "kernel_norm_kernel_source")
    kernel, host = text.split("\ndef kernel_norm_parallel_grad(q, p, s):")
    assert "@cuda.jit\ndef kernel_norm_parallel_grad_prange1(" in kernel
    assert "    i = cuda.grid(1)\n    if i < n:\n" in kernel
    assert "cuda.atomic.add(_b_q, (j, k), _b_t5)" in kernel
    assert "cuda.atomic.add(_b_q, (i, k), _b_t3)" in kernel    # shared: all atomic
    assert "cuda.atomic.add(_sum_b_s, 0, _b_s)" in kernel       # once per thread
    assert "# from line 71: d2 += (q[i, k] - q[j, k]) ** 2" in kernel
    assert "np." not in kernel and "_chunk" not in text
    assert "_b_q = gpu.zeros_like(q)" in host
    assert "gpu.launch(kernel_norm_parallel_grad_prange1, n, " in host
    assert "return (gpu.to_host(_b_q), gpu.to_host(_b_p), _b_s)" in host


def test_own_elements_stay_plain_and_shared_ones_are_atomic(checks):
    text = passed(checks, "own_and_shared_adjoints")
    assert "_b_a[i, k] += _b_t3" in text
    assert "cuda.atomic.add(_b_w, k, _b_t4)" in text


def test_the_parallel_corpus_runs_on_the_gpu_or_is_refused_at_its_line(checks):
    outcomes = passed(checks, "parallel_corpus")
    assert outcomes.pop("own_elements").endswith("parallel_fixtures.py:22:8: an element "
                                                 "of `y` outside the prange loop, with "
                                                 "target='cuda': the statements around the "
                                                 "prange loops run on the host, and only "
                                                 "the GPU threads (one per prange "
                                                 "iteration) touch array elements")
    assert "parallel_fixtures.py:74:12: an element of `out` outside the prange loop" \
        in outcomes.pop("own_rows_of_a_local_matrix")
    assert outcomes == {"stencil_energy": "ok", "pairwise_with_branches": "ok",
                        "rows_of_a_matrix": "ok", "subtracting_reduction": "ok"}


def test_device_code_is_not_vectorised_into_scratch_arrays(checks):
    """The cpu's reverse sweeps sum scalar adjoints of inner loops in lanes
    and split shifted increments into scratch arrays; device code allocates
    neither."""
    assert passed(checks, "no_vectorising_scratch_in_device_code") == 5


@pytest.mark.parametrize("name, location, words", [
    ("loop_after_prange", "cuda_fixtures.py:74:8", "outside the prange loop"),
    ("array_in_prange", "cuda_fixtures.py:81:8", "in the body of a prange loop"),
    ("tape_in_prange", "cuda_fixtures.py:91:8",
     "tape in each of its iterations, and its trip count is not a constant"),
    ("prange_in_a_loop", "cuda_fixtures.py:100:8", "only an outermost prange"),
])
def test_what_a_kernel_cannot_do_is_refused_at_its_line(checks, name, location, words):
    message = passed(checks, "grid_refusals")[name]
    assert location in message and words in message and "hint:" in message


def test_device_of_a_function_with_a_prange_says_what_to_do(checks):
    message = passed(checks, "grid_refusals")["device"]
    assert "`.device` is for functions of scalars" in message
    assert "calling the derivative itself" in message


@pytest.mark.parametrize("name", ["again_on_the_gpu", "again_of_the_gpu"])
def test_derivatives_of_kernel_derivatives_are_refused(checks, name):
    """The target='cuda' source leaves shared increments to atomics: as cpu
    code it would race, so it is never differentiated again."""
    message = passed(checks, "grid_refusals")[name]
    assert "derivative of a function with a prange loop" in message
    assert "target='cpu'" in message


def test_show_target_cuda_prints_the_kernels(checks):
    code, printed = passed(checks, "cli_show_cuda")
    assert code == 0
    assert "def kernel_norm_parallel_grad_prange1(q, p, s, n, _b_p, _b_q):" in printed
    assert "cuda.atomic.add(_b_p, (j, k), _b_t9)" in printed


# ---- jit.vjp on the GPU ------------------------------------------------------------

def test_vjp_elementwise_matches_the_cpu_vjp_per_element(checks):
    """Per-element cotangents (NumPy or device array) and a scalar broadcast."""
    assert passed(checks, "vjp_elementwise") == 11


def test_vjp_device_function_takes_the_cotangent_last(checks):
    assert passed(checks, "vjp_device_from_user_kernel") == 11


def test_vjp_of_prange_functions_runs_as_kernels(checks):
    text = passed(checks, "vjp_kernels")
    kernels, host = text.split("\ndef kernel_norm_parallel_grad(q, p, s, cotangent):")
    assert "def kernel_norm_parallel_grad_prange1(q, p, s, n, _sum_total):" in kernels
    assert "_b_total, _sum_b_s):" in kernels                # the seeded adjoint
    assert "    _b_total = cotangent * 0.5\n" in host       # seeded on the host
    assert "return (_result, gpu.to_host(_b_q), gpu.to_host(_b_p), _b_s)" in host


def test_vjp_elementwise_source_reads_one_cotangent_per_thread(checks):
    text = passed(checks, "vjp_elementwise_source")
    assert "@cuda.jit(device=True)\ndef pair_energy_grad(r, epsilon, sigma, cotangent):" \
        in text
    assert "    _b_energy = cotangent * _t4\n" in text
    assert "cotangent[_i * _step_cotangent])" in text
    assert "# from line 15: return energy * math.exp(-0.1 * r * r)" in text
    assert "np." not in text.split("def pair_energy_grad", 1)[1]


@pytest.mark.parametrize("name, words", [
    ("array_cotangent_of_a_kernel", ["returns a float, so its cotangent is a float"]),
    ("two_dimensional_cotangent", ["2-D array", "one cotangent per element"]),
    ("array_output", ["cuda_fixtures.py:129:4", "returns the array `x`", "hint:"]),
    ("row_per_thread", ["cuda_fixtures.py:35:4",
                        "of 2-D arguments", "`.device`, whose parameters are scalars",
                        "hint:", "numba.prange"]),
    ("length_of_a_row", ["cuda_fixtures.py:133:4", "`x` is used as an array"]),
    ("two_dimensional_argument", ["cuda_fixtures.py:10:", "uses `r` as a scalar", "hint:",
                                  "f(x[:, 0], x[:, 1], ...)"]),
    ("jvp_tangent_two_dimensional", ["the tangent of `r` is a 2-D array"]),
])
def test_vjp_and_array_refusals_say_what_and_where(checks, name, words):
    message = passed(checks, "vjp_refusals")[name]
    for word in words:
        assert word in message, message


# ---- without a prange, on rows: one thread per row of the 2-D arguments ---------------

def test_row_gradients_match_the_python_gradient_row_by_row(checks):
    assert passed(checks, "rows_grad") == 5


def test_row_value_and_grad_and_vjp_with_device_arrays(checks):
    assert passed(checks, "rows_value_and_grad_device_arrays") == 5


def test_row_kernel_passes_views_and_writes_adjoint_rows_in_place(checks):
    text = passed(checks, "rows_source")
    assert "@cuda.jit(device=True)\ndef row_loss_grad(x, w, c, _b_x):" in text
    assert "    _b_x[2] += _b_t9\n" in text and "    return _b_c\n" in text
    assert "np." not in text.split("def row_loss_grad", 1)[1]          # nothing allocated
    assert "def row_loss_grad_kernel(_n, x, _step_x, w, _step_w, c, _step_c, _b_x, _out0):" \
        in text
    assert "row_loss_grad_device(x[_i * _step_x], w[_i * _step_w], c[_i * _step_c], " \
        "_b_x[_i])" in text


def test_a_function_of_whole_1d_arrays_runs_on_one_thread(checks):
    """Only 1-D arguments for array parameters: one thread, shared arrays."""
    assert passed(checks, "rows_one_thread_on_shared_arrays") == 2


# ---- on rows: a gradient with respect to a shared 1-D array, summed over rows -------

def test_shared_gradient_is_the_sum_over_rows_of_the_row_gradients(checks):
    """Against the python gradient row by row (summed for `w`) and against
    central differences of sum_t f(X[t], w, c[t]); device arrays; one thread."""
    assert passed(checks, "rows_shared_grad") == 5


def test_shared_gradient_with_many_rows_and_increments(checks):
    assert passed(checks, "rows_shared_many_increments") == 150


def test_shared_value_and_grad_and_vjp_weigh_rows_by_their_cotangents(checks):
    assert passed(checks, "rows_shared_value_and_grad_and_vjp") == 5


def test_shared_adjoint_is_a_parameter_incremented_with_atomics(checks):
    text = passed(checks, "rows_shared_source")
    device = text.split("@cuda.jit(device=True)\ndef row_loss_grad_device", 1)[0]
    assert "def row_loss_grad(x, w, c, _b_w, _b_x):" in device
    assert "        cuda.atomic.add(_b_w, k, _b_t4)\n" in device
    assert "_b_w[" not in device                     # no plain access to the shared adjoint
    assert "    _b_x[k] += _t3 + _b_t5\n" in device   # the thread's own row: plain
    assert "np." not in device.split("def row_loss_grad", 1)[1]
    assert "c[_i * _step_c], _b_w, _b_x[_i])" in text     # the whole array, a row view
    assert "signature (float64[:], float64[:] shared, float64)" in text


# ---- on rows: jit.jvp --------------------------------------------------------------

def test_row_jvp_matches_the_python_jvp_and_central_differences(checks):
    assert passed(checks, "rows_jvp") == 5


def test_row_jvp_and_the_shared_vjp_are_transposes(checks):
    assert passed(checks, "rows_jvp_against_the_shared_vjp") == 5


def test_row_jvp_of_a_recurrence_needs_no_tape(checks):
    assert passed(checks, "rows_jvp_of_a_recurrence") == 5


def test_row_jvp_takes_tangent_rows_as_views(checks):
    text = passed(checks, "rows_jvp_source")
    assert "@cuda.jit(device=True)\ndef row_loss_jvp(x, w, c, _d_x, _d_w, _d_c):" in text
    assert "np." not in text.split("def row_loss_jvp", 1)[1]
    assert "_d_x[_i * _step__d_x], _d_w[_i * _step__d_w], _d_c[_i * _step__d_c])" in text
    assert "_out1[_i] = _v1" in text


@pytest.mark.parametrize("name, words", [
    ("three_dimensional_rows", ["cuda_fixtures.py:138:", "`x` is a 3-D array", "hint:"]),
    ("scalar_for_a_row", ["`x` is 'float', and `x` is used as an array"]),
    ("lengths_differ", ["`c` has 4 rows (or elements)", "earlier per-thread argument 5"]),
    ("float32_rows", ["array of float32", "float64"]),
    ("write_into_a_shared_array", ["cuda_fixtures.py:179:4", "w[0] = x[0]",
                                   "shared by all threads, whose writes would race",
                                   "hint:"]),
    ("jvp_tangent_width", ["the tangent of `x` has rows of 4 elements, `x` of 3"]),
    ("jvp_float_tangent_of_a_row", ["the tangent of `x` is 'float'",
                                    "shape (3,) (the same for every thread) or (m, 3)"]),
    ("jvp_three_dimensional_tangent", ["the tangent of `x` is a 3-D array"]),
    ("jvp_tangent_rows_differ", ["the tangent of `x` has 4 rows",
                                 "earlier per-thread argument 5"]),
    ("jvp_two_dimensional_scalar_tangent", ["the tangent of `c` is a 2-D array",
                                            "a float", "or a 1-D array"]),
    ("jvp_of_several_outputs", ["row_pair_jvp returns tuples of values",
                                "one output at a time"]),
    ("device_of_a_row_jvp", ["cuda_fixtures.py:142:4",
                             "`.device`, whose parameters are scalars"]),
    ("local_array", ["cuda_fixtures.py:148:4", "np.zeros"]),
    ("numpy_call", ["cuda_fixtures.py:154:4", "np.sum"]),
    ("row_write", ["cuda_fixtures.py:158:4", "row of an argument is read-only"]),
    ("tape", ["cuda_fixtures.py:164:4", "tape"]),
    ("device_of_rows", ["cuda_fixtures.py:142:4", "`.device`, whose parameters are scalars"]),
])
def test_what_rows_cannot_do_is_refused_with_its_reason(checks, name, words):
    message = passed(checks, "rows_refusals")[name]
    for word in words:
        assert word in message, message


# ---- tapes in local memory: loops of literal trip counts ------------------------------

def test_taped_functions_of_scalars_match_cpu_and_finite_differences(checks):
    """grad, value_and_grad and vjp, element-wise: a 5-step recurrence, a
    nested one, branches with a break (an int tape), straight overwrites."""
    assert passed(checks, "tape_elementwise") == 4 * 12
    assert passed(checks, "tape_branches_exercised")


def test_taped_device_functions_called_from_a_user_kernel(checks):
    assert passed(checks, "tape_device_from_user_kernel") == 12


def test_prange_bodies_with_a_recurrence_keep_one_tape_per_thread(checks):
    """A per-element Newton iteration, and a recurrence per element of a row
    of runtime length: against the cpu gradient of serial twins and finite
    differences."""
    assert passed(checks, "tape_kernels") == 2


def test_rows_keep_their_tape_in_local_memory(checks):
    assert passed(checks, "tape_rows") == 6


@pytest.mark.parametrize("name, declarations", [
    ("sine_map", ["_tape_f = cuda.local.array(5, np.float64)"]),
    ("nested_map", ["_tape_f = cuda.local.array(15, np.float64)"]),
    ("branching_map", ["_tape_f = cuda.local.array(6, np.float64)",
                       "_tape_i = cuda.local.array(6, np.int64)"]),
    ("overwrites", ["_tape_f = cuda.local.array(3, np.float64)"]),
    ("outer_sum", ["_tape_f = cuda.local.array(3, np.float64)"]),     # reused per i
    ("newton_roots", ["        _tape_f = cuda.local.array(18, np.float64)"]),
    ("relaxed_rows", ["        _tape_f = cuda.local.array(8, np.float64)"]),
    ("row_recurrence", ["_tape_f = cuda.local.array(6, np.float64)"]),
])
def test_each_tape_is_a_local_array_of_the_exact_size(checks, name, declarations):
    """The capacity is the most the thread records, no more: sizes are
    bounds computed when the code is generated (passes/gpu/device_tapes.py)."""
    text = passed(checks, "tape_sources")[name]
    for declaration in declarations:
        assert text.count(declaration + "\n") == 1, text
    assert "# a tape per thread, in local memory: at most " in text
    assert "np.empty" not in text and "rt.grow" not in text


def test_a_recomputed_loop_around_a_recorded_branch_reuses_its_tape(checks):
    """`for i in range(n)` (recomputed) around a branch in a literal loop:
    each reversed iteration pops what it pushes, so the tape holds one
    iteration's values whatever `n`."""
    text = passed(checks, "tape_recomputed_branches")
    assert "_tape_f = cuda.local.array(3, np.float64)\n" in text
    assert "_tape_i = cuda.local.array(3, np.int64)\n" in text


def test_a_kernel_declares_its_tape_in_the_thread(checks):
    text = passed(checks, "tape_sources")["newton_roots"]
    kernel = text.split("\ndef newton_roots_grad(x, c):")[0]
    assert "    if i < _t1:\n        # a tape per thread, in local memory: at most 18 " \
        "floats\n        _tape_f = cuda.local.array(18, np.float64)\n        _top_f = 0\n" \
        in kernel
    assert kernel.count("@cuda.jit") == 1        # no primal kernel computing nothing
    assert "_tape" not in text.split("\ndef newton_roots_grad(x, c):")[1]


@pytest.mark.parametrize("name, words", [
    ("too_long", [located("for k in range(3000):"), "up to 3000 values",
                  "more than the 2048", "for k in range(3000):", "hint:"]),
    ("halving", [located("while a > 0.1:"), "this `while` loop", "while a > 0.1:",
                 "`for` loop with a literal trip count", "jit.jvp"]),
    ("host_overwrite", [located("t = math.sin(t) * t"), "on the host",
                        "t = math.sin(t) * t", "into the prange loop"]),
    ("again", ["differentiating a target='cuda' derivative that keeps a tape in GPU local "
               "memory (`cuda.local.array`) is not supported", "_tape_f = cuda.local.array(",
               "the target='cpu' derivative"]),
])
def test_tapes_device_code_cannot_keep_are_refused_at_their_line(checks, name, words):
    message = passed(checks, "tape_refusals")[name]
    for word in words:
        assert word in message, message


# ---- the real CUDA compiler, without a GPU (ADJIT_TEST_CUDA_PTX=1) ---------------------

@pytest.mark.parametrize("name, kernels", [
    ("kernel_norm", 4), ("kernel_norm_float32", 1), ("grid_fixtures", 5),
    ("corpus_stencil_energy", 2), ("corpus_pairwise_with_branches", 3),
    ("corpus_rows_of_a_matrix", 2), ("corpus_subtracting_reduction", 3),
    ("elementwise_scalars", 4), ("vjp_kernels", 4), ("vjp_elementwise", 2),
    ("rows", 4), ("rows_shared_and_jvp", 5), ("local_tapes", 11),
    ("local_tapes_device", 1)])
def test_generated_kernels_compile_to_ptx(ptx_checks, name, kernels):
    assert len(passed(ptx_checks, name)) == kernels


def test_a_row_view_compiles_but_an_adjoint_row_does_not(ptx_checks):
    """Why a thread's adjoint row is a parameter (a view of a preallocated
    array) and jit.jvp takes no rows: the row `x[i]` of a 2-D argument is a
    view the compiler accepts, but device code cannot make an array."""
    assert passed(ptx_checks, "row_view") == {
        "row view": "compiles", "np.zeros_like(row)": "refused",
        "cuda.local.array(row.shape[0])": "refused"}


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
    for make in (lambda: jit.hessian(pair_energy, target="cuda"),
                 lambda: jit.hvp(pair_energy, target="cuda"),
                 lambda: jit.jacobian(pair_energy, target="cuda")):
        with pytest.raises(adjit.AdjitError, match="no target='cuda' yet"):
            make()


def test_device_needs_target_cuda():
    with pytest.raises(adjit.AdjitError, match="target='cuda'"):
        jit.grad(pair_energy).device
