"""activity: which float variables carry derivatives.

Input: an ANF `FunctionDef`, its variable types, the `wrt` parameter names
and the returned name(s).
Output: the set of *active* variables: floats that depend on a `wrt`
parameter through differentiable operations (varied) and that influence
the returned value through differentiable operations (useful). Only active
variables get adjoints or tangents; everything else is plain primal code.

Like `types`, the analysis is flow-insensitive (a variable is active if any
of its assignments is), which is safe: an inactive variable's derivative is
exactly zero everywhere.
"""

from __future__ import annotations

import ast

from adjit.passes.analysis.statements import differentiable_inputs, tape_flows
from adjit.rules.registry import is_array, is_float_like


def active_variables(tree: ast.FunctionDef, types: dict[str, str],
                     wrt: list[str], returned: str | list[str]) -> set[str]:
    edges = _edges(tree, types)
    outputs = [returned] if isinstance(returned, str) else returned
    useful = _closure({name for name in outputs if is_float_like(types.get(name))}, edges)
    return varied_variables(tree, types, wrt, edges) & useful


def varied_variables(tree: ast.FunctionDef, types: dict[str, str], wrt: list[str],
                     edges: list[tuple[str, str]] | None = None) -> set[str]:
    """The floats that depend on a `wrt` parameter, useful or not."""
    if edges is None:
        edges = _edges(tree, types)
    varied = {name for name in wrt if is_float_like(types.get(name))}
    return _closure(varied, [(i, t) for t, i in edges])


def _edges(tree: ast.FunctionDef, types: dict[str, str]) -> list[tuple[str, str]]:
    edges = []   # (target, input) pairs through which derivatives flow
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target, source in tape_flows(node):
            if is_float_like(types.get(target)) and is_float_like(types.get(source)):
                edges.append((target, source))
                if is_array(types.get(target)) and isinstance(node.value, ast.Subscript):
                    # a named view shares its base's elements: a write
                    # through it (the adjoint views of generated code,
                    # `_b_w[0] = ...` with `_b_w = _b_x[1:]`) changes the base
                    edges.append((source, target))
        if isinstance(node.targets[0], ast.Name) and is_float_like(types.get(node.targets[0].id)):
            target = node.targets[0].id
            for name in differentiable_inputs(node):
                if is_float_like(types.get(name)):
                    edges.append((target, name))
                    if isinstance(node.value, ast.Name) and is_array(types.get(target)):
                        edges.append((name, target))   # b = a: one array, two names
    return edges


def _closure(start: set[str], edges: list[tuple[str, str]]) -> set[str]:
    """Everything reachable from `start` along (source, destination) edges."""
    reached = set(start)
    changed = True
    while changed:
        changed = False
        for source, destination in edges:
            if source in reached and destination not in reached:
                reached.add(destination)
                changed = True
    return reached
