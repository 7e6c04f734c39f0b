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

from adjit.passes.ir.fold import integer_constant
from adjit.passes.analysis.parallel import is_parallel


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


def names_in(*nodes: ast.AST) -> set[str]:
    """Every name the nodes mention, read or bound."""
    return {inner.id for node in nodes for inner in ast.walk(node)
            if isinstance(inner, ast.Name)}


def statement_reads(node: ast.stmt) -> set[str]:
    """The names an assignment or augmented assignment reads, its
    augmented target (`s += e` reads `s`) and a written element's index
    included."""
    read = {inner.id for inner in ast.walk(node.value) if isinstance(inner, ast.Name)}
    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
    if isinstance(target, ast.Subscript):
        read |= {inner.id for inner in ast.walk(target.slice) if isinstance(inner, ast.Name)}
    elif isinstance(node, ast.AugAssign):
        read.add(target.id)
    return read


def remove_statements(statements: list[ast.stmt], doomed) -> None:
    """Delete, at every depth, the statements for which `doomed(node)` is
    true; a block left empty gets `pass`."""
    statements[:] = [node for node in statements if not doomed(node)]
    for node in statements:
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                remove_statements(inner, doomed)
                if not inner:
                    inner.append(ast.Pass())


def add_origin(nodes: list[ast.stmt], origin) -> list[ast.stmt]:
    for node in nodes:
        for inner in ast.walk(node):
            if isinstance(inner, ast.stmt) and getattr(inner, "origin", None) is None:
                inner.origin = origin
    return nodes


# ---- indices that are never negative ------------------------------------------------
#
# A rewrite that gives each iteration `i` of a loop "its own" element `a[i + c]`
# must know that `i + c` never goes below 0: Python (and Numba) wrap a negative
# index around, so `range(-2, n - 1)` would visit element n - 1 twice, as
# `-1` and as `n - 1`. The facts below prove `i + c >= 0` from the loop's
# range and the names it is built from.

def lowest_index(loop: ast.For) -> ast.expr | None:
    """A lower bound of the indices a `range` loop visits: `start` going up
    (any positive constant step), `stop + 1` for `range(start, stop, -1)`;
    None for other loops."""
    arguments = range_arguments(loop)
    if arguments is None:
        return None
    step = 1 if len(arguments) < 3 else integer_constant(arguments[2])
    if step is not None and step > 0:
        return arguments[0] if len(arguments) > 1 else ast.Constant(0)
    if step == -1:
        return ast.BinOp(arguments[1], ast.Add(), ast.Constant(1))
    return None


def nonnegative_names(function: ast.FunctionDef) -> set[str]:
    """Int names every binding of which is provably >= 0: a shape
    (`x.shape[0]`), `len(...)`, a non-negative number, sums and products of
    such, `max(..., e)` with one such `e`, and the index of every `range`
    loop binding it whose lowest index is such. (A name bound nowhere, a
    parameter, is not.)"""
    bindings: dict[str, list] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            bindings.setdefault(node.targets[0].id, []).append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            bindings.setdefault(node.target.id, []).append(node)
        elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            bindings.setdefault(node.target.id, []).append(node)
        elif isinstance(node, (ast.For, ast.comprehension)):
            for inner in ast.walk(node.target):
                if isinstance(inner, ast.Name):
                    bindings.setdefault(inner.id, []).append(None)
    known: set[str] = set()
    while True:
        grown = {name for name, values in bindings.items()
                 if all(_binding_nonnegative(value, known) for value in values)}
        if grown == known:
            return known
        known = grown


def never_negative(expression: ast.expr, offset: int, known: set[str]) -> bool:
    """Is `expression + offset` provably >= 0, given the names in `known`?"""
    constant = integer_constant(expression)
    if constant is not None:
        return constant + offset >= 0
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, (ast.Add, ast.Sub)):
        step = integer_constant(expression.right)
        if step is not None:
            return never_negative(expression.left,
                                  offset + (step if isinstance(expression.op, ast.Add)
                                            else -step), known)
        if isinstance(expression.op, ast.Add):
            return offset >= 0 and _nonnegative(expression.left, known) \
                and _nonnegative(expression.right, known)
        return False
    return offset >= 0 and _nonnegative(expression, known)


def _nonnegative(expression: ast.expr, known: set[str]) -> bool:
    constant = integer_constant(expression)
    if constant is not None:
        return constant >= 0
    if isinstance(expression, ast.Name):
        return expression.id in known
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, (ast.Add, ast.Mult)):
        return _nonnegative(expression.left, known) and _nonnegative(expression.right, known)
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.Sub):
        return never_negative(expression, 0, known)
    if isinstance(expression, ast.Subscript) and isinstance(expression.value, ast.Attribute) \
            and expression.value.attr == "shape":
        return True
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name):
        if expression.func.id == "len":
            return True
        if expression.func.id == "max":
            return any(_nonnegative(argument, known) for argument in expression.args)
    return False


def _binding_nonnegative(value, known: set[str]) -> bool:
    if value is None:
        return False
    if isinstance(value, ast.For):
        lowest = lowest_index(value)
        return lowest is not None and never_negative(lowest, 0, known)
    if isinstance(value, ast.AugAssign):
        return isinstance(value.op, (ast.Add, ast.Mult)) and _nonnegative(value.value, known)
    return _nonnegative(value, known)
