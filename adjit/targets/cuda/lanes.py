"""CUDA derivatives of functions of scalars: GPU device functions, and
element-wise kernels running them once per element (lane) of 1-D
arguments; and what the other CUDA shapes (`rows.py`, `grid.py`) share:
whether CUDA can run here, the kinds of arguments, and the cached `_cuda`
module written beside a generated one.

For a derivative of a function of scalars (no prange loop) whose generated
source lives in the cached module `M` (see `adjit/runtime/compile.py`),
this module writes a sibling `M_cuda.py` holding, as readable source,

* the derivative itself under `@cuda.jit(device=True)` (the same text as
  for target="cpu");
* `NAME_device(args...)`: the derivative called with its arguments
  converted to the types it was generated for (`float(x)`, `int(n)`), so a
  float32 or an int passed from a user's kernel computes what the cpu
  derivative computes;
* `NAME_kernel(_n, a, _step_a, ..., _out0, ...)`: thread `i < _n` calls
  `NAME_device(a[i * _step_a], ...)` and stores each returned value in
  `_out0[i]`, ...; an argument of step 0 is a scalar broadcast to every
  thread (a device array of one element).

Inputs: generated derivative source of scalar arguments (checked to
allocate nothing by `passes/gpu/device.py` and `ReverseTransformer(tape_free)`,
whose tapes are `cuda.local.array`s of sizes fixed when generated).
Outputs: a numba CUDA device function (`device_function`) and a host
callable (`ElementwiseLauncher`) returning what the cpu derivative returns,
with 1-D NumPy arrays in place of floats when called on arrays.
"""

from __future__ import annotations

import ast
import functools
import os

import numpy as np

from adjit.errors import AdjitError
from adjit.rules.registry import BOOL, FLOAT, INT, is_array
from adjit.runtime import compile as compiler
from adjit.runtime.cuda_launch import THREADS_PER_BLOCK, is_device_array

INSTALL_HINT = ("install numba-cuda (`pip install 'adjit[cuda]'`, or `pip install -e "
                "'.[cuda]'` in a checkout) and run on a machine with an NVIDIA GPU and "
                "driver, or set NUMBA_ENABLE_CUDASIM=1 (before numba.cuda is first "
                "imported) to run in Numba's CUDA simulator")

# adjit type -> (Numba type name, conversion in the device wrapper, host dtype)
KINDS = {FLOAT: ("float64", "float", np.float64), INT: ("int64", "int", np.int64),
         BOOL: ("boolean", "bool", np.bool_)}
_TYPE_NAMES = {"float64": FLOAT, "float32": FLOAT, "float": FLOAT, "int64": INT,
               "int32": INT, "int": INT, "boolean": BOOL, "bool": BOOL}


# ---- availability ------------------------------------------------------------------

def unavailable_reason(cuda_module, simulator: bool) -> str | None:
    """Why target="cuda" cannot run (None when it can): `cuda_module` is
    `numba.cuda` or None when it could not be imported, `simulator` whether
    NUMBA_ENABLE_CUDASIM is set."""
    if cuda_module is None:
        return f"numba.cuda cannot be imported; {INSTALL_HINT}"
    if simulator:
        return None
    try:
        available = cuda_module.is_available()
    except Exception as error:          # a broken driver install
        return f"CUDA is not usable ({error}); {INSTALL_HINT}"
    if not available:
        return f"no CUDA GPU (or driver) was found; {INSTALL_HINT}"
    return None


def _import_cuda():
    try:
        from numba import cuda
    except ImportError:
        return None
    return cuda


def _simulator_enabled() -> bool:
    try:
        from numba import config
        return bool(config.ENABLE_CUDASIM)
    except ImportError:
        return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


def require_cuda():
    """`numba.cuda`, or an AdjitError saying how to get a working one."""
    cuda = _import_cuda()
    reason = unavailable_reason(cuda, _simulator_enabled())
    if reason is not None:
        raise AdjitError(f"target='cuda' is not available: {reason}")
    return cuda


# ---- arguments -------------------------------------------------------------------

def is_lane(value) -> bool:
    """An array argument (host or device) rather than a scalar."""
    return is_device_array(value) or (isinstance(value, np.ndarray) and value.ndim > 0)


def element_kind(dtype) -> str | None:
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return BOOL
    if np.issubdtype(dtype, np.integer):
        return INT
    if np.issubdtype(dtype, np.floating):
        return FLOAT
    return None


def scalar_kind(value) -> str | None:
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        return INT
    if isinstance(value, (float, np.floating)):
        return FLOAT
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return element_kind(value.dtype)
    return None


def defined_at(py_func) -> str:
    """`file:line: ` of a function's `def`, or nothing when unknown."""
    code = getattr(py_func, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}: " if code is not None else ""


def lane_entry(name: str, value, where: str) -> tuple:
    """The signature entry of an argument of a parameter used as a scalar:
    a scalar, or a 1-D array (host or device) of per-thread values;
    arithmetic is float64 whatever the float width passed. `where`: the
    function's `defined_at`."""
    if is_lane(value):
        if len(value.shape) != 1:
            raise AdjitError(
                f"{where}argument `{name}` is a {len(value.shape)}-D "
                f"array, and the function uses `{name}` as a scalar; target='cuda' runs the "
                "derivative of a function without a prange loop once per element of "
                "the 1-D arguments of its scalar parameters (one GPU thread each; "
                "2-D arrays go to parameters used as arrays, one row per thread)\n"
                "  hint: pass a 1-D array of per-thread values (a row of k values "
                "as k parameters: f(x[:, 0], x[:, 1], ...)), or, for a function of "
                "whole arrays, put its work in an outer `for i in numba.prange(n):` "
                "loop (one GPU thread per iteration)")
        kind = element_kind(value.dtype)
    else:
        kind = scalar_kind(value)
    if kind is None:
        raise AdjitError(f"argument `{name}` is {type(value).__name__!r}; target='cuda' "
                         "takes float, int and bool scalars and 1-D arrays of them")
    return kind, KINDS[kind][0]


def lane_signature(parameters: list[str], arguments, py_func=None) -> tuple:
    """The signature (one `(adjit type, Numba type name)` per parameter) of
    a cuda derivative of the function of scalars `py_func` called on
    `arguments`: scalars, or 1-D arrays of them, whose elements are the
    per-thread arguments."""
    where = defined_at(py_func)
    return tuple(lane_entry(name, value, where) for name, value in zip(parameters, arguments))


def parse_signature(text: str, parameters: list[str]) -> tuple:
    """`"float64, int64"` -> the signature of a device function (one type
    name per parameter: float64/float32/float, int64/int32/int, boolean/bool)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if len(names) != len(parameters):
        raise AdjitError(f"the signature {text!r} names {len(names)} types for "
                         f"{len(parameters)} parameters {tuple(parameters)}")
    signature = []
    for parameter, name in zip(parameters, names):
        kind = _TYPE_NAMES.get(name)
        if kind is None:
            raise AdjitError(f"type {name!r} of `{parameter}` is not a scalar type "
                             "a device function takes (float64, int64, boolean)")
        signature.append((kind, KINDS[kind][0]))
    return tuple(signature)


def vjp_cotangent(value, function_name: str, per_element: bool):
    """The cotangent of a cuda vjp as its derivative takes it: a float, or,
    `per_element` (a function of scalars run once per element), a 1-D array
    (NumPy or device) of one cotangent per thread."""
    if is_lane(value):
        if not per_element:
            raise AdjitError(
                f"the cotangent passed to the vjp of {function_name} is an array of shape "
                f"{tuple(value.shape)}; on the GPU (kernels over its prange loops) "
                f"{function_name} returns a float, so its cotangent is a float")
        if len(value.shape) != 1:
            raise AdjitError(
                f"the cotangent is a {len(value.shape)}-D array; a vjp of a function of "
                f"scalars on the GPU ({function_name}) takes one cotangent per element: a "
                "float (the same for every element) or a 1-D array as long as the arguments")
        return value
    if scalar_kind(value) is None:
        raise AdjitError(f"the cotangent is {type(value).__name__!r}; the vjp of "
                         f"{function_name} on the GPU takes a float")
    return float(value)


def dispatch_key(args) -> tuple:
    """The fast-path key of a cuda call: arrays by dtype and rank (device
    arrays included, since the signature follows their element type),
    scalars by type."""
    return tuple([("array", np.dtype(value.dtype).char, len(value.shape))
                  if is_lane(value) else type(value) for value in args])


def kinds_of(signature: tuple, tangents: list[str]) -> list[str]:
    """The adjit types of a generated device function's parameters (a
    function of scalars, or of rows): the signature's, then one per entry of
    `tangents` (the jvp's tangents, the vjp's cotangent): of an array type
    for an array (a row's tangent), else a float."""
    kinds = [kind for kind, _ in signature]
    return kinds + [kind if is_array(kind) else FLOAT for kind in tangents]


# ---- the `_cuda` module ----------------------------------------------------------

def cuda_source(module_name: str, function_name: str, write) -> tuple[str, str]:
    """(name, text) of the `_cuda` sibling of the generated module
    `module_name`, written first if needed as `write(module_source,
    function_name, description)` returns it (`device_source` here,
    `rows.rows_source`, `grid.grid_source`)."""
    name = f"{module_name}_cuda"
    text = compiler.cached_source(name)
    if text is None:
        module_source = compiler.cached_source(module_name)
        if module_source is None:
            raise AdjitError(f"internal: the generated module {module_name} is missing")
        description = module_source.splitlines()[0].partition(": ")[2] or function_name
        compiler.store_source(name, write(module_source, function_name, description))
        text = compiler.cached_source(name)
    return name, text


def cuda_module(module_name: str, function_name: str, write):
    """Import (writing it first if needed, see `cuda_source`) the `_cuda`
    sibling of the generated module `module_name`."""
    require_cuda()
    name, _ = cuda_source(module_name, function_name, write)
    return compiler.load_module(name)


def fresh_name(base: str, taken: set[str]) -> str:
    """`base`, or `_base`, `__base`, ...: the first not in `taken` (then taken)."""
    name = base
    while name in taken:
        name = "_" + name
    taken.add(name)
    return name


def derivative_tree(module_source: str, function_name: str) -> ast.FunctionDef:
    for node in ast.parse(module_source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function_name:
            return node
    raise AdjitError(f"internal: {function_name} missing from its generated module")


def _outputs(function: ast.FunctionDef) -> tuple[int, bool] | None:
    """(how many values the derivative returns, whether as a tuple), or None
    when one of them is itself a tuple (jvp of a function returning several)."""
    returned = function.body[-1]
    if not isinstance(returned, ast.Return):
        return None
    if isinstance(returned.value, ast.Tuple):
        if any(isinstance(element, ast.Tuple) for element in returned.value.elts):
            return None
        return len(returned.value.elts), True
    return 1, False


def unpacking(values: list[str], as_tuple: bool) -> str:
    """`_v0, _v1` (`_v0,` for a tuple of one) or `_v0` for a single value."""
    if not as_tuple:
        return values[0]
    return ", ".join(values) + ("," if len(values) == 1 else "")


def is_array_source(module_source: str) -> bool:
    """Does generated source make NumPy arrays (a tape, an adjoint array)?
    A last guard: `passes/gpu/device.py` and the tape-free reverse transform
    refuse such code with a located error before it is written."""
    return any(f"np.{name}(" in module_source
               for name in ("empty", "zeros", "zeros_like", "copy", "ones", "full"))


def device_source(module_source: str, function_name: str, description: str,
                  kinds: list[str]) -> str:
    """The text of the `_cuda` sibling of a generated module: the derivative
    `function_name` (whose parameters have the adjit types `kinds`) as a
    device function, its converting wrapper, and the element-wise kernel."""
    if is_array_source(module_source):
        raise AdjitError("internal: device code would allocate arrays")
    function = derivative_tree(module_source, function_name)
    start = module_source.find(f"\ndef {function_name}(")
    body_text = module_source[start + 1:]
    end = body_text.find("\ndef ", 1)
    function_text = (body_text if end < 0 else body_text[:end]).rstrip() + "\n"
    parameters = [argument.arg for argument in function.args.args]
    type_names = ", ".join(KINDS[kind][0] for kind in kinds)
    converted = ", ".join(f"{KINDS[kind][1]}({name})" for name, kind in zip(parameters, kinds))
    device = f"{function_name}_device"
    lines = [
        f"# Generated by adjit: CUDA device function and kernel of {description}",
        "# Edits are not read back; this file is a cache entry and may be rebuilt.",
        "import math", "", "import numpy as np", "from numba import cuda", "",
        "from adjit.runtime import helpers as rt", "", "",
        "@cuda.jit(device=True)", function_text.rstrip(), "", "",
        "@cuda.jit(device=True)",
        f"def {device}({', '.join(parameters)}):",
        f'    """{function_name} with its arguments converted to the types it was',
        f'    generated for: ({type_names})."""',
        f"    return {function_name}({converted})", ""]
    outputs = _outputs(function)
    if outputs is not None:
        taken = set(parameters)
        n, i = fresh_name("_n", taken), fresh_name("_i", taken)
        steps = [fresh_name(f"_step_{name}", taken) for name in parameters]
        results = [fresh_name(f"_out{k}", taken) for k in range(outputs[0])]
        values = [fresh_name(f"_v{k}", taken) for k in range(outputs[0])]
        inputs = ", ".join(f"{name}, {step}" for name, step in zip(parameters, steps))
        reads = ", ".join(f"{name}[{i} * {step}]" for name, step in zip(parameters, steps))
        lines += [
            "", "@cuda.jit",
            f"def {function_name}_kernel({n}, {inputs}, {', '.join(results)}):",
            f'    """Thread {i} < {n} stores in {", ".join(f"{r}[{i}]" for r in results)} what',
            f"    {device} returns for element {i} of each argument; an argument",
            '    of step 0 is a scalar (an array of one element) broadcast to every thread."""',
            f"    {i} = cuda.grid(1)",
            f"    if {i} < {n}:",
            f"        {unpacking(values, outputs[1])} = {device}({reads})"]
        lines += [f"        {result}[{i}] = {value}" for result, value in zip(results, values)]
        lines.append("")
    return "\n".join(lines)


def device_writer(kinds: list[str]):
    """`cuda_source`'s `write` for a function of scalars of the adjit types `kinds`."""
    return functools.partial(device_source, kinds=kinds)


def device_function(module_name: str, function_name: str, kinds: list[str]):
    """The numba CUDA device function `NAME_device` of the derivative."""
    return getattr(cuda_module(module_name, function_name, device_writer(kinds)),
                   f"{function_name}_device")


class ElementwiseLauncher:
    """Host callable running the derivative once per element on the GPU.

    Called like the cpu derivative (its parameters, then the jvp's tangents
    or the vjp's cotangent),
    with scalars or 1-D arrays (NumPy or device arrays, all of one length)
    in place of scalars; returns the cpu derivative's result shape, with a
    NumPy float64 array per value when any argument is an array, and Python
    floats when all are scalars."""

    def __init__(self, module_name: str, function_name: str, kinds: list[str]):
        self.module = cuda_module(module_name, function_name, device_writer(kinds))
        self.function_name = function_name
        self.kernel = getattr(self.module, f"{function_name}_kernel", None)
        function = derivative_tree(compiler.cached_source(f"{module_name}_cuda"),
                                   function_name)
        self.outputs = _outputs(function)
        self.parameters = [argument.arg for argument in function.args.args]
        self.kinds = kinds

    def __call__(self, *args):
        from numba import cuda
        if self.kernel is None:
            raise AdjitError(
                f"{self.function_name} returns tuples of tuples (the jvp of a function "
                "returning several values); element-wise calls on the GPU are not "
                "supported for it yet: call its `.device` from your own kernel")
        length = None
        inputs = []
        for name, kind, value in zip(self.parameters, self.kinds, args):
            if is_lane(value):
                if len(value.shape) != 1:
                    what = f"the tangent of `{name[3:]}`" if name.startswith("_d_") \
                        else f"`{name}`"
                    raise AdjitError(f"{what} is a {len(value.shape)}-D array; "
                                     f"{self.function_name} runs once per element of "
                                     "1-D arrays (one GPU thread each)")
                if length is not None and value.shape[0] != length:
                    raise AdjitError(f"argument `{name}` has {value.shape[0]} elements, "
                                     f"an earlier array argument {length}: arrays passed "
                                     "to a cuda derivative must have one length")
                length = value.shape[0]
                inputs += [value if is_device_array(value) else
                           cuda.to_device(np.ascontiguousarray(value)), 1]
            else:
                inputs += [cuda.to_device(np.array([value], dtype=KINDS[kind][2])), 0]
        count = 1 if length is None else length
        results = [cuda.device_array(count, dtype=np.float64) for _ in range(self.outputs[0])]
        if count:
            blocks = (count + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
            self.kernel[blocks, THREADS_PER_BLOCK](count, *inputs, *results)
        values = [result.copy_to_host() for result in results]
        if length is None:
            values = [float(value[0]) for value in values]
        return tuple(values) if self.outputs[1] else values[0]
