"""CUDA derivatives of functions with outer prange loops: one kernel per
loop, one GPU thread per iteration, and the host function launching them.

The `_cuda` sibling of the generated module is written by
`passes/gpu/kernels.py`; its host function, called like the cpu
derivative, takes arrays (NumPy or device arrays) whole, and returns what
the cpu derivative returns, NumPy arrays for arrays.
"""

from __future__ import annotations

import functools

import numpy as np

from adjit.errors import AdjitError
from adjit.passes.gpu.kernels import kernel_module_source
from adjit.rules.registry import array_type, is_array
from adjit.targets.cuda.lanes import (KINDS, cuda_module, derivative_tree, element_kind,
                                      is_lane, scalar_kind)


def grid_signature(parameters: list[str], arguments) -> tuple:
    """The signature (one `(adjit type, Numba type name)` per parameter) of
    a cuda derivative with prange loops (run as kernels) called on
    `arguments`: scalars, and arrays (host or device) taken whole."""
    signature = []
    for name, value in zip(parameters, arguments):
        if is_lane(value):
            kind = element_kind(value.dtype)
            if kind is None:
                raise AdjitError(f"argument `{name}` is an array of {value.dtype}; "
                                 "target='cuda' takes arrays of floats, ints and bools")
            rank = len(value.shape)
            signature.append((array_type(kind, rank),
                              f"{np.dtype(value.dtype).name}[{', '.join([':'] * rank)}]"))
            continue
        kind = scalar_kind(value)
        if kind is None:
            raise AdjitError(f"argument `{name}` is {type(value).__name__!r}; target='cuda' "
                             "takes float, int and bool scalars and arrays of them")
        signature.append((kind, KINDS[kind][0]))
    return tuple(signature)


def grid_source(module_source: str, function_name: str, description: str,
                kinds: list[str]) -> str:
    """The text of the `_cuda` sibling of a generated module whose function
    `function_name` has prange loops: its kernels and host launcher;
    `kinds`, the adjit types of its parameters, say which are arrays."""
    parameters = [argument.arg for argument in
                  derivative_tree(module_source, function_name).args.args]
    return kernel_module_source(
        module_source, function_name,
        {name for name, kind in zip(parameters, kinds) if is_array(kind)}, description)


def grid_writer(kinds: list[str]):
    """`lanes.cuda_source`'s `write` for kernels over prange loops."""
    return functools.partial(grid_source, kinds=kinds)


def grid_function(module_name: str, function_name: str, kinds: list[str]):
    """The host function launching the kernels of a derivative with prange
    loops: called like the cpu derivative, it returns what that returns,
    NumPy arrays for arrays."""
    return getattr(cuda_module(module_name, function_name, grid_writer(kinds)),
                   function_name)
