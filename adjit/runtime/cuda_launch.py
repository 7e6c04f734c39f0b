"""What generated CUDA host code calls (`passes/gpu/kernels.py`), and what
every CUDA launch shares: the block size and telling device arrays apart.

The host function of a derivative with outer prange loops runs in plain
Python: it moves arrays to the device, allocates zeroed adjoint arrays
there, launches one kernel per prange loop (one thread per iteration) and
brings the results back. Sum reductions cross a launch in a one-element
float64 device array (`cell`), to which each thread adds its own sum with
`cuda.atomic.add`.

`numba.cuda` is imported when a function here first needs it, so that
importing this module neither requires numba-cuda nor fixes, before the
user does, whether Numba's CUDA simulator is used.
"""

from __future__ import annotations

import numpy as np

THREADS_PER_BLOCK = 128


def is_device_array(value) -> bool:
    """A CUDA device array (numba's, the simulator's, or any object with the
    CUDA array interface)."""
    return bool(getattr(value, "__cuda_ndarray__", False)) or \
        hasattr(value, "__cuda_array_interface__")


def to_device(value):
    """An array argument as a device array (a device array as it is)."""
    if is_device_array(value):
        return value
    from numba import cuda
    return cuda.to_device(np.ascontiguousarray(value))


def to_host(value):
    """A device array as a NumPy array."""
    return value.copy_to_host() if is_device_array(value) else value


def zeros_like(array):
    """A device array of zeros with the shape and dtype of `array`."""
    from numba import cuda
    return cuda.to_device(np.zeros(array.shape, dtype=np.dtype(array.dtype)))


def cell(value):
    """A one-element float64 device array holding `value`: a sum reduction
    the threads of a kernel add into."""
    from numba import cuda
    return cuda.to_device(np.array([value], dtype=np.float64))


def value(summed):
    """The float a `cell` holds after a kernel."""
    return float(summed.copy_to_host()[0])


def launch(kernel, threads: int, *arguments) -> None:
    """Run `kernel` on `threads` threads (at least; the kernel checks its
    bounds), in blocks of THREADS_PER_BLOCK; nothing for `threads` <= 0."""
    threads = int(threads)
    if threads <= 0:
        return
    blocks = (threads + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    kernel[blocks, THREADS_PER_BLOCK](*arguments)
