"""device_rows: reverse-mode derivatives of per-row functions as CUDA
device functions that write their adjoint rows in place.

A function without a prange whose parameters are used as arrays (`x[k]`,
`x.shape[0]`, `len(x)`) runs on target="cuda" once per row of its 2-D
arguments, one GPU thread per row (`runtime/cuda_rows.py`). Its reverse
mode (`pipeline.reverse_mode(..., device=True)`) starts the adjoint of
each array parameter `x` in `wrt` with `_b_x = np.zeros_like(x)` and
returns it; device code cannot allocate, so this pass rewrites the
generated function:

* the top-level `_b_x = np.zeros_like(x)` is removed and `_b_x` becomes a
  parameter (after the derivative's own), a row of a device array the
  launcher zeroes and the kernel passes as a view (`G[i]`);
* `_b_x` is dropped from the returned values (it is written in place);
  what is left (the value, adjoints of scalars) is returned as before, or
  nothing.

Input: the generated module's source, the derivative's name and the adjit
types of its parameters. Output: the rewritten function's text and its
layout (`RowLayout`). Anything else that would allocate (an adjoint array
not made at the top level, an adjoint array rebound) is refused with an
AdjitError: device code must not allocate, and a guessed rewrite could
compute a wrong number.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from adjit.errors import AdjitError
from adjit.rules.registry import is_array

_ALLOCATING = ("empty", "zeros", "zeros_like", "copy", "ones", "full")


@dataclass
class RowLayout:
    parameters: list[str]        # the derivative's parameters, as generated
    adjoint_rows: list[str]      # `_b_x` of array parameters, now parameters too
    returned: list[tuple]        # per original returned value: ("row", name) or ("value", k)
    as_tuple: bool               # the original derivative returned a tuple
    values: int                  # how many values the rewritten function returns
    row_of: dict                 # adjoint row -> the array parameter it is the adjoint of


def _function_text(module_source: str, function_name: str) -> str:
    start = module_source.find(f"\ndef {function_name}(")
    if start < 0:
        raise AdjitError(f"internal: {function_name} missing from its generated module")
    text = module_source[start + 1:]
    end = text.find("\ndef ", 1)
    return (text if end < 0 else text[:end]).rstrip() + "\n"


def row_derivative(module_source: str, function_name: str,
                   kinds: list[str]) -> tuple[str, RowLayout]:
    """(text, layout) of the derivative `function_name` rewritten to take
    the adjoints of its array parameters as parameters (see the module)."""
    text = _function_text(module_source, function_name)
    function = ast.parse(text).body[0]
    parameters = [argument.arg for argument in function.args.args]
    arrays = [name for name, kind in zip(parameters, kinds) if is_array(kind)]
    adjoints, row_of = [], {}
    lines = text.splitlines()
    for statement in function.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name) and \
                isinstance(statement.value, ast.Call) and \
                ast.unparse(statement.value.func) == "np.zeros_like" and \
                len(statement.value.args) == 1 and \
                isinstance(statement.value.args[0], ast.Name) and \
                statement.value.args[0].id in arrays:
            adjoints.append(statement.targets[0].id)
            row_of[statement.targets[0].id] = statement.value.args[0].id
            lines[statement.lineno - 1] = None
    for node in ast.walk(function):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.For)) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id in adjoints and \
                    lines[node.lineno - 1] is not None:
                raise AdjitError(
                    f"the derivative {function_name} rebinds the adjoint array `{target.id}`"
                    "; on the GPU (target='cuda', one thread per row) adjoint rows are "
                    "written in place, element by element: use target='cpu'")
    returned = function.body[-1]
    if not isinstance(returned, ast.Return) or returned.end_lineno != returned.lineno:
        raise AdjitError(f"internal: {function_name} does not end in a one-line return")
    as_tuple = isinstance(returned.value, ast.Tuple)
    elements = returned.value.elts if as_tuple else [returned.value]
    layout_returned, kept = [], []
    for element in elements:
        if isinstance(element, ast.Name) and element.id in adjoints:
            layout_returned.append(("row", element.id))
        elif isinstance(element, ast.Name) or isinstance(element, ast.Constant):
            layout_returned.append(("value", len(kept)))
            kept.append(ast.unparse(element))
        else:
            raise AdjitError(f"internal: {function_name} returns {ast.unparse(element)}")
    indent = "    "
    if not kept:
        lines[returned.lineno - 1] = f"{indent}return"
    elif len(kept) == 1:
        lines[returned.lineno - 1] = f"{indent}return {kept[0]}"
    else:
        lines[returned.lineno - 1] = f"{indent}return ({', '.join(kept)})"
    def_line = function.lineno - 1
    signature = ", ".join(parameters + adjoints)
    lines[def_line] = re.sub(r"\(.*\):", f"({signature}):", lines[def_line], count=1)
    rewritten = "\n".join(line for line in lines if line is not None) + "\n"
    body = rewritten.split("\n", 1)[1]
    if any(f"np.{name}(" in body for name in _ALLOCATING):
        raise AdjitError(
            f"the derivative {function_name} would allocate an array in device code "
            "(an adjoint array not started at the top of the function); on the GPU "
            "(target='cuda', one thread per row) only the adjoints of array "
            "parameters, written in place, are supported: use target='cpu'")
    return rewritten, RowLayout(parameters, adjoints, layout_returned, as_tuple, len(kept),
                                 row_of)
