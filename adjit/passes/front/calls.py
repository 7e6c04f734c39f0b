"""Which calls reach the user's own functions.

`resolve` marks a call of a user function with the `CALL` primitive (and
the function as `Call.callee`) for `inline` to replace by its body;
`callee_functions` lists every user function a function may reach, for the
cache and dispatch keys of its derivatives. Nothing here transforms code.
"""

from __future__ import annotations

import inspect
import sys
import types

from adjit.rules.registry import Primitive

# the primitive `resolve` gives a call of a user function until it is inlined
CALL = Primitive(key="call", spelling="call", arity=(), partials=None)

_LIBRARY_MODULES = ("numpy", "math", "scipy", "numba", "adjit")


def user_function(value):
    """The Python function to inline for `value`, or None when `value` is not
    one of the user's functions: a plain function, an `adjit.differentiable`
    function, or a Numba dispatcher (its `py_func`)."""
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
        candidates = [namespace.get(name) for name in code.co_names]
        for name in code.co_names:
            module = namespace.get(name)
            if inspect.ismodule(module) and \
                    module.__name__.split(".")[0] not in _LIBRARY_MODULES:
                candidates.extend(getattr(module, other, None) for other in code.co_names)
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
