"""Checking derivatives against finite differences, for users' test suites.

`gradcheck(f, args, wrt=...)` builds the Jacobian of `f` with respect to
each `wrt` argument three ways - central finite differences of `f` itself
in float64, reverse mode (one `jit.vjp` per output element) and forward
mode (one `jit.jvp` per input element) - and compares them. On a mismatch
it raises `GradcheckError` naming the output and the input and showing the
numerical, reverse and forward Jacobians side by side.

`f` may return a float, a tuple of floats or an array of floats, or
nothing: then its outputs are the arrays it fills (its output arguments,
docs/calls.md#output-arguments), one after the other. `wrt` arguments may
be floats or arrays of floats. The cost is one derivative
call per input and per output element: meant for small test inputs.
A function with a custom rule for one mode only (`defvjp` without
`defjvp`, or the reverse) is checked in that mode, and a warning says
which mode was skipped and why.
"""

from __future__ import annotations

import warnings

import numpy as np

from adjit.errors import GradcheckError, MissingRuleError
from adjit.function import as_differentiable


def central_difference(function, args: list, index: int, step: float) -> float:
    """d function / d args[index] (a float argument) by a central difference
    of relative `step`."""
    h = step * max(1.0, abs(args[index]))
    plus, minus = list(args), list(args)
    plus[index] = args[index] + h
    minus[index] = args[index] - h
    return (function(*plus) - function(*minus)) / (2.0 * h)


def _flat_output(value) -> np.ndarray:
    """The elements of a float, an array or a tuple of them, in one row."""
    if isinstance(value, tuple):
        return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in value])
    return np.asarray(value, dtype=np.float64).ravel().copy()


def _copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def numerical_jacobian(function, args: list, index: int, step: float) -> np.ndarray:
    """(output elements x elements of args[index]) by central differences."""
    base = args[index]
    flat = np.asarray(base, dtype=np.float64).ravel()
    columns = []
    for k in range(flat.size):
        h = step * max(1.0, abs(flat[k]))
        shifted = []
        for sign in (1.0, -1.0):
            moved = _copies(args)
            if isinstance(base, np.ndarray):
                values = base.astype(np.float64).ravel().copy()
                values[k] += sign * h
                moved[index] = values.reshape(base.shape).astype(base.dtype)
            else:
                moved[index] = base + sign * h
            shifted.append(_flat_output(function(*moved)))
        columns.append((shifted[0] - shifted[1]) / (2.0 * h))
    return np.stack(columns, axis=1)


def _reverse_jacobians(function, args, wrt, outputs: int, shape, target) -> list:
    """One Jacobian per wrt argument, row by row from reverse mode."""
    from adjit import jit
    from adjit.dispatch import Derivative
    rows = [[] for _ in wrt]
    is_tuple = isinstance(shape, tuple) and shape == ("tuple",)
    vjp = None if is_tuple else jit.vjp(function, wrt=tuple(wrt), target=target)
    for row in range(outputs):
        if is_tuple:
            gradients = Derivative(function, tuple(wrt), target, returns_value=False,
                                   operator="gradcheck", output=row)(*_copies(args))
        else:
            cotangent = 1.0 if shape == () else np.eye(outputs)[row].reshape(shape)
            _, gradients = vjp(*_copies(args), cotangent)
        for position, gradient in enumerate(gradients):
            rows[position].append(np.asarray(gradient, dtype=np.float64).ravel())
    return [np.stack(r, axis=0) for r in rows]


def _filled(function, names: list[str]):
    """`f` as a function returning the contents of its output arguments
    `names` (a tuple) after running on copies of the arguments."""
    positions = [function.parameters.index(name) for name in names]

    def filled(*arguments):
        copied = _copies(arguments)
        function.py_func(*copied)
        return tuple(copied[p] for p in positions)
    return filled


def _reverse_jacobians_of_outputs(vjp, args, wrt, function) -> list:
    """One Jacobian per wrt argument of a function returning nothing, row
    by row: one vjp per element of its output arguments."""
    shapes = [np.shape(args[function.parameters.index(n)]) for n in vjp.output_names]
    sizes = [int(np.prod(shape)) for shape in shapes]
    rows = [[] for _ in wrt]
    for row in range(sum(sizes)):
        seed = np.eye(sum(sizes))[row]
        parts = np.split(seed, np.cumsum(sizes)[:-1])
        cotangents = tuple(part.reshape(shape) for part, shape in zip(parts, shapes))
        _, gradients = vjp(*_copies(args), cotangents if vjp.outputs_tuple else cotangents[0])
        for position, gradient in enumerate(gradients):
            rows[position].append(np.asarray(gradient, dtype=np.float64).ravel())
    return [np.stack(r, axis=0) for r in rows]


def _forward_jacobian(jvp, args, wrt, position: int) -> np.ndarray:
    base = args[wrt[position]]
    size = np.size(base)
    columns = []
    for k in range(size):
        tangents = []
        for other, index in enumerate(wrt):
            value = args[index]
            if isinstance(value, np.ndarray):
                tangent = np.zeros_like(value)
                if other == position:
                    tangent.reshape(-1)[k] = 1.0
            else:
                tangent = 1.0 if other == position else 0.0
            tangents.append(tangent)
        _, output = jvp(*_copies(args), tuple(tangents))
        columns.append(_flat_output(output))
    return np.stack(columns, axis=1)


def gradcheck(f, args, wrt=None, *, step: float = 1e-6, rtol: float = 1e-5,
              atol: float = 1e-7, target: str = "python") -> bool:
    """True if adjit's reverse and forward derivatives of `f` at `args` match
    central finite differences; raises `GradcheckError` otherwise.

    `wrt` (positions or names) defaults to every float and float-array
    argument."""
    from adjit import jit
    function = as_differentiable(f)
    args = list(args)
    parameters = function.parameters
    if wrt is None:
        wrt = tuple(i for i, a in enumerate(args) if isinstance(a, float) or (
            isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)))
    wrt = tuple(wrt) if isinstance(wrt, (tuple, list)) else (wrt,)
    wrt = tuple(w if isinstance(w, int) else parameters.index(w) for w in wrt)
    value = function.py_func(*_copies(args))
    differenced = function.py_func
    skipped = []
    if value is None:               # a function filling its output arguments
        vjp = jit.vjp(function, wrt=tuple(wrt), target=target)
        differenced = _filled(function, vjp.output_names)
        shape = (_flat_output(differenced(*args)).size,)
        reverse = _reverse_jacobians_of_outputs(vjp, args, wrt, function)
    else:
        outputs = _flat_output(value).size
        shape = ("tuple",) if isinstance(value, tuple) else np.shape(value)
        try:
            reverse = _reverse_jacobians(function, args, wrt, outputs, shape, target)
        except MissingRuleError as error:
            reverse = None
            skipped.append(error)
    jvp = jit.jvp(function, wrt=tuple(wrt), target=target)
    problems = []
    for position, index in enumerate(wrt):
        numerical = numerical_jacobian(differenced, args, index, step)
        modes = [] if reverse is None else [("reverse", reverse[position])]
        if not any(error.mode == "forward" for error in skipped):
            try:
                modes.append(("forward", _forward_jacobian(jvp, args, wrt, position)))
            except MissingRuleError as error:
                skipped.append(error)
        if not modes:
            raise skipped[0]                # no rule in either mode: nothing to check
        for mode, analytical in modes:
            close = np.isclose(analytical, numerical, rtol=rtol, atol=atol)
            if not close.all():
                problems.append(_report(function, parameters[index], mode, numerical,
                                        analytical, close, shape))
    for error in skipped:
        # a function with one custom rule is checked in the mode it has
        warnings.warn(f"adjit.gradcheck: {error.mode} mode skipped: {error.message}",
                      stacklevel=2)
    if problems:
        name = getattr(function.py_func, "__qualname__", "f")
        raise GradcheckError(f"derivatives of {name} do not match finite differences:\n"
                             + "\n".join(problems))
    return True


def _report(function, parameter: str, mode: str, numerical, analytical, close,
            shape) -> str:
    lines = [f"  d(output)/d({parameter}), {mode} mode:"]
    lines.append(f"    {'output':<8} {'input':<8} {'numerical':>22} {'analytical':>22}")
    for row in range(numerical.shape[0]):
        for column in range(numerical.shape[1]):
            mark = "" if close[row, column] else "   <-- mismatch"
            output = "" if shape == () else f"[{row}]"
            element = "" if numerical.shape[1] == 1 else f"[{column}]"
            lines.append(f"    {('out' + output):<8} {(parameter + element):<8} "
                         f"{numerical[row, column]:>22.15g} "
                         f"{analytical[row, column]:>22.15g}{mark}")
    return "\n".join(lines)
