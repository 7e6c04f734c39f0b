"""verify: check the invariants passes promise, for tests and debugging.

`check_desugared(tree)` and `check_anf(tree)` raise `AssertionError` naming
the first statement that breaks the output invariant of `desugar` / `anf`
(see those modules' docstrings).
"""

from __future__ import annotations

import ast

from adjit.passes.front.anf import assigned_names, is_atom, is_test_expression
from adjit.passes.front.desugar import is_break_test


def _fail(node: ast.AST, what: str):
    raise AssertionError(f"line {getattr(node, 'lineno', '?')}: {what}: "
                         f"{ast.unparse(node)}")


def check_desugared(tree: ast.FunctionDef) -> None:
    body = tree.body
    returned = body[-1].value if body and isinstance(body[-1], ast.Return) else None
    elements = returned.elts if isinstance(returned, ast.Tuple) else [returned]
    if not all(isinstance(element, ast.Name) for element in elements):
        _fail(tree, "must end with `return NAME` or `return NAME, NAME, ...`")
    _check_block_desugared(body[:-1], in_loop=False)


def _check_block_desugared(statements, in_loop: bool) -> None:
    for position, node in enumerate(statements):
        if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.Continue, ast.Return)):
            _fail(node, f"{type(node).__name__} left after desugar")
        if isinstance(node, ast.Break):
            _fail(node, "bare `break` left after desugar")
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                _fail(node, "assignment to something other than one name")
        elif isinstance(node, ast.If):
            if is_break_test(node):
                if not in_loop or position != len(statements) - 1:
                    _fail(node, "`if FLAG: break` must end a loop body")
                continue
            _check_block_desugared(node.body, in_loop=False)
            _check_block_desugared(node.orelse, in_loop=False)
        elif isinstance(node, (ast.For, ast.While)):
            _check_block_desugared(node.body, in_loop=True)


def check_anf(tree: ast.FunctionDef) -> None:
    check_desugared(tree)
    _check_block_anf(tree.body[:-1])


def _check_block_anf(statements) -> None:
    for node in statements:
        if isinstance(node, ast.Assign):
            _check_assignment(node)
        elif isinstance(node, ast.If):
            test = node.test
            name = test.operand if isinstance(test, ast.UnaryOp) and \
                isinstance(test.op, ast.Not) else test
            if not isinstance(name, ast.Name):
                _fail(node, "`if` test must be NAME or `not NAME`")
            if not is_break_test(node) and name.id in assigned_names(node.body + node.orelse):
                _fail(node, "`if` test variable is assigned in a branch")
            _check_block_anf(node.body)
            _check_block_anf(node.orelse)
        elif isinstance(node, ast.For):
            if not all(is_atom(argument) for argument in node.iter.args):
                _fail(node, "`range` bounds must be atoms")
            _check_block_anf(node.body)
        elif isinstance(node, ast.While):
            _check_block_anf(node.body)


def _check_assignment(node: ast.Assign) -> None:
    target = node.targets[0].id
    value = node.value
    if is_atom(value) or is_test_expression(value):
        return
    if isinstance(value, ast.BinOp):
        operands = [value.left, value.right]
        linear = isinstance(value.op, (ast.Add, ast.Sub))
    elif isinstance(value, ast.UnaryOp):
        operands = [value.operand]
        linear = True
    elif isinstance(value, ast.Call):
        operands = list(value.args)
        linear = False
        if getattr(value, "primitive", None) is None:
            _fail(node, "call without a resolved primitive")
    else:
        _fail(node, "right-hand side is not one operation")
    if not all(is_atom(operand) for operand in operands):
        _fail(node, "operands must be atoms")
    if not linear and any(isinstance(o, ast.Name) and o.id == target for o in operands):
        _fail(node, "target is an operand of a non-linear operation")
