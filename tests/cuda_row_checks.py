"""CUDA checks of functions without a prange on rows (one GPU thread per row
of the 2-D arguments), run by tests/cuda_checks.py in its subprocess."""

import numpy as np
from numba import cuda     # a global: the simulator swaps `cuda` in kernels' globals


def row_checks(check, close, caught):
    from adjit import jit, source
    from tests import cuda_fixtures as fixtures

    rng = np.random.default_rng(11)
    rows, w = rng.normal(size=(5, 3)), np.array([0.5, 1.5, -0.7])
    scales = np.linspace(0.2, 1.3, 5)
    python_grad = jit.grad(fixtures.row_loss, wrt=(0, 2), target="python")
    python_value = jit.value_and_grad(fixtures.row_loss, wrt=(0, 2), target="python")

    @check("rows_grad")
    def _():
        g_rows, g_scales = jit.grad(fixtures.row_loss, wrt=(0, 2), target="cuda")(
            rows, w, scales)
        assert g_rows.shape == (5, 3) and g_scales.shape == (5,)
        for t in range(5):
            expected_row, expected_scale = python_grad(rows[t], w, scales[t])
            close(g_rows[t], expected_row, 1e-10)
            close(g_scales[t], expected_scale, 1e-10)
        only_rows = jit.grad(fixtures.row_loss, target="cuda")(rows, w, 0.7)  # c broadcast
        for t in range(5):
            close(only_rows[t], python_grad(rows[t], w, 0.7)[0], 1e-10)
        one = jit.grad(fixtures.row_loss, wrt=2, target="cuda")(rows[1], w, 0.7)  # no lanes
        assert isinstance(one, float)
        close(one, python_grad(rows[1], w, 0.7)[1], 1e-10)
        close(jit.grad(fixtures.row_length, target="cuda")(rows), np.zeros((5, 3)))
        return 5

    @check("rows_value_and_grad_device_arrays")
    def _():
        both = jit.value_and_grad(fixtures.row_loss, wrt=(0, 2), target="cuda")
        value, (g_rows, g_scales) = both(cuda.to_device(rows), cuda.to_device(w),
                                         cuda.to_device(scales))
        for t in range(5):
            expected_value, (expected_row, expected_scale) = python_value(
                rows[t], w, scales[t])
            close(value[t], expected_value, 1e-10)
            close(g_rows[t], expected_row, 1e-10)
            close(g_scales[t], expected_scale, 1e-10)
        cotangents = np.arange(1.0, 6.0)
        value, (g_rows, g_scales) = jit.vjp(fixtures.row_loss, wrt=(0, 2), target="cuda")(
            rows, w, scales, cotangents)
        cpu = jit.vjp(fixtures.row_loss, wrt=(0, 2), target="python")
        for t in range(5):
            expected_value, (expected_row, expected_scale) = cpu(
                rows[t], w, scales[t], cotangents[t])
            close([value[t], g_scales[t]], [expected_value, expected_scale], 1e-10)
            close(g_rows[t], expected_row, 1e-10)
        return 5

    @check("rows_source")
    def _():
        return source(jit.grad(fixtures.row_loss, wrt=(0, 2), target="cuda"),
                      rows, w, scales)

    @check("rows_refusals")
    def _():
        grad = jit.grad(fixtures.row_loss, wrt=(0, 2), target="cuda")
        return {
            "gradient_of_a_broadcast_array": caught(lambda: jit.grad(
                fixtures.row_loss, wrt=1, target="cuda")(rows, w, scales)),
            "three_dimensional_rows": caught(lambda: grad(np.ones((2, 2, 3)), w, 0.5)),
            "scalar_for_a_row": caught(lambda: grad(1.0, w, 0.5)),
            "lengths_differ": caught(lambda: grad(rows, w, np.ones(4))),
            "float32_rows": caught(lambda: grad(rows.astype(np.float32), w, 0.5)),
            "jvp_of_rows": caught(lambda: jit.jvp(fixtures.row_loss, target="cuda")),
            "local_array": caught(lambda: jit.grad(
                fixtures.row_with_local_array, target="cuda")(rows)),
            "numpy_call": caught(lambda: jit.grad(fixtures.row_with_numpy, target="cuda")(rows)),
            "row_write": caught(lambda: jit.grad(
                fixtures.row_writes_its_row, target="cuda")(rows)),
            "tape": caught(lambda: jit.grad(fixtures.row_with_tape, target="cuda")(rows)),
            "device_of_rows": caught(lambda: jit.grad(fixtures.row_loss, target="cuda").device),
        }
