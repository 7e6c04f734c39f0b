"""target="cpu": the generated source compiled with Numba.

It takes the python target's arguments (`python.py`); the generated
module is jitted with `numba.njit(cache=True)`, in parallel when it has
prange loops (`adjit/runtime/compile.py`).
"""

from __future__ import annotations

from adjit.runtime import compile as compiler
from adjit.targets.python import PythonTarget


class CpuTarget(PythonTarget):
    """Runs the generated function compiled by Numba."""

    name = "cpu"

    def compile(self, module_name: str, function_name: str, signature: tuple):
        return compiler.compile_function(module_name, function_name, "cpu")
