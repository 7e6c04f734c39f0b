"""types: which variables hold floats, integers or booleans.

Input: an ANF `FunctionDef` and the scalar type of each parameter
(`"float"`, `"int"`, `"bool"`) from the call's signature.
Output: `dict[name, type]` for every parameter and assigned variable.

The propagation is flow-insensitive, like Numba's unification: a variable
assigned an int in one place and a float in another is a float. Integers and
booleans are never differentiated, so this decides what can be active.
"""

from __future__ import annotations

import ast

from adjit.errors import DifferentiationError
from adjit.passes.parse import ParsedFunction
import numpy as np

from adjit.rules.registry import (BOOL, FLOAT, FLOAT_ARRAY, INT, INT_ARRAY, REGISTRY,
                                  element_type, is_array, join_types)

_CONSTANT_TYPES = {bool: BOOL, int: INT, float: FLOAT}


def infer_types(parsed: ParsedFunction, parameter_types: dict[str, str]) -> dict[str, str]:
    types = dict(parameter_types)
    assignments = [node for node in ast.walk(parsed.tree)
                   if isinstance(node, ast.For) or (isinstance(node, ast.Assign)
                                                    and isinstance(node.targets[0], ast.Name))]
    changed = True
    while changed:
        changed = False
        for node in assignments:
            if isinstance(node, ast.For):
                name, new = node.target.id, INT
            else:
                name, new = node.targets[0].id, expression_type(node.value, types, parsed)
            joined = join_types(types.get(name), new)
            if joined != types.get(name):
                types[name] = joined
                changed = True
    for node in assignments:
        if isinstance(node, ast.For):
            for bound in node.iter.args:
                if expression_type(bound, types, parsed) == FLOAT:
                    raise DifferentiationError(
                        f"`range` bound `{ast.unparse(bound)}` is a float here",
                        parsed.location(node), hint="pass an int (5, not 5.0), or "
                        "convert it with int(...)", source_line=parsed.line_text(node),
                        doc_anchor="types")
    return types


def expression_type(value: ast.expr, types: dict[str, str], parsed=None) -> str | None:
    """The scalar type of an ANF right-hand side (None while unknown)."""
    if isinstance(value, ast.Constant):
        return _CONSTANT_TYPES[type(value.value)]
    if isinstance(value, ast.Name):
        return types.get(value.id)
    if isinstance(value, (ast.Compare,)):
        return BOOL
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return BOOL
    if isinstance(value, ast.BoolOp):
        operand_types = [expression_type(v, types, parsed) for v in value.values]
        if any(t not in (BOOL, None) for t in operand_types):
            location = parsed.location(value) if parsed else None
            raise DifferentiationError(
                "`and`/`or` between numbers is not supported (its value would "
                "silently lose its derivative)", location,
                hint="use `x if c else y`, or compare explicitly (`x != 0`)",
                source_line=parsed.line_text(value) if parsed else None,
                doc_anchor="expressions")
        return BOOL
    if isinstance(value, ast.Subscript):          # a tape read, or tape.shape[0]
        if not isinstance(value.value, ast.Name):
            return INT
        array = types.get(value.value.id)
        return element_type(array) if is_array(array) else None
    if isinstance(value, ast.Call) and value.primitive.key is np.empty:
        return FLOAT_ARRAY if value.args[1].attr == "float64" else INT_ARRAY
    if isinstance(value, ast.Call) and value.primitive.key in (np.zeros, np.zeros_like):
        return FLOAT_ARRAY
    if isinstance(value, ast.BinOp):
        primitive = REGISTRY.lookup(type(value.op))
        argument_types = [expression_type(v, types, parsed) for v in (value.left, value.right)]
    elif isinstance(value, ast.UnaryOp):
        primitive = REGISTRY.lookup(type(value.op))
        argument_types = [expression_type(value.operand, types, parsed)]
    elif isinstance(value, ast.Call):
        primitive = value.primitive
        argument_types = [expression_type(v, types, parsed) for v in value.args]
    else:
        return None
    if any(t is None for t in argument_types):
        return None
    return primitive.result_type(*argument_types)
