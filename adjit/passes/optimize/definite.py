"""definite: give a start value to every variable that may be read unassigned.

Input: a generated `FunctionDef` and the primal variable types.
Output: the same function with `v = 0.0` (or `0`, `False`) first for each
scalar `v` that some path may read before assigning it.

Python raises at such a read only if it happens; Numba types the function
as a whole, and when it proves a branch dead (`if -1.6 >= 1.4 and ...`) a
variable assigned only there has no type at all, and compilation fails. A
start value of the right type makes every variable defined on every path;
`optimize` then drops the starts that are overwritten before any read.
"""

from __future__ import annotations

import ast

from adjit.passes.analysis.statements import names_in
from adjit.rules.registry import BOOL, FLOAT, INT, is_array

_ZERO = {FLOAT: "0.0", INT: "0", BOOL: "False"}


def initialize_maybe_undefined(function: ast.FunctionDef, types: dict[str, str]) -> None:
    parameters = {argument.arg for argument in function.args.posonlyargs + function.args.args}
    maybe_undefined: set[str] = set()
    _block(function.body, set(parameters), maybe_undefined)
    starts = []
    for name in sorted(maybe_undefined - parameters):
        kind = types.get(name, FLOAT if name.startswith(("_b_", "_d_")) else None)
        if kind in _ZERO and not is_array(kind):
            starts.append(ast.parse(f"{name} = {_ZERO[kind]}").body[0])
    function.body[:0] = starts


def _reads(node: ast.AST, assigned: set[str], maybe_undefined: set[str]) -> None:
    maybe_undefined |= names_in(node) - assigned


def _block(statements, assigned: set[str], maybe_undefined: set[str]) -> set[str]:
    """Walk `statements`; returns the names surely assigned after them."""
    assigned = set(assigned)
    for node in statements:
        if isinstance(node, ast.Assign):
            _reads(node.value, assigned, maybe_undefined)
            target = node.targets[0]
            if isinstance(target, ast.Name):
                assigned.add(target.id)
            else:
                _reads(target, assigned, maybe_undefined)
        elif isinstance(node, ast.AugAssign):
            _reads(node.value, assigned, maybe_undefined)
            _reads(node.target, assigned, maybe_undefined)
        elif isinstance(node, ast.If):
            _reads(node.test, assigned, maybe_undefined)
            assigned = (_block(node.body, assigned, maybe_undefined)
                        & _block(node.orelse, assigned, maybe_undefined))
        elif isinstance(node, ast.For):
            _reads(node.iter, assigned, maybe_undefined)
            _block(node.body, assigned | {node.target.id}, maybe_undefined)
        elif isinstance(node, ast.While):
            _reads(node.test, assigned, maybe_undefined)
            _block(node.body, assigned, maybe_undefined)
        elif isinstance(node, ast.Return) and node.value is not None:
            _reads(node.value, assigned, maybe_undefined)
    return assigned
