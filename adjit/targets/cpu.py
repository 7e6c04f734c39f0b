"""target="cpu": the generated source compiled with Numba.

It takes the python target's arguments (`python.py`); the generated
module is jitted with `numba.njit(cache=True)`, in parallel when it has
prange loops (`adjit/runtime/compile.py`).
"""

from __future__ import annotations

import linecache
import re

from adjit.errors import DifferentiationError, Location
from adjit.runtime import compile as compiler
from adjit.runtime import custom
from adjit.targets.python import PythonTarget


class CpuTarget(PythonTarget):
    """Runs the generated function compiled by Numba."""

    name = "cpu"
    typed_results = True

    def compile(self, module_name: str, function_name: str, signature: tuple):
        calls = _custom_calls(compiler.cached_source(module_name) or "")
        for name, user_line in calls:
            if name in custom.python_only:
                raise self._located(f"{custom.python_only[name]} has custom derivative "
                                    "rules but Numba cannot compile it, so target='cpu' "
                                    "cannot call it", user_line)
        compiled = compiler.compile_function(
            module_name, function_name, "cpu",
            f"{function_name}({', '.join(str(kind) for _, kind in signature)})")
        if not calls:
            return compiled

        def explained(*args):
            """The compiled derivative; Numba's typing error about a function
            with custom rules, located at the user's line."""
            from numba.core.errors import TypingError
            try:
                return compiled(*args)
            except TypingError as error:
                raise self._uncompiled_rule(calls, str(error)) from error
        return explained

    def _uncompiled_rule(self, calls, message: str) -> DifferentiationError:
        named = [(name, line) for name, line in calls
                 if f"def {getattr(getattr(custom, name), '__name__', '?')}(" in message]
        name, user_line = (named or calls)[0]
        function = getattr(custom, name)
        first = message.strip().splitlines()[0] if message.strip() else ""
        return self._located(
            f"Numba cannot compile `{getattr(function, '__qualname__', name)}`, a function "
            f"or rule registered with adjit.defvjp/defjvp ({first})", user_line)

    def _located(self, message: str, user_line: int | None) -> DifferentiationError:
        code = getattr(self.spec.py_func, "__code__", None)
        location, text = None, None
        if code is not None and user_line is not None:
            location = Location(code.co_filename, user_line, 0)
            text = linecache.getline(code.co_filename, user_line) or None
        return DifferentiationError(
            message, location, source_line=text, doc_anchor="custom-rules",
            hint="use target='python', or give Numba a function it compiles "
                 "(plain Python and NumPy, or @numba.njit) that computes the same value")


def _custom_calls(source: str) -> list[tuple[str, int | None]]:
    """(name, line of the differentiated function) of each `rt.custom.NAME(`
    call of a generated source, by its `# from line N:` comments."""
    calls, user_line = [], None
    for line in source.splitlines():
        origin = re.match(r"\s*# from line (\d+):", line)
        if origin:
            user_line = int(origin.group(1))
        calls += [(name, user_line) for name in re.findall(r"rt\.custom\.(\w+)\(", line)]
    return calls
