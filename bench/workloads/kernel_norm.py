"""Gaussian kernel norm H(q, p) = 1/2 sum_ij exp(-|q_i - q_j|^2 / (2 s^2)) <p_i, p_j>.

The loop form (Numba primal, adjit) runs the N^2 pairs without storing them;
the hand-written gradient is one pass over the pairs, as an expert writes it.
The peers run the dense form, the way one writes it for a tensor library:
an N x N kernel matrix, so O(N^2) memory.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np

from adjit.demo import kernel_norm, kernel_norm_parallel
from bench import systems

TITLE = "Gaussian kernel norm H(q, p), D = 3, gradient wrt (q, p)"
SIZES = (1000, 4000, 16000, 100000)
QUICK_SIZES = (1000,)
WRT = (0, 1)
SIGMA = 2.5


def size_label(n: int) -> str:
    return f"N={n}"


def parse_size(text: str) -> int:
    return int(text)


def make_inputs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), SIGMA


@numba.njit
def kernel_norm_gradient_by_hand(q, p, s):
    """(dH/dq, dH/dp), one pass over the pairs, as an expert would write it."""
    n, d = q.shape
    gq = np.zeros_like(q)
    gp = np.zeros_like(p)
    inverse = 1.0 / (s * s)
    for i in range(n):
        for j in range(n):
            d2 = 0.0
            for k in range(d):
                diff = q[i, k] - q[j, k]
                d2 += diff * diff
            weight = math.exp(-0.5 * d2 * inverse)
            dot = 0.0
            for k in range(d):
                dot += p[i, k] * p[j, k]
            factor = -0.5 * weight * dot * inverse
            for k in range(d):
                diff = q[i, k] - q[j, k]
                gq[i, k] += factor * diff
                gq[j, k] -= factor * diff
                gp[i, k] += 0.5 * weight * p[j, k]
                gp[j, k] += 0.5 * weight * p[i, k]
    return gq, gp


def _parallel_form() -> str:
    return f"loops, outer prange, {os.cpu_count()} threads"


def kernel_norm_dense(xp, q, p, s):
    """The dense form on the array namespace `xp` (torch, jax.numpy, autograd.numpy)."""
    kernel = xp.exp(-xp.sum((q[:, None, :] - q[None, :, :]) ** 2, -1) / (2 * s * s))
    return 0.5 * xp.sum(p * (kernel @ p))


def _torch(args):
    torch = systems.torch()
    return systems.torch_grad_run(lambda q, p, s: kernel_norm_dense(torch, q, p, s), args, WRT)


def _jax(args):
    _, jnp = systems.jax()
    return systems.jax_grad_run(lambda q, p, s: kernel_norm_dense(jnp, q, p, s), args, WRT)


def _autograd(args):
    _, anp = systems.autograd()
    return systems.autograd_grad_run(lambda q, p, s: kernel_norm_dense(anp, q, p, s), args, WRT)


def _torch_compiled(args):
    """The dense form compiled by `torch.compile` (inductor), gradient by autograd."""
    torch = systems.torch()
    compiled = torch.compile(lambda q, p, s: kernel_norm_dense(torch, q, p, s))
    return systems.torch_grad_run(compiled, args, WRT, "whole arrays, torch.compile")


def _adjit_torch_op(args):
    """The loops as a PyTorch operation (`adjit.torch.function`), gradient
    by `torch.autograd.grad`: what a PyTorch model using it pays."""
    systems.torch()
    import adjit.torch
    operation = adjit.torch.function(kernel_norm, wrt=WRT)
    return systems.torch_grad_run(operation, args, WRT, "loops, adjit.torch.function")


def _torch_cuda(args):
    torch = systems.torch()
    return systems.torch_grad_run(lambda q, p, s: kernel_norm_dense(torch, q, p, s), args, WRT,
                                  "dense, on the GPU", device="cuda")


GPU_SYSTEMS = ("adjit (cuda)", "torch (cuda)")


TORCH_SYSTEMS = ("torch (compile)", "adjit (torch op)")


def not_applicable(system: str, n: int) -> str | None:
    if system in GPU_SYSTEMS and not systems.gpu_present():
        return "no NVIDIA GPU on this machine"
    if system in TORCH_SYSTEMS and not systems.installed("torch"):
        return "torch is not installed"
    return None


# run with every core (bench.harness); all other systems get one thread
PARALLEL = ("numba primal (prange)", "adjit (prange)")

SYSTEMS = {
    "numba primal": lambda args: systems.numba_run(kernel_norm, args),
    "numba hand": lambda args: systems.compiled_run(kernel_norm_gradient_by_hand, args),
    "adjit": lambda args: systems.adjit_run([(kernel_norm, "loops")], args, WRT),
    "numba primal (prange)": lambda args: systems.compiled_run(
        numba.njit(parallel=True)(kernel_norm_parallel), args, _parallel_form()),
    "adjit (prange)": lambda args: systems.adjit_run(
        [(kernel_norm_parallel, _parallel_form())], args, WRT),
    "adjit (cuda)": lambda args: systems.adjit_run(
        [(kernel_norm_parallel, "loops, outer prange as the CUDA grid")], args, WRT, "cuda"),
    "adjit (torch op)": _adjit_torch_op,
    "torch": _torch,
    "torch (compile)": _torch_compiled,
    "torch (cuda)": _torch_cuda,
    "jax": _jax,
    "autograd": _autograd,
}
