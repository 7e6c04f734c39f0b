"""target="cuda": derivatives run on an NVIDIA GPU through numba-cuda.

A function takes one of three shapes on the GPU, fixed when its derivative
is made (`target.CudaTarget.prepare`):

* with outer prange loops, kernels, one thread per iteration, and a host
  function launching them, arrays taken whole (`grid.py`, kernels written
  by `passes/gpu/kernels.py`);
* without, using parameters as arrays, one thread per row of its 2-D
  arguments, 1-D ones shared by all threads (`rows.py`, the derivative
  rewritten by `passes/gpu/device_rows.py`);
* without, of scalars only, a device function, also run once per element
  of 1-D arguments (`lanes.py`, which holds what the shapes share too:
  whether CUDA can run here, argument kinds, the cached `_cuda` module).

Generated host code calls `adjit/runtime/cuda_launch.py`. Importing this
package does not import `numba.cuda`: that waits for a derivative to need
it, so NUMBA_ENABLE_CUDASIM can still choose the simulator.
"""
