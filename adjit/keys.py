"""What a compiled derivative is keyed on beyond its function's source:
the Numba settings its machine code depends on, and the numbers and
arrays its function reads from outside (globals, closure values,
defaults), which a derivative embeds as constants.

`dispatch.Derivative` puts them in the cache key of the generated module
(`numba_settings`, `global_numbers`) and in its fast per-call key
(`number_names`, `constant_key`, `captured_arrays`).
"""

from __future__ import annotations

import hashlib
import numbers

import numpy as np

from adjit.passes.front.calls import global_names
from adjit.passes.front.parse import source_text


# Numba settings that change the machine code of a compiled derivative and
# that Numba's cache does not key on (it keys on the bytecode and the CPU):
# compiled prange code holds the thread count as a constant (rt.chunk_count),
# NUMBA_BOUNDSCHECK=1 adds index checks, the others change what LLVM emits.
NUMBA_SETTINGS = ("NUMBA_NUM_THREADS", "BOUNDSCHECK", "OPT", "LOOP_VECTORIZE",
                  "SLP_VECTORIZE", "ENABLE_AVX", "DEBUGINFO_DEFAULT",
                  "EXTEND_VARIABLE_LIFETIMES", "CPU_NAME", "CPU_FEATURES")


def numba_settings() -> tuple:
    """The values of `NUMBA_SETTINGS`, part of the cache key of every
    derivative: a derivative first compiled under other settings is
    generated under a new name, and compiled anew under these."""
    import numba

    from adjit.runtime import checkpoints
    # (Numba's own cache index holds its version and the CPU it compiled for
    # too; here they also give the generated module another name; the
    # checkpoint budget is a number written into the generated source)
    return (("numba", numba.__version__),
            ("checkpoint budget", checkpoints.CHECKPOINT_BUDGET)) + tuple(
        (name, str(getattr(numba.config, name, None))) for name in NUMBA_SETTINGS)


def source_or_name(function) -> str:
    try:
        return source_text(function)
    except (OSError, TypeError, AttributeError):
        return function.__qualname__


CONSTANTS = (numbers.Number, np.number, np.ndarray)


def number_names(py_func) -> tuple[str, ...]:
    """Global names the function (or a function nested in it) reads that
    hold numbers or arrays now (the dispatch key follows their values)."""
    namespace = py_func.__globals__
    return tuple(name for name in global_names(py_func.__code__)
                 if isinstance(namespace.get(name), CONSTANTS))


def constant_key(value):
    """A number as it is; an array by its dtype, shape and a digest of its
    elements (a derivative embeds the elements as constants)."""
    if not isinstance(value, np.ndarray):
        return value
    digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16)
    return ("array", value.dtype.str, value.shape, digest.hexdigest())


def captured_arrays(py_func) -> list:
    """The arrays among the function's defaults and closure values."""
    values = list(getattr(py_func, "__defaults__", None) or ())
    for cell in py_func.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:
            continue
    return [value for value in values if isinstance(value, np.ndarray)]


def global_numbers(py_func) -> tuple:
    """The numeric and array globals and closure values the function reads
    (arrays by content), and its array defaults."""
    values = []
    namespace = py_func.__globals__
    for name in global_names(py_func.__code__):
        value = namespace.get(name)
        if isinstance(value, CONSTANTS):
            values.append((name, constant_key(value)))
    for name, cell in zip(py_func.__code__.co_freevars, py_func.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, CONSTANTS):
            values.append((name, constant_key(value)))
    values.extend(("default", constant_key(array)) for array in
                  getattr(py_func, "__defaults__", None) or ()
                  if isinstance(array, np.ndarray))
    return tuple(values)
