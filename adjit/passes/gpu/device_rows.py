"""device_rows: derivatives of per-row functions as CUDA device functions
that allocate nothing.

A function without a prange whose parameters are used as arrays (`x[k]`,
`x.shape[0]`, `len(x)`) runs on target="cuda" once per row of its 2-D
arguments, one GPU thread per row (`targets/cuda/rows.py`); a 1-D argument
of such a parameter is *shared*: every thread reads the same array.

Reverse mode (`pipeline.reverse_mode(..., device=True)`) starts the
adjoint of each array parameter `x` in `wrt` with `_b_x = np.zeros_like(x)`
and returns it; device code cannot allocate, so this pass rewrites the
generated function:

* the top-level `_b_x = np.zeros_like(x)` is removed and `_b_x` becomes a
  parameter (after the derivative's own), zeroed by the launcher;
* for a row `x`, `_b_x` is the thread's own row of an (m, d) device array
  (a view, `G[i]`): the sweep adds into it as on the cpu;
* for a shared `x` (in `shared`), `_b_x` is one (d,) device array that
  every thread adds into: each increment `_b_x[k] += e` becomes
  `cuda.atomic.add(_b_x, k, e)`, so the result is the sum over threads.
  Any other use of a shared adjoint (a plain write `_b_x[k] = e`, a read,
  `-=`, a slice) would race or read other threads' partial sums, and is
  refused at the user's line (from the `# from line N:` comments);
* the adjoints are dropped from the returned values (they are written in
  place); what is left (the value, adjoints of scalars) is returned as
  before, or nothing.

Forward mode (jit.jvp) takes the tangents of array parameters as
parameters already (`_d_x`, read-only views); it passes through unchanged.

Input: the generated module's source, the derivative's name, the adjit
types of its parameters and which array parameters are shared. Output: the
rewritten function's text and its layout (`RowLayout`). Anything else that
would allocate (an adjoint array not made at the top level, an adjoint
array rebound) or write into an argument is refused with an AdjitError:
device code must not allocate, and a guessed rewrite could compute a wrong
number.
"""

from __future__ import annotations

import ast
import linecache
import re
from dataclasses import dataclass

from adjit.errors import AdjitError, DifferentiationError, Location
from adjit.rules.registry import is_array

_ALLOCATING = ("empty", "zeros", "zeros_like", "copy", "ones", "full")
_ORIGIN = re.compile(r"^\s*# from line (\d+): (.*)$")


@dataclass
class RowLayout:
    parameters: list[str]        # the derivative's parameters, as generated
    adjoint_rows: list[str]      # `_b_x` of array parameters, now parameters too
    returned: list[tuple]        # per original returned value: ("row", name) or ("value", k)
    as_tuple: bool               # the original derivative returned a tuple
    values: int                  # how many values the rewritten function returns
    row_of: dict                 # adjoint row -> the array parameter it is the adjoint of
    shared_adjoints: list[str]   # the adjoints (in adjoint_rows) of shared parameters


def _function_text(module_source: str, function_name: str) -> str:
    start = module_source.find(f"\ndef {function_name}(")
    if start < 0:
        raise AdjitError(f"internal: {function_name} missing from its generated module")
    text = module_source[start + 1:]
    end = text.find("\ndef ", 1)
    return (text if end < 0 else text[:end]).rstrip() + "\n"


def _adjoint_start(statement: ast.stmt, arrays: list[str]) -> str | None:
    """The array parameter whose adjoint `statement` starts
    (`_b_x = np.zeros_like(x)`), or None."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
            isinstance(statement.targets[0], ast.Name) and \
            isinstance(statement.value, ast.Call) and \
            ast.unparse(statement.value.func) == "np.zeros_like" and \
            len(statement.value.args) == 1 and \
            isinstance(statement.value.args[0], ast.Name) and \
            statement.value.args[0].id in arrays:
        return statement.value.args[0].id
    return None


def _refusal(lines: list, line_number: int, message: str, hint: str,
             filename: str | None) -> DifferentiationError:
    """An error at the user's line that generated line `line_number` (1-based)
    comes from: the nearest `# from line N:` comment above it."""
    for text in reversed(lines[:line_number - 1]):
        match = _ORIGIN.match(text or "")
        if match:
            origin, statement = int(match.group(1)), match.group(2)
            quoted = linecache.getline(filename, origin) if filename else ""
            quoted = quoted.rstrip() if quoted.strip() == statement.strip() else statement
            column = len(quoted) - len(quoted.lstrip())
            return DifferentiationError(message, Location(filename or "<unknown file>",
                                                          origin, column),
                                        hint=hint, source_line=quoted,
                                        doc_anchor="parallel")
    return DifferentiationError(message, hint=hint, doc_anchor="parallel")


def _atomic_increments(function: ast.FunctionDef, lines: list, shared: dict[str, str],
                       removed: set[int], filename: str | None) -> None:
    """Rewrite, in `lines`, each `_b_w[k] += e` of a shared adjoint into
    `cuda.atomic.add(_b_w, k, e)`; refuse any other use of one."""
    generated = list(lines)          # as generated, for the refusal's quote
    increments = set()
    for node in ast.walk(function):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript) and \
                isinstance(node.target.value, ast.Name) and node.target.value.id in shared:
            name = node.target.value.id
            index = node.target.slice
            if not isinstance(node.op, ast.Add) or node.lineno != node.end_lineno or \
                    any(isinstance(part, ast.Slice) for part in ast.walk(index)):
                continue        # refused below, as a use that is not an increment
            increments.add(id(node.target.value))
            where = f"({ast.unparse(index)})" if isinstance(index, ast.Tuple) \
                else ast.unparse(index)
            indent = lines[node.lineno - 1][:node.col_offset]
            lines[node.lineno - 1] = \
                f"{indent}cuda.atomic.add({name}, {where}, {ast.unparse(node.value)})"
    returned = function.body[-1]
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id in shared and \
                id(node) not in increments and node.lineno not in removed and \
                node.lineno != returned.lineno:
            statement = generated[node.lineno - 1].strip()
            parameter = shared[node.id]
            raise _refusal(
                generated, node.lineno,
                f"the gradient with respect to `{parameter}`, a 1-D array shared by all "
                f"GPU threads (target='cuda', one thread per row), would need "
                f"`{statement}` in device code: only increments of its adjoint "
                f"(`{node.id}[k] += ...`) can be summed over threads without a race "
                "(with cuda.atomic.add)",
                f"pass `{parameter}` as a 2-D array of per-row copies (np.tile) for "
                f"per-row gradients, leave `{parameter}` out of wrt, or use "
                "target='cpu'", filename)


def _argument_stores(function: ast.FunctionDef, arrays: list[str]):
    """The element writes into array parameters (rows, shared arrays, a
    jvp's tangents): views of the caller's arrays, never written."""
    for node in ast.walk(function):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign) else []
        for target in targets:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                    and target.value.id in arrays:
                yield node, target.value.id


def row_derivative(module_source: str, function_name: str, kinds: list[str],
                   shared=(), filename: str | None = None) -> tuple[str, RowLayout]:
    """(text, layout) of the derivative `function_name` rewritten to take
    the adjoints of its array parameters as parameters (see the module);
    `shared` names the array parameters passed one array for all threads,
    `filename` the user's file (for errors at its lines)."""
    text = _function_text(module_source, function_name)
    function = ast.parse(text).body[0]
    parameters = [argument.arg for argument in function.args.args]
    arrays = [name for name, kind in zip(parameters, kinds) if is_array(kind)]
    adjoints, row_of, removed = [], {}, set()
    lines = text.splitlines()
    for node, name in _argument_stores(function, arrays):
        raise _refusal(lines, node.lineno, f"the derivative {function_name} writes into "
                       f"the argument `{name}` on the GPU (target='cuda', one thread per "
                       "row), where arguments are read-only views",
                       "compute a scalar result without writing the arguments, or use "
                       "target='cpu'", filename)
    for statement in function.body:
        parameter = _adjoint_start(statement, arrays)
        if parameter is not None:
            adjoints.append(statement.targets[0].id)
            row_of[statement.targets[0].id] = parameter
            removed.add(statement.lineno)
    for node in ast.walk(function):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.For)) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id in adjoints and \
                    node.lineno not in removed:
                raise AdjitError(
                    f"the derivative {function_name} rebinds the adjoint array `{target.id}`"
                    "; on the GPU (target='cuda', one thread per row) adjoint rows are "
                    "written in place, element by element: use target='cpu'")
    shared_adjoints = {adjoint: parameter for adjoint, parameter in row_of.items()
                       if parameter in shared}
    _atomic_increments(function, lines, shared_adjoints, removed, filename)
    for line_number in removed:
        lines[line_number - 1] = None
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
        elif isinstance(element, ast.Tuple):
            raise AdjitError(
                f"{function_name} returns tuples of values (the jvp of a function "
                "returning several values); on the GPU, one thread per row, it is not "
                "supported yet: differentiate one output at a time, or use target='cpu'")
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
                                 row_of, list(shared_adjoints))
