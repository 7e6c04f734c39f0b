"""hoist: move loop-invariant integer temporaries out of the loops they sit in.

Input: a typed ANF `FunctionDef`, its variable types and the `anf`
temporaries.
Output: the same function where every *hoistable* temporary assignment
directly in a loop body has moved to just before that loop (and on out,
loop by loop, while it stays invariant). A temporary is hoistable when

* it is assigned exactly once in the whole function, and it is an int;
* its value is made of names, constants and `+`, `-`, `*` (nothing that can
  raise, such as `//` or `%` by zero, and no calls), and
* none of the names it reads is assigned anywhere in the loop.

Why: ANF names the bound of an inner loop (`range(1, n - 1)` becomes
`_t2 = n - 1` inside the outer loop). Left there, the value is rebound in
every outer iteration, so the reverse sweep would push and pop it on the
integer tape, once per outer iteration, although it never changes.
Evaluating such a value once before the loop instead of on every iteration
changes nothing else: it cannot raise, and it is computed from the same
inputs.
"""

from __future__ import annotations

import ast
from collections import Counter

from adjit.passes.analysis.statements import names_in, writes_block
from adjit.rules.registry import INT

_PURE_OPERATORS = (ast.Add, ast.Sub, ast.Mult)


def hoist_invariants(tree: ast.FunctionDef, types: dict[str, str],
                     temporaries: set[str]) -> None:
    assignments = Counter(node.id for node in ast.walk(tree)
                          if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store))
    hoistable = {name for name in temporaries
                 if assignments[name] == 1 and types.get(name) == INT}
    tree.body = _block(tree.body, hoistable)


def _block(statements: list[ast.stmt], hoistable: set[str]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in statements:
        if isinstance(node, ast.If):
            node.body = _block(node.body, hoistable)
            node.orelse = _block(node.orelse, hoistable)
        elif isinstance(node, (ast.For, ast.While)):
            node.body = _block(node.body, hoistable)
            written = writes_block(node.body)
            if isinstance(node, ast.For):
                written |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
            kept = []
            for inner in node.body:
                if _is_invariant(inner, hoistable, written):
                    out.append(inner)
                else:
                    kept.append(inner)
            node.body = kept or [ast.Pass()]
        out.append(node)
    return out


def _is_invariant(node: ast.stmt, hoistable: set[str], written: set[str]) -> bool:
    return (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in hoistable and _is_pure(node.value)
            and not names_in(node.value) & written)


def _is_pure(value: ast.expr) -> bool:
    if isinstance(value, (ast.Name, ast.Constant)):
        return True
    if isinstance(value, ast.BinOp):
        return (isinstance(value.op, _PURE_OPERATORS)
                and _is_pure(value.left) and _is_pure(value.right))
    if isinstance(value, ast.UnaryOp):
        return isinstance(value.op, ast.USub) and _is_pure(value.operand)
    return False
