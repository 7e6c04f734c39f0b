"""Checking derivatives against finite differences, for users' test suites.

`gradcheck(f, args, wrt=...)` compares adjit's reverse-mode gradient with
central finite differences of `f` itself, in float64, for every `wrt`
argument; on a mismatch it raises `GradcheckError` showing, per input,
the numerical and the analytical value side by side. (Forward mode joins
the comparison when it lands.)
"""

from __future__ import annotations

import math

from adjit.errors import GradcheckError
from adjit.function import as_differentiable


def central_difference(function, args: list, index: int, step: float) -> float:
    """d function / d args[index] by a central difference of relative `step`."""
    h = step * max(1.0, abs(args[index]))
    plus, minus = list(args), list(args)
    plus[index] = args[index] + h
    minus[index] = args[index] - h
    return (function(*plus) - function(*minus)) / (2.0 * h)


def gradcheck(f, args, wrt=None, *, step: float = 1e-6, rtol: float = 1e-5,
              atol: float = 1e-7, target: str = "python") -> bool:
    """True if adjit's gradient of `f` at `args` matches finite differences.

    `wrt` defaults to every float argument. Raises `GradcheckError` listing
    each input with its numerical and analytical derivative otherwise."""
    from adjit import jit
    function = as_differentiable(f)
    args = list(args)
    if wrt is None:
        wrt = tuple(i for i, a in enumerate(args) if isinstance(a, float))
    wrt = tuple(wrt) if isinstance(wrt, (tuple, list)) else (wrt,)
    analytical = jit.grad(function, wrt=wrt, target=target)(*args)
    parameters = function.parameters
    rows, failed = [], False
    for position, item in enumerate(wrt):
        index = item if isinstance(item, int) else parameters.index(item)
        numerical = central_difference(function.py_func, args, index, step)
        exact = float(analytical[position])
        close = math.isclose(numerical, exact, rel_tol=rtol, abs_tol=atol)
        failed |= not close
        rows.append((parameters[index], numerical, exact, close))
    if failed:
        name = getattr(function.py_func, "__qualname__", "f")
        lines = [f"gradient of {name} at {tuple(args)} does not match finite differences:",
                 f"  {'input':<12} {'numerical':>22} {'analytical':>22}"]
        for parameter, numerical, exact, close in rows:
            mark = "" if close else "   <-- mismatch"
            lines.append(f"  {parameter:<12} {numerical:>22.15g} {exact:>22.15g}{mark}")
        raise GradcheckError("\n".join(lines))
    return True
