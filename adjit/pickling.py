"""How derivatives travel to other processes (a Dask worker, a process
pool): pickled as the call that made them, with the source of the function
and its callees, since a function of a `__main__` script travels by value
(cloudpickle) and arrives where no file holds its source; and a
deterministic token for Dask (`identity`)."""

from __future__ import annotations

import inspect

from adjit.function import Differentiable, as_differentiable
from adjit.passes.front.calls import callee_functions


def sources(functions) -> dict:
    """qualified name -> (source lines, first line) of each function."""
    found = {}
    for function in functions:
        try:
            found[function.__qualname__] = inspect.getsourcelines(function)
        except (OSError, TypeError):
            continue
    return found


def rebuilt(kind, arguments, sources: dict):
    """The derivative `kind(*arguments)`, its function and callees given the
    sources they travelled with where their own cannot be read."""
    function = as_differentiable(arguments[0])
    if isinstance(function, Differentiable):
        for py_func in [function.root, *callee_functions(function.root)]:
            if py_func.__qualname__ in sources and not hasattr(py_func, "__adjit_source__"):
                try:
                    inspect.getsourcelines(py_func)
                except (OSError, TypeError):
                    py_func.__adjit_source__ = sources[py_func.__qualname__]
    return kind(*arguments)


def identity(function) -> tuple:
    """A function (or a derivative to differentiate again) by its module,
    name and code: what makes a derivative of it the same one."""
    inner = getattr(function, "_arguments", None)
    if inner is not None:
        return (type(function).__qualname__, identity(inner[0]), repr(inner[1:]))
    code = getattr(getattr(function, "py_func", function), "__code__", None)
    return (getattr(function, "__module__", None), getattr(function, "__qualname__", None),
            code.co_code if code is not None else None)
