"""The `differentiable` wrapper: a user function, its compiled primal, and
what adjit knows about it.

`@adjit.differentiable` marks a function: calling the result runs the
Numba-compiled primal (compiled on first call, cached on disk by Numba),
and `adjit.jit` transforms its source. A plain function can be passed to
`adjit.jit` too; `as_differentiable` wraps it on the fly.
"""

from __future__ import annotations

import functools
import inspect


class Differentiable:
    """A user function adjit may transform; calling it runs the primal."""

    def __init__(self, function):
        if isinstance(function, Differentiable):
            function = function.py_func
        self.py_func = function
        self.signature = inspect.signature(function)
        self._compiled = None
        functools.update_wrapper(self, function)

    @property
    def parameters(self) -> list[str]:
        return list(self.signature.parameters)

    def compiled(self):
        """The Numba-compiled primal (`numba.njit(cache=True)`)."""
        if self._compiled is None:
            import numba
            self._compiled = numba.njit(cache=True)(self.py_func)
        return self._compiled

    def __call__(self, *args, **kwargs):
        return self.compiled()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<adjit.differentiable {self.py_func.__qualname__}>"


def differentiable(function) -> Differentiable:
    """Mark `function` as differentiable; calling it runs its compiled primal."""
    return Differentiable(function)


def as_differentiable(function) -> Differentiable:
    if isinstance(function, Differentiable):
        return function
    if not callable(function) or not hasattr(function, "__code__"):
        from adjit.errors import DifferentiationError
        raise DifferentiationError(
            f"{function!r} is not a Python function adjit can differentiate",
            hint="pass a function defined with `def` (or one wrapped by "
                 "`adjit.differentiable`)")
    return Differentiable(function)
