"""Jacobi relaxation of a Poisson problem, gradient wrt (u0, f).

    u_new[i, j] = (u[i-1, j] + u[i+1, j] + u[i, j-1] + u[i, j+1] - h^2 f[i, j]) / 4

on the interior of an `n` x `n` grid, `SWEEPS` sweeps, written the way
textbooks and notebooks write it: a fresh copy of the grid per sweep, the
name rebound to it (`u = u_new`). The objective is sum(u^2) at the end.
The sweep is linear, so its adjoint reads no state: the hand-written
gradient runs the transposed stencil backwards, keeping only the final
grid. The peers run whole-array sweeps.
"""

from __future__ import annotations

import numba
import numpy as np

from bench import systems

TITLE = "Jacobi relaxation, 40 sweeps with a copy per sweep, gradient wrt (u0, f)"
SIZES = (300,)
QUICK_SIZES = (100,)
SWEEPS = 40
WRT = (0, 1)


def size_label(n: int) -> str:
    return f"{n}x{n}"


def parse_size(text: str) -> int:
    return int(text)


def make_inputs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n)), rng.normal(size=(n, n)), 1.0 / (n - 1), SWEEPS


def relaxed_energy(u0, f, h, sweeps):
    n = u0.shape[0]
    m = u0.shape[1]
    u = u0.copy()
    for sweep in range(sweeps):
        u_new = u.copy()
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                u_new[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1]
                                      - h * h * f[i, j])
        u = u_new
    return np.sum(u * u)


@numba.njit
def relaxed_energy_gradient_by_hand(u0, f, h, sweeps):
    """(d/du0, d/df): the sweeps forward, then the transposed sweeps back."""
    n, m = u0.shape
    u = u0.copy()
    following = u0.copy()
    for sweep in range(sweeps):
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                following[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1]
                                          + u[i, j + 1] - h * h * f[i, j])
        u, following = following, u
    adjoint = 2.0 * u
    previous = np.empty_like(adjoint)
    g_f = np.zeros_like(f)
    for sweep in range(sweeps):
        previous[:, :] = adjoint
        for i in range(1, n - 1):
            previous[i, 1:m - 1] = 0.0
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                a = 0.25 * adjoint[i, j]
                previous[i - 1, j] += a
                previous[i + 1, j] += a
                previous[i, j - 1] += a
                previous[i, j + 1] += a
                g_f[i, j] -= h * h * a
        adjoint, previous = previous, adjoint
    return adjoint, g_f


def _sweep(xp, u, f, h):
    inner = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:]
                    - h * h * f[1:-1, 1:-1])
    middle = xp.concatenate((u[1:-1, :1], inner, u[1:-1, -1:]), axis=1)
    return xp.concatenate((u[:1], middle, u[-1:]), axis=0)


def relaxed_energy_arrays(xp, u0, f, h, sweeps):
    u = u0
    for _ in range(sweeps):
        u = _sweep(xp, u, f, h)
    return xp.sum(u * u)


def _fori(u0, f, h, sweeps):
    import jax.numpy as jnp
    from jax import lax
    u = lax.fori_loop(0, sweeps, lambda _, u: _sweep(jnp, u, f, h), u0)
    return jnp.sum(u * u)


def _torch(args):
    torch = systems.torch()
    return systems.torch_grad_run(lambda *a: relaxed_energy_arrays(torch, *a), args, WRT,
                                  "whole arrays, loop over sweeps")


def _jax(args):
    systems.jax()
    return systems.jax_grad_run(_fori, args, WRT, "whole arrays, lax.fori_loop, jax.jit(jax.grad)")


def _autograd(args):
    _, anp = systems.autograd()
    return systems.autograd_grad_run(lambda *a: relaxed_energy_arrays(anp, *a), args, WRT,
                                     "whole arrays, loop over sweeps")


SYSTEMS = {
    "numba primal": lambda args: systems.numba_run(relaxed_energy, args,
                                                   "loops, a copy per sweep"),
    "numba hand": lambda args: systems.compiled_run(relaxed_energy_gradient_by_hand, args,
                                                    "transposed sweeps, final grid only"),
    "adjit": lambda args: systems.adjit_run([(relaxed_energy, "loops, a copy per sweep")],
                                            args, WRT),
    "torch": _torch,
    "jax": _jax,
    "autograd": _autograd,
}
