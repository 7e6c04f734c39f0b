"""What the host functions of generated CUDA kernels call (`passes/gpu/kernels.py`).

The host function of a derivative with outer prange loops runs in plain
Python: it moves arrays to the device, allocates zeroed adjoint arrays
there, launches one kernel per prange loop (one thread per iteration) and
brings the results back. Sum reductions cross a launch in a one-element
float64 device array (`cell`), to which each thread adds its own sum with
`cuda.atomic.add`.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from adjit.runtime.cuda import THREADS_PER_BLOCK, is_device_array


def to_device(value):
    """An array argument as a device array (a device array as it is)."""
    if is_device_array(value):
        return value
    return cuda.to_device(np.ascontiguousarray(value))


def to_host(value):
    """A device array as a NumPy array."""
    return value.copy_to_host() if is_device_array(value) else value


def zeros_like(array):
    """A device array of zeros with the shape and dtype of `array`."""
    return cuda.to_device(np.zeros(array.shape, dtype=np.dtype(array.dtype)))


def cell(value):
    """A one-element float64 device array holding `value`: a sum reduction
    the threads of a kernel add into."""
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
