"""optimize: clean the generated derivative so that it reads as written by hand.

Input: a generated `FunctionDef` (the output of `reverse`) and the names of
its adjoint variables.
Output: an equivalent `FunctionDef` where

* adjoints known to be a constant are substituted and folded: the first
  `_b_x += e` into a zero adjoint becomes `_b_x = e`, `_b_y * 1.0` is `_b_y`,
  a contribution of an adjoint known to be 0.0 disappears;
* assignments to variables that are never read again are removed (dead
  stores: unused adjoint resets, initial zeros, primal values nothing needs),
  then `if`s and `for` loops left empty;
* copies of a variable to itself are gone.

Only adjoint variables are constant-propagated: the primal code keeps the
shape the user wrote. Statements are pure (tape writes are subscript stores,
never removed), so removing a dead assignment never changes a result.
"""

from __future__ import annotations

import ast
import copy

from adjit.passes.optimize_expr import constant_value, fold
from adjit.passes.statements import names_in


def optimize(function: ast.FunctionDef, adjoints: set[str]) -> ast.FunctionDef:
    for _ in range(3):
        before = ast.dump(function)
        function.body = _Constants(adjoints).block(function.body, {}, rewrite=True)
        # names that write through to another array (the adjoint of a view)
        # are live to the end
        function.body = _remove_dead(function.body, set(getattr(
            function, "writes_through", ())))[0] or [ast.Pass()]
        if ast.dump(function) == before:
            break
    return function


# ---- constant adjoints ----------------------------------------------------------

class _Constants:
    """Forward dataflow: adjoint name -> the number it surely holds."""

    def __init__(self, adjoints: set[str]):
        self.adjoints = adjoints

    def block(self, statements, known: dict, rewrite: bool):
        out = []
        for node in statements:
            out.extend(self.statement(node, known, rewrite))
        return out if rewrite else statements

    def substitute(self, expression: ast.expr, known: dict) -> ast.expr:
        class Substitute(ast.NodeTransformer):
            def visit_Name(self, node):
                if isinstance(node.ctx, ast.Load) and node.id in known:
                    return ast.Constant(known[node.id])
                return node
        return fold(Substitute().visit(copy.deepcopy(expression)))

    def statement(self, node, known: dict, rewrite: bool) -> list:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            value = self.substitute(node.value, known) if target in self.adjoints else node.value
            self.assign(target, value, known)
            if rewrite and target in self.adjoints:
                node.value = value
            return [node]
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id in self.adjoints:
            target = node.target.id
            increment = self.substitute(node.value, known)
            current = known.get(target)
            if constant_value(increment) == 0:
                return []
            if current is not None:
                value = fold(ast.BinOp(ast.Constant(current), node.op, increment))
                replacement = ast.Assign([ast.Name(target, ast.Store())], value)
                replacement.origin = getattr(node, "origin", None)
                self.assign(target, value, known)
                return [replacement]
            known.pop(target, None)
            node.value = increment if rewrite else node.value
            return [node]
        if isinstance(node, ast.If):
            known_else = dict(known)
            body = self.block(node.body, known, rewrite)
            orelse = self.block(node.orelse, known_else, rewrite)
            _meet(known, known_else)
            if rewrite:
                node.body, node.orelse = body or [ast.Pass()], orelse
            return [node]
        if isinstance(node, (ast.For, ast.While)):
            head = dict(known)
            while True:   # the state at the top of every iteration
                end = dict(head)
                self.block(copy.deepcopy(node.body), end, rewrite=False)
                updated = dict(head)
                _meet(updated, end)
                if updated == head:
                    break
                head = updated
            if rewrite:
                node.body = self.block(node.body, dict(head), rewrite=True) or [ast.Pass()]
            known.clear()
            known.update(head)   # zero iterations, or after the last one
            return [node]
        for name in _stores(node):
            known.pop(name, None)
        return [node]

    def assign(self, target: str, value: ast.expr, known: dict):
        number = constant_value(value)
        if target in self.adjoints and number is not None:
            known[target] = float(number)
        else:
            known.pop(target, None)


def _meet(known: dict, other: dict) -> None:
    for name in list(known):
        if other.get(name) != known[name]:
            del known[name]


def _stores(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


# ---- dead stores ----------------------------------------------------------------

def _remove_dead(statements: list, live_after: set[str]) -> tuple[list, set[str]]:
    """Backward liveness; returns the kept statements and what is live before."""
    live = set(live_after)
    kept = []
    for node in reversed(statements):
        node, live = _dead_statement(node, live)
        if node is not None:
            kept.append(node)
    kept.reverse()
    return kept, live


def _dead_statement(node, live: set[str]):
    if isinstance(node, (ast.Assign, ast.AugAssign)):
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if isinstance(target, ast.Name):
            if target.id not in live:
                return None, live
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) \
                    and node.value.id == target.id:
                return None, live
            reads = names_in(node.value)
            if isinstance(node, ast.AugAssign):
                return node, live | reads
            return node, (live - {target.id}) | reads
        return node, live | names_in(node.value) | names_in(target)
    if isinstance(node, ast.If):
        body, live_body = _remove_dead(node.body, live)
        orelse, live_else = _remove_dead(node.orelse, live)
        if not body and not orelse:
            return None, live
        if not body:
            node.test = ast.UnaryOp(ast.Not(), node.test)
            body, orelse = orelse, []
        node.body, node.orelse = body, orelse
        return node, live_body | live_else | names_in(node.test)
    if isinstance(node, (ast.For, ast.While)):
        index = {node.target.id} if isinstance(node, ast.For) else set()
        header = names_in(node.iter) if isinstance(node, ast.For) else names_in(node.test)
        head = set(live)
        while True:
            _, live_in = _remove_dead(copy.deepcopy(node.body), head)
            grown = head | (live_in - index) | (header if isinstance(node, ast.While) else set())
            if grown == head:
                break
            head = grown
        body, live_in = _remove_dead(node.body, head)
        body = [s for s in body if not isinstance(s, ast.Pass)]
        # a loop whose body is dead still sets its index, if that is read after
        if isinstance(node, ast.For) and not _has_effect(body) and not (index & live):
            return None, live
        node.body = body or [ast.Pass()]
        return node, (head - index) | header
    if isinstance(node, (ast.Return, ast.Expr)):    # Expr: a helper that updates an array
        return node, live | names_in(node.value)
    if isinstance(node, ast.Pass):
        return None, live
    return node, live   # break


def _has_effect(body) -> bool:
    return any(not isinstance(s, (ast.Pass,)) for s in body)
