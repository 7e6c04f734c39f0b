"""CUDA checks of tests/test_cuda.py, run in a subprocess of their own.

`NUMBA_ENABLE_CUDASIM=1` must be set before `numba.cuda` is first imported
in a process, which a pytest process that imported numba long before cannot
promise; test_cuda.py runs this file with the variable set (or, with
ADJIT_TEST_CUDA_DEVICE=1, on a real GPU) and reads the JSON it prints: one
entry per check, each a list of `[name, ok, detail]`.
"""

import json
import sys
import traceback

import numpy as np
from numba import cuda     # a global: the simulator swaps `cuda` in kernels' globals

RESULTS = []


def check(name):
    def run(body):
        try:
            detail = body()
            RESULTS.append([name, True, detail])
        except Exception:
            RESULTS.append([name, False, traceback.format_exc()])
        return body
    return run


def close(a, b, tolerance=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or not np.allclose(a, b, rtol=tolerance, atol=tolerance):
        raise AssertionError(f"{a!r} != {b!r}")


def main():
    from adjit import jit, AdjitError
    from tests.cuda_fixtures import damped_orbit, of_array, pair_energy, sample_loss

    radii = np.linspace(0.85, 2.5, 37)
    predictions = np.linspace(-3.0, 3.0, 29)
    targets = np.cos(np.arange(29.0))

    @check("device_from_user_kernel")
    def _():
        grad_r = jit.grad(pair_energy, wrt=0, target="cuda").device
        both = jit.grad(sample_loss, wrt=(0, 2), target="cuda").device
        value_and = jit.value_and_grad(pair_energy, wrt=(0, 1), target="cuda").device

        @cuda.jit
        def kernel(r, p, t, out):
            i = cuda.grid(1)
            if i < r.shape[0]:
                out[i, 0] = grad_r(r[i], 1.5, 1.0)
                g_p, g_w = both(p[i], t[i], 0.7)
                out[i, 1] = g_p
                out[i, 2] = g_w
                value, g_r, g_e = value_and(r[i], 1.5, 1)     # an int, converted
                out[i, 3] = value
                out[i, 4] = g_r
                out[i, 5] = g_e
        n = 29
        out = np.zeros((n, 6))
        kernel[1, 32](radii[:n], predictions, targets, out)
        cpu_r = jit.grad(pair_energy, wrt=0)
        cpu_loss = jit.grad(sample_loss, wrt=(0, 2))
        cpu_value = jit.value_and_grad(pair_energy, wrt=(0, 1))
        for i in range(n):
            close(out[i, 0], cpu_r(radii[i], 1.5, 1.0))
            close(out[i, 1:3], cpu_loss(predictions[i], targets[i], 0.7))
            value, (g_r, g_e) = cpu_value(radii[i], 1.5, 1.0)
            close(out[i, 3:6], [value, g_r, g_e])
        branches = {abs((predictions[i] - targets[i]) / 0.7) < 1.0 for i in range(n)}
        assert branches == {True, False}, "both branches of the loss are exercised"
        return n

    @check("elementwise_arrays")
    def _():
        grad = jit.grad(pair_energy, wrt=(0, 2), target="cuda")
        g_r, g_s = grad(radii, 1.5, np.full(radii.shape, 1.1))
        cpu = jit.grad(pair_energy, wrt=(0, 2))
        for i, r in enumerate(radii):
            close([g_r[i], g_s[i]], cpu(r, 1.5, 1.1))
        value, g = jit.value_and_grad(sample_loss, target="cuda")(
            cuda.to_device(predictions), targets, 0.7)     # a device array too
        cpu_value = jit.value_and_grad(sample_loss)
        for i in range(len(predictions)):
            close([value[i], g[i]], cpu_value(predictions[i], targets[i], 0.7))
        single = jit.grad(pair_energy, target="cuda")(1.3, 1.0, 1.0)
        assert isinstance(single, float)
        close(single, jit.grad(pair_energy)(1.3, 1.0, 1.0))
        empty = jit.grad(pair_energy, target="cuda")(np.zeros(0), 1.0, 1.0)
        assert empty.shape == (0,)
        return len(radii)

    @check("jvp_of_a_loop")
    def _():
        jvp = jit.jvp(damped_orbit, target="cuda")
        xs = np.linspace(-1.0, 1.0, 17)
        values, tangents = jvp(xs, 6, 1.0)
        cpu = jit.jvp(damped_orbit)
        for i, x in enumerate(xs):
            close([values[i], tangents[i]], cpu(x, 6, 1.0))
        device = jvp.device_for(1.0, 6)

        @cuda.jit
        def kernel(x, out):
            i = cuda.grid(1)
            if i < x.shape[0]:
                value, tangent = device(x[i], 6, 2.0)
                out[i] = tangent
        out = np.zeros(len(xs))
        kernel[1, 32](xs, out)
        for i, x in enumerate(xs):
            close(out[i], cpu(x, 6, 2.0)[1])
        return len(xs)

    @check("taped_loop_refused")
    def _():
        try:
            jit.grad(damped_orbit, target="cuda")(np.ones(3), 4)
        except AdjitError as error:
            return str(error)
        raise AssertionError("no error")

    @check("array_arguments_refused")
    def _():
        messages = []
        for call in (lambda: jit.grad(of_array, target="cuda")(np.ones((2, 3, 1))),
                     lambda: jit.grad(pair_energy, target="cuda")(np.ones((2, 2)), 1.0, 1.0)):
            try:
                call()
            except AdjitError as error:
                messages.append(str(error))
            else:
                raise AssertionError("no error")
        return messages

    @check("generated_kernel_source")
    def _():
        import glob
        import os
        jit.grad(pair_energy, target="cuda")(radii, 1.0, 1.0)
        paths = glob.glob(os.path.join(os.environ["ADJIT_CACHE_DIR"],
                                       "adjit_pair_energy_*_cuda.py"))
        texts = [open(path).read() for path in paths]
        return [text for text in texts if "wrt r, signature" in text]

    grid_checks()
    vjp_checks()
    from tests.cuda_row_checks import row_checks
    row_checks(check, close, caught)
    from tests.cuda_tape_checks import tape_checks
    tape_checks(check, close, caught)


# ---- functions with an outer prange loop: kernels, one thread per iteration ----------

def kernel_norm_exact(q, p, s):
    """The Gaussian kernel norm H = 1/2 sum_ij K_ij <p_i, p_j>, K_ij =
    exp(-|q_i - q_j|^2 / (2 s^2)), and its gradient in closed form."""
    difference = q[:, None, :] - q[None, :, :]
    squared = (difference ** 2).sum(axis=2)
    kernel = np.exp(-squared / (2 * s * s))
    dots = p @ p.T
    value = 0.5 * (kernel * dots).sum()
    grad_p = kernel @ p
    grad_q = -((kernel * dots)[:, :, None] * difference).sum(axis=1) / (s * s)
    grad_s = 0.5 * (kernel * dots * squared).sum() / s ** 3
    return value, grad_q, grad_p, grad_s


def grid_checks():
    from adjit import AdjitError, jit, source
    from adjit.demo import kernel_norm_parallel
    from tests import cuda_fixtures as fixtures

    rng = np.random.default_rng(8)
    q, p, s = rng.normal(size=(12, 3)), rng.normal(size=(12, 3)), 2.5
    value, grad_q, grad_p, grad_s = kernel_norm_exact(q, p, s)

    @check("kernel_norm_grad")
    def _():
        gq, gp = jit.grad(kernel_norm_parallel, wrt=(0, 1), target="cuda")(q, p, s)
        assert isinstance(gq, np.ndarray) and gq.shape == q.shape
        close(gq, grad_q, 1e-10)
        close(gp, grad_p, 1e-10)
        gq, gp, gs = jit.grad(kernel_norm_parallel, wrt=(0, 1, 2), target="cuda")(q, p, s)
        assert isinstance(gs, float)
        close(gs, grad_s, 1e-10)
        close(gq, grad_q, 1e-10)
        python = jit.grad(kernel_norm_parallel, wrt=(0, 1, 2), target="python")(q, p, s)
        for mine, theirs in zip((gq, gp, gs), python):
            close(mine, theirs, 1e-10)
        return q.shape

    @check("kernel_norm_value_and_grad_device_arrays")
    def _():
        both = jit.value_and_grad(kernel_norm_parallel, wrt=(0, 1), target="cuda")
        got, (gq, gp) = both(q, p, s)
        close(got, value, 1e-10)
        close(gq, grad_q, 1e-10)
        close(gp, grad_p, 1e-10)
        got, (gq, gp) = both(cuda.to_device(q), cuda.to_device(p), s)
        assert isinstance(gq, np.ndarray)
        close(got, value, 1e-10)
        close(gp, grad_p, 1e-10)
        tangent_q = rng.normal(size=q.shape)
        got, tangent = jit.jvp(kernel_norm_parallel, wrt=(0, 2), target="cuda")(
            q, p, s, (tangent_q, 0.5))
        close(tangent, (grad_q * tangent_q).sum() + 0.5 * grad_s, 1e-10)
        return True

    @check("kernel_norm_kernel_source")
    def _():
        import glob
        import os
        text = source(jit.grad(kernel_norm_parallel, wrt=(0, 1, 2), target="cuda"), q, p, s)
        cached = [open(path).read() for path in glob.glob(os.path.join(
            os.environ["ADJIT_CACHE_DIR"], "adjit_kernel_norm_parallel_*_cuda.py"))]
        assert any(entry.startswith(text) for entry in cached), "not in the cache"
        return text

    @check("own_and_shared_adjoints")
    def _():
        a, w = rng.normal(size=(6, 4)), rng.normal(size=4)
        g = jit.grad(fixtures.weighted_rows, wrt=(0, 1, 2), target="cuda")
        expected = jit.grad(fixtures.weighted_rows, wrt=(0, 1, 2), target="python")(a, w, 0.3)
        for mine, theirs in zip(g(a, w, 0.3), expected):
            close(mine, theirs, 1e-10)
        scalars = jit.value_and_grad(fixtures.wave_sum, target="cuda")(0.7, 9)
        close(scalars, jit.value_and_grad(fixtures.wave_sum, target="python")(0.7, 9), 1e-12)
        return source(g, a, w, 0.3)

    @check("parallel_corpus")
    def _():
        """tests/parallel_fixtures.py's cases of one prange loop and scalar host
        code: gradient and tangent as on target="python"; the two with a
        second loop over an array after the prange are refused."""
        from tests import parallel_fixtures as corpus
        outcomes = {}
        for case in corpus.CASES:
            args = corpus.ARGUMENTS[case.__name__]()
            try:
                gradient = jit.grad(case, target="cuda")(*args)
            except AdjitError as error:
                outcomes[case.__name__] = str(error).splitlines()[0]
                continue
            close(gradient, jit.grad(case, target="python")(*args), 1e-10)
            direction = np.random.default_rng(5).normal(size=np.shape(args[0]))
            close(jit.jvp(case, target="cuda")(*args, direction),
                  jit.jvp(case, target="python")(*args, direction), 1e-10)
            outcomes[case.__name__] = "ok"
        return outcomes

    @check("no_vectorising_scratch_in_device_code")
    def _():
        xs = np.linspace(0.1, 0.9, 5)
        gradients = jit.grad(fixtures.nested_sum, target="cuda")(xs, 4, 5)
        cpu = jit.grad(fixtures.nested_sum, target="python")
        for i, x in enumerate(xs):
            close(gradients[i], cpu(x, 4, 5), 1e-10)
        u = np.arange(15.0).reshape(3, 5) / 7
        close(jit.grad(fixtures.row_stencil, target="cuda")(u, 0.7),
              jit.grad(fixtures.row_stencil, target="python")(u, 0.7), 1e-10)
        return len(xs)

    @check("grid_refusals")
    def _():
        x, w = np.linspace(0.1, 1.0, 5), np.ones(3)
        messages = {}
        for name, args in (("loop_after_prange", (x, w)),
                           ("array_in_prange", (x,)), ("tape_in_prange", (x, 3)),
                           ("prange_in_a_loop", (x,))):
            try:
                jit.grad(getattr(fixtures, name), target="cuda")(*args)
            except AdjitError as error:
                messages[name] = str(error)
            else:
                raise AssertionError(f"{name}: no error")
        try:
            jit.grad(kernel_norm_parallel, target="cuda").device
        except AdjitError as error:
            messages["device"] = str(error)
        for name, make in (
                ("again_on_the_gpu", lambda: jit.jvp(jit.grad(kernel_norm_parallel, wrt=2),
                                                     wrt=2, target="cuda")),
                ("again_of_the_gpu", lambda: jit.grad(jit.grad(kernel_norm_parallel, wrt=2,
                                                               target="cuda"), wrt=2))):
            try:
                make()
            except AdjitError as error:
                messages[name] = str(error)
        return messages

    @check("cli_show_cuda")
    def _():
        import contextlib
        import io
        from adjit import cli
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = cli.main(["show", "adjit/demo.py:kernel_norm_parallel", "--wrt", "q,p",
                             "--sig", "float64[:, :], float64[:, :], float64",
                             "--target", "cuda"])
        return code, printed.getvalue()


# ---- jit.vjp: element-wise (functions of scalars) and kernels (prange) -----------------

def caught(call) -> str:
    from adjit import AdjitError
    try:
        call()
    except AdjitError as error:
        return str(error)
    raise AssertionError("no error")


def vjp_checks():
    from adjit import jit, source
    from adjit.demo import kernel_norm_parallel
    from tests import cuda_fixtures as fixtures

    radii = np.linspace(0.85, 2.5, 11)
    cotangents = np.linspace(-1.5, 2.0, 11)

    @check("vjp_elementwise")
    def _():
        vjp = jit.vjp(fixtures.pair_energy, wrt=(0, 2), target="cuda")
        cpu = jit.vjp(fixtures.pair_energy, wrt=(0, 2), target="python")
        for cotangent in (cotangents, 0.3, cuda.to_device(cotangents)):
            value, (g_r, g_s) = vjp(radii, 1.5, 1.1, cotangent)
            assert isinstance(g_r, np.ndarray) and g_r.shape == radii.shape
            for i, r in enumerate(radii):
                c = cotangent if isinstance(cotangent, float) else cotangents[i]
                expected_value, expected = cpu(r, 1.5, 1.1, c)
                close([value[i], g_r[i], g_s[i]], [expected_value, *expected], 1e-10)
        value, g = vjp(1.3, 1.5, 1.1, 0.5)          # scalars: one thread, floats out
        assert isinstance(value, float) and isinstance(g[0], float)
        close([value, *g], [cpu(1.3, 1.5, 1.1, 0.5)[0], *cpu(1.3, 1.5, 1.1, 0.5)[1]], 1e-10)
        loss = jit.vjp(fixtures.sample_loss, target="cuda")       # wrt one: no tuple
        cpu_loss = jit.vjp(fixtures.sample_loss, target="python")
        predictions, targets = np.linspace(-3.0, 3.0, 11), np.cos(np.arange(11.0))
        value, g = loss(predictions, targets, 0.7, cotangents)
        for i in range(11):
            expected_value, expected = cpu_loss(predictions[i], targets[i], 0.7, cotangents[i])
            close([value[i], g[i]], [expected_value, expected], 1e-10)
        return len(radii)

    @check("vjp_device_from_user_kernel")
    def _():
        device = jit.vjp(fixtures.pair_energy, wrt=(0, 1), target="cuda").device

        @cuda.jit
        def kernel(r, c, out):
            i = cuda.grid(1)
            if i < r.shape[0]:
                value, g_r, g_e = device(r[i], 1.5, 1.0, c[i])   # cotangent last
                out[i, 0] = value
                out[i, 1] = g_r
                out[i, 2] = g_e
        out = np.zeros((len(radii), 3))
        kernel[1, 32](radii, cotangents, out)
        cpu = jit.vjp(fixtures.pair_energy, wrt=(0, 1), target="python")
        for i, r in enumerate(radii):
            value, grads = cpu(r, 1.5, 1.0, cotangents[i])
            close(out[i], [value, *grads], 1e-10)
        return len(radii)

    rng = np.random.default_rng(3)
    q, p = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))

    @check("vjp_kernels")
    def _():
        vjp = jit.vjp(kernel_norm_parallel, wrt=(0, 1, 2), target="cuda")
        cpu = jit.vjp(kernel_norm_parallel, wrt=(0, 1, 2), target="python")
        for arguments in ((q, p, 2.5, 0.7), (cuda.to_device(q), cuda.to_device(p), 2.5, -2)):
            value, grads = vjp(*arguments)
            expected_value, expected = cpu(q, p, 2.5, float(arguments[-1]))
            close(value, expected_value, 1e-10)
            assert isinstance(grads[0], np.ndarray) and isinstance(grads[2], float)
            for mine, theirs in zip(grads, expected):
                close(mine, theirs, 1e-10)
        a, w = rng.normal(size=(5, 4)), rng.normal(size=4)
        value, grads = jit.vjp(fixtures.weighted_rows, wrt=(1, 2), target="cuda")(a, w, 0.3, 1.7)
        expected_value, expected = jit.vjp(fixtures.weighted_rows, wrt=(1, 2),
                                           target="python")(a, w, 0.3, 1.7)
        close(value, expected_value, 1e-10)
        for mine, theirs in zip(grads, expected):
            close(mine, theirs, 1e-10)
        close(jit.vjp(fixtures.wave_sum, target="cuda")(0.7, 9, 0.5),
              jit.vjp(fixtures.wave_sum, target="python")(0.7, 9, 0.5), 1e-12)
        return source(vjp, q, p, 2.5, 0.7)

    @check("vjp_elementwise_source")
    def _():
        return source(jit.vjp(fixtures.pair_energy, target="cuda"), radii, 1.0, 1.0, 1.0)

    @check("vjp_refusals")
    def _():
        return {
            "array_cotangent_of_a_kernel": caught(lambda: jit.vjp(
                kernel_norm_parallel, target="cuda")(q, p, 2.5, np.ones(7))),
            "two_dimensional_cotangent": caught(lambda: jit.vjp(
                fixtures.pair_energy, target="cuda")(radii, 1.0, 1.0, np.ones((11, 2)))),
            "array_output": caught(lambda: jit.vjp(
                fixtures.returns_its_argument, target="cuda")(radii, np.ones(11))),
            "row_per_thread": caught(lambda: jit.jvp(fixtures.of_array, target="cuda").device),
            "length_of_a_row": caught(lambda: jit.jvp(fixtures.row_length,
                                                      target="cuda").device),
            "two_dimensional_argument": caught(lambda: jit.vjp(
                fixtures.pair_energy, target="cuda")(np.ones((3, 2)), 1.0, 1.0, 1.0)),
            "jvp_tangent_two_dimensional": caught(lambda: jit.jvp(
                fixtures.pair_energy, target="cuda")(radii, 1.0, 1.0, np.ones((11, 2)))),
        }


if __name__ == "__main__":
    try:
        main()
    except Exception:
        RESULTS.append(["setup", False, traceback.format_exc()])
    json.dump(RESULTS, sys.stdout)
