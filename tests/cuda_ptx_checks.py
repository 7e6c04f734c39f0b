"""The real CUDA compiler on the generated kernels, without a GPU.

The simulator runs kernels as Python and accepts code the CUDA compiler
rejects (docs/parallel.md#gpus). This file compiles every kernel adjit
generates for the cuda checks' functions to PTX with numba-cuda's real
pipeline (typing, lowering, NVVM), for compute capability 8.0, where no GPU
(and no driver) is present: the host functions run with NumPy arrays in
place of device arrays, and each launch compiles its kernel for the types
of its arguments instead of running it. Nothing is computed, so the
numbers are the simulator's business (cuda_checks.py); this checks that
the code compiles.

Needs libNVVM and NVRTC (a CUDA toolkit, or the nvidia-nvvm and
nvidia-cuda-nvrtc wheels, found through CUDA_HOME / LD_LIBRARY_PATH).
test_cuda.py runs it with ADJIT_TEST_CUDA_PTX=1 and reads the JSON it
prints: `[name, ok, detail]` per check.
"""

import json
import sys
import traceback

import numba
import numpy as np
from numba import cuda
from numba.cuda import compile_ptx

COMPUTE_CAPABILITY = (8, 0)
RESULTS = []
COMPILED: list[str] = []


class _Device:
    """What device functions compile for when a kernel calls them."""
    compute_capability = COMPUTE_CAPABILITY


class _HostArray(np.ndarray):
    """A NumPy array standing in for a device array."""

    def copy_to_host(self):
        return np.asarray(self)


def _compile(kernel, arguments) -> None:
    types = tuple(numba.typeof(np.asarray(value) if isinstance(value, _HostArray)
                               else value) for value in arguments)
    compile_ptx(kernel.py_func, types, cc=COMPUTE_CAPABILITY)
    COMPILED.append(kernel.py_func.__name__)


class _CompilingKernel:
    """`kernel[blocks, threads](*args)` compiles instead of launching."""

    def __init__(self, kernel):
        self.kernel = kernel

    def __getitem__(self, configuration):
        return lambda *arguments: _compile(self.kernel, arguments)


def _without_a_gpu():
    """Point adjit's CUDA runtime and numba-cuda at NumPy and the compiler."""
    import numba.cuda.dispatcher as dispatcher
    from adjit.targets.cuda import lanes as cuda_runtime
    from adjit.runtime import cuda_launch as gpu
    dispatcher.get_current_device = _Device
    cuda_runtime.require_cuda = lambda: cuda
    gpu.launch = lambda kernel, threads, *arguments: _compile(kernel, arguments)
    gpu.to_device = np.ascontiguousarray
    gpu.to_host = np.asarray
    gpu.zeros_like = lambda array: np.zeros(array.shape, dtype=array.dtype)
    gpu.cell = lambda value: np.array([value], dtype=np.float64)
    gpu.value = lambda summed: float(summed[0])
    cuda.to_device = lambda array: np.ascontiguousarray(array).view(_HostArray)
    cuda.device_array = lambda count, dtype: np.zeros(count, dtype).view(_HostArray)
    original = cuda_runtime.ElementwiseLauncher.__init__

    def compiling_init(self, *arguments):
        original(self, *arguments)
        self.kernel = _CompilingKernel(self.kernel)
    cuda_runtime.ElementwiseLauncher.__init__ = compiling_init
    from adjit.targets.cuda.rows import RowLauncher
    original_rows = RowLauncher.__init__

    def compiling_rows_init(self, *arguments):
        original_rows(self, *arguments)
        self.kernel = _CompilingKernel(self.kernel)
    RowLauncher.__init__ = compiling_rows_init


def check(name, make):
    start = len(COMPILED)
    try:
        make()
        RESULTS.append([name, True, COMPILED[start:]])
    except Exception:
        RESULTS.append([name, False, traceback.format_exc()])


def main():
    _without_a_gpu()
    from adjit import jit
    from adjit.demo import kernel_norm_parallel
    from tests import cuda_fixtures as fixtures
    from tests import parallel_fixtures as corpus

    rng = np.random.default_rng(0)
    q, p = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    check("kernel_norm", lambda: (
        jit.grad(kernel_norm_parallel, wrt=(0, 1, 2), target="cuda")(q, p, 2.5),
        jit.value_and_grad(kernel_norm_parallel, wrt=(0, 1), target="cuda")(q, p, 2.5),
        jit.jvp(kernel_norm_parallel, wrt=(0, 2), target="cuda")(q, p, 2.5, (q, 0.1))))
    check("kernel_norm_float32", lambda: jit.grad(kernel_norm_parallel, wrt=(0, 1, 2),
                                                  target="cuda")(q.astype(np.float32),
                                                                 p.astype(np.float32), 2.5))
    check("grid_fixtures", lambda: (
        jit.grad(fixtures.weighted_rows, wrt=(0, 1, 2), target="cuda")(q, p[0], 0.3),
        jit.value_and_grad(fixtures.wave_sum, target="cuda")(0.7, 9),
        jit.grad(fixtures.row_stencil, target="cuda")(q, 0.7)))
    for case in corpus.CASES:
        if case.__name__ in ("own_elements", "own_rows_of_a_local_matrix"):
            continue            # refused on the GPU (a second loop over an array)
        args = corpus.ARGUMENTS[case.__name__]()
        check(f"corpus_{case.__name__}", lambda case=case, args=args: (
            jit.grad(case, target="cuda")(*args),
            jit.jvp(case, target="cuda")(*args, args[0])))
    radii = np.linspace(0.9, 2.5, 7)
    check("elementwise_scalars", lambda: (
        jit.grad(fixtures.pair_energy, wrt=(0, 2), target="cuda")(radii, 1.5, 1.1),
        jit.value_and_grad(fixtures.sample_loss, target="cuda")(radii, radii, 0.7),
        jit.jvp(fixtures.damped_orbit, target="cuda")(radii, 6, 1.0),
        jit.grad(fixtures.nested_sum, target="cuda")(radii, 4, 5)))
    check("vjp_kernels", lambda: (
        jit.vjp(kernel_norm_parallel, wrt=(0, 1, 2), target="cuda")(q, p, 2.5, 0.7),
        jit.vjp(fixtures.weighted_rows, wrt=(1, 2), target="cuda")(q, p[0], 0.3, 1.5)))
    check("vjp_elementwise", lambda: (
        jit.vjp(fixtures.pair_energy, wrt=(0, 2), target="cuda")(radii, 1.5, 1.1, radii),
        jit.vjp(fixtures.sample_loss, target="cuda")(radii, radii, 0.7, 0.5)))
    rows, w = rng.normal(size=(5, 3)), np.array([0.5, 1.5, -0.7])
    check("rows", lambda: (
        jit.grad(fixtures.row_loss, wrt=(0, 2), target="cuda")(rows, w, radii[:5]),
        jit.grad(fixtures.row_loss, target="cuda")(rows, w, 0.7),
        jit.value_and_grad(fixtures.row_loss, wrt=(0, 2), target="cuda")(rows, w, 0.3),
        jit.vjp(fixtures.row_loss, wrt=0, target="cuda")(rows, w, 0.3, radii[:5])))
    check("rows_shared_and_jvp", lambda: (      # cuda.atomic.add; tangents as views
        jit.grad(fixtures.row_loss, wrt=(0, 1, 2), target="cuda")(rows, w, radii[:5]),
        jit.vjp(fixtures.row_shared_weights, wrt=1, target="cuda")(rows, w, radii[:5]),
        jit.value_and_grad(fixtures.row_loss, wrt=1, target="cuda")(rows[0], w, 0.3),
        jit.jvp(fixtures.row_loss, wrt=(0, 1, 2), target="cuda")(rows, w, 0.3,
                                                                 (rows, w, 0.1)),
        jit.jvp(fixtures.row_with_tape, target="cuda")(rows, rows[0])))
    roots, matrix = rng.uniform(0.5, 2.0, size=6), rng.normal(size=(4, 3))
    check("local_tapes", lambda: (
        jit.grad(fixtures.sine_map, wrt=(0, 1), target="cuda")(radii, 1.1),
        jit.value_and_grad(fixtures.nested_map, target="cuda")(radii, 0.9),
        jit.grad(fixtures.branching_map, target="cuda")(radii, 1.7),       # an int tape
        jit.vjp(fixtures.overwrites, target="cuda")(radii, 0.7, radii),
        jit.grad(fixtures.outer_sum, target="cuda")(radii, 4),
        jit.grad(fixtures.gated_sum, target="cuda")(radii, 4),
        jit.grad(fixtures.newton_roots, wrt=(0, 1), target="cuda")(roots, 1.3),
        jit.grad(fixtures.newton_roots, target="cuda")(roots.astype(np.float32), 1.3),
        jit.value_and_grad(fixtures.relaxed_rows, wrt=(0, 1), target="cuda")(matrix, 0.8),
        jit.grad(fixtures.row_recurrence, wrt=(0, 1), target="cuda")(matrix, radii[:4])))
    check("local_tapes_device", local_tape_device_check)
    row_view_check()


def local_tape_device_check():
    """`.device` of a derivative with a tape, called from a user's kernel."""
    from adjit import jit
    from tests import cuda_fixtures as fixtures
    grad = jit.grad(fixtures.nested_map, wrt=(0, 1), target="cuda").device

    def kernel(x, out):
        i = cuda.grid(1)
        if i < x.shape[0]:
            g_x, g_b = grad(x[i], 0.9)
            out[i] = g_x + g_b
    compile_ptx(kernel, (numba.float64[:], numba.float64[:]), cc=COMPUTE_CAPABILITY)
    COMPILED.append(kernel.__name__)


def row_view_check():
    """What a per-thread row of a 2-D argument would need (docs/parallel.md#gpus):
    the row `x[i]` is a view the compiler accepts; an array for its adjoint
    (`np.zeros_like`, or `cuda.local.array` of the row's runtime length) is
    not."""
    @cuda.jit(device=True)
    def row_sum(row, c):
        total = 0.0
        for k in range(row.shape[0]):
            total += row[k] * c
        return total

    def row_view(x, out):
        i = cuda.grid(1)
        if i < x.shape[0]:
            out[i] = row_sum(x[i], 2.0)

    def zeros_like_of_a_row(x, out):
        i = cuda.grid(1)
        if i < x.shape[0]:
            adjoint = np.zeros_like(x[i])
            out[i] = adjoint[0]

    def local_array_of_a_row(x, out):
        i = cuda.grid(1)
        if i < x.shape[0]:
            adjoint = cuda.local.array(x[i].shape[0], numba.float64)
            out[i] = adjoint[0]
    types = (numba.float64[:, :], numba.float64[:])
    outcomes = {}
    for name, kernel in (("row view", row_view), ("np.zeros_like(row)", zeros_like_of_a_row),
                         ("cuda.local.array(row.shape[0])", local_array_of_a_row)):
        try:
            compile_ptx(kernel, types, cc=COMPUTE_CAPABILITY)
            outcomes[name] = "compiles"
        except numba.core.errors.TypingError:
            outcomes[name] = "refused"
    RESULTS.append(["row_view", True, outcomes])


if __name__ == "__main__":
    try:
        main()
    except Exception:
        RESULTS.append(["setup", False, traceback.format_exc()])
    json.dump(RESULTS, sys.stdout)
