"""increments: adjoint increments of one element, summed or cancelled.

Input: a generated `FunctionDef`'s statements (after `cleanup`'s constant
folding, copy propagation and dead-store removal) and the names of its
adjoint variables; `aliased`, the names that write through to another
array (views' adjoints), which stop every run.
Output: the same statements where

* increments of one adjoint (or adjoint element) in a straight run of
  statements (`_b_u[i] += a` ... `_b_u[i] += b`) are summed into one
  (`_b_u[i] += a + b`) where nothing between them reads or writes that
  array or rebinds the names involved: one read-modify-write of memory
  instead of several, which Numba cannot merge itself since it cannot tell
  that the arrays do not alias (`coalesce_block`);
* an adjoint element read, reset and then incremented by what was read
  (`_b_t = _b_y[i]; _b_y[i] = 0.0; ...; _b_y[i] += _b_t`, the adjoint of
  the primal's `y[i] = y[i] + e`) is left as it was: the reset and that
  term of the increment go, where nothing in between touches the array or
  rebinds the names involved. In a loop over `j` accumulating `y[i]`, the
  adjoint element is then only read (`keep_unchanged_elements`).
"""

from __future__ import annotations

import ast

from adjit.passes.analysis.statements import names_in
from adjit.passes.ir.fold import constant_value


def _stores(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


# ---- coalesced increments ---------------------------------------------------------

class _Group:
    """The increments of one adjoint element, `array[index] += value`, seen so far."""

    def __init__(self, array: str, index_names: set[str]):
        self.array = array
        self.index_names = index_names
        self.positions: list[int] = []
        self.value_names: set[str] = set()


def coalesce_block(statements: list, adjoints: set[str], aliased: set[str]) -> list:
    """Sum the increments of one adjoint element within `statements` (and,
    recursively, within every nested block). The earlier increments move
    down to the last one, so nothing in between may write what they read
    (a name, or an element of an array), or touch the array they add to;
    `aliased` names (views that write through to another array) stop every
    run."""
    for node in statements:
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(node, field, coalesce_block(inner, adjoints, aliased))
    groups: dict[str, _Group] = {}         # ast.dump of the element -> its increments
    replaced: dict[int, ast.stmt | None] = {}

    def close(key: str) -> None:
        positions = groups.pop(key).positions
        if len(positions) < 2:
            return
        members = [statements[p] for p in positions]
        total = members[0].value
        for member in members[1:]:
            total = ast.BinOp(total, ast.Add(), member.value)
        summed = ast.AugAssign(members[-1].target, ast.Add(), total)
        summed.origin = getattr(members[-1], "origin", None)
        replaced.update(dict.fromkeys(positions[:-1]))
        replaced[positions[-1]] = summed

    for position, node in enumerate(statements):
        increment = _element_increment(node, adjoints)
        stored = _stores(node) | _element_stores(node)
        if any(isinstance(inner, ast.Expr) for inner in ast.walk(node)):
            stored |= names_in(node)        # a helper call may update its arguments
        touched = stored | names_in(node)
        if increment is not None:
            # another element of the same array may be summed across it, but
            # what reads that array must not move across it
            touched = (stored - {increment[1]}) | names_in(node.value)
        for key, group in list(groups.items()):
            if group.array in touched or (group.index_names | group.value_names) & stored \
                    or (touched | stored) & aliased:
                close(key)
        if increment is not None:
            key, array, index_names = increment
            group = groups.setdefault(key, _Group(array, index_names))
            group.positions.append(position)
            group.value_names |= names_in(node.value)
    for key in list(groups):
        close(key)
    return [replaced.get(p, node) for p, node in enumerate(statements)
            if replaced.get(p, node) is not None]


def _element_stores(node) -> set[str]:
    """The arrays whose elements `node` (with its nested blocks) writes."""
    return {target.value.id for inner in ast.walk(node)
            if isinstance(inner, (ast.Assign, ast.AugAssign))
            for target in (inner.targets if isinstance(inner, ast.Assign) else [inner.target])
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)}


def _element_increment(node, adjoints: set[str]):
    """`(key, array, index names)` for `array[index] += value` into an
    adjoint array whose index is made of names and constants and whose value
    does not read the array, or for `adjoint += value` (no index); None for
    any other statement."""
    if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) \
            and isinstance(node.target, ast.Name) and node.target.id in adjoints \
            and node.target.id not in names_in(node.value):
        return node.target.id, node.target.id, set()
    if not (isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add)
            and isinstance(node.target, ast.Subscript)
            and isinstance(node.target.value, ast.Name)
            and node.target.value.id in adjoints):
        return None
    array = node.target.value.id
    index = node.target.slice
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    if not all(isinstance(part, (ast.Name, ast.Constant)) for part in parts) \
            or array in names_in(node.value):
        return None
    return ast.dump(node.target), array, names_in(index)


# ---- elements reset and restored ---------------------------------------------------

def keep_unchanged_elements(statements: list, adjoints: set[str], aliased: set[str]) -> None:
    """In every block: `t = a[k]; ...; a[k] = 0.0; ...; a[k] += t (+ rest)`
    with `a` an adjoint array -> `t = a[k]; ...; a[k] += rest`, where the
    statements in between are simple, never rebind `t` or the names of `k`,
    and touch `a` (or a view that writes through) only by reads before the
    reset."""
    for node in statements:
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                keep_unchanged_elements(inner, adjoints, aliased)
    position = 0
    while position < len(statements):
        read = statements[position]
        if isinstance(read, ast.Assign) and isinstance(read.targets[0], ast.Name) \
                and isinstance(read.value, ast.Subscript) \
                and isinstance(read.value.value, ast.Name) and read.value.value.id in adjoints:
            _cancel_reset(statements, position, aliased)
        position += 1


def _cancel_reset(statements: list, position: int, aliased: set[str]) -> None:
    read = statements[position]
    copy_name, array = read.targets[0].id, read.value.value.id
    if array in aliased:
        return
    element = ast.dump(read.value.slice)
    fixed = names_in(read.value.slice) | {copy_name}
    reset = None
    for later in range(position + 1, len(statements)):
        node = statements[later]
        if getattr(node, "is_comment", False):
            continue
        if not isinstance(node, (ast.Assign, ast.AugAssign)) or _stores(node) & fixed \
                or names_in(node) & aliased:
            return
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        on_element = isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
            and target.value.id == array and ast.dump(target.slice) == element
        if reset is None:
            if on_element and isinstance(node, ast.Assign) and \
                    constant_value(node.value) == 0.0 and not names_in(node.value):
                reset = later
            elif _element_stores(node) & {array}:
                return
            continue
        if on_element and isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            rest = _without_term(node.value, copy_name)
            if rest is None:
                return
            if rest is False:
                statements[later] = None
            else:
                node.value = rest
            statements[reset] = None
            statements[:] = [s for s in statements if s is not None]
            return
        if array in names_in(node):
            return


def _without_term(value: ast.expr, name: str):
    """`value`, a sum, without one term that is the name `name`: the rest, or
    False when nothing is left, or None when there is no such term."""
    terms = []

    def flatten(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            flatten(node.left)
            flatten(node.right)
        else:
            terms.append(node)
    flatten(value)
    for k, term in enumerate(terms):
        if isinstance(term, ast.Name) and term.id == name:
            rest = terms[:k] + terms[k + 1:]
            if not rest:
                return False
            total = rest[0]
            for other in rest[1:]:
                total = ast.BinOp(total, ast.Add(), other)
            return total
    return None
