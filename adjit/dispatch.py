"""Dispatchers: a derivative of one function, specialised per signature.

A `Derivative` (reverse mode) or `JVP` (forward mode) is, like a Numba
dispatcher, specialised on the types of the arguments it is called with.
For each new signature it asks the pipeline for the derivative's source (or
finds it in the cache), has its target compile it and keeps it. What a
target does (types of arguments, compiling, what `source` shows, device
functions) is the target's own (`adjit/targets/`): a derivative holds one
`Target` object and knows no target by name.
"""

from __future__ import annotations

import ast
import inspect
import numbers

import numpy as np

from adjit.errors import AdjitError
from adjit import custom
from adjit.function import Differentiable, as_differentiable
from adjit.passes.front.calls import callee_functions
from adjit.runtime import compile as compiler
from adjit.targets import TARGETS, DerivativeSpec, target_named  # noqa: F401

VERSION = "0.1.0"


def as_result(value):
    """A derivative as the user receives it: an array, or a Python float (an
    adjoint can come out as an int: `_b_y = n` for `x = y * n`)."""
    if isinstance(value, tuple):          # the gradient of a tuple argument
        return tuple([as_result(element) for element in value])
    return value if isinstance(value, np.ndarray) else float(value)


class Derivative:
    """A derivative of `function`, compiled per argument signature."""

    mode = "reverse"          # which transformation makes the source
    suffix = "_grad"          # the generated function's name: f_grad
    seed = None               # the parameter holding the output's cotangent (vjp)

    def __init__(self, function, wrt, target: str, returns_value: bool, operator: str,
                 output: int | None = None):
        # the Target compiling and running it (refusing, first, an operator
        # it does not offer or a target that cannot run here)
        self.backend = target_named(target)(operator, output)
        if custom.has_rules(function):         # differentiate it through its rules
            function = custom.with_rules(function)
        self.function = as_differentiable(function)
        tree = None
        if isinstance(self.function, Differentiable):
            # Refuse unsupported code now, at the line that creates the
            # derivative, not at its first call.
            from adjit.passes.pipeline import front_end
            tree = front_end(self.function.py_func).tree
        self.target = target
        self.returns_value = returns_value
        self.operator = operator
        self.output = output      # for a function returning a tuple: which one
        self.wrt_names, self.wrt_is_tuple = _resolve_wrt(self.function, wrt)
        # a derivative differentiated again: the target it was made for
        inner = getattr(self.function, "derivative", None)
        self.backend.prepare(
            DerivativeSpec(function_name=self.function.py_func_name,
                           parameters=tuple(self.function.parameters),
                           py_func=self.function.py_func, wrt=tuple(self.wrt_names),
                           mode=self.mode, cotangent=self.seed is not None),
            tree, inner.backend if inner is not None else None)
        self._compiled: dict[tuple, object] = {}
        self._sources: dict[tuple, str] = {}
        self._names: dict[tuple, tuple[str, str]] = {}    # (module, function) per key
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
        fast_key = (self.backend.dispatch_key(args), self._global_values())
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
        return self.backend.signature(arguments)

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
            compiled = self.backend.compile(module_name, function_name, key[0])
            self._compiled[key] = compiled
        return compiled

    # -- device functions (target="cuda") ----------------------------------------
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
        signature = self.backend.device_signature(
            example_args_or_types, lambda examples: self._bind(tuple(examples), {}))
        module_name, function_name = self._generate((signature, self.global_numbers()))
        return self.backend.device_function(module_name, function_name, signature)

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
            self.seed, *(("device",) if self.backend.device_code else ()),
            # Numba settings its own cache does not see (`numba_settings`)
            numba_settings())
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
                                         output=self.output,
                                         device=self.backend.device_code)
            else:
                generated = forward_mode(py_func, types, self.wrt_names,
                                         with_value=self.returns_value,
                                         device=self.backend.device_code)
            description = (f"{self.mode} mode of {py_func.__qualname__} "
                           f"({inspect.getsourcefile(py_func)}), wrt "
                           f"{', '.join(self.wrt_names)}, signature "
                           f"({', '.join(numba_type for _, numba_type in signature)})")
            source = compiler.MODULE_HEADER.format(version=VERSION,
                                                   description=description)
            source += generated.source
            compiler.store_source(module_name, source)
        self._sources[key] = source
        self._names[key] = module_name, f"{py_func.__name__}{suffix}"
        return self._names[key]

    def output_count(self, *args) -> int | None:
        """How many values `f` returns: None for a scalar, m for a tuple."""
        from adjit.passes.pipeline import front_end
        signature = self._signature(self._bind(args, {}))
        structures = {name: kind for name, (kind, _) in zip(self.function.parameters, signature)
                      if isinstance(kind, tuple)}
        returned = front_end(self.function.py_func_for(signature),
                             structures).tree.body[-1].value
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
        """What `source` shows (the target says: the generated function, or
        the whole module made from it)."""
        module_name, function_name = self._names[key]
        return self.backend.text(self._sources[key], module_name, function_name, key[0])


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
        result = compiled(*args, self.backend.cotangent(cotangent))
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
        self.backend.check_tangents(args, tangents)
        value, tangent = compiled(*args, *[self.backend.tangent(t) for t in tangents])
        if isinstance(tangent, tuple):
            return value, tuple([as_result(t) for t in tangent])
        return value, as_result(tangent)

    def source_for(self, *args_and_tangents, **kwargs) -> str:
        arguments = args_and_tangents[:-1] if len(args_and_tangents) > self._arity \
            else args_and_tangents
        return super().source_for(*arguments, **kwargs)


# Numba settings that change the machine code of a compiled derivative and
# that Numba's cache does not key on (it keys on the bytecode and the CPU):
# compiled prange code holds the thread count as a constant (rt.chunk_count),
# NUMBA_BOUNDSCHECK=1 adds index checks, the others change what LLVM emits.
NUMBA_SETTINGS = ("NUMBA_NUM_THREADS", "BOUNDSCHECK", "OPT", "LOOP_VECTORIZE",
                  "SLP_VECTORIZE", "ENABLE_AVX", "DEBUGINFO_DEFAULT",
                  "EXTEND_VARIABLE_LIFETIMES")


def numba_settings() -> tuple:
    """The values of `NUMBA_SETTINGS`, part of the cache key of every
    derivative: a derivative first compiled under other settings is
    generated under a new name, and compiled anew under these."""
    import numba
    return tuple((name, str(getattr(numba.config, name, None))) for name in NUMBA_SETTINGS)


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
