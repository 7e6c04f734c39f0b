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

    shared_checks(check, close, rows, w, scales)
    jvp_checks(check, close, rows, w, scales)

    @check("rows_refusals")
    def _():
        grad = jit.grad(fixtures.row_loss, wrt=(0, 2), target="cuda")
        jvp = jit.jvp(fixtures.row_loss, wrt=(0, 2), target="cuda")
        return {
            "three_dimensional_rows": caught(lambda: grad(np.ones((2, 2, 3)), w, 0.5)),
            "scalar_for_a_row": caught(lambda: grad(1.0, w, 0.5)),
            "lengths_differ": caught(lambda: grad(rows, w, np.ones(4))),
            "float32_rows": caught(lambda: grad(rows.astype(np.float32), w, 0.5)),
            "write_into_a_shared_array": caught(lambda: jit.grad(
                fixtures.row_writes_shared, wrt=1, target="cuda")(rows, w)),
            "jvp_tangent_width": caught(lambda: jvp(rows, w, scales, (np.ones(4), 1.0))),
            "jvp_float_tangent_of_a_row": caught(lambda: jvp(rows, w, scales, (1.0, 1.0))),
            "jvp_three_dimensional_tangent": caught(lambda: jvp(
                rows, w, scales, (np.ones((5, 3, 1)), 1.0))),
            "jvp_tangent_rows_differ": caught(lambda: jvp(
                rows, w, scales, (np.ones((4, 3)), 1.0))),
            "jvp_two_dimensional_scalar_tangent": caught(lambda: jvp(
                rows, w, scales, (rows, np.ones((5, 2))))),
            "jvp_of_several_outputs": caught(lambda: jit.jvp(fixtures.row_pair, target="cuda")(
                rows, rows)),
            "device_of_a_row_jvp": caught(lambda: jit.jvp(fixtures.row_loss,
                                                          target="cuda").device),
            "local_array": caught(lambda: jit.grad(
                fixtures.row_with_local_array, target="cuda")(rows)),
            "numpy_call": caught(lambda: jit.grad(fixtures.row_with_numpy, target="cuda")(rows)),
            "row_write": caught(lambda: jit.grad(
                fixtures.row_writes_its_row, target="cuda")(rows)),
            "tape": caught(lambda: jit.grad(fixtures.row_with_tape, target="cuda")(rows)),
            "device_of_rows": caught(lambda: jit.grad(fixtures.row_loss, target="cuda").device),
        }


def _sum_over_rows(gradient, rows, w, scales):
    """sum_t gradient(rows[t], w, c_t), c_t = scales[t] (or `scales`, a float):
    the reference for a gradient with respect to the shared `w`."""
    return sum(np.asarray(gradient(rows[t], w, scales[t] if np.ndim(scales) else scales))
               for t in range(len(rows)))


def _central(f, point, direction, step=1e-6):
    return (f(point + step * direction) - f(point - step * direction)) / (2 * step)


def shared_checks(check, close, rows, w, scales):
    """A gradient with respect to a 1-D array shared by all threads: the sum
    over rows of the per-row gradients (the gradient of sum_t f_t)."""
    from adjit import jit, source
    from tests import cuda_fixtures as fixtures
    python_grad = jit.grad(fixtures.row_loss, wrt=(0, 1, 2), target="python")

    def total(weights):           # sum_t row_loss(X[t], w, c[t]), the function of w
        return sum(fixtures.row_loss(rows[t], weights, scales[t]) for t in range(5))

    @check("rows_shared_grad")
    def _():
        g_rows, g_w, g_scales = jit.grad(fixtures.row_loss, wrt=(0, 1, 2), target="cuda")(
            rows, w, scales)
        assert g_rows.shape == (5, 3) and g_w.shape == (3,) and g_scales.shape == (5,)
        expected = [python_grad(rows[t], w, scales[t]) for t in range(5)]
        close(g_rows, [e[0] for e in expected], 1e-10)
        close(g_scales, [e[2] for e in expected], 1e-10)
        close(g_w, sum(e[1] for e in expected), 1e-10)
        assert not np.allclose(g_w, expected[0][1])         # a sum, not one row's
        by_differences = [_central(total, w, np.eye(3)[k]) for k in range(3)]
        close(g_w, by_differences, 1e-6)
        for t in range(5):               # each row against central differences too
            one_row = lambda x: fixtures.row_loss(x, w, scales[t])  # noqa: E731
            close(g_rows[t], [_central(one_row, rows[t], np.eye(3)[k]) for k in range(3)],
                  1e-6)
        # device arrays; a scalar broadcast; no per-thread argument (one thread)
        g_w_device = jit.grad(fixtures.row_loss, wrt=1, target="cuda")(
            cuda.to_device(rows), cuda.to_device(w), 0.7)
        close(g_w_device, _sum_over_rows(
            jit.grad(fixtures.row_loss, wrt=1, target="python"), rows, w, 0.7), 1e-10)
        alone = jit.grad(fixtures.row_loss, wrt=(1, 2), target="cuda")(rows[2], w, 0.7)
        assert isinstance(alone[1], float) and alone[0].shape == (3,)
        close(alone[0], python_grad(rows[2], w, 0.7)[1], 1e-10)
        close(jit.grad(fixtures.row_loss, wrt=1, target="cuda")(np.ones((0, 3)), w, 0.7),
              np.zeros(3))                                   # no rows: nothing added
        return 5

    @check("rows_one_thread_on_shared_arrays")
    def _():
        """Only 1-D arguments: one thread, whose gradient is the gradient."""
        x = np.linspace(0.1, 1.0, 5)
        close(jit.grad(fixtures.no_prange, target="cuda")(x), 2.0 * x, 1e-12)
        close(jit.grad(fixtures.of_array, target="cuda")(np.ones(3)), [2.0, 0.0, 0.0])
        return 2

    @check("rows_shared_many_increments")
    def _():
        """150 rows (two blocks of threads), several increments of each shared
        element per thread."""
        many = np.random.default_rng(5).normal(size=(150, 4))
        weights = np.array([0.3, -1.1, 0.8, 0.25])
        g_rows, g_w = jit.grad(fixtures.row_shared_weights, wrt=(0, 1), target="cuda")(
            many, weights)
        reference = jit.grad(fixtures.row_shared_weights, wrt=(0, 1), target="python")
        close(g_rows, [reference(many[t], weights)[0] for t in range(150)], 1e-10)
        close(g_w, sum(reference(many[t], weights)[1] for t in range(150)), 1e-9)
        return 150

    @check("rows_shared_value_and_grad_and_vjp")
    def _():
        value, g_w = jit.value_and_grad(fixtures.row_loss, wrt=1, target="cuda")(
            rows, w, scales)
        close(value, [fixtures.row_loss(rows[t], w, scales[t]) for t in range(5)], 1e-12)
        close(g_w, _sum_over_rows(jit.grad(fixtures.row_loss, wrt=1, target="python"),
                                  rows, w, scales), 1e-10)
        cotangents = np.array([1.0, -2.0, 0.5, 3.0, 0.0])
        value, (g_rows, g_w) = jit.vjp(fixtures.row_loss, wrt=(0, 1), target="cuda")(
            rows, w, scales, cotangents)
        cpu = jit.vjp(fixtures.row_loss, wrt=(0, 1), target="python")
        expected = [cpu(rows[t], w, scales[t], cotangents[t])[1] for t in range(5)]
        close(g_rows, [e[0] for e in expected], 1e-10)
        close(g_w, sum(e[1] for e in expected), 1e-10)    # sum_t u_t grad_w f_t
        _, g_w_broadcast = jit.vjp(fixtures.row_loss, wrt=1, target="cuda")(
            rows, w, scales, 2.0)
        close(g_w_broadcast, 2.0 * _sum_over_rows(
            jit.grad(fixtures.row_loss, wrt=1, target="python"), rows, w, scales), 1e-10)
        return 5

    @check("rows_shared_source")
    def _():
        return source(jit.grad(fixtures.row_loss, wrt=(0, 1, 2), target="cuda"),
                      rows, w, scales)


def jvp_checks(check, close, rows, w, scales):
    """jit.jvp on rows: thread t returns f_t and its derivative along the
    tangents' row t (a 1-D tangent of an array, or a float, for every row)."""
    from adjit import jit, source
    from tests import cuda_fixtures as fixtures
    rng = np.random.default_rng(17)
    d_rows, d_w, d_scales = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=5)
    python_jvp = jit.jvp(fixtures.row_loss, wrt=(0, 1, 2), target="python")

    @check("rows_jvp")
    def _():
        jvp = jit.jvp(fixtures.row_loss, wrt=(0, 1, 2), target="cuda")
        value, tangent = jvp(rows, w, scales, (d_rows, d_w, d_scales))
        assert value.shape == (5,) and tangent.shape == (5,)
        for t in range(5):
            expected_value, expected_tangent = python_jvp(
                rows[t], w, scales[t], (d_rows[t], d_w, d_scales[t]))
            close(value[t], expected_value, 1e-12)
            close(tangent[t], expected_tangent, 1e-10)
            along = lambda h: fixtures.row_loss(  # noqa: E731
                rows[t] + h * d_rows[t], w + h * d_w, scales[t] + h * d_scales[t])
            close(tangent[t], _central(along, 0.0, 1.0), 1e-6)
        # a 1-D tangent of a row (the same for every thread), a float for a scalar,
        # device arrays
        value, tangent = jvp(cuda.to_device(rows), w, scales,
                             (cuda.to_device(d_rows[0]), np.zeros(3), 0.5))
        for t in range(5):
            close(tangent[t], python_jvp(rows[t], w, scales[t],
                                         (d_rows[0], np.zeros(3), 0.5))[1], 1e-10)
        one = jit.jvp(fixtures.row_loss, wrt=1, target="cuda")(rows[0], w, 0.7, d_w)
        assert isinstance(one[1], float)
        close(one[1], jit.jvp(fixtures.row_loss, wrt=1, target="python")(
            rows[0], w, 0.7, d_w)[1], 1e-10)
        return 5

    @check("rows_jvp_against_the_shared_vjp")
    def _():
        """<u, J dw> == <J^T u, dw>: the jvp along a shared tangent and the
        shared gradient (summed over rows) are transposes of each other."""
        cotangents = rng.normal(size=5)
        _, tangent = jit.jvp(fixtures.row_loss, wrt=1, target="cuda")(rows, w, scales, d_w)
        _, g_w = jit.vjp(fixtures.row_loss, wrt=1, target="cuda")(rows, w, scales,
                                                                   cotangents)
        close(np.dot(cotangents, tangent), np.dot(g_w, d_w), 1e-10)
        return 5

    @check("rows_jvp_of_a_recurrence")
    def _():
        """Forward mode needs no tape: a loop reverse mode refuses on the GPU."""
        value, tangent = jit.jvp(fixtures.row_with_tape, target="cuda")(rows, d_rows)
        reference = jit.jvp(fixtures.row_with_tape, target="python")
        for t in range(5):
            expected_value, expected_tangent = reference(rows[t], d_rows[t])
            close([value[t], tangent[t]], [expected_value, expected_tangent], 1e-10)
            along = lambda h: fixtures.row_with_tape(rows[t] + h * d_rows[t])  # noqa: E731
            close(tangent[t], _central(along, 0.0, 1.0), 1e-6)
        return 5

    @check("rows_jvp_source")
    def _():
        return source(jit.jvp(fixtures.row_loss, wrt=(0, 1, 2), target="cuda"),
                      rows, w, scales)
