"""CUDA derivatives of functions without a prange that use parameters as
arrays: one GPU thread per row of the 2-D arguments.

The rule (docs/parallel.md#gpus): a parameter the function uses as an
array (`x[k]`, `x.shape[0]`, `len(x)`) takes

* a 2-D float64 array of shape (m, d): thread t gets the row `x[t]`; or
* a 1-D float64 array: the whole array, *shared*, read by every thread;

and a parameter used as a scalar takes a scalar (broadcast) or a 1-D
array of m per-thread values, as in the element-wise path. m is the
leading length of the 2-D arrays and of the 1-D per-thread arrays, which
must agree. Thread t computes the derivative of f_t = f(X[t], w, c[t]):

* reverse mode (grad, value_and_grad, vjp): the gradient with respect to
  a row parameter is row t of an (m, d) array, with respect to a scalar
  element t of an m-array, and with respect to a shared array the sum over
  threads, one (d,) array (each thread adds into it with
  `cuda.atomic.add`): the gradient of sum_t f_t (for a vjp, of
  sum_t u_t f_t); the value is element t of an m-array;
* forward mode (jvp): the value and the tangent of f_t, elements t of two
  m-arrays, in the direction of the tangents: for an array parameter an
  (m, d) array (row t for thread t) or a (d,) one (the same for every
  thread), for a scalar a float or an m-array.

The generated `M_cuda.py` holds the derivative rewritten by
`passes/gpu/device_rows.py` (adjoints as parameters, written in place),
`NAME_device` converting scalar arguments, and `NAME_kernel`, whose
thread `i` passes the views `x[i * _step_x]` and `_b_x[i]` (a shared
adjoint whole).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from adjit.errors import AdjitError
from adjit.passes.gpu.device_rows import row_derivative
from adjit.rules.registry import FLOAT, array_type, is_array
from adjit.runtime import compile as compiler
from adjit.runtime.cuda_launch import THREADS_PER_BLOCK, is_device_array
from adjit.targets.cuda.lanes import (KINDS, cuda_module, defined_at, fresh_name, is_lane,
                                      lane_entry, unpacking)

ROW_TYPE = "float64[:]"                  # a thread's row of a 2-D argument
SHARED_TYPE = "float64[:] shared"        # a 1-D argument, the same for every thread


@dataclass(frozen=True)
class RowCall:
    """What a per-row derivative depends on beyond its parameters' adjit
    types: the array parameters passed a 1-D array (shared by all threads),
    for a jvp the parameters its trailing tangent parameters are the
    tangents of (its `wrt`, in order), and the user's file (errors at its
    lines)."""
    shared: tuple = ()
    tangents_for: tuple = ()
    filename: str | None = None


def row_signature_entry(name: str, value, where: str) -> tuple:
    """The signature entry of an argument of a parameter used as an array:
    a row (2-D argument) or a shared array (1-D)."""
    if not is_lane(value) or len(value.shape) not in (1, 2):
        what = f"a {len(value.shape)}-D array" if is_lane(value) else \
            f"{type(value).__name__!r}"
        raise AdjitError(
            f"{where}argument `{name}` is {what}, and `{name}` is used as an array; "
            "target='cuda' runs a function without a prange loop once per row of its "
            "2-D arguments (one GPU thread each), and passes a 1-D array whole to every "
            "thread\n  hint: pass a 2-D array (one row per thread) or a 1-D array "
            "(shared by all threads)")
    if np.dtype(value.dtype) != np.float64:
        raise AdjitError(f"{where}argument `{name}` is an array of {value.dtype}; rows "
                         "on the GPU (target='cuda') are float64")
    return array_type(FLOAT, 1), SHARED_TYPE if len(value.shape) == 1 else ROW_TYPE


def row_signature(parameters: list[str], arguments, py_func,
                  array_parameters: set[str]) -> tuple:
    """The signature (one `(adjit type, Numba type name)` per parameter) of
    a cuda derivative of `py_func`, a function without a prange using the
    `array_parameters` as arrays, called on `arguments`: a row or a shared
    array for those (`row_signature_entry`), a scalar or a 1-D array of
    per-thread values for the others (`lanes.lane_entry`)."""
    where = defined_at(py_func)
    return tuple(row_signature_entry(name, value, where) if name in array_parameters
                 else lane_entry(name, value, where)
                 for name, value in zip(parameters, arguments))


def shared_parameters(parameters: list[str], signature: tuple) -> tuple:
    """The parameters a per-row signature passes a shared 1-D array."""
    return tuple(name for name, (_, numba_type) in zip(parameters, signature)
                 if numba_type == SHARED_TYPE)


def rows_source(module_source: str, function_name: str, description: str,
                kinds: list[str], rows: RowCall) -> str:
    """The text of the `_cuda` sibling of a per-row derivative."""
    text, layout = row_derivative(module_source, function_name, kinds, rows.shared,
                                  rows.filename)
    parameters = layout.parameters
    converted = ", ".join(name if is_array(kind) else f"{KINDS[kind][1]}({name})"
                          for name, kind in zip(parameters, kinds))
    inputs = ", ".join(parameters + layout.adjoint_rows)
    call_arguments = ", ".join([converted] + layout.adjoint_rows)
    device = f"{function_name}_device"
    call = f"{function_name}({call_arguments})"
    own = [row for row in layout.adjoint_rows if row not in layout.shared_adjoints]
    if layout.shared_adjoints:
        how = ["# one GPU thread per row; adjoints are parameters, written in place (rows)",
               "# or summed over threads with cuda.atomic.add (shared arrays)"]
    elif layout.adjoint_rows:
        how = ["# one GPU thread per row; adjoint rows are parameters, written in place"]
    else:
        how = ["# one GPU thread per row; arguments (and tangents) are read-only views"]
    adding = "; adds into the (zeroed) adjoints" if layout.adjoint_rows else ""
    lines = [
        f"# Generated by adjit: CUDA device function and kernel of {description}", *how,
        "# Edits are not read back; this file is a cache entry and may be rebuilt.",
        "import math", "", "import numpy as np", "from numba import cuda", "",
        "from adjit.runtime import helpers as rt", "", "",
        "@cuda.jit(device=True)", text.rstrip(), "", "",
        "@cuda.jit(device=True)",
        f"def {device}({inputs}):",
        f'    """{function_name} with its scalar arguments converted to the types it',
        f'    was generated for{adding}."""',
        f"    return {call}" if layout.values else f"    {call}", ""]
    taken = set(parameters) | set(layout.adjoint_rows)
    n, i = fresh_name("_n", taken), fresh_name("_i", taken)
    steps = [fresh_name(f"_step_{name}", taken) for name in parameters]
    results = [fresh_name(f"_out{k}", taken) for k in range(layout.values)]
    values = [fresh_name(f"_v{k}", taken) for k in range(layout.values)]
    arguments = ", ".join([f"{name}, {step}" for name, step in zip(parameters, steps)]
                          + layout.adjoint_rows + results)
    reads = ", ".join([f"{name}[{i} * {step}]" for name, step in zip(parameters, steps)]
                      + [row if row in layout.shared_adjoints else f"{row}[{i}]"
                         for row in layout.adjoint_rows])
    into = [f"row {i} of {', '.join(own)}"] if own else []
    into += [f"atomically, the shared {', '.join(layout.shared_adjoints)}"] \
        if layout.shared_adjoints else []
    lines += [
        "", "@cuda.jit",
        f"def {function_name}_kernel({n}, {arguments}):",
        f'    """Thread {i} < {n} runs {device} on row {i} of each 2-D argument (element',
        f"    {i} of a 1-D one; step 0: the same row or scalar for every thread)"
        + (f",\n    adding its adjoints into {' and, '.join(into)}." if into else ".")
        + '"""',
        f"    {i} = cuda.grid(1)",
        f"    if {i} < {n}:"]
    if layout.values:
        lines.append(f"        {unpacking(values, layout.values > 1)} = {device}({reads})")
        lines += [f"        {result}[{i}] = {value}" for result, value in zip(results, values)]
    else:
        lines.append(f"        {device}({reads})")
    lines.append("")
    return "\n".join(lines)


def rows_writer(kinds: list[str], rows: RowCall):
    """`lanes.cuda_source`'s `write` for a per-row derivative."""
    return functools.partial(rows_source, kinds=kinds, rows=rows)


def _width(array) -> int:
    """The length of an array's rows (its last axis; the simulator's device
    arrays take no negative index)."""
    return array.shape[len(array.shape) - 1]


def _tangent_error(parameter: str, message: str) -> AdjitError:
    return AdjitError(f"the tangent of `{parameter}` {message}")


class RowLauncher:
    """Host callable running a per-row derivative on the GPU, one thread
    per row (see the module's rule); returns what the cpu derivative
    returns for one row, with an (m, d) array per row gradient, a (d,)
    array per shared gradient (summed over rows) and an m-array per scalar
    value when any argument is per-thread."""

    def __init__(self, module_name: str, function_name: str, kinds: list[str],
                 rows: RowCall):
        self.module = cuda_module(module_name, function_name, rows_writer(kinds, rows))
        self.kernel = getattr(self.module, f"{function_name}_kernel")
        self.function_name = function_name
        self.kinds = kinds
        self.rows = rows
        _, self.layout = row_derivative(compiler.cached_source(module_name), function_name,
                                        kinds, rows.shared, rows.filename)
        tangents = self.layout.parameters[len(self.layout.parameters)
                                          - len(rows.tangents_for):]
        self.tangent_of = tuple(zip(tangents, rows.tangents_for))

    def _check_tangents(self, given: dict) -> None:
        """A jvp's tangents have the shapes its arguments allow (module doc)."""
        kind_of = dict(zip(self.layout.parameters, self.kinds))
        for tangent, parameter in self.tangent_of:
            value = given[tangent]
            if not is_array(kind_of[tangent]):
                if is_lane(value) and len(value.shape) != 1:
                    raise _tangent_error(parameter, f"is a {len(value.shape)}-D "
                                         "array; a scalar's tangent is a float (the same for "
                                         "every thread) or a 1-D array (one per thread)")
                continue
            width = _width(given[parameter])
            if not is_lane(value) or len(value.shape) not in (1, 2):
                what = f"a {len(value.shape)}-D array" if is_lane(value) else \
                    f"{type(value).__name__!r}"
                raise _tangent_error(parameter, f"is {what}; `{parameter}` is used "
                                     f"as an array, so its tangent is an array of shape "
                                     f"({width},) (the same for every thread) or (m, {width}) "
                                     "(one row per thread)")
            if _width(value) != width:
                raise _tangent_error(parameter, f"has rows of {_width(value)} "
                                     f"elements, `{parameter}` of {width}")
            if is_device_array(value) and np.dtype(value.dtype) != np.float64:
                raise _tangent_error(parameter, f"is a device array of "
                                     f"{value.dtype}; tangents of rows are float64")

    def __call__(self, *args):
        from numba import cuda
        given = dict(zip(self.layout.parameters, args))
        self._check_tangents(given)
        names = dict(self.tangent_of)
        length = None
        prepared = {}
        for name, kind in zip(self.layout.parameters, self.kinds):
            value = given[name]
            per_thread = len(value.shape) == 2 if is_array(kind) else \
                hasattr(value, "shape") and len(value.shape) == 1
            if per_thread:
                if length is not None and value.shape[0] != length:
                    what = f"the tangent of `{names[name]}`" if name in names else \
                        f"argument `{name}`"
                    raise AdjitError(f"{what} has {value.shape[0]} rows (or elements), an "
                                     f"earlier per-thread argument {length}: per-thread "
                                     "arguments of a cuda derivative must have one leading "
                                     "length")
                length = value.shape[0]
            prepared[name] = (value, per_thread)
        count = 1 if length is None else length
        inputs, adjoints = [], {}
        for name, kind in zip(self.layout.parameters, self.kinds):
            value, per_thread = prepared[name]
            if is_array(kind):
                if name not in names and per_thread == (name in self.rows.shared):
                    raise AdjitError(f"internal: `{name}` of {self.function_name} is "
                                     f"{'not ' * per_thread}shared")
                if not per_thread:
                    value = value.reshape(1, value.shape[0])
                array = value if is_device_array(value) else \
                    cuda.to_device(np.ascontiguousarray(value, dtype=np.float64))
                inputs += [array, int(per_thread)]
                for adjoint, parameter in self.layout.row_of.items():
                    if parameter == name:
                        shape = (count, value.shape[1]) if per_thread else (value.shape[1],)
                        adjoints[adjoint] = cuda.to_device(np.zeros(shape, dtype=np.float64))
            elif per_thread:
                inputs += [value if is_device_array(value) else
                           cuda.to_device(np.ascontiguousarray(value)), 1]
            else:
                inputs += [cuda.to_device(np.array([value], dtype=KINDS[kind][2])), 0]
        if sorted(adjoints) != sorted(self.layout.adjoint_rows):
            raise AdjitError(f"internal: adjoints {sorted(adjoints)} of {self.function_name}")
        results = [cuda.device_array(count, dtype=np.float64)
                   for _ in range(self.layout.values)]
        if count:
            blocks = (count + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
            self.kernel[blocks, THREADS_PER_BLOCK](
                count, *inputs, *[adjoints[name] for name in self.layout.adjoint_rows],
                *results)
        values = [result.copy_to_host() for result in results]
        if length is None:
            values = [float(value[0]) for value in values]
        out = []
        for kind, ref in self.layout.returned:
            if kind == "value":
                out.append(values[ref])
            elif ref in self.layout.shared_adjoints:        # summed over the threads
                out.append(adjoints[ref].copy_to_host())
            else:
                out.append(adjoints[ref].copy_to_host()[0 if length is None else slice(None)])
        return tuple(out) if self.layout.as_tuple else out[0]
