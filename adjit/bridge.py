"""What the PyTorch and JAX bridges share: a function adjit differentiates,
seen by a library that differentiates programs itself.

`Bridged(f, wrt, library)` holds `f`, the arguments it differentiates and
the three computations a library's autodiff asks of an operation, on
NumPy arrays and numbers:

* `primal(arrays)`: f, compiled by Numba;
* `gradients(arrays, cotangent)`: the cotangent of each `wrt` argument,
  without f's value (the library's forward computed it);
* `second(arrays, directions, cotangent)`: the backward of that backward,
  from one reverse-over-forward pass (`jit.vjp(jit.jvp(f))`): its value is
  J @ directions (the part for the cotangent) and its gradients the
  second-order part for the arguments.
"""

from __future__ import annotations

from adjit import jit
from adjit.dispatch import VJP, _resolve_wrt
from adjit.errors import AdjitError
from adjit.function import Differentiable, as_differentiable


class Bridged:
    def __init__(self, f, wrt, library: str):
        self.function = as_differentiable(f)
        if not isinstance(self.function, Differentiable):
            raise AdjitError(f"adjit.{library}.function takes a Python function (not a "
                             f"derivative made by adjit.jit: {library} differentiates the "
                             "function itself)")
        names, _ = _resolve_wrt(self.function, wrt)
        self.name = self.function.py_func.__name__
        self.parameters = self.function.parameters
        self.wrt_names = tuple(names)
        self.wrt_positions = tuple(self.parameters.index(name) for name in names)
        self._primal = None
        self._vjp = VJP(f, self.wrt_names, "cpu", returns_value=False, operator="vjp")
        self._second = None

    def primal(self, arrays):
        if self._primal is None:
            self._primal = self.function.compiled()
        try:
            return self._primal(*arrays)
        except Exception as error:
            if type(error).__name__ != "TypingError":
                raise
            # arguments Numba cannot compile f for (an array of another
            # rank): adjit's own checks of them say where, in f's terms
            self._vjp.source_for(*arrays)
            raise

    def gradients(self, arrays, cotangent):
        return self._vjp(*arrays, cotangent)

    def second(self, arrays, directions, cotangent):
        if self._second is None:
            self._second = jit.vjp(jit.jvp(self.function.py_func, wrt=self.wrt_names),
                                   wrt=self.wrt_names)
        return self._second(*arrays, *directions, cotangent)
