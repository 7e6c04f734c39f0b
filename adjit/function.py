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

    # how the passes, which do not import this module, recognise one
    adjit_differentiable = True

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
            # a function with prange loops runs them in parallel
            parallel = "prange" in (_source_or_empty(self.py_func))
            self._compiled = numba.njit(cache=True, parallel=parallel)(self.py_func)
        return self._compiled

    def __call__(self, *args, **kwargs):
        return self.compiled()(*args, **kwargs)

    def defvjp(self, rule):
        """`@f.defvjp`: `rule(g, ans, *args)` returns one cotangent per
        argument (a tuple when there are several); see adjit/custom.py."""
        from adjit.custom import defvjp
        return defvjp(self, rule)

    def defjvp(self, rule):
        """`@f.defjvp`: `rule(tangents, ans, *args)` returns the output
        tangent; see adjit/custom.py."""
        from adjit.custom import defjvp
        return defjvp(self, rule)

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
        if derivative.returns_value and derivative.mode == "reverse":
            raise DifferentiationError(
                f"{derivative!r} cannot be differentiated again",
                hint="differentiate jit.grad(f); its value is f itself")
        signature = derivative.function.signature
        self.arity = len(signature.parameters)
        if derivative.mode == "forward":
            # Reverse over forward: the function differentiated is
            # (args..., tangent components...) -> the tangent of f's result.
            derivative = type(derivative)(derivative.function, _wrt_of(derivative),
                                          derivative.target, returns_value=False,
                                          operator=derivative.operator)
            tangents = [inspect.Parameter(_tangent_name(name),
                                          inspect.Parameter.POSITIONAL_OR_KEYWORD)
                        for name in derivative.wrt_names]
            signature = signature.replace(parameters=[
                p.replace(default=inspect.Parameter.empty)
                for p in signature.parameters.values()] + tangents)
        self.derivative = derivative
        self.signature = signature
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
        key = (signature[:self.arity], self.derivative.global_numbers())
        # its long loops checkpointed: the derivative of a form that checks
        # the budget and raises beyond it could not fall back on its own
        module_name, function_name = self.derivative._generate(key, checkpointed=True)
        generated = getattr(compiler.load_module(module_name), function_name)
        generated.__adjit_generated__ = True
        return generated

    def __repr__(self) -> str:
        return f"<derivative {self.__name__}>"


def _tangent_name(parameter: str) -> str:
    return "_d_" + parameter.lstrip("_")


def _wrt_of(derivative):
    names = tuple(derivative.wrt_names)
    return names if derivative.wrt_is_tuple else names[0]


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


def _source_or_empty(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""
