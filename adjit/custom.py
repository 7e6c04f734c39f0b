"""Custom derivative rules and functions without a derivative.

    adjit.defvjp(fn, rule)      rule(g, ans, *args) -> one cotangent per argument
                                (a tuple when there are several)
    adjit.defjvp(fn, rule)      rule(tangents, ans, *args) -> the output tangent
                                (`tangents` a tuple, one per argument)
    adjit.nondifferentiable(fn) the derivative of fn is zero
    @f.defvjp / @f.defjvp       the same, on an `adjit.differentiable` function

A function with a rule is not inlined where it is called: the generated code
calls it as a primitive, `rt.custom.NAME(...)`, and its derivative calls the
rule. Functions and rules are compiled with Numba (`numba.njit`) for
`target="cpu"` and run as they are for `target="python"`; so they must be
code Numba compiles. A rule written in plain Python is itself inlined when
the generated code is differentiated again (second order).

Registered names are stable (the module and name of the function), and the
sources of every rule are part of a derivative's cache key
(`fingerprint`), so changing a rule never reuses an old derivative.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import types

from adjit.errors import MissingRuleError
from adjit.rules.arrays import ARRAY_RULES, ArrayRule, Operands, rank
from adjit.rules.registry import FLOAT, INT, REGISTRY, array_type, element_type, is_array
from adjit.runtime import custom as namespace


class _Rules:
    """What is registered for one function."""

    def __init__(self, function, name: str):
        self.function = function
        self.name = name
        self.vjp = None
        self.jvp = None


_BY_FUNCTION: dict[int, _Rules] = {}


def _python_function(fn):
    """The Python function behind `fn`: an `adjit.differentiable` function's
    or a Numba dispatcher's `py_func`, or `fn` itself."""
    return getattr(fn, "py_func", fn)


def _compiled(fn, name: str):
    """`fn` as generated code calls it under `name`. A Python function is
    itself, made `register_jitable`: called as it is by target="python"
    (so it may call anything), compiled by Numba inside target="cpu"
    derivatives. A Numba dispatcher is itself too. Any other callable (a
    NumPy or SciPy ufunc, a builtin) is listed in `python_only`:
    target="cpu" refuses derivatives calling it."""
    if type(fn).__module__.startswith("numba"):
        return fn
    if isinstance(fn, types.FunctionType):
        from numba.extending import register_jitable
        return register_jitable(fn)
    namespace.python_only[name] = _written(fn)
    return fn


def _written(fn) -> str:
    name = getattr(fn, "__name__", type(fn).__name__)
    module = getattr(fn, "__module__", None)
    return f"`{module}.{name}`" if module else \
        f"`{name}` (a {type(fn).__module__}.{type(fn).__name__})"


def _stable_name(fn) -> str:
    python = _python_function(fn)
    module = getattr(python, "__module__", None) or type(python).__module__
    name = getattr(python, "__qualname__", None) or getattr(python, "__name__", repr(fn))
    text = f"{module}__{name}"
    return re.sub(r"\W", "_", text)


def _arity(fn) -> int | None:
    if isinstance(getattr(fn, "nin", None), int):        # a ufunc
        return fn.nin
    try:
        return len(inspect.signature(_python_function(fn)).parameters)
    except (TypeError, ValueError):
        return None


def _entry(fn) -> _Rules:
    entry = _BY_FUNCTION.get(id(fn))
    if entry is None:
        name = _stable_name(fn)
        entry = _Rules(fn, name)
        setattr(namespace, name, _compiled(_python_function(fn), name))
        keys = {fn, _python_function(fn)}
        arity = _arity(fn)
        for key in keys:
            _BY_FUNCTION[id(key)] = entry
            REGISTRY.register(key, f"rt.custom.{name}", None,
                              (arity,) if arity is not None else tuple(range(1, 9)),
                              result_type=lambda *types_, entry=entry:
                              _result_type(list(types_), entry))
            ARRAY_RULES[key] = ArrayRule(
                lambda types_, arguments, entry=entry: _result_type(types_, entry),
                lambda operands, entry=entry: _reverse(entry, operands),
                lambda operands, entry=entry: _forward(entry, operands))
        # the dispatcher generated code calls is the same primitive
        compiled = getattr(namespace, name)
        _BY_FUNCTION[id(compiled)] = entry
        REGISTRY.register(compiled, f"rt.custom.{name}", None,
                          (arity,) if arity is not None else tuple(range(1, 9)),
                          result_type=lambda *types_: _result_type(list(types_), entry))
        ARRAY_RULES[compiled] = ARRAY_RULES[fn]
    return entry


def _result_type(argument_types: list[str], entry: _Rules | None = None) -> str:
    """What a custom function returns for arguments of these types: what
    Numba's typing says of the compiled function (a float, or an array of
    some rank); for a function Numba cannot compile, a float, or an array
    like its first array argument (the broadcast of a ufunc)."""
    arrays = [t for t in argument_types if is_array(t)]
    assumed = arrays[0] if arrays else FLOAT
    if not arrays or entry is None or entry.name in namespace.python_only:
        return assumed
    key = (entry.name, tuple(argument_types))
    if key not in _TYPED:
        import numba
        function = entry.function if type(entry.function).__module__.startswith("numba") \
            else numba.njit(_python_function(entry.function))
        _TYPED[key] = _numba_result(function, argument_types) or assumed
    return _TYPED[key]


_TYPED: dict[tuple, str] = {}


def _numba_result(compiled, argument_types: list[str]) -> str | None:
    """The adjit type of what `compiled` returns, by Numba's typing of a
    call with arguments of `argument_types`; None when Numba cannot tell."""
    from numba import types as numba_types
    scalars = {"float": numba_types.float64, "int": numba_types.int64,
               "bool": numba_types.boolean}
    signature = []
    for type_name in argument_types:
        element = scalars.get(element_type(type_name))
        if element is None:
            return None
        signature.append(numba_types.Array(element, rank(type_name), "A")
                         if is_array(type_name) else element)
    try:
        compiled.compile(tuple(signature))
        returned = compiled.overloads[tuple(signature)].signature.return_type
    except Exception:          # noqa: BLE001  (Numba's typing errors vary)
        return None
    if isinstance(returned, numba_types.Array) and returned.dtype in scalars.values():
        kind = {numba_types.float64: FLOAT, numba_types.int64: INT,
                numba_types.boolean: "bool"}[returned.dtype]
        return array_type(kind, returned.ndim)
    if isinstance(returned, (numba_types.Float, numba_types.Integer)):
        return FLOAT
    return None


def _shown(entry: _Rules) -> str:
    """The function's name as its user wrote it (not its registered name)."""
    return getattr(_python_function(entry.function), "__qualname__", entry.name)


def _reverse(entry: _Rules, o: Operands) -> list[str]:
    if entry.vjp is None:
        raise MissingRuleError(
            f"`{_shown(entry)}` has no reverse-mode rule", "reverse",
            hint="register one with adjit.defvjp(fn, rule) or @f.defvjp")
    parts = f"{o.derived_target}_parts"
    arguments = ", ".join(o.arguments)
    code = [f"{parts} = rt.custom.{entry.name}_vjp({o.derived_target}, {o.target}, "
            f"{arguments})"]
    for index, adjoint in enumerate(o.derived):
        if adjoint is None:
            continue
        part = parts if len(o.arguments) == 1 else f"{parts}[{index}]"
        code.append(f"{adjoint} += {part}")
    return code


def _forward(entry: _Rules, o: Operands) -> str:
    if entry.jvp is None:
        raise MissingRuleError(
            f"`{_shown(entry)}` has no forward-mode rule", "forward",
            hint="register one with adjit.defjvp(fn, rule) or @f.defjvp")
    tangents = [t if t is not None else ("0.0" if not rank(kind) else f"np.zeros_like({a})")
                for t, kind, a in zip(o.derived, o.types, o.arguments)]
    packed = "(" + ", ".join(tangents) + ("," if len(tangents) == 1 else "") + ")"
    return f"rt.custom.{entry.name}_jvp({packed}, {o.target}, {', '.join(o.arguments)})"


def defvjp(fn, rule):
    """Register `rule(g, ans, *args)` as the reverse-mode derivative of `fn`;
    returns `rule`."""
    entry = _entry(fn)
    entry.vjp = rule
    setattr(namespace, f"{entry.name}_vjp", _compiled(_python_function(rule),
                                                     f"{entry.name}_vjp"))
    REGISTRY.version += 1
    return rule


def defjvp(fn, rule):
    """Register `rule(tangents, ans, *args)` as the forward-mode derivative
    of `fn`; returns `rule`."""
    entry = _entry(fn)
    entry.jvp = rule
    setattr(namespace, f"{entry.name}_jvp", _compiled(_python_function(rule),
                                                     f"{entry.name}_jvp"))
    REGISTRY.version += 1
    return rule


def nondifferentiable(fn):
    """Register `fn` as a function whose derivative is zero (a rounding, a
    random draw, a lookup); returns `fn`."""
    name = _stable_name(fn)
    setattr(namespace, name, _compiled(_python_function(fn), name))
    arity = _arity(fn)
    for key in {fn, _python_function(fn), getattr(namespace, name)}:
        REGISTRY.register(key, f"rt.custom.{name}", None,
                          (arity,) if arity is not None else tuple(range(1, 9)),
                          result_type=lambda *types_: _result_type(list(types_)))
    return fn


def has_rules(fn) -> bool:
    return id(fn) in _BY_FUNCTION or id(_python_function(fn)) in _BY_FUNCTION


def fingerprint() -> str:
    """A hash of every registered rule's source: part of the cache key."""
    digest = hashlib.sha256()
    for entry in sorted({id(e): e for e in _BY_FUNCTION.values()}.values(),
                        key=lambda e: e.name):
        digest.update(entry.name.encode())
        for rule in (entry.function, entry.vjp, entry.jvp):
            digest.update(_source(rule).encode())
    return digest.hexdigest()[:16]


def _source(fn) -> str:
    if fn is None:
        return ""
    try:
        return inspect.getsource(_python_function(fn))
    except (OSError, TypeError):
        return repr(fn)


def with_rules(fn):
    """A function that calls `fn` as the primitive it is registered as, so
    that `jit.grad(fn)` uses `fn`'s rules instead of reading its body.
    Written to the cache directory: adjit reads functions from source."""
    from adjit.runtime import compile as compiler
    entry = _BY_FUNCTION[id(fn)] if id(fn) in _BY_FUNCTION else \
        _BY_FUNCTION[id(_python_function(fn))]
    parameters = list(inspect.signature(_python_function(fn)).parameters)
    text = (f"# adjit: {entry.name} called through its registered rules\n"
            "from adjit.runtime import helpers as rt\n\n\n"
            f"def {entry.name}_with_rules({', '.join(parameters)}):\n"
            f"    return rt.custom.{entry.name}({', '.join(parameters)})\n")
    module_name = f"adjit_rules_{compiler.cache_key(text)}"
    if compiler.cached_source(module_name) is None:
        compiler.store_source(module_name, text)
    return getattr(compiler.load_module(module_name), f"{entry.name}_with_rules")
