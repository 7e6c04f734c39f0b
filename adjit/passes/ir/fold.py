"""fold: constant folding and exact algebraic identities on one expression.

Used on instantiated derivative rules (so `2 * x ** (2 - 1)` reads `2 * x`)
and on generated statements. Only identities exact in IEEE arithmetic for
finite operands are applied (`x * 1.0`, `x + 0.0`, `x ** 1`, `--x`); a factor
that is the constant 0 removes a term, because it stands for a partial
derivative that is exactly zero.
"""

from __future__ import annotations

import ast
import operator

_FOLDABLE = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
             ast.Div: operator.truediv, ast.Pow: operator.pow}


def constant_value(node: ast.expr):
    """The number a node is, or None. `-2.0` is UnaryOp(USub, 2.0) in ast."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = constant_value(node.operand)
        return -inner if inner is not None else None
    return None


def integer_constant(node: ast.expr) -> int | None:
    """The int a node is (`-1` spelled as a unary minus included), or None."""
    value = constant_value(node)
    return value if type(value) is int else None


def number(value) -> ast.expr:
    if value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def fold(node: ast.expr) -> ast.expr:
    """A simpler expression equal to `node`."""
    return _Fold().visit(node)


class _Fold(ast.NodeTransformer):
    def visit_UnaryOp(self, node: ast.UnaryOp):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub):
            value = constant_value(node.operand)
            if value is not None:
                return number(-value)
            if isinstance(node.operand, ast.UnaryOp) and isinstance(node.operand.op, ast.USub):
                return node.operand.operand
        if isinstance(node.op, ast.UAdd):
            return node.operand
        return node

    def visit_BinOp(self, node: ast.BinOp):
        self.generic_visit(node)
        left, right = constant_value(node.left), constant_value(node.right)
        op = type(node.op)
        if left is not None and right is not None and op in _FOLDABLE:
            try:
                return number(_FOLDABLE[op](left, right))
            except (ZeroDivisionError, OverflowError, TypeError):
                return node
        if op is ast.Mult:
            # g * (1.0 if c else 0.0) -> g if c else 0.0: the factor selects
            for selector, other, other_left in ((node.right, node.left, True),
                                                (node.left, node.right, False)):
                if isinstance(selector, ast.IfExp) and all(
                        constant_value(branch) is not None
                        for branch in (selector.body, selector.orelse)):
                    def times(branch, other=other, other_left=other_left):
                        return ast.BinOp(other, ast.Mult(), branch) if other_left \
                            else ast.BinOp(branch, ast.Mult(), other)
                    return self.visit(ast.IfExp(selector.test, times(selector.body),
                                                times(selector.orelse)))
            for factor, other in ((left, node.right), (right, node.left)):
                if factor == 0:
                    return ast.Constant(0.0)
                if factor == 1:
                    return other
                if factor == -1:
                    return self.visit(ast.UnaryOp(ast.USub(), other))
        if op is ast.Div and right == 1:
            return node.left
        if op is ast.Add:
            if left == 0:
                return node.right
            if right == 0:
                return node.left
            if isinstance(node.right, ast.UnaryOp) and isinstance(node.right.op, ast.USub):
                return self.visit(ast.BinOp(node.left, ast.Sub(), node.right.operand))
        if op is ast.Sub:
            if right == 0:
                return node.left
            if isinstance(node.right, ast.UnaryOp) and isinstance(node.right.op, ast.USub):
                return self.visit(ast.BinOp(node.left, ast.Add(), node.right.operand))
            if left == 0:
                return self.visit(ast.UnaryOp(ast.USub(), node.right))
        if op is ast.Pow and right == 1:
            return node.left
        if op is ast.Pow and right == 0:
            return ast.Constant(1.0)
        return node

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        # rt.pow_base_partial(x, c) for a constant exponent c: c * x ** (c - 1)
        if ast.unparse(node.func) == "rt.pow_base_partial":
            base, exponent = node.args
            c = constant_value(exponent)
            if c is not None:
                if c == 0:
                    return ast.Constant(0.0)
                power = ast.BinOp(base, ast.Pow(), number(c - 1))
                return self.visit(ast.BinOp(number(c), ast.Mult(),
                                            power if c != 2 else base))
        return node

    def visit_IfExp(self, node: ast.IfExp):
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node
