"""private: scratch arrays that every iteration of a loop fills before reading.

Input: an ANF `FunctionDef` and its variable types.
Output: `{array: (id of the loop P, id of its covering loop S)}` for each
local 1-D array `a` that is *private to the iterations* of a loop `P`:

* `a = np.empty(B)` (or `zeros`, `ones`) outside `P`, with `B` fixed (a
  parameter or a name assigned once, outside loops, or a number);
* a top-level statement `S` of `P`'s body is `for j in range(B)` (or
  `range(0, B)`) whose body writes `a[j] = v` at its top level: every
  element, on every iteration of `P`, before anything reads `a`;
* no statement of `P`'s body before `S` touches `a`; a statement after `S`
  that reads `a` while a later statement still writes it writes `a` too
  (its own loads are recorded, never re-read from the array);
* `a` is used nowhere outside `P`, only through element reads and writes
  (no alias, no view, no whole-array operation).

Such an array carries nothing from one iteration of `P` to the next, so
`P` may be recomputed in the reverse sweep without recording the elements
it overwrites: each reversed iteration first re-runs `S` and what follows.
`reverse` treats `a` as neither restored nor live into `P`
(`recompute.LoopPlan`), and falls back to restoring it when `P` is not
recomputed after all.
"""

from __future__ import annotations

import ast

from adjit.passes.analysis.statements import names_in
from adjit.rules.numpy import CREATION
from adjit.rules.registry import is_array

import numpy as np

_FILLING = (np.empty, np.zeros, np.ones)


def private_arrays(tree: ast.FunctionDef, types: dict[str, str]) -> dict[str, tuple[int, int]]:
    parameters = {a.arg for a in tree.args.posonlyargs + tree.args.args}
    creations = _creations(tree, types)
    assigned_once_outside_loops = _fixed_names(tree) | parameters
    found: dict[str, tuple[int, int]] = {}
    rejected: set[str] = set()
    for loop in ast.walk(tree):
        if not isinstance(loop, (ast.For, ast.While)):
            continue
        for index, statement in enumerate(loop.body):
            for array in _covered(statement, creations, assigned_once_outside_loops):
                if array in found or array in rejected:
                    rejected.add(array)
                    found.pop(array, None)
                    continue
                if _private_in(array, loop, index, tree, creations[array]):
                    found[array] = (id(loop), id(statement))
                else:
                    rejected.add(array)
    return found


def _creations(tree: ast.FunctionDef, types: dict[str, str]) -> dict[str, ast.Assign]:
    """1-D arrays made once by np.empty/zeros/ones(B): name -> the assignment."""
    bindings: dict[str, list[ast.Assign]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            bindings.setdefault(node.targets[0].id, []).append(node)
    found = {}
    for name, nodes in bindings.items():
        kind = types.get(name)
        if len(nodes) != 1 or not is_array(kind) or kind.count(":") != 1:
            continue
        value = nodes[0].value
        if isinstance(value, ast.Call) and getattr(value.primitive, "key", None) in _FILLING \
                and value.primitive.key in CREATION and value.args \
                and isinstance(value.args[0], (ast.Name, ast.Constant)):
            found[name] = nodes[0]
    return found


def _fixed_names(tree: ast.FunctionDef) -> set[str]:
    """Names assigned exactly once, outside every loop."""
    counts: dict[str, int] = {}
    in_loops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
        if isinstance(node, (ast.For, ast.While)):
            in_loops |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Store)}
    return {name for name, count in counts.items() if count == 1 and name not in in_loops}


def _same(a: ast.expr, b: ast.expr) -> bool:
    return ast.dump(a) == ast.dump(b)


def _covered(statement: ast.stmt, creations, fixed: set[str]) -> list[str]:
    """The arrays `statement` (a `for j in range(B)`) writes in full."""
    if not isinstance(statement, ast.For):
        return []
    bounds = statement.iter.args
    if len(bounds) == 2 and isinstance(bounds[0], ast.Constant) and bounds[0].value == 0:
        bounds = bounds[1:]
    if len(bounds) != 1:
        return []
    if any(isinstance(node, ast.Break) for node in ast.walk(statement)):
        return []              # a loop that may stop early need not fill everything
    index = statement.target.id
    covered = []
    loaded = {n.value.id for n in ast.walk(statement) if isinstance(n, ast.Subscript)
              and isinstance(n.value, ast.Name) and isinstance(n.ctx, ast.Load)}
    for node in statement.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            target = node.targets[0]
            array = target.value.id
            if array in creations and array not in loaded and isinstance(target.slice, ast.Name) \
                    and target.slice.id == index \
                    and _same(creations[array].value.args[0], bounds[0]) \
                    and (isinstance(bounds[0], ast.Constant) or bounds[0].id in fixed):
                covered.append(array)
    return covered


def _touches(node: ast.AST, array: str) -> bool:
    return array in names_in(node) or any(
        isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == array
        for n in ast.walk(node))


def _writes(node: ast.AST, array: str) -> bool:
    return any(isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Subscript)
               and n.targets[0].value.id == array for n in ast.walk(node))


def _private_in(array: str, loop: ast.stmt, index: int, tree: ast.FunctionDef,
                creation: ast.Assign) -> bool:
    body = loop.body
    if any(_touches(statement, array) for statement in body[:index]):
        return False
    if any(node is creation for node in ast.walk(loop)):
        return False                                  # made inside the loop
    # only element reads and writes, and only inside `loop`
    inside = {id(n) for n in ast.walk(loop)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == array and node is not creation.targets[0]:
            if id(node) not in inside:
                return False
    for node in ast.walk(loop):
        if isinstance(node, ast.Name) and node.id == array:
            parent_ok = any(isinstance(p, ast.Subscript) and p.value is node
                            for p in ast.walk(loop))
            if not parent_ok:
                return False
    last_write = max(k for k, statement in enumerate(body) if _writes(statement, array))
    for k in range(index + 1, last_write):
        if _touches(body[k], array) and not _writes(body[k], array):
            return False
    return True


def stable_arrays(tree: ast.FunctionDef, types: dict[str, str]) -> set[str]:
    """Local arrays written only before they are first read: every statement
    of the function body that writes one comes before every statement that
    reads it (`sum_qs[k] = ...` in a first loop, read by later loops).
    Through the whole reverse sweep of the code that reads them they hold
    their final values, so they are re-read, never restored or recorded."""
    parameters = {a.arg for a in tree.args.posonlyargs + tree.args.args}
    stable = set()
    for name, kind in types.items():
        if not is_array(kind) or name in parameters or name.startswith("_tape"):
            continue
        bindings = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    and isinstance(n.targets[0], ast.Name) and n.targets[0].id == name]
        if len(bindings) != 1 or not isinstance(bindings[0].value, ast.Call):
            continue                                  # aliases and views: not here
        if any(node is bindings[0] for loop in ast.walk(tree)
               if isinstance(loop, (ast.For, ast.While)) for node in ast.walk(loop)):
            continue                                  # made in a loop
        writing = [k for k, s in enumerate(tree.body) if _writes(s, name)]
        reading = [k for k, s in enumerate(tree.body)
                   if _reads_elements(s, name) or (_touches(s, name) and s is not bindings[0]
                                                   and not _writes(s, name))]
        if any(_reads_elements(tree.body[k], name) for k in writing):
            continue
        if not writing or not reading or max(writing) < min(reading):
            if _only_elements(tree, name, bindings[0]):
                stable.add(name)
    return stable


def _reads_elements(node: ast.AST, array: str) -> bool:
    return any(isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)
               and n.value.id == array and isinstance(n.ctx, ast.Load) for n in ast.walk(node))


def _only_elements(tree: ast.FunctionDef, array: str, binding: ast.Assign) -> bool:
    """`array` is used only through element reads and writes (and `.shape`)."""
    used_as_base = {id(n.value) for n in ast.walk(tree)
                    if isinstance(n, (ast.Subscript, ast.Attribute))}
    return all(id(n) in used_as_base or n is binding.targets[0]
               for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == array)
