"""CUDA checks of reverse sweeps that keep a tape in `cuda.local.array`
(loops of literal trip counts), run by tests/cuda_checks.py in its
subprocess: each derivative against the cpu derivative (of a serial twin,
for prange functions, which the cpu refuses with a tape) and against
central finite differences, in float64.

In the simulator a local array is a NumPy array of the declared size, so a
tape sized too small fails here with an IndexError instead of passing."""

import math

import numpy as np
from numba import cuda     # a global: the simulator swaps `cuda` in kernels' globals

STEP = 1e-6          # central differences: error ~ STEP**2, rounding ~ 1e-16 / STEP
DIFFERENCE_TOLERANCE = 1e-6


def central_difference(f, args, position: int, index=None) -> float:
    """d f(*args) / d args[position] (its element `index` for an array)."""
    def shifted(step):
        moved = list(args)
        if index is None:
            moved[position] = args[position] + step
        else:
            moved[position] = np.array(args[position], dtype=float)
            moved[position][index] += step
        return f(*moved)
    return (shifted(STEP) - shifted(-STEP)) / (2 * STEP)


def numeric_gradient(f, args, position: int):
    value = args[position]
    if np.ndim(value) == 0:
        return central_difference(f, args, position)
    gradient = np.zeros(np.shape(value))
    for index in np.ndindex(np.shape(value)):
        gradient[index] = central_difference(f, args, position, index)
    return gradient


def tape_checks(check, close, caught):
    from adjit import jit, source
    from tests import cuda_fixtures as fixtures

    xs = np.linspace(-1.3, 1.45, 12)
    scalar_cases = [(fixtures.sine_map, 1.1), (fixtures.nested_map, 0.9),
                    (fixtures.branching_map, 1.7), (fixtures.overwrites, 0.7)]

    @check("tape_elementwise")
    def _():
        """grad, value_and_grad and vjp of functions of scalars whose
        reverse sweeps pop a tape, one GPU thread per element."""
        compared = 0
        cotangents = np.linspace(-2.0, 1.5, len(xs))
        for f, b in scalar_cases:
            g_x, g_b = jit.grad(f, wrt=(0, 1), target="cuda")(xs, b)
            value, (v_x, v_b) = jit.value_and_grad(f, wrt=(0, 1), target="cuda")(xs, b)
            vjp_value, (c_x, c_b) = jit.vjp(f, wrt=(0, 1), target="cuda")(xs, b, cotangents)
            cpu = jit.grad(f, wrt=(0, 1))
            for i, x in enumerate(xs):
                expected = cpu(x, b)
                close([g_x[i], g_b[i]], expected)
                close([value[i], v_x[i], v_b[i]], [f(x, b), *expected])
                close([vjp_value[i], c_x[i], c_b[i]],
                      [f(x, b), cotangents[i] * expected[0], cotangents[i] * expected[1]])
                numeric = [central_difference(f, (x, b), 0), central_difference(f, (x, b), 1)]
                close([g_x[i], g_b[i]], numeric, DIFFERENCE_TOLERANCE)
                compared += 1
        return compared

    @check("tape_branches_exercised")
    def _():
        """branching_map takes both branches, and leaves its loop by `break`
        for some elements only (a replica of its loop, in Python)."""
        taken, broke = set(), set()
        for x in xs:
            a = x
            for k in range(6):
                taken.add(a > 0.5)
                a = math.sin(a) * 1.7 if a > 0.5 else a * a + 1.7
                if a > 2.5:
                    broke.add(k)
                    break
            else:
                broke.add(None)
        assert taken == {True, False} and None in broke and len(broke) > 1, (taken, broke)
        return True

    @check("tape_device_from_user_kernel")
    def _():
        grad = jit.grad(fixtures.sine_map, wrt=(0, 1), target="cuda").device
        nested = jit.value_and_grad(fixtures.nested_map, target="cuda").device
        outer = jit.grad(fixtures.outer_sum, target="cuda").device_for(1.0, 4)

        @cuda.jit
        def kernel(x, out):
            i = cuda.grid(1)
            if i < x.shape[0]:
                g_x, g_b = grad(x[i], 1.1)
                out[i, 0] = g_x
                out[i, 1] = g_b
                value, g = nested(x[i], 0.9)
                out[i, 2] = value
                out[i, 3] = g
                out[i, 4] = outer(x[i], 4)
        out = np.zeros((len(xs), 5))
        kernel[1, 32](xs, out)
        cpu_sine = jit.grad(fixtures.sine_map, wrt=(0, 1))
        cpu_nested = jit.value_and_grad(fixtures.nested_map)
        cpu_outer = jit.grad(fixtures.outer_sum)
        for i, x in enumerate(xs):
            close(out[i, :2], cpu_sine(x, 1.1))
            value, g = cpu_nested(x, 0.9)
            close(out[i, 2:4], [value, g])
            close(out[i, 4], cpu_outer(x, 4))
            close(out[i, 4], central_difference(fixtures.outer_sum, (x, 4), 0),
                  DIFFERENCE_TOLERANCE)
        return len(xs)

    @check("tape_recomputed_branches")
    def _():
        points = xs + 0.0137        # no y at the branch's kink, y = 0
        gradients = jit.grad(fixtures.gated_sum, target="cuda")(points, 4)
        cpu = jit.grad(fixtures.gated_sum)
        for i, x in enumerate(points):
            close(gradients[i], cpu(x, 4))
            close(gradients[i], central_difference(fixtures.gated_sum, (x, 4), 0),
                  DIFFERENCE_TOLERANCE)
        signs = {x + 0.1 * i > 0.0 for x in points for i in range(4)}
        assert signs == {True, False}, "both sides of the branch are exercised"
        return source(jit.grad(fixtures.gated_sum, target="cuda"), 0.5, 4)

    rng = np.random.default_rng(21)
    roots = rng.uniform(0.5, 2.0, size=9)
    matrix = rng.normal(size=(5, 4))

    @check("tape_kernels")
    def _():
        """prange bodies with a literal-count recurrence: one tape per thread."""
        cases = [(fixtures.newton_roots, fixtures.newton_roots_serial, (roots, 1.3)),
                 (fixtures.relaxed_rows, fixtures.relaxed_rows_serial, (matrix, 0.8))]
        for f, serial, args in cases:
            g_array, g_scalar = jit.grad(f, wrt=(0, 1), target="cuda")(*args)
            expected = jit.grad(serial, wrt=(0, 1))(*args)
            close(g_array, expected[0], 1e-10)
            close(g_scalar, expected[1], 1e-10)
            close(g_array, numeric_gradient(serial, args, 0), DIFFERENCE_TOLERANCE)
            close(g_scalar, numeric_gradient(serial, args, 1), DIFFERENCE_TOLERANCE)
            value, (v_array, v_scalar) = jit.value_and_grad(f, wrt=(0, 1),
                                                            target="cuda")(*args)
            close(value, serial(*args), 1e-10)
            close(v_array, expected[0], 1e-10)
            value, (c_array, c_scalar) = jit.vjp(f, wrt=(0, 1), target="cuda")(*args, 0.5)
            close([value, c_scalar], [serial(*args), 0.5 * expected[1]], 1e-10)
            close(c_array, 0.5 * expected[0], 1e-10)
            device = jit.grad(f, target="cuda")(cuda.to_device(args[0]), args[1])
            close(device, expected[0], 1e-10)
        return len(cases)

    @check("tape_rows")
    def _():
        """one thread per row, its tape in local memory."""
        rows, scales = rng.normal(size=(6, 4)), np.linspace(0.2, 1.2, 6)
        g_rows, g_scales = jit.grad(fixtures.row_recurrence, wrt=(0, 1), target="cuda")(
            rows, scales)
        python = jit.grad(fixtures.row_recurrence, wrt=(0, 1), target="python")
        for t in range(6):
            expected_row, expected_scale = python(rows[t], scales[t])
            close(g_rows[t], expected_row, 1e-12)
            close(g_scales[t], expected_scale, 1e-12)
            args = (rows[t], scales[t])
            close(g_rows[t], numeric_gradient(fixtures.row_recurrence, args, 0),
                  DIFFERENCE_TOLERANCE)
            close(g_scales[t], numeric_gradient(fixtures.row_recurrence, args, 1),
                  DIFFERENCE_TOLERANCE)
        return 6

    @check("tape_sources")
    def _():
        texts = {f.__name__: source(jit.grad(f, target="cuda"), 0.5, b)
                 for f, b in scalar_cases}
        texts["outer_sum"] = source(jit.grad(fixtures.outer_sum, target="cuda"), 0.5, 4)
        texts["newton_roots"] = source(jit.grad(fixtures.newton_roots, target="cuda"),
                                       roots, 1.3)
        texts["relaxed_rows"] = source(jit.grad(fixtures.relaxed_rows, wrt=(0, 1),
                                                target="cuda"), matrix, 0.8)
        texts["row_recurrence"] = source(jit.grad(fixtures.row_recurrence, target="cuda"),
                                         np.ones((2, 3)), 0.5)
        return texts

    @check("tape_refusals")
    def _():
        return {
            "too_long": caught(lambda: jit.grad(fixtures.too_long, target="cuda")(xs)),
            "halving": caught(lambda: jit.grad(fixtures.halving, target="cuda")(xs)),
            "again": caught(lambda: jit.grad(jit.grad(fixtures.sine_map, target="cuda"))(
                0.3, 1.1)),
            "host_overwrite": caught(lambda: jit.grad(
                fixtures.host_overwrite, wrt=1, target="cuda")(roots, 0.4)),
        }
