"""Targets: where a derivative runs, and how its generated source gets there.

A derivative (`adjit.dispatch.Derivative`) asks the passes for the source
of its generated function, one per argument signature, and leaves
everything about running it to its target: `target="python"` runs that
source as plain Python, `"cpu"` compiles it with Numba, `"cuda"` turns it
into CUDA device functions and kernels. Each target is a subclass of
`Target` in a module of this package (`python.py`, `cpu.py`, `cuda/`),
found by name with `target_named`; a new target is a new module and one
line of `_TARGETS`, with no change to the derivative.

A derivative makes one `Target` object, and calls on it:

* `Target(operator, output)`: refuse, with an AdjitError, an operator the
  target does not offer, or a target that cannot run here (no GPU);
* `prepare(spec, tree, inner)`: record what compiling needs of the function
  (`spec`; `tree`, its parsed definition, or None when it is itself a
  derivative differentiated again, made for the target `inner`), and
  refuse what the target cannot do with it;
* `signature(arguments)`: the signature of a call, one `(adjit type, Numba
  type name)` per parameter: what the passes generate source for;
* `dispatch_key(args)`: a cheap key of a call's argument types; calls with
  equal keys have equal signatures (the derivative's fast path);
* `compile(module_name, function_name, signature)`: the callable running
  the generated function `function_name` of the cached module
  `module_name` (`adjit/runtime/compile.py`), called with the arguments,
  then the jvp's tangents or the vjp's cotangent;
* `cotangent(value)`, `tangent(value)`: a vjp's cotangent, a jvp's
  tangent as that callable takes it;
* `text(module_source, module_name, function_name, signature)`: what
  `adjit.source` shows for the signature;
* `device_signature(examples, bind)`, `device_function(module_name,
  function_name, signature)`: the device function behind `Derivative.device`
  (targets without device functions refuse, the default).

`device_code` says whether the generated source runs as GPU device code:
the passes then generate code that allocates nothing (`device=True`), and
the cache key says so.
"""

from __future__ import annotations

import ast
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from adjit.errors import AdjitError, ShapeError

# name -> (module, class) of each target, imported when first named
_TARGETS = {"cpu": ("adjit.targets.cpu", "CpuTarget"),
            "python": ("adjit.targets.python", "PythonTarget"),
            "cuda": ("adjit.targets.cuda.target", "CudaTarget")}
TARGETS = tuple(_TARGETS)


def target_named(name: str) -> type[Target]:
    """The `Target` subclass of the target called `name` ("cpu", ...)."""
    if name not in _TARGETS:
        raise AdjitError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}")
    module, class_name = _TARGETS[name]
    return getattr(importlib.import_module(module), class_name)


@dataclass(frozen=True)
class DerivativeSpec:
    """What a target knows of the derivative it runs: the function `f`
    differentiated (its name and parameters, and the Python function whose
    file and lines messages name), the parameters differentiated (`wrt`),
    the mode ("reverse" or "forward"), and whether the generated function
    takes the output's cotangent (a vjp). Its parameters are f's, then the
    jvp's tangents of `wrt` or the vjp's cotangent."""
    function_name: str
    parameters: tuple
    py_func: object
    wrt: tuple
    mode: str
    cotangent: bool

    @property
    def forward(self) -> bool:
        return self.mode == "forward"


class Target(ABC):
    """Runs the generated functions of one derivative (see the module
    docstring for what each method must do). Subclasses set `name` and
    implement `signature` and `compile`."""

    name = ""                  # the `target=` that selects it
    device_code = False        # generated source is GPU device code
    # the Python types of a compiled function's results follow from its
    # argument types alone (Numba's), so a call whose results need no
    # conversion (`dispatch.as_result`) says so for every later call
    typed_results = False

    def __init__(self, operator: str, output: int | None):
        self.operator = operator
        self.output = output
        self.spec: DerivativeSpec | None = None

    def prepare(self, spec: DerivativeSpec, tree: ast.FunctionDef | None,
                inner: Target | None) -> None:
        """Record `spec`; when `f` is a derivative made for the target
        `inner`, let that target refuse being differentiated again."""
        self.spec = spec
        if inner is not None:
            inner.check_differentiated_again(spec)

    def check_differentiated_again(self, spec: DerivativeSpec) -> None:
        """Raise an AdjitError if this target's derivative cannot be
        differentiated again (as the derivative `spec`); by default it can."""

    @abstractmethod
    def signature(self, arguments: list) -> tuple:
        """The signature of a call with `arguments` (bound to f's parameters)."""

    def dispatch_key(self, args) -> tuple:
        """By default the signature itself (subclasses give cheaper keys)."""
        return self.signature(list(args))

    @abstractmethod
    def compile(self, module_name: str, function_name: str, signature: tuple):
        """The callable running the generated function for `signature`."""

    def cotangent(self, value):
        """An array as it is, a number as a float (its shape is checked in
        the derivative, against the result's: `rt.cotangent_like`)."""
        if type(value) is float or type(value) is np.ndarray:
            return value
        if isinstance(value, np.ndarray):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise ShapeError("the cotangent", _kind(value), "a float or an array of floats")
        return float(value)

    def tangent(self, value):
        """Arrays (NumPy's, device arrays) as they are, numbers as floats,
        tuples element by element."""
        if type(value) is float:
            return value
        if isinstance(value, tuple):
            return tuple([self.tangent(element) for element in value])
        return value if hasattr(value, "shape") and value.shape != () else float(value)

    def check_tangents(self, arguments: list, tangents: tuple) -> None:
        """Raise a `ShapeError` naming the argument when a jvp's tangent does
        not match it: an array of its shape with float elements for an
        array, a number for a number. `arguments` are bound to f's
        parameters; `tangents`, one per `wrt`, in order."""
        for name, tangent in zip(self.spec.wrt, tangents):
            primal = arguments[self.spec.parameters.index(name)]
            if type(tangent) is float and not isinstance(primal, (tuple, np.ndarray)):
                continue                        # a number for a number
            check_like(f"the tangent for `{name}`", tangent, primal)

    def text(self, module_source: str, module_name: str, function_name: str,
             signature: tuple) -> str:
        """The generated function, without the module's header."""
        start = module_source.find("\ndef ")
        return module_source[start + 1:] if start >= 0 else module_source

    def device_signature(self, examples: tuple, bind) -> tuple:
        """The signature of the device function for `Derivative.device_for`'s
        `examples`; `bind(args)` binds example arguments to f's parameters."""
        raise AdjitError(f"`.device` is for derivatives made with target='cuda'; "
                         f"this one has target={self.name!r}")

    def device_function(self, module_name: str, function_name: str, signature: tuple):
        """The device function of the generated function `function_name`."""
        raise AdjitError(f"`.device` is for derivatives made with target='cuda'; "
                         f"this one has target={self.name!r}")


def check_like(what: str, value, primal) -> None:
    """`value` (a tangent) matches `primal`: an array of floats of its shape
    for an array, a real number (or a 0-d array) for a number; a
    `ShapeError` naming `what` otherwise; a tuple of such for a tuple."""
    if isinstance(primal, tuple):
        if not isinstance(value, tuple) or len(value) != len(primal):
            raise ShapeError(what, _kind(value), f"a tuple of {len(primal)} values")
        for k, (element, primal_element) in enumerate(zip(value, primal)):
            check_like(f"{what}[{k}]", element, primal_element)
        return
    if isinstance(primal, np.ndarray) and primal.ndim:
        if not isinstance(value, np.ndarray):
            raise ShapeError(what, _kind(value), primal.shape)
        if value.shape != primal.shape:
            raise ShapeError(what, value.shape, primal.shape)
        if value.dtype.kind != "f":
            raise ShapeError(what, f"an array of {value.dtype}", "an array of floats")
        return
    if isinstance(value, np.ndarray):
        if value.ndim:
            raise ShapeError(what, value.shape, ())
        if value.dtype.kind not in "fiub":
            raise ShapeError(what, f"an array of {value.dtype}", "a float")
    elif isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                           np.floating)):
        raise ShapeError(what, _kind(value), "a float")


def _kind(value) -> str:
    return "a scalar" if isinstance(value, (int, float, np.number)) \
        else f"a {type(value).__name__}"
