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
from adjit.passes.front.parse import ParsedFunction
import numpy as np

from adjit.passes.front.anf import is_shape
from adjit.passes.analysis.statements import arguments_of
from adjit.rules.arrays import (ARRAY_RULES, ArrayRuleError, elementwise_type,
                                is_elementwise, rank, subscript_type)
from adjit.rules.numpy import CREATION
from adjit.rules.registry import (BOOL, FLOAT, INT, REGISTRY, array_type, element_type,
                                  is_array, join_types)

_CONSTANT_TYPES = {bool: BOOL, int: INT, float: FLOAT}


def infer_types(parsed: ParsedFunction, parameter_types: dict[str, str],
                names: dict[str, str] | None = None) -> dict[str, str]:
    """The type of every variable. A variable assigned values whose types
    have no join (a float and an array, arrays of different ranks) is a
    located error naming it and both lines; `names` maps a name `webs`
    made to the user's own, for that message."""
    types = dict(parameter_types)
    assignments = [node for node in ast.walk(parsed.tree)
                   if isinstance(node, ast.For) or (isinstance(node, ast.Assign)
                                                    and isinstance(node.targets[0], ast.Name))]
    origin: dict[str, ast.stmt] = {}        # where each variable got its type
    # Every join only widens (bool < int < float; arrays by element), so each
    # variable changes a bounded number of times; the bound guards the rest.
    for _ in range(4 * len(assignments) + 8):
        changed = set()
        for node in assignments:
            if isinstance(node, ast.For):
                name, new = node.target.id, INT
            else:
                name, new = node.targets[0].id, expression_type(node.value, types, parsed)
            old = types.get(name)
            joined = _join(old, new)
            if joined is _CONFLICT:
                _conflict(parsed, name, names or {}, old, origin.get(name), new, node)
            if joined != old:
                types[name] = joined
                origin.setdefault(name, node)
                if joined == new:
                    origin[name] = node
                changed.add(name)
        if not changed:
            break
    else:
        moving = sorted((names or {}).get(name, name) for name in changed)
        raise DifferentiationError(
            f"the type of {', '.join(f'`{n}`' for n in moving[:5])} does not settle",
            parsed.location(origin.get(sorted(changed)[0], parsed.tree)),
            hint="give each variable one type",
            source_line=parsed.line_text(parsed.tree), doc_anchor="types")
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


_CONFLICT = object()


def _join(old: str | None, new: str | None):
    """`join_types`, except that arrays of one rank join by element (an
    element type may still be widening), and two known types with no join
    are `_CONFLICT`."""
    if old is None or new is None:
        return new if old is None else old
    if is_array(old) and is_array(new) and rank(old) == rank(new):
        return array_type(join_types(element_type(old), element_type(new)), rank(old))
    joined = join_types(old, new)
    return _CONFLICT if joined is None else joined


def _conflict(parsed: ParsedFunction, name: str, names: dict[str, str], old: str,
              where: ast.stmt | None, new: str, node: ast.stmt):
    user = names.get(name, name)
    first = f"at line {parsed.location(where).line}" if where is not None \
        else "as an argument"
    raise DifferentiationError(
        f"`{user}` is {_describe(old)} {first} and {_describe(new)} at line "
        f"{parsed.location(node).line}; "
        "a variable must keep one type where its values meet (in a loop, or after "
        "an `if`)", parsed.location(node),
        hint="use another name for one of the two values",
        source_line=parsed.line_text(node), doc_anchor="types")


def _describe(kind: str) -> str:
    if is_array(kind):
        return f"an array of {element_type(kind)}s of rank {rank(kind)}"
    return {INT: "an int", BOOL: "a bool", FLOAT: "a float"}.get(kind, f"a {kind}")


def expression_type(value: ast.expr, types: dict[str, str], parsed=None) -> str | None:
    """The scalar type of an ANF right-hand side (None while unknown)."""
    if isinstance(value, ast.Constant):
        return _CONSTANT_TYPES[type(value.value)]
    if isinstance(value, ast.Name):
        return types.get(value.id)
    if isinstance(value, ast.Compare):         # elementwise on arrays
        ranks = [rank(expression_type(v, types, parsed))
                 for v in [value.left, *value.comparators]]
        return array_type(BOOL, max(ranks)) if max(ranks) else BOOL
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
    if isinstance(value, ast.Subscript):          # x[i], q[i], x[1:], x.shape[0]
        if not isinstance(value.value, ast.Name):
            return INT
        array = types.get(value.value.id)
        if not is_array(array):
            return None
        try:
            return subscript_type(array, value.slice)
        except ArrayRuleError as error:
            raise DifferentiationError(
                f"`{ast.unparse(value)}`: {error}", parsed.location(value) if parsed
                else None, hint="index each axis at most once",
                source_line=parsed.line_text(value) if parsed else None,
                doc_anchor="arrays") from None
    if isinstance(value, ast.Call) and value.primitive.key in CREATION:
        return creation_type(value, types, parsed)
    if isinstance(value, ast.BinOp):
        primitive = REGISTRY.lookup(type(value.op))
        argument_types = [expression_type(v, types, parsed) for v in (value.left, value.right)]
    elif isinstance(value, ast.UnaryOp):
        primitive = REGISTRY.lookup(type(value.op))
        argument_types = [expression_type(value.operand, types, parsed)]
    elif isinstance(value, ast.Call):
        primitive = value.primitive
        # a shape argument (`(n, m)`, `x.shape`) counts as an int
        argument_types = [INT if isinstance(v, ast.Tuple) or is_shape(v)
                          else expression_type(v, types, parsed) for v in value.args]
    else:
        return None
    if any(t is None for t in argument_types):
        return None
    if not any(is_array(t) for t in argument_types) or primitive.spelling in (
            "len", "np.size", "rt.axis_size", "rt.grow"):
        return primitive.result_type(*argument_types)
    return _array_result(primitive, value, argument_types, parsed)


def _array_result(primitive, value: ast.expr, argument_types: list[str], parsed) -> str:
    """The type of an operation on arrays: broadcasting for elementwise
    primitives, the array rule's for structured ones."""
    arguments = arguments_of(value)
    try:
        if primitive.key in ARRAY_RULES:
            return ARRAY_RULES[primitive.key].result_type(argument_types, arguments)
        if primitive.key is np.copy:
            return argument_types[0]
        if is_elementwise(primitive):
            scalar = primitive.result_type(*(element_type(t) if is_array(t) else t
                                             for t in argument_types))
            return elementwise_type(argument_types, scalar)
        problem = f"`{primitive.spelling}` applied to an array"
        hint = "use the NumPy function (np.sin, not math.sin), or index an element"
    except ArrayRuleError as error:
        problem, hint = str(error), "see docs/supported.md#arrays"
    location = parsed.location(value) if parsed else None
    raise DifferentiationError(problem + " is not supported", location, hint=hint,
                               source_line=parsed.line_text(value) if parsed else None,
                               doc_anchor="arrays")


def creation_type(call: ast.Call, types: dict[str, str], parsed=None) -> str | None:
    """The array type an array-creating call returns: its rank from the
    shape (an int, a tuple of ints, `x.shape`, or the array of a `*_like`),
    its element from the dtype argument or the function's default."""
    creation = CREATION[call.primitive.key]
    arguments = call.args
    dtype = arguments[creation.dtype_slot] if creation.dtype_slot is not None \
        and len(arguments) > creation.dtype_slot else None
    element = dtype.dtype_element if dtype is not None else creation.default_element
    if element == "like":                       # `dtype=x.dtype`
        like = types.get(dtype.value.id)
        if not is_array(like):
            return None
        element = element_type(like)
    key = call.primitive.key
    if creation.fill_slot is not None and dtype is None:   # np.full(n, 3) holds ints
        element = expression_type(arguments[creation.fill_slot], types, parsed)
        if element is None:
            return None
    if key is np.arange:
        argument_types = [expression_type(a, types, parsed) for a in arguments]
        if None in argument_types:
            return None
        return array_type(FLOAT if FLOAT in argument_types else INT, 1)
    if key is np.linspace:
        return array_type(FLOAT, 1)
    if key is np.eye:
        return array_type(FLOAT, 2)
    shape = arguments[creation.shape_slot]
    if creation.like:
        like = expression_type(shape, types, parsed)
        if like is None:
            return None
        return array_type(element if dtype is not None else element_type(like),
                          like.count(":"))
    if isinstance(shape, ast.Tuple):
        return array_type(element, len(shape.elts))
    if isinstance(shape, ast.Attribute):           # np.zeros(x.shape)
        like = types.get(shape.value.id)
        return array_type(element, like.count(":")) if like else None
    return array_type(element, 1)
