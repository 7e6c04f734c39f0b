"""outputs: the results of a function that returns nothing.

Input: the front end's ANF tree (calls inlined). A function without a
value to return ends with `return ()` (`desugar`); its results are the
parameters it writes into - `out[i] = v`, `out[1:] = e`, directly, through
an alias (`o = out`), or in the body of a callee that filled them - the
output arguments of Numba code.
Output: `output_arguments(tree)`, those parameters in the order of the
signature; `return_outputs(tree, names)` makes the tree end with
`return out` (one name) or `return (out, state)` instead, which both
transformations then differentiate like returned arrays: a derivative
copies a parameter it writes on entry (`arrays.written_parameters`), so
its results are the contents of the copies on exit.
`parameters_maybe_written(tree)` over-approximates the parameters whose
memory the function may change (through any name computed from them), for
the dispatcher's check that no other argument shares that memory.
Independent of argument types: the dispatcher asks it before any call.
"""

from __future__ import annotations

import ast


def returns_nothing(tree: ast.FunctionDef) -> bool:
    """Whether the function ends with `return ()`: it has no value to return."""
    final = tree.body[-1] if tree.body else None
    return isinstance(final, ast.Return) and isinstance(final.value, ast.Tuple) \
        and not final.value.elts


def output_arguments(tree: ast.FunctionDef) -> list[str]:
    """The parameters the function writes elements or slices of, directly or
    through a name bound to one of them, in the order of the signature."""
    parameters = [a.arg for a in tree.args.posonlyargs + tree.args.args]
    # name -> the parameters it may stand for, through `b = a` chains
    stands_for: dict[str, set[str]] = {p: {p} for p in parameters}
    aliases = [(node.targets[0].id, node.value.id) for node in ast.walk(tree)
               if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
               and isinstance(node.value, ast.Name)]
    changed = True
    while changed:
        changed = False
        for target, source in aliases:
            reached = stands_for.get(source, set()) - stands_for.get(target, set())
            if reached:
                stands_for.setdefault(target, set()).update(reached)
                changed = True
    written: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript) \
                and isinstance(node.targets[0].value, ast.Name):
            written |= stands_for.get(node.targets[0].value.id, set())
    return [p for p in parameters if p in written]


# methods and functions that change the array they are given
_CHANGING_METHODS = {"fill", "sort", "put", "itemset", "resize", "partition", "setfield"}


def parameters_maybe_written(tree: ast.FunctionDef) -> list[str]:
    """The parameters whose memory the function may write, in the order of
    the signature: a name stands for every parameter its value mentions
    (`v = x[1:]`, `w = x.T`, `r = x.reshape(n)`, and, erring on the safe
    side, `s = x[0] * 2`), and a parameter counts as written when a name
    standing for it is written into (`v[0] = e`, `v[0] += e`), has a
    changing method called (`v.fill(0.0)`), or is given as `out=`.
    More than `output_arguments` finds, never less: the dispatcher only
    checks the memory of these at a call."""
    parameters = [a.arg for a in tree.args.posonlyargs + tree.args.args]
    stands_for: dict[str, set[str]] = {p: {p} for p in parameters}
    bindings = [(node.targets[0].id, node.value) for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)]
    changed = True
    while changed:
        changed = False
        for target, value in bindings:
            reached = set()
            for inner in ast.walk(value):
                if isinstance(inner, ast.Name):
                    reached |= stands_for.get(inner.id, set())
            reached -= stands_for.get(target, set())
            if reached:
                stands_for.setdefault(target, set()).update(reached)
                changed = True

    def base(node) -> set[str]:
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return stands_for.get(node.id, set()) if isinstance(node, ast.Name) else set()
    written: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Subscript):
                    written |= base(target)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _CHANGING_METHODS:
                written |= base(node.func.value)
            for keyword in node.keywords:
                if keyword.arg == "out":
                    written |= base(keyword.value)
    return [p for p in parameters if p in written]


def return_outputs(tree: ast.FunctionDef, names: list[str]) -> None:
    """`return ()` -> `return out`, or `return (out, state)` for several."""
    final = tree.body[-1]
    loads = [ast.Name(name, ast.Load()) for name in names]
    final.value = loads[0] if len(loads) == 1 else ast.Tuple(loads, ast.Load())
    ast.copy_location(final.value, final)
