"""loopforms: the shapes of generated loops that the vectorising passes
(`scatter`, `lanes`) rewrite, and the facts they need about them.

Nothing here transforms code. A *simple loop* is an `ast.For` over
`range(...)` that is not a `prange` loop and whose body is straight-line
code: assignments, augmented assignments and comments, no `if`, no inner
loop, no call made for its effect. Its iterations then run the same
statements in the same order, so what one iteration reads and writes is
visible in its text.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from adjit.passes.optimize_expr import integer_constant
from adjit.passes.parallel import is_parallel


def is_comment(node: ast.stmt) -> bool:
    return getattr(node, "is_comment", False)


def range_arguments(loop: ast.stmt) -> list[ast.expr] | None:
    """The arguments of a `for NAME in range(...)` loop's range, else None."""
    if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) \
            and isinstance(loop.iter, ast.Call) and isinstance(loop.iter.func, ast.Name) \
            and loop.iter.func.id == "range" and not loop.iter.keywords \
            and 1 <= len(loop.iter.args) <= 3 and not loop.orelse:
        return loop.iter.args
    return None


def is_simple_loop(loop: ast.stmt) -> bool:
    if range_arguments(loop) is None or is_parallel(loop):
        return False
    for node in loop.body:
        if is_comment(node):
            continue
        if not isinstance(node, (ast.Assign, ast.AugAssign)):
            return False
        if any(isinstance(inner, ast.Call) for inner in ast.walk(node.targets[0]
                                                              if isinstance(node, ast.Assign)
                                                              else node.target)):
            return False
    return loop.target.id not in stored_names(loop.body)


def unit_step(loop: ast.For) -> int | None:
    """+1 or -1 for a range loop stepping by one, else None."""
    arguments = range_arguments(loop)
    if arguments is None:
        return None
    step = 1 if len(arguments) < 3 else integer_constant(arguments[2])
    return step if step in (1, -1) else None


def stored_names(statements: list[ast.stmt]) -> set[str]:
    """Names rebound by `statements` (an element store rebinds nothing)."""
    names = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return names


def mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(inner, ast.Name) and inner.id == name for inner in ast.walk(node))


def loops_with_ancestors(statements: list[ast.stmt], ancestors: tuple = ()
                         ) -> Iterator[tuple[ast.For, tuple, list[ast.stmt]]]:
    """Every `for` loop with the loops around it, each as `(loop, the block
    holding it)`, outermost first, and the block that holds the loop itself;
    inner loops come before the loops around them."""
    for node in list(statements):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                inner = ancestors + ((node, statements),) \
                    if isinstance(node, (ast.For, ast.While)) else ancestors
                yield from loops_with_ancestors(block, inner)
        if isinstance(node, ast.For):
            yield node, ancestors, statements


def add_origin(nodes: list[ast.stmt], origin) -> list[ast.stmt]:
    for node in nodes:
        for inner in ast.walk(node):
            if isinstance(inner, ast.stmt) and getattr(inner, "origin", None) is None:
                inner.origin = origin
    return nodes
