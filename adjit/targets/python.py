"""target="python": the generated source run as plain Python.

Arguments are float, int and bool scalars, NumPy arrays of them and
(nested) tuples of these; a
signature types each as adjit and Numba do (`argument_type`). The cpu
target (`cpu.py`) takes the same arguments and compiles the same source.
"""

from __future__ import annotations

import numbers

import numpy as np

from adjit.errors import DifferentiationError
from adjit.rules.registry import BOOL, FLOAT, INT, array_type
from adjit.runtime import compile as compiler
from adjit.targets import Target

_ARRAY_ELEMENTS = {np.float64: FLOAT, np.float32: FLOAT, np.int64: INT, np.int32: INT,
                   np.bool_: BOOL}


def argument_type(value) -> tuple[str, str] | None:
    """(adjit type, Numba type name) of an argument, or None if unsupported."""
    if isinstance(value, np.ndarray):
        element = _ARRAY_ELEMENTS.get(value.dtype.type)
        if element is None:
            return None
        dimensions = ", ".join([":"] * value.ndim)
        return array_type(element, value.ndim), f"{value.dtype.name}[{dimensions}]"
    if isinstance(value, (bool, np.bool_)):
        return BOOL, "boolean"
    if isinstance(value, (numbers.Integral, np.integer)):
        return INT, "int64"
    if isinstance(value, tuple) and value:       # elements typed one by one
        elements = [argument_type(element) for element in value]
        if None in elements:
            return None
        return (tuple(kind for kind, _ in elements),
                "Tuple(" + ", ".join(numba_type for _, numba_type in elements) + ")")
    if isinstance(value, np.float32):
        return FLOAT, "float32"
    if isinstance(value, (numbers.Real, np.floating)):
        return FLOAT, "float64"
    return None


def host_dispatch_key(args) -> tuple:
    """What the fast path specialises on: the Python type of each argument,
    and for arrays their dtype and number of dimensions."""
    return tuple([(value.dtype.char, value.ndim) if type(value) is np.ndarray
                  else host_dispatch_key(value) if type(value) is tuple
                  else type(value) for value in args])


class PythonTarget(Target):
    """Runs the generated function uncompiled."""

    name = "python"

    def signature(self, arguments: list) -> tuple:
        signature = []
        for name, value in zip(self.spec.parameters, arguments):
            kind = argument_type(value)
            if kind is None:
                what = f"an array of {value.dtype}" if isinstance(value, np.ndarray) \
                    else f"a {type(value).__name__}"
                raise DifferentiationError(
                    f"argument `{name}` is {what}; adjit takes float, int and bool "
                    "scalars, NumPy arrays of them, and tuples of these",
                    hint="pass a float, an int, or a NumPy array")
            signature.append(kind)
        return tuple(signature)

    dispatch_key = staticmethod(host_dispatch_key)

    def compile(self, module_name: str, function_name: str, signature: tuple):
        return compiler.compile_function(module_name, function_name, "python")
