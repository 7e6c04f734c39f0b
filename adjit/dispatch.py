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

import numpy as np

from adjit.errors import AdjitError, DifferentiationError
from adjit import custom
from adjit.function import Differentiable, as_differentiable
from adjit.keys import (captured_arrays, constant_key, global_numbers, number_names,
                        numba_settings, source_or_name)
from adjit.pickling import identity, rebuilt, sources
from adjit.located import mixed_dtype_product, shape_mismatch
from adjit.passes.front.calls import callee_functions
from adjit.passes.front.parse import source_text
from adjit.passes.front.outputs import (output_arguments, parameters_maybe_written,
                                        returns_nothing)
from adjit.runtime import compile as compiler
from adjit.runtime.checkpoints import CheckpointsNeeded
from adjit.targets import TARGETS, DerivativeSpec, check_like, target_named  # noqa: F401

VERSION = "0.1.0"


def as_result(value):
    """A derivative as the user receives it: an array, or a Python float (an
    adjoint can come out as an int: `_b_y = n` for `x = y * n`)."""
    if isinstance(value, tuple):          # the gradient of a tuple argument
        return tuple([as_result(element) for element in value])
    return value if isinstance(value, np.ndarray) else float(value)


def _as_returned(value) -> bool:
    """Whether `as_result` leaves `value` as it is: floats and arrays,
    in tuples."""
    if type(value) is tuple:
        return all(_as_returned(element) for element in value)
    return type(value) is float or isinstance(value, np.ndarray)


class _FirstCall:
    """The first call of a derivative for one fast key (`Derivative._ready`):
    runs `compiled`, then lets later calls with that key run what `compiled`
    runs after its first call (Numba's dispatcher itself, the wrapper that
    watched the first call left out), and skip converting the results when
    the target's result types follow from the argument types and these
    results needed no conversion."""

    def __init__(self, compiled, ready: dict, key: tuple, typed_results: bool):
        self.compiled, self.ready, self.key = compiled, ready, key
        self.typed_results = typed_results

    def __call__(self, *args):
        result = self.compiled(*args)
        later = getattr(self.compiled, "dispatcher", self.compiled)
        self.ready[self.key] = (later, self.typed_results and _as_returned(result))
        return result


class Derivative:
    """A derivative of `function`, compiled per argument signature."""

    mode = "reverse"          # which transformation makes the source
    suffix = "_grad"          # the generated function's name: f_grad
    seed = None               # the parameter holding the output's cotangent (vjp)

    def __init__(self, function, wrt, target: str, returns_value: bool, operator: str,
                 output: int | None = None, outputs=None):
        # how to make it again in another process (`__reduce__`)
        self._arguments = (function, wrt, target, returns_value, operator, output, outputs)
        # the Target compiling and running it (refusing, first, an operator
        # it does not offer or a target that cannot run here)
        self.backend = target_named(target)(operator, output)
        if custom.has_rules(function):         # differentiate it through its rules
            function = custom.with_rules(function)
        self.function = as_differentiable(function)
        tree = parsed = None
        if isinstance(self.function, Differentiable):
            # Refuse unsupported code now, at the line that creates the
            # derivative, not at its first call.
            from adjit.passes.pipeline import front_end
            if self.function.py_func.__name__ == "<lambda>":
                raise DifferentiationError(
                    "differentiating a lambda: a derivative is named after its function",
                    hint="define it with `def` (a lambda may be called by the function "
                    "you differentiate)")
            parsed = front_end(self.function.py_func)
            tree = parsed.tree
        self.target = target
        self.returns_value = returns_value
        self.operator = operator
        self.output = output      # for a function returning a tuple: which one
        self.wrt_names, self.wrt_is_tuple = _resolve_wrt(self.function, wrt)
        self._wrt_positions = [self.function.parameters.index(name)
                               for name in self.wrt_names]
        # a function returning nothing: the output arguments it fills are
        # its results (None for a function returning a value)
        self.output_names, self.outputs_tuple = _resolve_outputs(
            self.function, parsed, outputs, operator, target)
        # a derivative differentiated again: the target it was made for
        inner = getattr(self.function, "derivative", None)
        self.backend.prepare(
            DerivativeSpec(function_name=self.function.py_func_name,
                           parameters=tuple(self.function.parameters),
                           py_func=self.function.py_func, wrt=tuple(self.wrt_names),
                           mode=self.mode, cotangent=self.seed is not None),
            tree, inner.backend if inner is not None else None)
        # parameters f may write into: no other argument may share their memory
        self._written = parameters_maybe_written(tree) if tree is not None else []
        self._compiled: dict[tuple, object] = {}
        self._sources: dict[tuple, str] = {}
        self._names: dict[tuple, tuple[str, str]] = {}    # (module, function) per key
        self._latest: tuple | None = None
        # keys whose calls ran a long loop beyond the checkpoint budget: their
        # derivative is the checkpointed form (`reverse/checkpoints.py`)
        self._checkpointed: set[tuple] = set()
        # Fast dispatch: (Python types of the arguments, global numbers) ->
        # (what runs the derivative, whether its results reach the user as
        # they are), after a first call for those types has returned; the
        # hot path skips binding, signatures and conversions.
        self._ready: dict[tuple, tuple] = {}
        self._arity = len(self.function.parameters)
        # the functions the derivative inlines: their sources and numeric
        # globals are part of the keys, like the function's own
        self._callees = callee_functions(self.function.root)
        self._number_names = [(function.__globals__, name)
                              for function in [self.function.root, *self._callees]
                              for name in number_names(function)]
        # arrays are keyed by content (hashed at each call) only where read
        self._reads_arrays = any(
            isinstance(namespace.get(name), np.ndarray) for namespace, name in
            self._number_names) or any(captured_arrays(function) for function in
                                       [self.function.root, *self._callees])
        self._keyed_on_globals = bool(self._number_names) or self._reads_arrays

    def _output_values(self, values):
        """What the generated function returns for the output arguments (one
        array, or a tuple of several), as the user receives it: a tuple
        when `outputs` was a tuple."""
        if isinstance(values, tuple):
            return tuple([as_result(v) for v in values])
        return (as_result(values),) if self.outputs_tuple else as_result(values)

    def __reduce__(self):
        """Pickled (to a Dask worker, a process pool) as the call that makes
        it, without its compiled functions: the receiving process compiles
        at its first call, or reads the shared cache (`ADJIT_CACHE_DIR`).
        The source of the function and of its callees goes along: a
        function of a `__main__` script travels by value (cloudpickle) and
        arrives without a file to read it from."""
        functions = [self.function.root, *self._callees] \
            if isinstance(self.function, Differentiable) else []
        return rebuilt, (type(self), self._arguments, sources(functions))

    def __dask_tokenize__(self):
        """Dask's key for it: the derivative it is, deterministic (Dask
        otherwise hashes its pickle, which holds the function by value when
        its module cannot be imported by name)."""
        function, *rest = self._arguments
        return (type(self).__qualname__, identity(function), repr(rest))

    def __repr__(self) -> str:
        return (f"<adjit.jit.{self.operator} of {self.function.py_func_name} "
                f"wrt {self.wrt_names} target={self.target!r}>")

    # -- calling ------------------------------------------------------------------
    def _compiled_for(self, args, kwargs):
        """(the arguments bound to the parameters, what runs the derivative
        for their types, whether its results reach the user as they are),
        by the fast key once a call for those types has returned."""
        if kwargs or len(args) != self._arity:
            args = self._bind(tuple(args), kwargs)
        key = self.backend.dispatch_key(args)
        if self._keyed_on_globals:
            key = (key, self._global_values())
        ready = self._ready.get(key)
        if ready is not None:
            return args, ready[0], ready[1]
        first = _FirstCall(self._specialise(list(args)), self._ready, key,
                           self.backend.typed_results)
        return args, first, False

    def __call__(self, *args, **kwargs):
        args, compiled, as_returned = self._compiled_for(args, kwargs)
        result = self._run(compiled, args)
        if as_returned:           # floats and arrays, in the shape the user receives
            return (result[0], result[1:]) if self.returns_value and self.wrt_is_tuple \
                else result
        if not self.returns_value:
            return tuple([as_result(g) for g in result]) if self.wrt_is_tuple \
                else as_result(result)
        if self.wrt_is_tuple:
            return result[0], tuple([as_result(g) for g in result[1:]])
        return result[0], as_result(result[1])

    def _run(self, compiled, args, *extra):
        """Run a compiled derivative; an error it raises about the user's
        code says where in that code (`located`)."""
        if self._written:
            _refuse_shared_memory(self.function.py_func_name, self.function.parameters,
                                  self._written, args)
        try:
            try:
                return compiled(*args, *extra)
            except CheckpointsNeeded:
                # a long loop beyond the budget: the checkpointed form, for
                # these argument types from now on
                return self._checkpointed_form(list(args))(*args, *extra)
        except Exception as error:
            located = self._at_user_line(error, args)
            if located is None:
                raise
            raise located from None

    def _at_user_line(self, error: Exception, args) -> Exception | None:
        """The error a derivative raised, located in the user's code: a
        shape mismatch at the line of the function where the same arguments
        fail, a mixed-dtype matrix product that Numba cannot compile at the
        line holding it; None for any other error (it is raised as it is)."""
        if type(error).__name__ == "TypingError":
            key = self._key(list(args))
            if key not in self._sources:
                return None
            return mixed_dtype_product(error, self._names[key][0], self._sources[key],
                                       self.function.py_func)
        return shape_mismatch(error, self.function.py_func, args)

    def global_numbers(self) -> tuple:
        return tuple(global_numbers(function)
                     for function in [self.function.root, *self._callees])

    def _global_values(self) -> tuple:
        values = [namespace.get(name) for namespace, name in self._number_names]
        if self._reads_arrays:
            values = [constant_key(value) for value in values] + \
                [constant_key(array) for function in [self.function.root, *self._callees]
                 for array in captured_arrays(function)]
        return tuple(values)

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

    def _checkpointed_form(self, arguments):
        """The derivative for these arguments' key made again with its long
        loops checkpointed, compiled; later calls with the key run it."""
        key = self._key(arguments)
        self._checkpointed.add(key)
        self._compiled.pop(key, None)
        self._ready.clear()
        return self._specialise(arguments)

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

    def _generate(self, key: tuple, checkpointed: bool | None = None) -> tuple[str, str]:
        """Transform (or find in the cache) the source for `key`. Long loops
        are recorded whole, after a check of the budget, unless a call with
        this key went beyond it (`_checkpointed`) or `checkpointed` asks for
        their checkpointed form (a derivative differentiated again, whose
        derivative must not depend on a check it cannot redo); the
        derivative's own form is the one `source` shows."""
        from adjit.passes.pipeline import forward_mode, reverse_mode
        from adjit.rules import REGISTRY
        own = checkpointed is None
        if own:
            checkpointed = key in self._checkpointed
        checkpointed = checkpointed and self.mode == "reverse"
        signature, numbers_read = key
        py_func = self.function.py_func_for(signature)
        file_key = compiler.cache_key(
            VERSION, compiler.adjit_fingerprint(), custom.fingerprint(), py_func.__module__,
            py_func.__qualname__, source_text(py_func),
            [source_or_name(callee) for callee in self._callees], numbers_read, signature,
            self.wrt_names, self.wrt_is_tuple, self.mode, self.returns_value, self.output,
            self.seed, self.output_names, *(("device",) if self.backend.device_code else ()),
            *(("checkpointed",) if checkpointed else ()),
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
                                         device=self.backend.device_code,
                                         outputs=self.output_names,
                                         checkpointed=checkpointed)
            else:
                generated = forward_mode(py_func, types, self.wrt_names,
                                         with_value=self.returns_value,
                                         device=self.backend.device_code,
                                         outputs=self.output_names)
            description = (f"{self.mode} mode of {py_func.__qualname__} "
                           f"({inspect.getsourcefile(py_func)}), wrt "
                           f"{', '.join(self.wrt_names)}, signature "
                           f"({', '.join(numba_type for _, numba_type in signature)})")
            source = compiler.MODULE_HEADER.format(version=VERSION,
                                                   description=description)
            source += generated.source
            compiler.store_source(module_name, source)
        names = module_name, f"{py_func.__name__}{suffix}"
        if own:
            self._sources[key] = source
            self._names[key] = names
        return names

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
        args, compiled, as_returned = self._compiled_for(args, kwargs)
        if self.output_names is not None:
            cotangents = self._output_cotangents(args, cotangent)
            result = self._run(compiled, args,
                               *[self.backend.cotangent(c) for c in cotangents])
            value = self._output_values(result[0])
            if self.wrt_is_tuple:
                return value, tuple([as_result(g) for g in result[1:]])
            return value, as_result(result[1])
        result = self._run(compiled, args, self.backend.cotangent(cotangent))
        if as_returned:
            return (result[0], result[1:]) if self.returns_value and self.wrt_is_tuple \
                else result
        if not self.returns_value:        # the cotangents alone (the bridges' backward)
            return tuple([as_result(g) for g in result]) if self.wrt_is_tuple \
                else as_result(result)
        if self.wrt_is_tuple:
            return as_result(result[0]), tuple([as_result(g) for g in result[1:]])
        return as_result(result[0]), as_result(result[1])

    def _output_cotangents(self, args: list, cotangent) -> list:
        """One cotangent per output argument (a tuple of them for a tuple of
        outputs), each checked to be shaped like its argument."""
        names = self.output_names
        if self.outputs_tuple:
            if not isinstance(cotangent, (tuple, list)) or len(cotangent) != len(names):
                raise AdjitError(f"expected a tuple of {len(names)} cotangents, one per "
                                 f"output argument {names}, got {_described(cotangent)}")
            cotangents = list(cotangent)
        else:
            cotangents = [cotangent]
        for name, given in zip(names, cotangents):
            check_like(f"the cotangent for the output argument `{name}`", given,
                       args[self.function.parameters.index(name)])
        return cotangents

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
        args, compiled, as_returned = self._compiled_for(args, kwargs)
        self.backend.check_tangents(args, tangents)
        # a tangent takes its argument's float dtype (a float64 direction for
        # float32 data: compiled `@` and `np.dot` need operands of one dtype)
        tangent_of = self.backend.tangent
        result = self._run(compiled, args, *[
            tangent if type(tangent) is float
            else tangent_of(_in_dtype_of(tangent, args[position]))
            for tangent, position in zip(tangents, self._wrt_positions)])
        if as_returned and self.output_names is None:
            return result
        value, tangent = result
        if self.output_names is not None:
            return self._output_values(value), self._output_values(tangent)
        if isinstance(tangent, tuple):
            return value, tuple([as_result(t) for t in tangent])
        return value, as_result(tangent)

    def source_for(self, *args_and_tangents, **kwargs) -> str:
        arguments = args_and_tangents[:-1] if len(args_and_tangents) > self._arity \
            else args_and_tangents
        return super().source_for(*arguments, **kwargs)


def _in_dtype_of(tangent, argument):
    """`tangent` as an array of `argument`'s float dtype, where both are
    NumPy arrays of floats of different dtypes; otherwise as it is."""
    if isinstance(tangent, np.ndarray) and isinstance(argument, np.ndarray) \
            and tangent.dtype != argument.dtype \
            and np.issubdtype(argument.dtype, np.floating) \
            and np.issubdtype(tangent.dtype, np.floating):
        return tangent.astype(argument.dtype)
    return tangent


def _resolve_outputs(function, parsed, outputs, operator: str,
                     target: str) -> tuple[list[str] | None, bool]:
    """(the output arguments, whether the user receives them as a tuple) of
    a function returning nothing: `outputs` (indices or names, one or a
    tuple), by default every parameter it writes into (a tuple if several);
    (None, False) for a function returning a value. `parsed`: its front
    end's result (None for a derivative differentiated again)."""
    name = function.py_func_name
    if parsed is None or not returns_nothing(parsed.tree):
        if outputs is not None:
            raise AdjitError(f"outputs= names the output arguments of a function that "
                             f"returns nothing; {name} returns a value")
        return None, False
    tree = parsed.tree
    written = output_arguments(tree)

    def refuse(message: str, hint: str):
        raise DifferentiationError(message, parsed.location(tree), hint=hint,
                                   source_line=parsed.line_text(tree), doc_anchor="calls")
    if not written:
        refuse(f"`{name}` returns nothing and writes into none of its parameters: it has "
               "no result to differentiate", "return the result, or write it into an "
               "array argument (`out[i] = v`)")
    if operator not in ("vjp", "jvp"):
        refuse(f"`{name}` returns nothing (its results are the arrays it fills: "
               f"{', '.join(written)}); jit.{operator} needs a scalar result",
               "use jit.vjp (a cotangent per output argument) or jit.jvp, or return a float")
    if target == "cuda":
        refuse(f"`{name}` returns nothing: output arguments are not supported with "
               "target='cuda'", "return the result")
    if outputs is None:
        return written, len(written) > 1
    names, is_tuple = _resolve_wrt(function, outputs, what="outputs")
    for output in names:
        if output not in written:
            raise AdjitError(f"outputs names `{output}`, but {name} never writes into it; "
                             f"the parameters it fills are {written}")
    return names, is_tuple


def _refuse_shared_memory(name: str, parameters: list[str], written: list[str],
                          args) -> None:
    """Raises when an array argument shares memory with a parameter `name`
    may write into. The derivative copies such a parameter on entry (it
    never changes its caller's arrays), so another parameter sharing its
    memory would not see the writes that f itself sees: the value and the
    derivative would be of a different computation."""
    def arrays(value):
        if isinstance(value, np.ndarray):
            yield value
        elif isinstance(value, tuple):
            for element in value:
                yield from arrays(element)
    given = list(zip(parameters, args))
    for parameter, value in given:
        if parameter not in written:
            continue
        for array in arrays(value):
            for other, other_value in given:
                if other == parameter:
                    continue
                for other_array in arrays(other_value):
                    if not np.may_share_memory(array, other_array):
                        continue
                    try:
                        shared = np.shares_memory(array, other_array, max_work=100_000)
                    except np.exceptions.TooHardError:
                        shared = True
                    if shared:
                        raise AdjitError(
                            f"the arrays passed for `{parameter}` and `{other}` share memory, "
                            f"and {name} writes into `{parameter}`: adjit's derivative works "
                            f"on a copy of `{parameter}`, so `{other}` would not see those "
                            f"writes. Pass separate arrays (`{other}.copy()`)")


def _described(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def _resolve_wrt(function: Differentiable, wrt, what: str = "wrt") -> tuple[list[str], bool]:
    parameters = function.parameters
    is_tuple = isinstance(wrt, (tuple, list))
    names = []
    for item in (wrt if is_tuple else (wrt,)):
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise AdjitError(f"{what} entries must be parameter indices or names, not {item!r}")
        if isinstance(item, int):
            if not -len(parameters) <= item < len(parameters):
                raise AdjitError(f"{what}={item} is out of range: "
                                 f"{function.py_func.__name__} has {len(parameters)} "
                                 f"parameters {parameters}")
            item = parameters[item]
        elif item not in parameters:
            raise AdjitError(f"{what}={item!r} is not a parameter of "
                             f"{function.py_func.__name__}{tuple(parameters)}")
        if item in names:
            raise AdjitError(f"{what} names `{item}` twice")
        names.append(item)
    if not names:
        raise AdjitError(f"{what} is empty: name at least one parameter")
    return names, is_tuple
