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

    @property
    def root(self):
        """The user function whose globals the derivative reads."""
        return self.py_func

    def py_func_for(self, signature: tuple):
        """The function to transform for this argument signature."""
        return self.py_func

    def compiled(self):
        """The Numba-compiled primal (`numba.njit(cache=True)`)."""
        if self._compiled is None:
            import numba
            self._compiled = numba.njit(cache=True)(self.py_func)
        return self._compiled

    def __call__(self, *args, **kwargs):
        return self.compiled()(*args, **kwargs)

    @property
    def py_func_name(self) -> str:
        return self.py_func.__name__

    def __repr__(self) -> str:
        return f"<adjit.differentiable {self.py_func.__qualname__}>"


def differentiable(function) -> Differentiable:
    """Mark `function` as differentiable; calling it runs its compiled primal."""
    return Differentiable(function)


class DerivativeFunction:
    """A derivative made by `adjit.jit`, seen as a function to differentiate
    again: for each signature, its generated source (the plain-Python module
    in the cache) is what the next transformation reads. Parameters are the
    ones of the function it differentiates."""

    def __init__(self, derivative):
        from adjit.errors import DifferentiationError
        if derivative.mode != "reverse" or derivative.returns_value:
            raise DifferentiationError(
                f"{derivative!r} cannot be differentiated again yet",
                hint="differentiate jit.grad(f) (jit.jvp, jit.value_and_grad and "
                     "jit.vjp results cannot be transformed further for now)")
        self.derivative = derivative
        self.signature = derivative.function.signature
        self.__name__ = derivative.function.py_func_name + derivative.suffix
        self.__qualname__ = self.__name__

    @property
    def parameters(self) -> list[str]:
        return list(self.signature.parameters)

    @property
    def root(self):
        return self.derivative.function.root

    @property
    def py_func_name(self) -> str:
        return self.__name__

    @property
    def py_func(self):
        return self.root

    def py_func_for(self, signature: tuple):
        from adjit.runtime import compile as compiler
        key = (signature, self.derivative.global_numbers())
        module_name, function_name = self.derivative._generate(key)
        generated = getattr(compiler.load_module(module_name), function_name)
        generated.__adjit_generated__ = True
        return generated

    def __repr__(self) -> str:
        return f"<derivative {self.__name__}>"


def as_differentiable(function):
    if isinstance(function, Differentiable):
        return function
    if hasattr(function, "_generate") and hasattr(function, "mode"):   # a Derivative
        return DerivativeFunction(function)
    if not callable(function) or not hasattr(function, "__code__"):
        from adjit.errors import DifferentiationError
        raise DifferentiationError(
            f"{function!r} is not a Python function adjit can differentiate",
            hint="pass a function defined with `def` (or one wrapped by "
                 "`adjit.differentiable`)")
    return Differentiable(function)
