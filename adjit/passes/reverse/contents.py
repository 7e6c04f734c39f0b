"""contents: which arrays of a generated derivative the dead-store removal
may track element by element.

Input: the generated function (forward and reverse sweeps) and its types.
Output: `contents_tracked`, the local arrays whose contents
`optimize.cleanup` treats as a variable of their own (`a[]`), so that an
element store nothing reads after is removed.
"""

from __future__ import annotations

import ast

from adjit.rules.arrays import rank
from adjit.rules.numpy import CREATION
from adjit.rules.registry import is_array


def contents_tracked(function: ast.FunctionDef, types: dict[str, str]) -> set[str]:
    """Arrays of the generated `function` whose contents the dead-store
    removal (`optimize.cleanup`) may track like a variable: made once by a
    creation call, and read only element by element (every index given,
    none a slice), measured (`a.shape`, `np.zeros_like(a)`), or whole by an
    operation with a scalar result (`np.sum(a)`) - never bound to another
    name, viewed, returned or passed on. An element store into one of them
    that nothing reads after is dead (the forward loop filling `call[i]`,
    read only by the value `np.sum(call)` that a gradient does not return)."""
    made: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            made[target] = made.get(target, 0) + 1 if isinstance(node.value, ast.Call) \
                and getattr(getattr(node.value, "primitive", None), "key", None) in CREATION \
                else 2
    candidates = {name for name, count in made.items()
                  if count == 1 and is_array(types.get(name))}
    allowed: set[int] = set()        # ids of the Name nodes used in allowed ways
    for node in ast.walk(function):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in candidates:
            parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(parts) == rank(types[node.value.id]) \
                    and not any(isinstance(part, ast.Slice) for part in parts):
                allowed.add(id(node.value))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.attr == "shape":
            allowed.add(id(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("zeros_like", "empty_like", "ones_like"):
            allowed.update(id(argument) for argument in node.args)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and not is_array(types.get(node.targets[0].id)) \
                and isinstance(node.value, ast.Call):
            allowed.update(id(argument) for argument in node.value.args
                           if isinstance(argument, ast.Name))
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in candidates:
            allowed.add(id(node.targets[0]))
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id in candidates and id(node) not in allowed:
            candidates.discard(node.id)
    return candidates
