"""adjit: automatic differentiation of numeric Python by source transformation,
compiled with Numba.

The public surface is exactly what this module re-exports; see README.md
and docs/ for what each name means.
"""

from adjit import jit
from adjit.custom import defjvp, defvjp, nondifferentiable
from adjit.errors import (
    AdjitError,
    DifferentiationError,
    GradcheckError,
    UnsupportedSyntaxError,
)
from adjit.function import differentiable
from adjit.jit import source
from adjit.runtime.helpers import stop_gradient
from adjit.testing import gradcheck

__version__ = "0.1.0"

__all__ = [
    "AdjitError",
    "DifferentiationError",
    "GradcheckError",
    "UnsupportedSyntaxError",
    "defjvp",
    "defvjp",
    "differentiable",
    "gradcheck",
    "jit",
    "nondifferentiable",
    "source",
    "stop_gradient",
]
