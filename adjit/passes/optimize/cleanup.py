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
* copies of a variable to itself are gone, and an adjoint that is a copy
  of another name (`_b_t4 = _b_t3`) is replaced by that name where it is
  read later in the same block (the copy then dies);
* increments of one adjoint element are summed, and an adjoint element
  read, reset and incremented by what was read is left as it was
  (`optimize/increments.py`, which `optimize` calls last).

Only adjoint variables are constant-propagated: the primal code keeps the
shape the user wrote. Statements are pure (tape writes are subscript stores,
never removed), so removing a dead assignment never changes a result - but
for random draws (`rules.random.is_draw`), which stay, so that every later
draw keeps its value.
"""

from __future__ import annotations

import ast
import copy

from adjit.passes.ir.fold import constant_value, fold
from adjit.passes.analysis.statements import names_in
from adjit.passes.optimize.increments import coalesce_block, keep_unchanged_elements
from adjit.rules.random import is_draw


def optimize(function: ast.FunctionDef, adjoints: set[str]) -> ast.FunctionDef:
    for _ in range(3):
        before = ast.dump(function)
        function.body = _Constants(adjoints).block(function.body, {}, rewrite=True)
        _merge_same_tests(function.body)
        _propagate_copies(function.body, adjoints)
        # names that write through to another array (the adjoint of a view)
        # are live to the end
        function.body = _remove_dead(function.body, set(getattr(
            function, "writes_through", ())), _Scratch(getattr(function, "scratch_arrays", ())))[0] \
            or [ast.Pass()]
        if ast.dump(function) == before:
            break
    aliased = set(getattr(function, "writes_through", ()))
    function.body = coalesce_block(function.body, adjoints, aliased)
    keep_unchanged_elements(function.body, adjoints, aliased)
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
        if not known or not names_in(expression).intersection(known):
            # nothing to substitute: folding in place keeps the value, so the
            # expression need not be copied (in a loop's trial rounds too)
            return fold(expression)
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
                self.block(node.body, end, rewrite=False)    # (changes nothing)
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
        if known:
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


# ---- ifs on one test ------------------------------------------------------------

def _merge_same_tests(statements: list) -> None:
    """`if c: A` directly followed by `if c: B` (the same name `c`, which
    `A` does not assign; `else` parts likewise) becomes `if c: A; B`. A
    recomputed branch and its adjoint then share one block, so that a value
    the first assigns and the second reads is seen as assigned first (it is
    no longer live into the block, nor its assignment before it)."""
    merged = []
    for node in statements:
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                _merge_same_tests(inner)
        previous = merged[-1] if merged else None
        if isinstance(node, ast.If) and isinstance(previous, ast.If) \
                and isinstance(node.test, ast.Name) and isinstance(previous.test, ast.Name) \
                and node.test.id == previous.test.id \
                and node.test.id not in _stores(previous):
            previous.body = _without_pass(previous.body + node.body)
            previous.orelse = _without_pass(previous.orelse + node.orelse, keep_empty=True)
            continue
        merged.append(node)
    statements[:] = merged


def _without_pass(statements: list, keep_empty: bool = False) -> list:
    kept = [node for node in statements if not isinstance(node, ast.Pass)]
    return kept if kept or keep_empty else [ast.Pass()]


# ---- copies ---------------------------------------------------------------------

def _propagate_copies(statements: list, adjoints: set[str]) -> None:
    """In each block: after `_b_a = b` (a name), read `b` for `_b_a` until
    either is assigned again. Compound statements get the substitution in
    their header, and their own blocks are treated alike; a copy that a
    compound statement may break (it assigns either name) ends there."""
    copies: dict[str, str] = {}
    for node in statements:
        if copies:
            _substitute_names(node, copies)
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                _propagate_copies(inner, adjoints)
        if copies:
            assigned = _stores(node)
            for target, source in list(copies.items()):
                if target in assigned or source in assigned:
                    del copies[target]
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in adjoints and isinstance(node.value, ast.Name) \
                and node.value.id != node.targets[0].id:
            copies[node.targets[0].id] = node.value.id


def _substitute_names(node: ast.stmt, copies: dict[str, str]) -> None:
    """Replace reads of `copies`' keys in `node`'s own expressions (not in
    nested blocks)."""
    # (a return keeps its names: the gradients read as `_b_x`)
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)):
        parts = [node.value] if node.value is not None else []
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Subscript):
            parts.append(target)
    elif isinstance(node, (ast.If, ast.While)):
        parts = [node.test]
    elif isinstance(node, ast.For):
        parts = [node.iter]
    else:
        parts = []
    for part in parts:
        for inner in ast.walk(part):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) \
                    and inner.id in copies:
                inner.id = copies[inner.id]


# ---- dead stores ----------------------------------------------------------------
#
# Liveness runs over names, plus, for *scratch* arrays (arrays private to the
# iterations of a loop, see `private`), over their contents, spelled
# `a[]`: an element store into a scratch array is dead when no read of its
# contents follows. A loop marked with `private_arrays` refills those arrays
# in every iteration before reading them, so their contents are never live
# across its iterations, nor before it. (The name `a` itself, the binding,
# stays live wherever an element is read or written.)

def _contents(name: str) -> str:
    return name + "[]"


_SHAPE_ONLY = {"zeros_like", "empty_like", "ones_like"}


class _Scratch(frozenset):
    """The scratch arrays, and what `_used` found for each expression in
    this round of dead-store removal (a loop's fixpoint asks again for the
    same expressions; the removal changes statements, never expressions)."""

    def __new__(cls, names=()):
        made = super().__new__(cls, names)
        made.memo = {}
        return made


def _used(node: ast.AST, scratch: set[str]) -> set[str]:
    memo = getattr(scratch, "memo", None)
    if memo is None:
        return _reads(node, scratch)
    entry = memo.get(id(node))
    if entry is None or entry[0] is not node:       # (an id outlives its node)
        entry = memo[id(node)] = (node, _reads(node, scratch))
    return entry[1]


def _reads(node: ast.AST, scratch: set[str]) -> set[str]:
    """Names `node` reads, and the contents of the scratch arrays it reads
    (`a.shape` and `np.zeros_like(a)` read no contents)."""
    names = names_in(node)
    if not names & scratch:
        return names
    shape_only = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Attribute) and inner.attr == "shape":
            shape_only.add(id(inner.value))
        elif isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) \
                and inner.func.attr in _SHAPE_ONLY:
            shape_only.update(id(argument) for argument in inner.args)
    contents = {inner.id for inner in ast.walk(node)
                if isinstance(inner, ast.Name) and inner.id in scratch
                and id(inner) not in shape_only}
    return names | {_contents(name) for name in contents}


def _remove_dead(statements: list, live_after: set[str], scratch: set[str] = frozenset(),
                 rewrite: bool = True) -> tuple[list, set[str]]:
    """Backward liveness; returns the kept statements and what is live before.
    With `rewrite` false the statements are left as they are (a loop's
    fixpoint asks only what is live)."""
    live = set(live_after)
    kept = []
    for node in reversed(statements):
        node, live = _dead_statement(node, live, scratch, rewrite)
        if node is not None:
            kept.append(node)
    kept.reverse()
    return kept, live


def _dead_statement(node, live: set[str], scratch: set[str], rewrite: bool = True):
    if isinstance(node, (ast.Assign, ast.AugAssign)):
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if isinstance(target, ast.Name):
            if target.id not in live and not is_draw(node.value):
                # (a draw stays, unused: the draws after it keep their values)
                return None, live
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) \
                    and node.value.id == target.id:
                return None, live
            reads = _used(node.value, scratch)
            if isinstance(node, ast.AugAssign):
                return node, live | reads
            return node, (live - {target.id}) | reads
        base = target.value.id if isinstance(target, ast.Subscript) \
            and isinstance(target.value, ast.Name) else None
        if base in scratch:
            if _contents(base) not in live:
                return None, live
            reads = _used(node.value, scratch) | _used(target.slice, scratch) | {base}
            if isinstance(node, ast.AugAssign):
                reads.add(_contents(base))
            return node, live | reads
        return node, live | _used(node.value, scratch) | _used(target, scratch)
    if isinstance(node, ast.If):
        body, live_body = _remove_dead(node.body, live, scratch, rewrite)
        orelse, live_else = _remove_dead(node.orelse, live, scratch, rewrite)
        if not body and not orelse:
            return None, live
        if not rewrite:
            return node, live_body | live_else | _used(node.test, scratch)
        if not body:
            node.test = ast.UnaryOp(ast.Not(), node.test)
            body, orelse = orelse, []
        node.body, node.orelse = body, orelse
        return node, live_body | live_else | _used(node.test, scratch)
    if isinstance(node, (ast.For, ast.While)):
        memo = getattr(scratch, "memo", None)
        if rewrite or memo is None:
            return _dead_loop(node, live, scratch, rewrite)
        # an inner loop is asked again at every round of each enclosing
        # loop's fixpoint, mostly with the same live set
        key = ("loop", id(node), frozenset(live))
        entry = memo.get(key)
        if entry is None or entry[0] is not node:
            entry = memo[key] = (node, *_dead_loop(node, live, scratch, rewrite))
        return entry[1], entry[2]
    if isinstance(node, (ast.Return, ast.Expr)):    # Expr: a helper that updates an array
        return node, live | _used(node.value, scratch)
    if isinstance(node, ast.Pass):
        return None, live
    return node, live   # break


def _dead_loop(node, live: set[str], scratch: set[str], rewrite: bool):
    """A loop: its fixpoint of what is live at its head, then its body."""
    index = {node.target.id} if isinstance(node, ast.For) else set()
    header = _used(node.iter if isinstance(node, ast.For) else node.test, scratch)
    # (read after the loop after all: then not treated as refilled)
    refilled = {_contents(name) for name in getattr(node, "private_arrays", ())} - live
    head = set(live)
    while True:
        _, live_in = _remove_dead(node.body, head, scratch, rewrite=False)
        grown = head | ((live_in - index) - refilled) \
            | (header if isinstance(node, ast.While) else set())
        if grown == head:
            break
        head = grown
    body, live_in = _remove_dead(node.body, head, scratch, rewrite)
    body = [s for s in body if not isinstance(s, ast.Pass)]
    # a loop whose body is dead still sets its index, if that is read after
    if isinstance(node, ast.For) and not _has_effect(body) and not (index & live):
        return None, live
    if rewrite:
        node.body = body or [ast.Pass()]
    return node, (head - index) | header


def _has_effect(body) -> bool:
    return any(not isinstance(s, (ast.Pass,)) for s in body)
