"""handoff: an adjoint array that only passes values from one loop to the
next becomes a local of the two loops fused.

Input: a generated reverse-mode `FunctionDef` after `ascending`, and the
rank of each array variable of the code it was generated from (adjoints
included).
Output: the same function where two consecutive *simple loops*
(`loopforms`) over the same indices,

    for i in range(1, _t20):                      # undoes u[i] = v[i]
        _b_t21 = _b_u[i]
        _b_u[i] = 0.0
        _b_v[i] += _b_t21
    for i in range(1, _t2):                       # undoes v[i] = f(u)
        ...
        _b_t3 = _b_v[i]
        _b_v[i] = 0.0
        ...uses of _b_t3...

through which an array `X` (here `_b_v`) only carries each element from
the first loop to the second, are one loop and `X` is gone:

    for i in range(1, _t20):
        _b_t21 = _b_u[i]
        _b_u[i] = 0.0
        ...
        ...uses of _b_t21...

Conditions:

* the loops step alike over the same range; its bounds, spelled with the
  names bound once at the top level of the function (`_t20` and `_t2`
  both hold `n - 1`), are equal, and its lowest index is provably >= 0
  (`loopforms.never_negative`: an index that wraps around would make two
  iterations share an element);
* no name the first loop assigns is read or assigned by the second (its
  bounds included), and no name the second assigns is read by the first;
* every array either loop writes is made fresh in this function and
  reached by no other name (`ascending`); one that both loops mention, with
  a write in either, is indexed in both only by the loop index (`[i]`, or
  `[k, i]` with `k` fixed in both loops), so that iteration i of the
  second loop touches only what iteration i of the first did;
* `X` is made by `np.zeros`/`np.zeros_like` and mentioned nowhere but
  there and in the two loops: in the first only incremented, `X[i] += e`
  (or `-=`); in the second read once, `t = X[i]`, right before
  `X[i] = 0.0`, with `t` read nowhere in the second loop before that.

Why these suffice: every iteration that touches `X[i]` ends by zeroing it
and starts with it at zero (it starts zero and no other code touches it),
so `t` is exactly the sum of the first loop's increments in iteration i.
Fusing the loops is sound because the iterations of the two that touch
the same data are the same iterations, in the same order.

Why: the adjoint of a copy between two arrays (`u[i] = v[i]`, the usual
end of a time step that keeps two buffers) was an extra pass over two
arrays per step; in the heat stencil's gradient it cost 17% of the time.
"""

from __future__ import annotations

import ast
import copy

from adjit.passes.optimize.ascending import _unaliased_fresh_arrays
from adjit.passes.analysis.loopforms import (is_comment, is_simple_loop, loops_with_ancestors,
                                    lowest_index, names_in, never_negative,
                                    nonnegative_names, range_arguments, remove_statements,
                                    statement_reads, stored_names, unit_step)

_ZEROS = {"zeros", "zeros_like"}


def hand_over_in_registers(function: ast.FunctionDef, ranks: dict[str, int]
                           ) -> ast.FunctionDef:
    while True:
        fresh = _unaliased_fresh_arrays(function, ranks)
        nonnegative = nonnegative_names(function)
        definitions = _fixed_definitions(function)
        for first, _, block in list(loops_with_ancestors(function.body)):
            second = _next_statement(block, first)
            if second is None or not _fusable(first, second, fresh, nonnegative,
                                              definitions):
                continue
            carried = _carried_arrays(function, first, second, fresh)
            if carried:
                _fuse(function, block, first, second, carried)
                break
        else:
            return function


# ---- which loops ---------------------------------------------------------------------

def _next_statement(block: list[ast.stmt], loop: ast.For) -> ast.stmt | None:
    position = next(k for k, node in enumerate(block) if node is loop)
    for node in block[position + 1:]:
        if not is_comment(node):
            return node
    return None


def _fixed_definitions(function: ast.FunctionDef) -> dict[str, ast.expr]:
    """Names bound exactly once in the function, at its top level, to an
    expression of names that are never rebound: name -> that expression."""
    # a parameter is bound once on entry: rebinding it anywhere unfixes it
    bindings: dict[str, int] = {argument.arg: 1 for argument in
                                function.args.posonlyargs + function.args.args}
    for node in ast.walk(function):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.For)) else []
        for target in targets:
            for inner in ast.walk(target):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    bindings[inner.id] = bindings.get(inner.id, 0) + 1
    fixed = {}
    for node in function.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and bindings.get(node.targets[0].id) == 1 \
                and all(bindings.get(name, 0) <= 1 for name in names_in(node.value)):
            fixed[node.targets[0].id] = node.value
    return fixed


def _spelled(node: ast.expr, definitions: dict[str, ast.expr], depth: int = 0) -> str:
    """`node` with each fixed name replaced by its definition."""
    if depth > 8:
        return ast.dump(node)

    class Expand(ast.NodeTransformer):
        def visit_Name(self, name):
            if name.id in definitions:
                return ast.parse(_spelled(definitions[name.id], definitions, depth + 1),
                                 mode="eval").body
            return name
    return ast.unparse(Expand().visit(copy.deepcopy(node)))


def _fusable(first: ast.stmt, second: ast.stmt, fresh: set[str], nonnegative: set[str],
             definitions: dict[str, ast.expr]) -> bool:
    if not (isinstance(second, ast.For) and is_simple_loop(first) and is_simple_loop(second)):
        return False
    if first.target.id != second.target.id or unit_step(first) is None \
            or unit_step(first) != unit_step(second):
        return False
    bounds = [[_spelled(argument, definitions) for argument in range_arguments(loop)]
              for loop in (first, second)]
    lowest = lowest_index(first)
    if bounds[0] != bounds[1] or lowest is None or not never_negative(lowest, 0, nonnegative):
        return False
    index = first.target.id
    if index in names_in(second.iter):            # the value the first loop left
        return False
    assigned = [stored_names(loop.body) for loop in (first, second)]
    read = [_read_names(loop.body) for loop in (first, second)]
    read[1] |= names_in(second.iter)
    if assigned[0] & (assigned[1] | read[1]) or assigned[1] & read[0]:
        return False
    written = [_written_arrays(loop.body) for loop in (first, second)]
    if not (written[0] | written[1]) <= fresh:
        return False
    indexed = [_subscripts(loop.body) for loop in (first, second)]
    for array in written[0] | written[1]:      # read whole (`X.shape`, a call)?
        if any(_bare_mentions(loop.body, array) for loop in (first, second)):
            return False
    for array in (set(indexed[0]) & set(indexed[1])) & (written[0] | written[1]):
        spellings = {ast.dump(index_node) for index_node in indexed[0][array] + indexed[1][array]}
        if len(spellings) != 1 or not _own_element(indexed[0][array][0], index,
                                                   assigned[0] | assigned[1]):
            return False
    return True


def _own_element(index_node: ast.expr, index: str, assigned: set[str]) -> bool:
    """`[i]`, or `[k, i]` with the other components fixed in both loops."""
    parts = index_node.elts if isinstance(index_node, ast.Tuple) else [index_node]
    plain = [part for part in parts if isinstance(part, ast.Name) and part.id == index]
    others = [part for part in parts if not (isinstance(part, ast.Name) and part.id == index)]
    return len(plain) == 1 and not any(
        isinstance(part, ast.Slice) or names_in(part) & (assigned | {index}) for part in others)


# ---- which arrays ----------------------------------------------------------------------

def _carried_arrays(function: ast.FunctionDef, first: ast.For, second: ast.For,
                    fresh: set[str]) -> dict[str, tuple[list[ast.AugAssign], ast.Assign,
                                                        ast.Assign]]:
    """array -> (its increments in `first`, the read and the zeroing in
    `second`) for each array that only carries elements across."""
    index = first.target.id
    inside = {id(node) for loop in (first, second) for node in ast.walk(loop)}
    found = {}
    for array in sorted(_written_arrays(first.body) & fresh):
        if not _made_zero(function, array) or _mentioned_elsewhere(function, array, inside) \
                or array in names_in(first.iter) | names_in(second.iter):
            continue
        increments = [node for node in first.body if _mentions(node, array)]
        if not all(isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub))
                   and _is_element(node.target, array, index)
                   and not _mentions(node.value, array) for node in increments):
            continue
        body = [node for node in second.body if not is_comment(node)]
        touching = [node for node in body if _mentions(node, array)]
        if len(touching) != 2:
            continue
        take, zeroing = touching
        position = body.index(take)
        if not (isinstance(take, ast.Assign) and isinstance(take.targets[0], ast.Name)
                and _is_element(take.value, array, index)
                and position + 1 < len(body) and body[position + 1] is zeroing
                and isinstance(zeroing, ast.Assign)
                and _is_element(zeroing.targets[0], array, index)
                and isinstance(zeroing.value, ast.Constant) and zeroing.value.value == 0.0):
            continue
        received = take.targets[0].id
        if received in _read_names(body[:position]) or \
                sum(received in stored_names([node]) for node in body) != 1 or \
                _mentioned_elsewhere(function, received, inside | {id(take.targets[0])}):
            continue
        found[array] = (increments, take, zeroing)
    return found


def _made_zero(function: ast.FunctionDef, array: str) -> bool:
    values = [node.value for node in ast.walk(function) if isinstance(node, ast.Assign)
              and isinstance(node.targets[0], ast.Name) and node.targets[0].id == array]
    return bool(values) and all(
        isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
        and isinstance(value.func.value, ast.Name) and value.func.value.id == "np"
        and value.func.attr in _ZEROS for value in values)


def _mentioned_elsewhere(function: ast.FunctionDef, array: str, inside: set[int]) -> bool:
    """Is `array` named anywhere but in its bindings and the two loops?"""
    bindings = {id(node.targets[0]) for node in ast.walk(function)
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == array}
    return any(isinstance(node, ast.Name) and node.id == array and id(node) not in inside
               and id(node) not in bindings for node in ast.walk(function))


def _is_element(node: ast.expr, array: str, index: str) -> bool:
    return isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
        and node.value.id == array and isinstance(node.slice, ast.Name) \
        and node.slice.id == index


# ---- the rewrite ----------------------------------------------------------------------

def _fuse(function: ast.FunctionDef, block: list[ast.stmt], first: ast.For,
          second: ast.For, carried) -> None:
    renames: dict[str, str] = {}
    dropped: set[int] = set()
    for array, (increments, take, zeroing) in carried.items():
        received = take.targets[0].id
        dropped |= {id(take), id(zeroing)}
        single = increments[0] if len(increments) == 1 else None
        if single is not None and isinstance(single.op, ast.Add) \
                and isinstance(single.value, ast.Name) \
                and _bound_once_before(first.body, single.value.id, single):
            renames[received] = single.value.id          # `t` is that temporary
            dropped.add(id(single))
            continue
        for position, increment in enumerate(increments):
            value = increment.value
            if position == 0:
                if isinstance(increment.op, ast.Sub):
                    value = ast.UnaryOp(ast.USub(), value)
                replacement = ast.Assign([ast.Name(received, ast.Store())], value)
            else:
                replacement = ast.AugAssign(ast.Name(received, ast.Store()), increment.op,
                                            value)
            ast.copy_location(replacement, increment)
            replacement.origin = getattr(increment, "origin", None)
            first.body[first.body.index(increment)] = replacement
    start, end = _position(block, first), _position(block, second)
    between = block[start + 1:end]                    # comments
    tail = [node for node in second.body if id(node) not in dropped]
    for node in tail:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id in renames \
                    and isinstance(inner.ctx, ast.Load):
                inner.id = renames[inner.id]
    first.body = [node for node in first.body if id(node) not in dropped] + between + tail
    for attribute in ("private_arrays",):
        if hasattr(first, attribute) or hasattr(second, attribute):
            setattr(first, attribute, getattr(first, attribute, set())
                    | getattr(second, attribute, set()))
    del block[start + 1:end + 1]
    remove_statements(function.body, lambda node: isinstance(node, ast.Assign)
                      and isinstance(node.targets[0], ast.Name)
                      and node.targets[0].id in carried)


def _bound_once_before(body: list[ast.stmt], name: str, node: ast.stmt) -> bool:
    """Is `name` bound once in `body`, before `node` (this iteration's value,
    not one carried from the previous iteration)?"""
    binders = [k for k, statement in enumerate(body) if name in stored_names([statement])]
    return len(binders) == 1 and binders[0] < body.index(node)


def _position(block: list[ast.stmt], node: ast.stmt) -> int:
    return next(k for k, candidate in enumerate(block) if candidate is node)


# ---- what the statements touch -----------------------------------------------------



def _read_names(statements: list[ast.stmt]) -> set[str]:
    """Every name a statement reads, an augmented target included."""
    return {name for node in statements if not is_comment(node)
            for name in statement_reads(node)}


def _written_arrays(statements: list[ast.stmt]) -> set[str]:
    written = set()
    for node in statements:
        if is_comment(node):
            continue
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            written.add(target.value.id)
    return written


def _subscripts(statements: list[ast.stmt]) -> dict[str, list[ast.expr]]:
    found: dict[str, list[ast.expr]] = {}
    for node in statements:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Subscript) and isinstance(inner.value, ast.Name):
                found.setdefault(inner.value.id, []).append(inner.slice)
    return found


def _bare_mentions(statements: list[ast.stmt], array: str) -> bool:
    """Is `array` named other than as the array of an element access?"""
    indexed = {id(inner.value) for node in statements for inner in ast.walk(node)
               if isinstance(inner, ast.Subscript)}
    return any(isinstance(inner, ast.Name) and inner.id == array and id(inner) not in indexed
               for node in statements for inner in ast.walk(node))


def _mentions(node: ast.AST, name: str) -> bool:
    return name in names_in(node)

