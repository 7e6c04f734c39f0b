"""dependence: which element writes can change an element a read has read.

Input: a block of ANF statements (a function's body, or the instrumented
body the reverse transform works on).
Output: `Accesses`, whose one question, `overwrites(read, write)`, says
whether the element write `write` may run *after* the element read `read`
and store into the element it read. "No" is a proof; "yes" may be a
false alarm.

Every index is read as affine in the loop indices: each dimension is a
symbol plus a constant (`a[i - 1, j]`, `s[_t8]` with `_t8 = i - 1`
assigned once in the innermost loop around the access that assigns it,
earlier in the same iteration, not under an `if`, whatever code outside
that loop assigns it), where
a symbol is the index of a loop around the access, a name that holds one
value through the call (a parameter never assigned, a name assigned once
outside every loop), or nothing (a constant). A dimension of any other
form (`2 * i`, a slice, an index read from an array) may be any element,
and so may an array used whole (`np.sum(s)`).

Two accesses may touch one element unless some dimension proves them apart
(two different constants, or one symbol with two offsets that cannot meet).
When they may, the write runs after the read in the order of execution
unless the loops around both place it before: walking the loops around
both from the outermost, the first loop whose iteration the element fixes
at a distance other than 0 decides (a later iteration: after; an earlier
one: before), a loop whose iteration it does not fix, or a `while` loop,
lets the write run in a later iteration; when every one is fixed at the
same iteration, the order of the statements decides.

Array aliasing is not seen here: the callers ask only about arrays no
other name reaches (the array model gives each array one name; views are
composed into their base by `view_writes`).

Queried by the reverse transform (`reverse/arrays.py`: which element writes
must record the element they replace; `reverse/recompute.py`: which loops
may read an array they write again in the reverse sweep).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# A symbol: ("loop", id of the loop) for a loop index, ("name", name) for a
# name fixed through the call, or None for a constant.
Symbol = tuple[str, object] | None


@dataclass(frozen=True)
class Affine:
    symbol: Symbol
    offset: int


@dataclass
class Access:
    array: str
    node: ast.stmt
    order: int                          # position in the order of the source
    loops: tuple[ast.stmt, ...]         # the loops around it, outermost first
    index: tuple[Affine | None, ...] | None    # None: any element


class Accesses:
    """The element reads and writes of `statements`, by statement."""

    def __init__(self, statements: list[ast.stmt], parameters=()):
        self.parameters = set(parameters)
        self.reads: dict[int, list[Access]] = {}
        self.writes: dict[int, Access] = {}
        # name -> (assignment, the loops around it, under an `if` there, order)
        self._assigned: dict[str, list[tuple[ast.stmt, tuple[ast.stmt, ...], bool, int]]] = {}
        self._loop_targets: dict[str, int] = {}
        self._order = 0
        self._pending: list[tuple[ast.stmt, tuple[ast.stmt, ...], int]] = []
        self._collect(statements, (), False)
        for node, loops, order in self._pending:
            self._record(node, loops, order)
        del self._pending

    # -- the one question -------------------------------------------------
    def overwrites(self, read: Access, write: Access) -> bool:
        """May `write` run after `read` and store into an element it read?"""
        if read.array != write.array:
            return False
        common = _common_prefix(read.loops, write.loops)
        distance: dict[int, int] = {}
        if read.index is not None and write.index is not None \
                and len(read.index) == len(write.index):
            common_ids = {id(loop) for loop in common}
            for first, second in zip(read.index, write.index):
                if first is None or second is None or first.symbol != second.symbol:
                    continue
                gap = first.offset - second.offset
                if first.symbol is None or first.symbol[0] == "name":
                    if gap:
                        return False            # two fixed elements apart
                elif first.symbol[1] in common_ids:
                    # the write's iteration of that loop is the read's + gap
                    if distance.setdefault(first.symbol[1], gap) != gap:
                        return False
        for loop in common:
            gap = distance.get(id(loop))
            if gap is None:
                return True                     # a later iteration may
            if gap == 0:
                continue
            step = _step(loop)
            if step is None:
                return True
            return gap * step > 0
        return write.order > read.order

    def read_accesses(self, node: ast.stmt) -> list[Access]:
        return self.reads.get(id(node), [])

    def write_access(self, node: ast.stmt) -> Access | None:
        return self.writes.get(id(node))

    # -- collecting -------------------------------------------------------
    def _collect(self, statements: list[ast.stmt], loops: tuple[ast.stmt, ...],
                 guarded: bool) -> None:
        """`guarded`: under an `if` inside the innermost of `loops` (or
        outside every loop), where an assignment may not run."""
        for node in statements:
            self._order += 1
            order = self._order
            if isinstance(node, ast.Assign):
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    self._assigned.setdefault(target.id, []).append(
                        (node, loops, guarded, order))
                self._pending.append((node, loops, order))
            elif isinstance(node, ast.If):
                self._pending.append((node, loops, order))
                self._collect(node.body, loops, True)
                self._collect(node.orelse, loops, True)
            elif isinstance(node, (ast.For, ast.While)):
                self._pending.append((node, loops, order))
                if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                    name = node.target.id
                    self._loop_targets[name] = self._loop_targets.get(name, 0) + 1
                self._collect(node.body, loops + (node,), False)
            else:
                self._pending.append((node, loops, order))

    def _record(self, node: ast.stmt, loops, order: int) -> None:
        """The accesses of `node` itself (not of the blocks inside it)."""
        if isinstance(node, ast.Assign):
            target, parts = node.targets[0], [node.value]
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                self.writes[id(node)] = Access(target.value.id, node, order, loops,
                                               self._index(target.slice, loops, order))
                parts.append(target.slice)
        elif isinstance(node, ast.If):
            parts = [node.test]
        elif isinstance(node, ast.For):
            parts = [node.iter]
        elif isinstance(node, ast.While):
            parts = [node.test]
        else:
            parts = [node]
        found = []
        for part in parts:
            for array, index in _array_uses(part):
                found.append(Access(array, node, order, loops,
                                    None if index is None
                                    else self._index(index, loops, order)))
        if found:
            self.reads[id(node)] = found

    def _index(self, index: ast.expr, loops, order: int):
        dimensions = index.elts if isinstance(index, ast.Tuple) else [index]
        return tuple(self._affine(dimension, loops, order, 0) for dimension in dimensions)

    def _affine(self, expression: ast.expr, loops, order: int, depth: int) -> Affine | None:
        if depth > 20:
            return None
        if isinstance(expression, ast.Constant) and type(expression.value) is int:
            return Affine(None, expression.value)
        if isinstance(expression, ast.UnaryOp) and isinstance(expression.op, ast.USub) \
                and isinstance(expression.operand, ast.Constant) \
                and type(expression.operand.value) is int:
            return Affine(None, -expression.operand.value)
        if isinstance(expression, ast.BinOp) and isinstance(expression.op, (ast.Add, ast.Sub)):
            left = self._affine(expression.left, loops, order, depth + 1)
            right = self._affine(expression.right, loops, order, depth + 1)
            if left is None or right is None:
                return None
            sign = 1 if isinstance(expression.op, ast.Add) else -1
            if right.symbol is None:
                return Affine(left.symbol, left.offset + sign * right.offset)
            if left.symbol is None and sign == 1:
                return Affine(right.symbol, left.offset + right.offset)
            return None
        if isinstance(expression, ast.Name):
            return self._name(expression.id, loops, order, depth)
        return None

    def _name(self, name: str, loops, order: int, depth: int) -> Affine | None:
        assignments = self._assigned.get(name, [])
        for loop in reversed(loops):
            if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) \
                    and loop.target.id == name:
                # the index of that loop, if nothing else assigns it
                return None if assignments else Affine(("loop", id(loop)), 0)
        if self._loop_targets.get(name):
            return None
        if not assignments:
            return Affine(("name", name), 0) if name in self.parameters else None
        for depth in range(len(loops), 0, -1):
            # the assignments inside the innermost loop around the read that
            # has any: those before or after that loop never reach it
            inside = [entry for entry in assignments
                      if len(entry[1]) >= depth and entry[1][depth - 1] is loops[depth - 1]]
            if inside:
                assignments = inside
                break
        if len(assignments) != 1:
            return None
        definition, where, guarded, defined_at = assignments[0]
        if guarded or defined_at >= order \
                or len(where) > len(loops) or any(a is not b for a, b in zip(loops, where)):
            return None
        if not where:
            # assigned once, before, outside every loop: fixed from then on
            return Affine(("name", name), 0)
        # assigned once in the loops around both, earlier in the same
        # iteration: its value in terms of their indices
        return self._affine(definition.value, where, defined_at, depth + 1)


def _array_uses(expression: ast.AST):
    """(array, index or None) for each name read in `expression`: an element
    read `a[...]` with its index, any other name with None (the caller
    keeps those that are arrays)."""
    inside: set[int] = set()
    for node in ast.walk(expression):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and isinstance(node.ctx, ast.Load):
            inside.add(id(node.value))
            yield node.value.id, node.slice
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.attr in ("shape", "ndim", "size", "dtype"):
            inside.add(id(node.value))        # measured, not read
        elif isinstance(node, ast.Call):
            for inner in ast.walk(node.func):
                inside.add(id(inner))
            if _measures(node.func) and node.args and isinstance(node.args[0], ast.Name):
                inside.add(id(node.args[0]))  # `np.zeros_like(a)`, `len(a)`: the shape
    for node in ast.walk(expression):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                and id(node) not in inside:
            yield node.id, None


_MEASURING = {"len", "zeros_like", "empty_like", "ones_like", "full_like"}


def _measures(function: ast.expr) -> bool:
    """Does a call of `function` read only its first argument's shape?"""
    name = function.attr if isinstance(function, ast.Attribute) else \
        function.id if isinstance(function, ast.Name) else None
    return name in _MEASURING


def _common_prefix(first, second) -> tuple[ast.stmt, ...]:
    common = []
    for a, b in zip(first, second):
        if a is not b:
            break
        common.append(a)
    return tuple(common)


def _step(loop: ast.stmt) -> int | None:
    """The constant step of a `for ... in range(...)` loop, or None."""
    if not isinstance(loop, ast.For) or not isinstance(loop.iter, ast.Call) \
            or not isinstance(loop.iter.func, ast.Name) or loop.iter.func.id != "range":
        return None
    arguments = loop.iter.args
    if len(arguments) < 3:
        return 1
    step = arguments[2]
    if isinstance(step, ast.Constant) and type(step.value) is int and step.value:
        return step.value
    if isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub) \
            and isinstance(step.operand, ast.Constant) and type(step.operand.value) is int \
            and step.operand.value:
        return -step.operand.value
    return None
