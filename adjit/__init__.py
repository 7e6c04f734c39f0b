"""adjit: automatic differentiation of numeric Python by source transformation,
compiled with Numba.

The public surface is exactly what this module re-exports; see README.md
and docs/ for what each name means.
"""

import logging as _logging
import os as _os

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

# ADJIT_VERBOSE=1: say on stderr what is compiled when a compile is slow
# (the `adjit` logger at INFO), without configuring logging yourself
if _os.environ.get("ADJIT_VERBOSE", "") not in ("", "0"):
    _handler = _logging.StreamHandler()
    _handler.setFormatter(_logging.Formatter("%(message)s"))
    _logging.getLogger("adjit").addHandler(_handler)
    _logging.getLogger("adjit").setLevel(_logging.INFO)

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
