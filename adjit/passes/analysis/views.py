"""views: put array views back into the operations that use them.

Input: a typed ANF `FunctionDef` and the `anf` temporaries.
Output: the same function where each temporary that holds a view of an
array (`_t3 = q[i]`, `_t4 = x[1:]`, `_t5 = q[:, None, :]`) and is read once,
as an operand of a whole-array operation, is replaced there by the view
itself: `s = np.dot(q[i], w)`. The assignment is removed.

Why: the derivative of a view is the same view of the adjoint
(`_b_q[i] += _b_s * w`), so an operation that reads a view accumulates
straight into the base array's adjoint, with no buffer of its own - which
also holds inside loops, where the view changes every iteration. A view the
user names (`row = q[i]`) keeps its assignment (see `arrays`).
"""

from __future__ import annotations

import ast

from adjit.passes.ir.build import without
from adjit.rules.registry import is_array


def inline_views(tree: ast.FunctionDef, types: dict[str, str],
                 temporaries: set[str]) -> None:
    reads: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            reads[node.id] = reads.get(node.id, 0) + 1
    views = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Subscript) \
                and isinstance(node.value.value, ast.Name):
            name = node.targets[0].id
            if name in temporaries and is_array(types.get(name)) and reads.get(name) == 1:
                views[name] = node
    if not views:
        return
    inlined: set[int] = set()

    class Inline(ast.NodeTransformer):
        def visit_Assign(self, node: ast.Assign):
            value = node.value
            if isinstance(value, (ast.Call, ast.BinOp, ast.UnaryOp)):
                for field in ("args", "left", "right", "operand"):
                    operand = getattr(value, field, None)
                    if isinstance(operand, list):
                        value.args = [self.view(a) for a in operand]
                    elif operand is not None:
                        setattr(value, field, self.view(operand))
            return node

        def view(self, operand: ast.expr) -> ast.expr:
            if isinstance(operand, ast.Name) and operand.id in views:
                assignment = views[operand.id]
                inlined.add(id(assignment))
                return assignment.value
            return operand

    Inline().visit(tree)

    tree.body = without(tree.body, inlined)
