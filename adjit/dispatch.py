"""Dispatchers: a derivative of one function, specialised per signature.

A `Derivative` (reverse mode) or `JVP` (forward mode) is, like a Numba
dispatcher, specialised on the types of the arguments it is called with.
For each new signature it asks the pipeline for the derivative's source (or
finds it in the cache), compiles it for the target and keeps it.
"""

from __future__ import annotations

import ast
import inspect
import numbers

import numpy as np

from adjit.errors import AdjitError, DifferentiationError
from adjit import custom
from adjit.function import Differentiable, as_differentiable
from adjit.passes.front.calls import callee_functions
from adjit.runtime import compile as compiler
from adjit.rules.registry import BOOL, FLOAT, INT, array_type

TARGETS = ("cpu", "python", "cuda")
# what target="cuda" offers (device functions of scalars, kernels over prange
# loops: see adjit/runtime/cuda.py and adjit/passes/gpu/kernels.py)
CUDA_OPERATORS = ("grad", "value_and_grad", "vjp", "jvp")
VERSION = "0.1.0"


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
    if isinstance(value, np.float32):
        return FLOAT, "float32"
    if isinstance(value, (numbers.Real, np.floating)):
        return FLOAT, "float64"
    return None


_ARRAY_ELEMENTS = {np.float64: FLOAT, np.float32: FLOAT, np.int64: INT, np.int32: INT,
                   np.bool_: BOOL}


def dispatch_key(args) -> tuple:
    """What the fast path specialises on: the Python type of each argument,
    and for arrays their dtype and number of dimensions."""
    return tuple([(value.dtype.char, value.ndim) if type(value) is np.ndarray
                  else type(value) for value in args])


def as_result(value):
    """A derivative as the user receives it: an array, or a Python float (an
    adjoint can come out as an int: `_b_y = n` for `x = y * n`)."""
    return value if isinstance(value, np.ndarray) else float(value)


class Derivative:
    """A derivative of `function`, compiled per argument signature."""

    mode = "reverse"          # which transformation makes the source
    suffix = "_grad"          # the generated function's name: f_grad
    seed = None               # the parameter holding the output's cotangent (vjp)

    def __init__(self, function, wrt, target: str, returns_value: bool, operator: str,
                 output: int | None = None):
        if target not in TARGETS:
            raise AdjitError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
        if target == "cuda":
            if operator not in CUDA_OPERATORS or output is not None:
                raise AdjitError(f"jit.{operator} has no target='cuda' yet; the GPU "
                                 f"target offers jit.{', jit.'.join(CUDA_OPERATORS)}")
            from adjit.runtime.cuda import require_cuda
            require_cuda()
        if custom.has_rules(function):         # differentiate it through its rules
            function = custom.with_rules(function)
        self.function = as_differentiable(function)
        # target="cuda": a function with prange loops runs as kernels over
        # them (arrays taken whole), one without as a device function of
        # scalars (arrays are lanes of per-thread arguments)
        self.cuda_grid = False
        self.cuda_arrays = set()      # parameters used as arrays: one thread per row
        if isinstance(self.function, Differentiable):
            # Refuse unsupported code now, at the line that creates the
            # derivative, not at its first call.
            from adjit.passes.pipeline import front_end
            parsed = front_end(self.function.py_func)
            if target == "cuda":
                from adjit.passes.gpu.device import array_parameters, uses_grid
                self.cuda_grid = uses_grid(parsed.tree)
                self.cuda_arrays = array_parameters(parsed.tree)
        else:
            _refuse_again_on_the_grid(self.function, target)
        self.target = target
        self.returns_value = returns_value
        self.operator = operator
        self.output = output      # for a function returning a tuple: which one
        self.wrt_names, self.wrt_is_tuple = _resolve_wrt(self.function, wrt)
        self._compiled: dict[tuple, object] = {}
        self._sources: dict[tuple, str] = {}
        self._latest: tuple | None = None
        # Fast dispatch: (Python types of the arguments, global numbers) ->
        # compiled function, skipping signature binding on the hot path.
        self._by_python_types: dict[tuple, object] = {}
        self._arity = len(self.function.parameters)
        # the functions the derivative inlines: their sources and numeric
        # globals are part of the keys, like the function's own
        self._callees = callee_functions(self.function.root)
        self._number_names = [(function.__globals__, name)
                              for function in [self.function.root, *self._callees]
                              for name in _number_names(function)]

    def __repr__(self) -> str:
        return (f"<adjit.jit.{self.operator} of {self.function.py_func_name} "
                f"wrt {self.wrt_names} target={self.target!r}>")

    # -- calling ------------------------------------------------------------------
    def _compiled_for(self, args, kwargs):
        """(the arguments bound to the parameters, the compiled derivative
        for their types), by the fast key when it was seen before."""
        if kwargs or len(args) != self._arity:
            args = self._bind(tuple(args), kwargs)
        fast_key = (dispatch_key(args) if self.target != "cuda" else
                    _cuda().dispatch_key(args), self._global_values())
        compiled = self._by_python_types.get(fast_key)
        if compiled is None:
            compiled = self._specialise(list(args))
            self._by_python_types[fast_key] = compiled
        return args, compiled

    def __call__(self, *args, **kwargs):
        args, compiled = self._compiled_for(args, kwargs)
        result = compiled(*args)
        if not self.returns_value:
            return tuple([as_result(g) for g in result]) if self.wrt_is_tuple \
                else as_result(result)
        if self.wrt_is_tuple:
            return result[0], tuple([as_result(g) for g in result[1:]])
        return result[0], as_result(result[1])

    def global_numbers(self) -> tuple:
        return tuple(_global_numbers(function)
                     for function in [self.function.root, *self._callees])

    def _global_values(self) -> tuple:
        return tuple([namespace.get(name) for namespace, name in self._number_names])

    def _bind(self, args, kwargs) -> list:
        bound = self.function.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return list(bound.arguments.values())

    def _signature(self, arguments) -> tuple:
        if self.target == "cuda" and self.cuda_grid:     # kernels over prange loops
            return _cuda().grid_signature(self.function.parameters, arguments)
        if self.target == "cuda":       # scalars, or 1-D arrays of per-thread values
            return _cuda().lane_signature(self.function.parameters, arguments,
                                          self.function.py_func, self.cuda_arrays)
        signature = []
        for name, value in zip(self.function.parameters, arguments):
            kind = argument_type(value)
            if kind is None:
                what = f"an array of {value.dtype}" if isinstance(value, np.ndarray) \
                    else f"a {type(value).__name__}"
                raise DifferentiationError(
                    f"argument `{name}` is {what}; adjit takes float, int and bool "
                    "scalars and NumPy arrays of them",
                    hint="pass a float, an int, or a NumPy array")
            signature.append(kind)
        return tuple(signature)

    def _key(self, arguments) -> tuple:
        """What a compiled derivative depends on beyond the source: the
        argument types and the values of the numeric globals it reads (so a
        changed global recompiles instead of giving a stale derivative)."""
        return self._signature(arguments), self.global_numbers()

    def _specialise(self, arguments):
        key = self._key(arguments)
        self._latest = key
        compiled = self._compiled.get(key)
        if compiled is None:
            module_name, function_name = self._generate(key)
            if self.target == "cuda" and self.cuda_grid:
                compiled = _cuda().grid_function(module_name, function_name,
                                                 self._grid_kinds(key[0]))
            elif self.target == "cuda":
                compiled = _cuda().launcher(module_name, function_name,
                                            self._device_kinds(key[0]),
                                            self._row_call(key[0]))
            else:
                compiled = compiler.compile_function(module_name, function_name,
                                                     self.target)
            self._compiled[key] = compiled
        return compiled

    # -- target="cuda" ----------------------------------------------------------------
    @property
    def device(self):
        """A numba CUDA device function of this derivative for float64
        arguments (target="cuda"): call it from your `@cuda.jit` kernel with
        f's scalar arguments (then, for a jvp, one tangent per `wrt`; for
        a vjp, the cotangent); it returns what the cpu derivative returns. For int or bool parameters
        use `device_for`."""
        return self.device_for(", ".join(["float64"] * self._arity))

    def device_for(self, *example_args_or_types):
        """The device function for the argument types of example scalars
        (`device_for(1.0, 3)`) or of a type string (`device_for("float64,
        int64")`: float64/int64/boolean, one per parameter of f). Arguments
        passed from a kernel are converted to these types."""
        if self.target != "cuda":
            raise AdjitError(f"`.device` is for derivatives made with target='cuda'; "
                             f"this one has target={self.target!r}")
        if self.cuda_grid:
            raise AdjitError(
                f"`.device` is for functions of scalars; {self.function.py_func_name} has "
                "a prange loop, so its derivative on the GPU is kernels (one thread per "
                "iteration) launched by calling the derivative itself with the arrays "
                "(NumPy or CUDA device arrays). For a device function to call from your "
                "own kernel, differentiate the prange body written as a function of "
                "scalars")
        cuda_runtime = _cuda()
        if len(example_args_or_types) == 1 and isinstance(example_args_or_types[0], str):
            signature = cuda_runtime.parse_signature(example_args_or_types[0],
                                                     self.function.parameters)
        else:
            arguments = self._bind(tuple(example_args_or_types), {})
            signature = cuda_runtime.lane_signature(self.function.parameters, arguments)
        key = (signature, self.global_numbers())
        module_name, function_name = self._generate(key)
        return cuda_runtime.device_function(module_name, function_name,
                                            self._device_kinds(signature))

    def _device_kinds(self, signature: tuple) -> list[str]:
        """The signature's adjit types, then one per jvp tangent (a float, or
        a row's array type), or the vjp's float cotangent."""
        kind_of = {name: kind for name, (kind, _) in zip(self.function.parameters, signature)}
        tangents = [kind_of[name] for name in self.wrt_names] if self.mode == "forward" \
            else []
        return _cuda().kinds_of(signature, tangents + [FLOAT] * (self.seed is not None))

    def _row_call(self, signature: tuple):
        """How a per-row derivative (target="cuda", array parameters, no
        prange) reaches its threads: `cuda_rows.RowCall`."""
        from adjit.runtime.cuda_rows import RowCall, shared_parameters
        code = getattr(getattr(self.function, "py_func", None), "__code__", None)
        return RowCall(shared=shared_parameters(self.function.parameters, signature),
                       tangents_for=tuple(self.wrt_names) if self.mode == "forward" else (),
                       filename=code.co_filename if code is not None else None)

    def _grid_kinds(self, signature: tuple) -> list[str]:
        """The adjit types of the generated function's parameters: the
        signature's, then (jvp) one tangent per `wrt`, of its type, or (vjp)
        the float cotangent of the scalar output."""
        kinds = [kind for kind, _ in signature] + [FLOAT] * (self.seed is not None)
        if self.mode == "forward":
            kind_of = dict(zip(self.function.parameters, kinds))
            kinds += [kind_of[name] for name in self.wrt_names]
        return kinds

    def _cuda_text(self, key: tuple) -> str:
        """The generated CUDA module (kernels and their launcher, or device
        function, wrapper and element-wise kernel) for `key`."""
        module_name, function_name = self._generate(key)
        if self.cuda_grid:
            return _cuda().cuda_source(module_name, function_name,
                                       self._grid_kinds(key[0]), grid=True)[1]
        return _cuda().cuda_source(module_name, function_name, self._device_kinds(key[0]),
                                   rows=self._row_call(key[0]))[1]

    def _generate(self, key: tuple) -> tuple[str, str]:
        """Transform (or find in the cache) the source for `key`."""
        from adjit.passes.pipeline import forward_mode, reverse_mode
        from adjit.rules import REGISTRY
        signature, global_numbers = key
        py_func = self.function.py_func_for(signature)
        file_key = compiler.cache_key(
            VERSION, compiler.adjit_fingerprint(), custom.fingerprint(), py_func.__module__,
            py_func.__qualname__, inspect.getsource(py_func),
            [_source_or_name(callee) for callee in self._callees], global_numbers, signature,
            self.wrt_names, self.wrt_is_tuple, self.mode, self.returns_value, self.output,
            self.seed, *(("device",) if self.target == "cuda" else ()),
            # compiled prange code holds Numba's thread count as a constant
            # (rt.chunk_count), and Numba's cache does not see globals change
            _numba_threads())
        module_name = f"adjit_{py_func.__name__}_{file_key}"
        suffix = self.suffix if self.output is None else f"{self.suffix}{self.output}"
        source = compiler.cached_source(module_name)
        if source is None:
            types = {name: kind for name, (kind, _) in
                     zip(self.function.parameters, signature)}
            if self.mode == "reverse":
                generated = reverse_mode(py_func, types, self.wrt_names, seed=self.seed,
                                         with_value=self.returns_value,
                                         gradient_tuple=self.wrt_is_tuple,
                                         output=self.output, device=self.target == "cuda")
            else:
                generated = forward_mode(py_func, types, self.wrt_names,
                                         with_value=self.returns_value,
                                         device=self.target == "cuda")
            description = (f"{self.mode} mode of {py_func.__qualname__} "
                           f"({inspect.getsourcefile(py_func)}), wrt "
                           f"{', '.join(self.wrt_names)}, signature "
                           f"({', '.join(numba_type for _, numba_type in signature)})")
            source = compiler.MODULE_HEADER.format(version=VERSION,
                                                   description=description)
            source += generated.source
            compiler.store_source(module_name, source)
        self._sources[key] = source
        return module_name, f"{py_func.__name__}{suffix}"

    def output_count(self, *args) -> int | None:
        """How many values `f` returns: None for a scalar, m for a tuple."""
        from adjit.passes.pipeline import front_end
        signature = self._signature(self._bind(args, {}))
        returned = front_end(self.function.py_func_for(signature)).tree.body[-1].value
        return len(returned.elts) if isinstance(returned, ast.Tuple) else None

    # -- reading the generated code ---------------------------------------------
    def source_for(self, *args, **kwargs) -> str:
        arguments = self._bind(args, kwargs)
        key = self._key(arguments)
        if key not in self._sources:
            self._generate(key)
        self._latest = key
        return self._text(key)

    @property
    def source(self) -> str:
        if self._latest is None or self._latest not in self._sources:
            raise AdjitError(
                "this derivative has not been called yet, so no signature is "
                "known; call it, or use adjit.source(g, *example_args)")
        return self._text(self._latest)

    def _text(self, key: tuple) -> str:
        """What `source` shows: the generated function, or for target="cuda"
        the whole CUDA module made from it."""
        if self.target == "cuda":
            return self._cuda_text(key)
        return _function_text(self._sources[key])


class VJP(Derivative):
    """Reverse mode with the output's cotangent given:
    `h(*args, cotangent) -> (value, cotangent of each wrt)`, for scalar and
    array outputs (the cotangent has the output's shape)."""

    suffix = "_grad"
    seed = "cotangent"

    def __call__(self, *args_and_cotangent, **kwargs):
        if not args_and_cotangent:
            raise AdjitError("call a vjp as h(*args, cotangent)")
        *args, cotangent = args_and_cotangent
        args, compiled = self._compiled_for(args, kwargs)
        if self.target == "cuda":    # per element (1-D arrays, or a scalar broadcast)
            cotangent = _cuda().vjp_cotangent(cotangent, self.function.py_func_name,
                                              per_element=not self.cuda_grid)
        else:
            cotangent = cotangent if isinstance(cotangent, np.ndarray) else float(cotangent)
        result = compiled(*args, cotangent)
        if self.wrt_is_tuple:
            return as_result(result[0]), tuple([as_result(g) for g in result[1:]])
        return as_result(result[0]), as_result(result[1])

    def source_for(self, *args_and_cotangent, **kwargs) -> str:
        arguments = args_and_cotangent[:-1] if len(args_and_cotangent) > self._arity \
            else args_and_cotangent
        return super().source_for(*arguments, **kwargs)


class JVP(Derivative):
    """Forward mode: `h(*args, tangents) -> (value, tangent of value)`."""

    mode = "forward"
    suffix = "_jvp"

    def __call__(self, *args_and_tangents, **kwargs):
        if not args_and_tangents:
            raise AdjitError("call a jvp as h(*args, tangents)")
        *args, tangents = args_and_tangents
        tangents = tuple(tangents) if self.wrt_is_tuple else (tangents,)
        if len(tangents) != len(self.wrt_names):
            raise AdjitError(f"expected {len(self.wrt_names)} tangents (one per "
                             f"wrt argument {self.wrt_names}), got {len(tangents)}")
        args, compiled = self._compiled_for(args, kwargs)
        # arrays (NumPy's, or CUDA device arrays for target="cuda") pass as
        # they are; numbers as floats
        value, tangent = compiled(*args, *[t if hasattr(t, "shape") and t.shape != ()
                                           else float(t) for t in tangents])
        if isinstance(tangent, tuple):
            return value, tuple([as_result(t) for t in tangent])
        return value, as_result(tangent)

    def source_for(self, *args_and_tangents, **kwargs) -> str:
        arguments = args_and_tangents[:-1] if len(args_and_tangents) > self._arity \
            else args_and_tangents
        return super().source_for(*arguments, **kwargs)


def _refuse_again_on_the_grid(function, target: str) -> None:
    """A derivative of a function with prange loops cannot be differentiated
    again with target="cuda" (its kernels are made from a derivative once),
    nor, made with target="cuda", on any target: its generated source
    leaves shared adjoint increments to CUDA atomics, so as plain parallel
    code it would race."""
    inner = getattr(function, "derivative", None)
    if inner is None:
        return
    from adjit.passes.gpu.device import uses_grid
    from adjit.passes.pipeline import front_end
    if getattr(inner, "cuda_grid", False) or (
            target == "cuda" and uses_grid(front_end(function.root).tree)):
        raise AdjitError(
            f"{function.py_func_name} is a derivative of a function with a prange loop; "
            "differentiating it again on the GPU (target='cuda'), or differentiating "
            "its target='cuda' derivative, is not supported yet: differentiate the "
            "target='cpu' derivative with target='cpu'")


def _numba_threads() -> int:
    import numba
    return numba.config.NUMBA_NUM_THREADS


def _cuda():
    """adjit.runtime.cuda, imported only when target="cuda" is used."""
    from adjit.runtime import cuda
    return cuda


def _function_text(module_source: str) -> str:
    """The generated function without the module header."""
    start = module_source.find("\ndef ")
    return module_source[start + 1:] if start >= 0 else module_source


def _source_or_name(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return function.__qualname__


def _number_names(py_func) -> tuple[str, ...]:
    """Global names the function reads that hold numbers now (the dispatch
    key follows their values)."""
    namespace = py_func.__globals__
    return tuple(name for name in py_func.__code__.co_names
                 if isinstance(namespace.get(name), (numbers.Number, np.number)))


def _global_numbers(py_func) -> tuple:
    """The numeric globals and closure values the function reads."""
    values = []
    namespace = py_func.__globals__
    for name in py_func.__code__.co_names:
        value = namespace.get(name)
        if isinstance(value, (numbers.Number, np.number)):
            values.append((name, value))
    for name, cell in zip(py_func.__code__.co_freevars, py_func.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, (numbers.Number, np.number)):
            values.append((name, value))
    return tuple(values)


def _resolve_wrt(function: Differentiable, wrt) -> tuple[list[str], bool]:
    parameters = function.parameters
    is_tuple = isinstance(wrt, (tuple, list))
    names = []
    for item in (wrt if is_tuple else (wrt,)):
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise AdjitError(f"wrt entries must be parameter indices or names, not {item!r}")
        if isinstance(item, int):
            if not -len(parameters) <= item < len(parameters):
                raise AdjitError(f"wrt={item} is out of range: "
                                 f"{function.py_func.__name__} has {len(parameters)} "
                                 f"parameters {parameters}")
            item = parameters[item]
        elif item not in parameters:
            raise AdjitError(f"wrt={item!r} is not a parameter of "
                             f"{function.py_func.__name__}{tuple(parameters)}")
        if item in names:
            raise AdjitError(f"wrt names `{item}` twice")
        names.append(item)
    if not names:
        raise AdjitError("wrt is empty: name at least one parameter")
    return names, is_tuple
