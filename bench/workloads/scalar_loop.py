"""One value carried through a loop, gradient wrt (a, b).

    a = a * 0.9 + sin(a) * b,  n times

The hand-written gradient tapes `a` in a preallocated array and sweeps back.
JAX runs the loop as `lax.fori_loop` (a scan in reverse mode, so it stores
the n values too). Torch and autograd build a graph node per scalar
operation from Python: they are run at n = 1000 only, and marked "not
applicable" at 10^6, where they would time the Python interpreter.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from bench import systems

TITLE = "Scalar loop a = 0.9 a + sin(a) b carried n times, gradient wrt (a, b)"
SIZES = (1000, 1_000_000)
QUICK_SIZES = SIZES
WRT = (0, 1)
PYTHON_LEVEL_LIMIT = 10_000


def size_label(n: int) -> str:
    return f"n={n}"


def parse_size(text: str) -> int:
    return int(text)


def make_inputs(n: int, seed: int):
    # b = 0.1 puts the loop at the edge of contraction (a creeps towards 0 like
    # 1/sqrt(k)), so the adjoint of a decays only polynomially. With a strongly
    # contracting b (say 0.5) it underflows within a thousand iterations and
    # the rest of the reverse sweep runs on denormal numbers, which costs ~10x
    # on x86 depending on the order of the adjoint's operations: that would
    # measure the floating-point unit, not the tool. (`seed` is unused: the
    # inputs are these two numbers.)
    return 0.5, 0.1, n


def not_applicable(system: str, n: int) -> str | None:
    if system in ("torch", "autograd") and n > PYTHON_LEVEL_LIMIT:
        return f"a graph node per scalar operation from Python; run at n <= {PYTHON_LEVEL_LIMIT}"
    return None


def loop(a, b, n):
    for i in range(n):
        a = a * 0.9 + math.sin(a) * b
    return a


@numba.njit
def loop_gradient_by_hand(a, b, n):
    """(d loop/d a, d loop/d b): forward sweep taping a, then reverse sweep."""
    tape = np.empty(n)
    for i in range(n):
        tape[i] = a
        a = a * 0.9 + math.sin(a) * b
    adjoint_a = 1.0
    adjoint_b = 0.0
    for i in range(n - 1, -1, -1):
        a_i = tape[i]
        adjoint_b += math.sin(a_i) * adjoint_a
        adjoint_a *= 0.9 + math.cos(a_i) * b
    return adjoint_a, adjoint_b


def loop_on(sin, a, b, n):
    """The loop with the library's `sin`, run from Python (torch, autograd)."""
    for _ in range(n):
        a = a * 0.9 + sin(a) * b
    return a


def loop_fori(a, b, n):
    import jax.numpy as jnp
    from jax import lax
    return lax.fori_loop(0, n, lambda _, a: a * 0.9 + jnp.sin(a) * b, a)


def _torch(args):
    torch = systems.torch()
    return systems.torch_grad_run(lambda *a: loop_on(torch.sin, *a), args, WRT, "Python loop")


def _jax(args):
    systems.jax()
    return systems.jax_grad_run(loop_fori, args, WRT, "lax.fori_loop, jax.jit(jax.grad)")


def _autograd(args):
    _, anp = systems.autograd()
    return systems.autograd_grad_run(lambda *a: loop_on(anp.sin, *a), args, WRT, "Python loop")


SYSTEMS = {
    "numba primal": lambda args: systems.numba_run(loop, args),
    "numba hand": lambda args: systems.compiled_run(loop_gradient_by_hand, args,
                                                    "loops, a taped"),
    "adjit": lambda args: systems.adjit_run([(loop, "loops")], args, WRT),
    "torch": _torch,
    "jax": _jax,
    "autograd": _autograd,
}
