"""Which calls reach the user's own functions.

`resolve` marks a call of a user function with the `CALL` primitive (and
the function as `Call.callee`) for `inline` to replace by its body. A
callee is a Python function, a `NestedFunction` (a `def` or a lambda
assigned to a name inside the function being read), or a `Bound` callee
whose parameters receiving a function or an array (`act=np.tanh`,
`w=ONES`) are fixed for this call. `callee_functions` lists every user
function a function may reach, for the cache and dispatch keys of its
derivatives. Nothing here transforms code.
"""

from __future__ import annotations

import ast
import inspect
import sys
import types
from dataclasses import dataclass

from adjit.rules.registry import Primitive

# the primitive `resolve` gives a call of a user function until it is inlined
CALL = Primitive(key="call", spelling="call", arity=(), partials=None)

_LIBRARY_MODULES = ("numpy", "math", "scipy", "numba", "adjit")


@dataclass(eq=False)
class NestedFunction:
    """A function defined in the body of the function being read: a nested
    `def`, or `NAME = lambda ...` as a `def` of that name. It reads the
    enclosing function's globals and closure, and the enclosing variables
    named in `outer_locals` as they are where it is called (inlining keeps
    Python's late binding). `parse.parse_function` reads it."""
    name: str
    tree: ast.FunctionDef
    outer: object                        # the enclosing ParsedFunction
    outer_locals: frozenset

    @property
    def __name__(self) -> str:
        return self.name


@dataclass(eq=False)
class Bound:
    """`function` called with the parameters in `values` fixed to a function
    or an array (a default such as `act=np.tanh`, or an argument naming a
    function): read as a function of its other parameters, with `values`
    in its closure."""
    function: object
    values: dict

    @property
    def __name__(self) -> str:
        return self.function.__name__


def underlying(callee):
    """The function a callee reads: itself, or a `Bound` callee's function."""
    return callee.function if isinstance(callee, Bound) else callee


def user_function(value):
    """The Python function to inline for `value`, or None when `value` is not
    one of the user's functions: a plain function, an `adjit.differentiable`
    function, or a Numba dispatcher (its `py_func`); a nested function as
    it is."""
    if isinstance(value, (NestedFunction, Bound)):
        return value
    # an `adjit.differentiable` function says so (the API layer above
    # this package is not imported here)
    if getattr(value, "adjit_differentiable", False):
        return value.py_func
    py_func = getattr(value, "py_func", None)
    if py_func is not None and type(value).__module__.startswith("numba"):
        return py_func
    if isinstance(value, types.FunctionType):
        package = (getattr(value, "__module__", "") or "").split(".")[0]
        if package in _LIBRARY_MODULES or package in sys.stdlib_module_names:
            return None
        return value
    return None


def callee_functions(py_func) -> list:
    """The user functions `py_func` may call, found by name in its globals,
    closure and the user modules it reads, transitively: their sources and
    numeric globals are part of a derivative's cache and dispatch keys."""
    found: list = []
    pending = [py_func]
    while pending:
        function = pending.pop()
        namespace = getattr(function, "__globals__", {})
        code = getattr(function, "__code__", None)
        if code is None:
            continue
        names = global_names(code)
        candidates = [namespace.get(name) for name in names]
        for name in names:
            module = namespace.get(name)
            if inspect.ismodule(module) and \
                    module.__name__.split(".")[0] not in _LIBRARY_MODULES:
                candidates.extend(getattr(module, other, None) for other in names)
        candidates.extend(getattr(function, "__defaults__", None) or ())
        for cell in function.__closure__ or ():
            try:
                candidates.append(cell.cell_contents)
            except ValueError:
                continue
        for candidate in candidates:
            callee = user_function(candidate) if candidate is not None else None
            if callee is not None and callee is not py_func and callee not in found:
                found.append(callee)
                pending.append(callee)
    return found


def global_names(code) -> tuple[str, ...]:
    """The global names `code` reads, those of its nested functions and
    lambdas included (they are inlined with it)."""
    names = list(code.co_names)
    for constant in code.co_consts:
        if inspect.iscode(constant):
            names.extend(name for name in global_names(constant) if name not in names)
    return tuple(names)
