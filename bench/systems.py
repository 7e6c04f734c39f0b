"""How each system's gradient call is built from a workload's function.

A workload writes its function once per form (loops for Numba and adjit;
whole-array code for the peers, taking the array namespace it runs on) and
asks here for a `Run`: a call without arguments, ready to be timed. The
peers are imported only here, only when asked for (inside a worker process,
never in the harness), and set to float64 and one thread; the thread
variables of the environment (`harness.ONE_THREAD_ENV`) are set before the
worker starts, since most libraries read them at import.

Every gradient builder takes `wrt` as a tuple of argument positions and
returns a tuple of gradients; arguments that are neither arrays nor
differentiated (sizes, step counts, constants) are passed through as they
are (closed over for JAX, so they are static under `jax.jit`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

import numpy as np

from bench.workloads import Run

PEERS = ("torch", "jax", "autograd")


def installed(name: str) -> bool:
    """Whether `name` can be imported, without importing it (torch takes seconds)."""
    return importlib.util.find_spec(name) is not None


def version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def prepare(system: str) -> None:
    """Import what `system` runs on, so the first call's time is no import's."""
    if system == "adjit":
        import adjit  # noqa: F401
    elif system in PEERS:
        globals()[system]()
    else:
        import numba  # noqa: F401


# ----- Numba and adjit -----

def numba_run(function, args, form="loops") -> Run:
    """The primal, compiled by `numba.njit` (no cache: its compile is timed too)."""
    import numba
    compiled = numba.njit(function)
    return Run(lambda: compiled(*args), form)


def compiled_run(compiled, args, form="loops") -> Run:
    """An already `@numba.njit`-decorated function, such as a hand-written gradient."""
    return Run(lambda: compiled(*args), form)


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU and driver (checked without
    importing numba.cuda or torch, which take seconds)."""
    import os
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0")


def adjit_run(candidates, args, wrt, target: str = "cpu") -> Run:
    """`adjit.jit.grad` of the first of `candidates` ((function, form) pairs)
    that adjit transforms and compiles; the later ones are fallbacks.

    Each candidate is called once here (adjit transforms at the first call),
    so a refusal moves on to the next form; the Run's first call returns that
    result, so the worker's first call is this one. When every form fails,
    the error names each one.
    """
    from adjit import jit
    refusals = []
    for function, form in candidates:
        try:
            gradient = jit.grad(function, wrt=wrt, target=target)
            pending = [gradient(*args)]
        except Exception as error:          # adjit's refusals and anything else alike
            refusals.append(f"{form}: {first_line(error)}")
            continue
        note = "".join(f"; {refused} (not used)" for refused in refusals)
        return Run(lambda: pending.pop() if pending else gradient(*args), form + note)
    raise AdjitUnsupported(" | ".join(refusals))


class AdjitUnsupported(Exception):
    """No form of the workload is accepted by adjit; the message names each refusal."""


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)


# ----- peers -----

def torch():
    import torch as module
    module.set_num_threads(1)
    module.set_default_dtype(module.float64)
    return module


def jax():
    """(jax, jax.numpy), with 64-bit floats enabled before any array exists."""
    import jax as module
    module.config.update("jax_enable_x64", True)
    module.config.update("jax_platforms", "cpu")
    import jax.numpy as jnp
    return module, jnp


def autograd():
    """(autograd, autograd.numpy)."""
    import autograd as module
    import autograd.numpy as anp
    return module, anp


def _is_dynamic(position, value, wrt) -> bool:
    return position in wrt or isinstance(value, np.ndarray)


def torch_grad_run(function, args, wrt, form="whole arrays", device: str = "cpu") -> Run:
    """torch.autograd.grad of `function(*tensors)`; leaves are built once (on
    `device`; on "cuda" each call waits for the GPU to finish)."""
    module = torch()

    def leaf(position, value):
        if not _is_dynamic(position, value, wrt):
            return value
        tensor = module.tensor(value, device=device)
        return tensor.requires_grad_(True) if position in wrt else tensor

    leaves = [leaf(position, value) for position, value in enumerate(args)]
    chosen = [leaves[position] for position in wrt]
    if device == "cpu":
        return Run(lambda: module.autograd.grad(function(*leaves), chosen), form)

    def on_device():
        gradients = module.autograd.grad(function(*leaves), chosen)
        module.cuda.synchronize()
        return tuple(gradient.cpu() for gradient in gradients)
    return Run(on_device, form)


def _partial(function, args, dynamic):
    """`function` of the dynamic arguments only, the others fixed."""
    def of_dynamic(*values):
        full = list(args)
        for position, value in zip(dynamic, values):
            full[position] = value
        return function(*full)
    return of_dynamic


def jax_grad_run(function, args, wrt, form="whole arrays, jax.jit(jax.grad)") -> Run:
    module, jnp = jax()
    dynamic = [p for p, value in enumerate(args) if _is_dynamic(p, value, wrt)]
    gradient = module.jit(module.grad(_partial(function, args, dynamic),
                                      argnums=tuple(dynamic.index(p) for p in wrt)))
    values = [jnp.asarray(args[p]) for p in dynamic]
    return Run(lambda: module.block_until_ready(gradient(*values)), form)


def autograd_grad_run(function, args, wrt, form="whole arrays") -> Run:
    module, _ = autograd()
    dynamic = [p for p, value in enumerate(args) if _is_dynamic(p, value, wrt)]
    gradient = module.grad(_partial(function, args, dynamic),
                           argnum=tuple(dynamic.index(p) for p in wrt))
    values = [args[p] for p in dynamic]
    return Run(lambda: gradient(*values), form)
