"""device: checks for code that will run as a GPU device function.

Input: a typed ANF function (after `types`) that `target="cuda"` will
compile with `numba.cuda.jit(device=True)`, and its parameter names.
Output: nothing, or a located `DifferentiationError` for what device code
cannot do today:

* a parameter used as an array (`x[i]`, `x.shape`): device derivatives
  take scalar arguments only (arrays passed to a cuda derivative are lanes,
  one element per GPU thread; loops over arrays on the GPU are not
  supported yet);
* a NumPy function (`np.exp`, `np.sum`): device code uses `math` on
  scalars (and an `np.sum(x)` there would silently mean the sum of one
  element);
* a local array (`v = np.zeros(3)`): device code must not allocate;
* a `numba.prange` loop: a device function runs in one GPU thread.

The tape, the other allocation a derivative can make, is refused where it
would be pushed (`ReverseTransformer(tape_free=True)`).
"""

from __future__ import annotations

import ast

from adjit.errors import DifferentiationError
from adjit.passes.parallel import is_parallel
from adjit.rules.registry import is_array

_ANCHOR = "parallel"


def _simple_statements(tree: ast.FunctionDef):
    """Every statement that is not compound (its expressions are its own)."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.stmt)
            and not isinstance(node, (ast.If, ast.For, ast.While, ast.FunctionDef))]


def check_device_code(parsed, tree: ast.FunctionDef, types: dict[str, str]) -> None:
    """Raise a located error at the first construct device code cannot have."""
    parameters = {argument.arg for argument in tree.args.posonlyargs + tree.args.args}
    for statement in _simple_statements(tree):
        for node in ast.walk(statement):
            if isinstance(node, (ast.Subscript, ast.Attribute)) and \
                    isinstance(node.value, ast.Name) and node.value.id in parameters:
                raise DifferentiationError.at(
                    parsed, statement, f"`{node.value.id}` is used as an array; "
                    "target='cuda' differentiates functions of scalars only (parallel "
                    "loops over arrays on the GPU are not supported yet)",
                    "use target='cpu' (with numba.prange for parallel loops), or write "
                    "the per-element function of scalars and call its derivative on "
                    "1-D arrays of them", _ANCHOR)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "np":
                raise DifferentiationError.at(
                    parsed, statement, f"`np.{node.func.attr}` in device code "
                    "(target='cuda'): NumPy functions are not supported there yet",
                    "use the `math` module's functions on scalars, or target='cpu'",
                    _ANCHOR)
    for statement in _simple_statements(tree):
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
                and is_array(types.get(statement.targets[0].id)):
            raise DifferentiationError.at(
                parsed, statement, f"`{statement.targets[0].id}` is an array made in the "
                "function; device code (target='cuda') cannot allocate arrays",
                "compute with scalars (one name per element), or use target='cpu'",
                _ANCHOR)
    for node in ast.walk(tree):
        if is_parallel(node):
            raise DifferentiationError.at(
                parsed, node, "a `prange` loop in device code (target='cuda'): each "
                "call runs in one GPU thread", "write the loop with `range`; the "
                "threads are the elements of the arrays you call the derivative on",
                _ANCHOR)
