"""A nonlinear heat equation, explicit steps, gradient wrt (u0, dt).

    u_new[i] = u[i] + dt (u[i-1] - 2 u[i] + u[i+1]) (1 + 0.1 u[i]^2),  0 < i < n-1

with the two ends fixed, `STEPS` steps from u0, objective sum(u^2) at the
end. The loop form keeps the state in two local arrays and writes their
elements; the slice form writes the same stencil as slice statements; the hand-written adjoint stores every state in one preallocated
(steps + 1, n) array and sweeps back, as an expert would for 200 steps. The
peers step whole arrays: a Python loop for torch and autograd,
`lax.fori_loop` for JAX.
"""

from __future__ import annotations

import numba
import numpy as np

from bench import systems

TITLE = "Nonlinear heat stencil, 200 explicit steps, gradient wrt (u0, dt)"
SIZES = (1000, 10000)
QUICK_SIZES = (1000,)
STEPS = 200
DT = 0.2            # stable: dt (1 + 0.1 u^2) <= 1/2 while |u| <= 1.7
WRT = (0, 1)


def size_label(n: int) -> str:
    return f"n={n}"


def parse_size(text: str) -> int:
    return int(text)


def make_inputs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=n), DT, STEPS


def heat(u0, dt, steps):
    n = u0.shape[0]
    u = np.empty(n)
    v = np.empty(n)
    for i in range(n):
        u[i] = u0[i]
    for step in range(steps):
        for i in range(1, n - 1):
            v[i] = u[i] + dt * (u[i - 1] - 2.0 * u[i] + u[i + 1]) * (1.0 + 0.1 * u[i] * u[i])
        for i in range(1, n - 1):
            u[i] = v[i]
    total = 0.0
    for i in range(n):
        total += u[i] * u[i]
    return total


def heat_slices(u0, dt, steps):
    """The same stencil in slice form (adjit lowers it to the loops above)."""
    u = np.copy(u0)
    v = np.empty(u0.shape[0])
    for step in range(steps):
        v[1:-1] = u[1:-1] + dt * (u[:-2] - 2.0 * u[1:-1] + u[2:]) * (1.0 + 0.1 * u[1:-1] * u[1:-1])
        u[1:-1] = v[1:-1]
    return np.sum(u * u)


@numba.njit
def heat_gradient_by_hand(u0, dt, steps):
    """(d/du0, d/ddt): every state stored on the way forward, one sweep back."""
    n = u0.shape[0]
    states = np.empty((steps + 1, n))
    states[0, :] = u0
    for step in range(steps):
        u = states[step]
        following = states[step + 1]
        following[0] = u[0]
        following[n - 1] = u[n - 1]
        for i in range(1, n - 1):
            laplacian = u[i - 1] - 2.0 * u[i] + u[i + 1]
            following[i] = u[i] + dt * laplacian * (1.0 + 0.1 * u[i] * u[i])
    adjoint = 2.0 * states[steps]
    previous = np.empty(n)
    adjoint_dt = 0.0
    for step in range(steps - 1, -1, -1):
        u = states[step]
        previous[0] = adjoint[0]
        previous[n - 1] = adjoint[n - 1]
        for i in range(1, n - 1):
            previous[i] = 0.0
        for i in range(1, n - 1):
            laplacian = u[i - 1] - 2.0 * u[i] + u[i + 1]
            gain = 1.0 + 0.1 * u[i] * u[i]
            a = adjoint[i]
            adjoint_dt += a * laplacian * gain
            previous[i] += a * (1.0 + dt * (0.2 * u[i] * laplacian - 2.0 * gain))
            previous[i - 1] += a * dt * gain
            previous[i + 1] += a * dt * gain
        adjoint, previous = previous, adjoint
    return adjoint, adjoint_dt


SEGMENT = 16      # steps between the checkpointed gradient's stored states


@numba.njit
def heat_gradient_checkpointed(u0, dt, steps):
    """(d/du0, d/ddt) for speed: every SEGMENT-th state stored on the way
    forward; per segment, backwards, its states recomputed into a small
    buffer (L2-resident) and swept back; per step one loop for each point's
    own term, its dt lane and the share it passes to its neighbours, and
    two loops adding the shares. The fastest adjoint written for this
    machine (docs/performance.md#stencils)."""
    n = u0.shape[0]
    segments = (steps + SEGMENT - 1) // SEGMENT
    stored = np.empty((segments, n))
    u = u0.copy()
    following = np.empty(n)
    for step in range(steps):
        if step % SEGMENT == 0:
            stored[step // SEGMENT, :] = u
        following[0] = u[0]
        following[n - 1] = u[n - 1]
        for i in range(1, n - 1):
            following[i] = u[i] + dt * (u[i - 1] - 2.0 * u[i] + u[i + 1]) * (1.0 + 0.1 * u[i] * u[i])
        u, following = following, u
    adjoint = 2.0 * u
    share = np.empty(n)
    lanes = np.zeros(n)
    states = np.empty((SEGMENT, n))
    segment = segments - 1
    while segment >= 0:
        first = segment * SEGMENT
        last = min(steps, first + SEGMENT)
        states[0, :] = stored[segment]
        for step in range(first, last - 1):
            u, w = states[step - first], states[step - first + 1]
            w[0] = u[0]
            w[n - 1] = u[n - 1]
            for i in range(1, n - 1):
                w[i] = u[i] + dt * (u[i - 1] - 2.0 * u[i] + u[i + 1]) * (1.0 + 0.1 * u[i] * u[i])
        step = last - 1
        while step >= first:
            u = states[step - first]
            for i in range(1, n - 1):
                laplacian = u[i - 1] - 2.0 * u[i] + u[i + 1]
                gain = 1.0 + 0.1 * u[i] * u[i]
                a = adjoint[i]
                lanes[i] += a * laplacian * gain
                passed = a * dt * gain
                share[i] = passed
                adjoint[i] = a * (1.0 + dt * 0.2 * u[i] * laplacian) - 2.0 * passed
            for i in range(0, n - 2):
                adjoint[i] += share[i + 1]
            for i in range(2, n):
                adjoint[i] += share[i - 1]
            step -= 1
        segment -= 1
    return adjoint, np.sum(lanes)


def _step(xp, u, dt):
    inner = u[1:-1]
    change = dt * (u[:-2] - 2.0 * inner + u[2:]) * (1.0 + 0.1 * inner * inner)
    return xp.concatenate((u[:1], inner + change, u[-1:]))


def heat_vectorised(xp, u0, dt, steps):
    u = u0
    for _ in range(steps):
        u = _step(xp, u, dt)
    return xp.sum(u * u)


def heat_fori_loop(u0, dt, steps):
    import jax.numpy as jnp
    from jax import lax
    u = lax.fori_loop(0, steps, lambda _, u: _step(jnp, u, dt), u0)
    return jnp.sum(u * u)


def _torch(args):
    torch = systems.torch()
    return systems.torch_grad_run(lambda *a: heat_vectorised(torch, *a), args, WRT,
                                  "whole arrays, loop over steps")


def _jax(args):
    systems.jax()
    return systems.jax_grad_run(heat_fori_loop, args, WRT,
                                "whole arrays, lax.fori_loop, jax.jit(jax.grad)")


def _autograd(args):
    _, anp = systems.autograd()
    return systems.autograd_grad_run(lambda *a: heat_vectorised(anp, *a), args, WRT,
                                     "whole arrays, loop over steps")


SYSTEMS = {
    "numba primal": lambda args: systems.numba_run(heat, args, "loops, local arrays"),
    "numba hand": lambda args: systems.compiled_run(heat_gradient_by_hand, args,
                                                    "loops, all states stored"),
    "numba hand (checkpoints)": lambda args: systems.compiled_run(
        heat_gradient_checkpointed, args, f"loops, a state every {SEGMENT} steps"),
    "adjit": lambda args: systems.adjit_run([(heat, "loops, local arrays")], args, WRT),
    "adjit (slices)": lambda args: systems.adjit_run([(heat_slices, "slices, local arrays")],
                                                     args, WRT),
    "torch": _torch,
    "jax": _jax,
    "autograd": _autograd,
}
