"""ascending: reversed loops whose iterations are independent run upwards.

Input: a generated reverse-mode `FunctionDef`, after `optimize` and the
vectorising rewrites (`accumulate`, `scatter`, `lanes`), and the rank of
each array variable of the code it was generated from (adjoints included).
Output: the same function where each *simple loop* (`loopforms`) of the
reverse sweep that steps down by one,

    for j in range(d - 1, -1, -1):
        _t13 = qdiags[ik, j]
        _b_t12 = _b_qxcentered[j]
        _b_qxcentered[j] = 0.0
        _b_xcentered[j] += _b_t12 * _t13

runs over the same indices upwards (`for j in range(d):`), when it is
inside another loop (where it runs often enough to matter) and the order
of its iterations cannot:

* every name it assigns is a generated temporary (`_t7`, `_b_t7`) assigned
  before anything in the body reads it, or a sum (`_b_top -= _b_t32`) that
  nothing else in the body reads or assigns;
* every array it writes is made fresh in this function (`np.zeros_like`,
  `np.empty`, `rt.grow`...) and no other name is ever bound to it or to a
  part of it; it is either only incremented (`a[...] += e`, read nowhere
  else in the body: the increments commute), or read and written at one
  index only, the same in every access, that moves with the loop index
  (`a[j]`, `a[ik, j]`, `a[_t14]` with `_t14 = j + 1` bound in the body)
  and is provably never negative (`loopforms.never_negative`: a negative
  index wraps around onto another iteration's element), so that each
  iteration has elements of its own;
* no read of the loop index after the loop can see its last value;
* no tape is touched (a pop steps a top down: a name assigned and read).

Why: the reverse sweep walks loops backwards to undo the primal's order
where iterations depend on each other; where they do not, the descending
form only costs - Numba cannot prove a descending index non-negative, so
every access keeps its wrap-around select, and LLVM vectorises descending
loops with reversing shuffles. In ADBench's GMM (d = 10) the short loops
over a component's coordinates ran 7-10% faster upwards. (Flipping the
one loop of the heat stencil's gradient that runs once, over the final
state, made the whole gradient 4% slower: LLVM's choices elsewhere in the
function moved. Such loops are left as they are; docs/architecture.md#vectorisable-reverse-sweeps.)

What changes is only the order of the floating-point additions into a sum
or an incremented element (as in `scatter` and `lanes`).
"""

from __future__ import annotations

import ast
import re

from adjit.passes.analysis.loopforms import (is_comment, is_simple_loop, loops_with_ancestors,
                                    lowest_index, names_in, never_negative,
                                    nonnegative_names, range_arguments, stored_names)
from adjit.passes.ir.fold import integer_constant

_TEMPORARY = re.compile(r"_(b_)?t\d+$")
_CREATING = {"zeros_like", "zeros", "empty", "empty_like", "ones", "ones_like", "copy",
             "full", "full_like"}
# calls that read an array and return a new one (or a number): no alias
_READING = _CREATING | {"sum"}


def ascend_independent_loops(function: ast.FunctionDef,
                             ranks: dict[str, int]) -> ast.FunctionDef:
    fresh = _unaliased_fresh_arrays(function, ranks)
    nonnegative = nonnegative_names(function)
    reverse_sweep = function.body[_reverse_start(function):]
    for loop, ancestors, _ in list(loops_with_ancestors(reverse_sweep)):
        if not ancestors or not is_simple_loop(loop):
            continue                 # (a loop that runs once has nothing to gain)
        bounds = _ascending_bounds(loop)
        if bounds is None or not _independent(loop, fresh, nonnegative) \
                or _index_seen_after(function, loop):
            continue
        first, stop = bounds
        loop.iter = ast.Call(ast.Name("range", ast.Load()),
                             [stop] if integer_constant(first) == 0 else [first, stop], [])
    return function


def _reverse_start(function: ast.FunctionDef) -> int:
    """Where the reverse sweep's section comment is (the function's start
    without one)."""
    for position, node in enumerate(function.body):
        if is_comment(node) and node.value.value.startswith("reverse sweep"):
            return position
    return 0


def _ascending_bounds(loop: ast.For) -> tuple[ast.expr, ast.expr] | None:
    """`range(a, b, -1)` visits b + 1 ... a: (b + 1, a + 1)."""
    arguments = range_arguments(loop)
    if arguments is None or len(arguments) != 3 or integer_constant(arguments[2]) != -1:
        return None
    start, stop, _ = arguments
    return _plus_one(stop), _plus_one(start)


def _plus_one(node: ast.expr) -> ast.expr:
    constant = integer_constant(node)
    if constant is not None:
        return ast.Constant(constant + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        offset = integer_constant(node.right)
        if offset is not None:
            total = (offset if isinstance(node.op, ast.Add) else -offset) + 1
            if total == 0:
                return node.left
            return ast.BinOp(node.left, ast.Add() if total > 0 else ast.Sub(),
                             ast.Constant(abs(total)))
    return ast.BinOp(node, ast.Add(), ast.Constant(1))


# ---- independence -------------------------------------------------------------------

def _independent(loop: ast.For, fresh: set[str], nonnegative: set[str]) -> bool:
    index = loop.target.id
    lowest = lowest_index(loop)
    body = [node for node in loop.body if not is_comment(node)]
    bound_in_body = stored_names(body)
    assigned: set[str] = set()                  # temporaries bound so far
    shifts: dict[str, int] = {index: 0}         # names holding `index + c`
    sums: set[str] = set()
    written: dict[str, list[ast.stmt]] = {}
    for node in body:
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        reads = names_in(node.value)
        if isinstance(target, ast.Subscript):
            if not isinstance(target.value, ast.Name):
                return False
            reads |= names_in(target.slice)
            written.setdefault(target.value.id, []).append(node)
        # nothing read before this iteration binds it (a value carried over)
        if (reads - assigned - {index}) & bound_in_body:
            return False
        if isinstance(target, ast.Name):
            name = target.id
            if isinstance(node, ast.AugAssign) and name not in assigned:
                if not isinstance(node.op, (ast.Add, ast.Sub)):
                    return False
                sums.add(name)
            elif name in sums or not _TEMPORARY.match(name):
                return False
            elif isinstance(node, ast.Assign):
                offset = _offset(node.value, shifts)
                if offset is not None:
                    shifts[name] = offset
                assigned.add(name)
    if sums & _read_names(body):
        return False
    for array, stores in written.items():
        if array not in fresh:
            return False
        if all(isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub))
               for node in stores) and array not in _read_names(body):
            continue                            # only incremented: the order is free
        indices = {_canonical(part, shifts, bound_in_body) for part in _indices(array, body)}
        if len(indices) != 1 or None in indices or "<" not in next(iter(indices)):
            return False
        # own elements only if `i + c` never wraps around below 0
        offsets = {_offset(part, shifts) for index in _indices(array, body)[:1]
                   for part in (index.elts if isinstance(index, ast.Tuple) else [index])}
        if lowest is None or not all(never_negative(lowest, offset, nonnegative)
                                     for offset in offsets - {None}):
            return False
    return True


def _offset(value: ast.expr, shifts: dict[str, int]) -> int | None:
    """c when `value` is `i + c` for a name holding the loop index plus an
    offset (the index itself holds offset 0)."""
    if isinstance(value, ast.Name):
        return shifts.get(value.id)
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub)) \
            and isinstance(value.left, ast.Name) and value.left.id in shifts:
        constant = integer_constant(value.right)
        if constant is not None:
            base = shifts[value.left.id]
            return base + constant if isinstance(value.op, ast.Add) else base - constant
    return None


def _canonical(index: ast.expr, shifts: dict[str, int], bound_in_body: set[str]) -> str | None:
    """The index spelled with `<c>` for a component `i + c`; None when a
    component depends on the body otherwise."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    spelled = []
    for part in parts:
        offset = _offset(part, shifts)
        if offset is not None:
            spelled.append(f"<{offset}>")
        elif names_in(part) & (bound_in_body | set(shifts)):
            return None
        else:
            spelled.append(ast.dump(part))
    return ", ".join(spelled)


def _indices(array: str, body: list[ast.stmt]) -> list[ast.expr]:
    return [node.slice for statement in body for node in ast.walk(statement)
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id == array]


def _read_names(body: list[ast.stmt]) -> set[str]:
    """Names read by the statements, not counting the target an augmented
    assignment updates (`s += e` reads `e`; `a[i] += e` reads `i`, `e`)."""
    read = set()
    for node in body:
        read |= names_in(node.value)
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if isinstance(target, ast.Subscript):
            read |= names_in(target.slice)
    return read




# ---- arrays no other name reaches ----------------------------------------------

def _unaliased_fresh_arrays(function: ast.FunctionDef, ranks: dict[str, int]) -> set[str]:
    """Names bound only to new arrays (`np.zeros_like(...)`, `np.empty(...)`,
    `np.copy(...)`, `rt.grow(...)`, never a parameter) that no other name is
    ever bound to, in whole or in part: they appear only in element reads of
    full rank, element writes, shape reads and calls that return a new
    array or a number."""
    bindings: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            bindings.setdefault(node.targets[0].id, []).append(node.value)
    parameters = {a.arg for a in function.args.posonlyargs + function.args.args}
    fresh = {name for name, values in bindings.items()
             if name not in parameters and all(_creates(value) for value in values)}
    candidates = {}
    for name in fresh:
        rank = ranks.get(name, _allocation_rank(bindings[name], ranks))
        if rank is not None:
            candidates[name] = rank
    return _only_safe_uses(function, candidates)


def _creates(value: ast.expr) -> bool:
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute) \
            or not isinstance(value.func.value, ast.Name):
        return False
    owner, attribute = value.func.value.id, value.func.attr
    return (owner == "np" and attribute in _CREATING) or (owner == "rt" and attribute == "grow")


def _allocation_rank(values: list[ast.expr], ranks: dict[str, int]) -> int | None:
    """The rank all of a name's creating calls give it, when they tell."""
    found = set()
    for value in values:
        attribute = value.func.attr
        argument = value.args[0] if value.args else None
        if value.func.value.id == "rt" or argument is None:
            found.add(1 if value.func.value.id == "rt" else None)
        elif attribute.endswith("_like") or attribute == "copy":
            found.add(ranks.get(argument.id) if isinstance(argument, ast.Name) else None)
        elif isinstance(argument, ast.Tuple):
            found.add(len(argument.elts))
        else:
            found.add(1)
    return found.pop() if len(found) == 1 else None


def _only_safe_uses(function: ast.FunctionDef, ranks: dict[str, int]) -> set[str]:
    """The names of `ranks` whose every mention is the target of its own
    binding, an element access of full rank (the rank given), `.shape`, a
    call that reads it into something new, a whole-array `+=` of another
    array or of a sum of arrays, or the function's result. (One walk over
    the function for all the names.)"""
    safe: set[int] = set()

    def mark(node) -> None:
        if isinstance(node, ast.Name) and node.id in ranks:
            safe.add(id(node))

    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            mark(node.targets[0])
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in ranks and _full_rank(node.slice, ranks[node.value.id]):
            mark(node.value)
        elif isinstance(node, ast.Attribute) and node.attr == "shape":
            mark(node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) \
                and ((node.func.value.id == "np" and node.func.attr in _READING)
                     or (node.func.value.id == "rt" and node.func.attr == "grow")):
            for argument in node.args:
                mark(argument)
        elif isinstance(node, ast.AugAssign):      # whole arrays: `_b_u0 += _b_v + _b_u`
            for side in [node.target] + _summed(node.value):
                mark(side)
        elif isinstance(node, ast.Return) and node.value is not None:
            for element in node.value.elts if isinstance(node.value, ast.Tuple) \
                    else [node.value]:
                mark(element)
    unsafe = {node.id for node in ast.walk(function)
              if isinstance(node, ast.Name) and node.id in ranks and id(node) not in safe}
    return set(ranks) - unsafe


def _summed(value: ast.expr) -> list[ast.expr]:
    """The terms of a sum of names (`_b_v + _b_u`): read into a new array."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub)):
        return _summed(value.left) + _summed(value.right)
    return [value]


def _full_rank(index: ast.expr, rank: int) -> bool:
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return len(parts) == rank and not any(
        isinstance(part, ast.Slice) or (isinstance(part, ast.Constant) and part.value is None)
        for part in parts)


# ---- the loop index after the loop ---------------------------------------------

def _index_seen_after(function: ast.FunctionDef, loop: ast.For) -> bool:
    """Could a read of the loop index see the value the loop left? Every
    read must lie in a loop binding the same name, and the innermost such
    loop must be `loop` itself or one that does not contain `loop`."""
    index = loop.target.id
    contains: dict[int, bool] = {}       # binder -> whether `loop` is inside it

    def inside(binder: ast.For) -> bool:
        if id(binder) not in contains:
            contains[id(binder)] = any(inner is loop for inner in ast.walk(binder))
        return contains[id(binder)]

    def visit(node: ast.AST, binder: ast.For | None) -> bool:
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) \
                and node.target.id == index:
            if visit(node.iter, binder):
                return True
            return any(visit(statement, node) for statement in node.body + node.orelse)
        if isinstance(node, ast.Name) and node.id == index and isinstance(node.ctx, ast.Load):
            if binder is None:
                return True
            return binder is not loop and inside(binder)
        return any(visit(child, binder) for child in ast.iter_child_nodes(node))

    return any(visit(statement, None) for statement in function.body)
