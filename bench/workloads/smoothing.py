"""Exponential smoothing, a first-order recurrence, gradient wrt (x, a).

    s[0] = x[0],  s[i] = a x[i] + (1 - a) s[i - 1],  objective sum(s^2)

Each element of `s` is written once and read by the next iteration, and
nothing writes it again: a reverse sweep can read `s` as it is at the end,
with no record. The hand-written adjoint is that: one backward loop over
the final `s`. JAX runs the recurrence with `lax.scan`; torch and autograd
would need a Python loop over every point, and are not run.
"""

from __future__ import annotations

import numba
import numpy as np

from bench import systems

TITLE = "Exponential smoothing s[i] = a x[i] + (1 - a) s[i-1], gradient wrt (x, a)"
SIZES = (200000,)
QUICK_SIZES = (20000,)
WRT = (0, 1)


def size_label(n: int) -> str:
    return f"n={n}"


def parse_size(text: str) -> int:
    return int(text)


def make_inputs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), 0.3


def not_applicable(system: str, size) -> str | None:
    if system in ("torch", "autograd"):
        return "a Python loop over every point"
    return None


def smoothed_energy(x, a):
    n = x.shape[0]
    s = np.empty(n)
    s[0] = x[0]
    for i in range(1, n):
        s[i] = a * x[i] + (1.0 - a) * s[i - 1]
    total = 0.0
    for i in range(n):
        total += s[i] * s[i]
    return total


@numba.njit
def smoothed_energy_gradient_by_hand(x, a):
    """(d/dx, d/da): the forward recurrence, then one backward loop over s."""
    n = x.shape[0]
    s = np.empty(n)
    s[0] = x[0]
    for i in range(1, n):
        s[i] = a * x[i] + (1.0 - a) * s[i - 1]
    g_x = np.empty(n)
    g_a = 0.0
    carried = 0.0
    for i in range(n - 1, 0, -1):
        g = 2.0 * s[i] + carried
        g_x[i] = a * g
        g_a += g * (x[i] - s[i - 1])
        carried = (1.0 - a) * g
    g_x[0] = 2.0 * s[0] + carried
    return g_x, g_a


def _scan(x, a):
    import jax.numpy as jnp
    from jax import lax

    def step(previous, value):
        current = a * value + (1.0 - a) * previous
        return current, current

    _, rest = lax.scan(step, x[0], x[1:])
    return x[0] * x[0] + jnp.sum(rest * rest)


def _jax(args):
    systems.jax()
    return systems.jax_grad_run(_scan, args, WRT, "lax.scan, jax.jit(jax.grad)")


SYSTEMS = {
    "numba primal": lambda args: systems.numba_run(smoothed_energy, args, "loops"),
    "numba hand": lambda args: systems.compiled_run(smoothed_energy_gradient_by_hand, args,
                                                    "one backward loop over s"),
    "adjit": lambda args: systems.adjit_run([(smoothed_energy, "loops")], args, WRT),
    "jax": _jax,
}
