"""shapes: which arrays provably have one shape (a query of `slots`).

Input: a typed ANF `FunctionDef`'s array bindings and int assignments.
Output: for an array name or an array-valued expression, its shape as a
tuple of *dimension keys* - `("dim", p, k)`, axis k of the parameter `p`
on entry; `("const", c)`; `("int", n)`, an int parameter never assigned;
`("of", a, k)`, axis k of an array `a` bound once, by a statement of the
function body itself (readable after that statement) - or None where it is
not known. Two arrays whose keys are equal have equal
shapes whenever both exist.

What it reads: a parameter never rebound; a name bound once; `np.copy`,
the `*_like` creations, `np.zeros`/`ones`/`empty`/`full` of an int, a
tuple of ints or `x.shape`; elementwise operations whose array operands
all have one shape of the result's rank; ints bound once to a constant, a
parameter's dimension (`x.shape[k]`, `len(x)`) or another such int.
`assumed` gives names an assumed shape, for a proof by induction (see
`slots`).
"""

from __future__ import annotations

import ast

import numpy as np

from adjit.passes.analysis.statements import arguments_of
from adjit.rules.arrays import is_elementwise, rank
from adjit.rules.numpy import CREATION
from adjit.rules.registry import INT, is_array

# operations whose result has its first operand's shape
_SAME_SHAPE = {np.copy, np.zeros_like, np.ones_like, np.empty_like, np.full_like}


class Shapes:
    def __init__(self, parameters: list[str], bindings: dict, assigned: dict,
                 types: dict[str, str], top_level: list[ast.stmt]):
        self.parameters = parameters
        self.top_level = top_level        # the function body's own statements
        self.bindings = bindings          # array name -> [(statement, in a loop)]
        self.assigned = assigned          # name -> [statements binding it]
        self.types = types
        # names taken to have a shape, while a proof by induction checks it
        self.assumed: dict[str, tuple] = {}

    def of_name(self, name: str, depth: int = 0):
        """The shape of the one array `name` refers to, as a tuple of
        dimension keys, or None when it is not known."""
        if depth > 32:
            return None
        if name in self.assumed:
            return self.assumed[name]
        found = self.bindings.get(name, [])
        if name in self.parameters:
            if found:
                return None
            return tuple(("dim", name, j) for j in range(rank(self.types[name])))
        if len(found) != 1:
            return None
        shape = self.of_value(found[0][0].value, self.types[name], depth + 1)
        if shape is None and any(node is found[0][0] for node in self.top_level):
            # bound once, at the top level: its own shape, read after it
            shape = tuple(("of", name, j) for j in range(rank(self.types[name])))
        return shape

    def of_value(self, value: ast.expr, kind: str, depth: int):
        if isinstance(value, ast.Name):
            return self.of_name(value.id, depth)
        if isinstance(value, ast.Call) and value.primitive is not None:
            key = value.primitive.key
            if key in _SAME_SHAPE and isinstance(value.args[0], ast.Name):
                return self.of_name(value.args[0].id, depth)
            creation = CREATION.get(key) if _hashable(key) else None
            if creation is not None and not creation.like and creation.shape_slot == 0:
                return self.of_shape_argument(value.args[0], depth)
            if not is_elementwise(value.primitive):
                return None
        elif not isinstance(value, (ast.BinOp, ast.UnaryOp)):
            return None
        # an elementwise operation: the shape of its array operands, all equal
        shapes = set()
        for operand in arguments_of(value):
            if isinstance(operand, ast.Name) and is_array(self.types.get(operand.id)):
                shapes.add(self.of_name(operand.id, depth))
            elif not isinstance(operand, (ast.Name, ast.Constant)):
                return None
        if len(shapes) != 1 or None in shapes:
            return None
        (shape,) = shapes
        return shape if len(shape) == rank(kind) else None

    def of_shape_argument(self, argument: ast.expr, depth: int):
        if isinstance(argument, ast.Attribute) and argument.attr == "shape" \
                and isinstance(argument.value, ast.Name):
            return self.of_name(argument.value.id, depth)
        parts = argument.elts if isinstance(argument, ast.Tuple) else [argument]
        dims = tuple(self.dimension(part, depth) for part in parts)
        return None if None in dims else dims

    def dimension(self, node: ast.expr, depth: int):
        """A key for an int that stays fixed: a constant, an int parameter
        never assigned, or a dimension of a parameter's shape."""
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return ("const", node.value)
        if not isinstance(node, ast.Name) or self.types.get(node.id) != INT or depth > 32:
            return None
        found = self.assigned.get(node.id, [])
        if node.id in self.parameters:
            return ("int", node.id) if not found else None
        if len(found) != 1 or not isinstance(found[0], ast.Assign):
            return None
        value = found[0].value
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Attribute) \
                and value.value.attr == "shape" and isinstance(value.value.value, ast.Name) \
                and isinstance(value.slice, ast.Constant):
            shape = self.of_name(value.value.value.id, depth + 1)
            axis = value.slice.value
        elif isinstance(value, ast.Call) and getattr(value.primitive, "spelling", None) \
                == "len" and isinstance(value.args[0], ast.Name):
            shape, axis = self.of_name(value.args[0].id, depth + 1), 0
        else:
            return self.dimension(value, depth + 1) if isinstance(
                value, (ast.Name, ast.Constant)) else None
        if shape is None or not -len(shape) <= axis < len(shape):
            return None
        return shape[axis]


def _hashable(key) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True
