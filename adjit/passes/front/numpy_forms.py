"""NumPy spelled other ways, as `resolve` rewrites it before resolving.

Input: a call (its arguments not yet resolved), a list literal, or the
function before resolution (`mark_forms`).
Output: the same value as a construct adjit already knows, whose calls
`resolve` then resolves like any other (their function nodes carry the
object they denote, `denotes`, so the user's module need not import NumPy
as `np`):

* `np.add(a, b)`, `np.subtract`, `np.multiply`, `np.divide`,
  `np.true_divide`, `np.negative(a)` -> the operators;
* `np.cumsum(x, k)`, `np.cumprod(x, k)` -> `rt.cumsum_along(x, k, False)`,
  `rt.cumprod_along(x, k)` (without an axis, of `np.ravel(x)` along 0, as
  NumPy flattens); `np.diff(x, n, axis=k)` -> `rt.diff_along` n times
  (`k` = -1 by default);
* `np.concatenate((a, b), k)`, `np.stack([a, b], k)`, `np.hstack`,
  `np.vstack` of a literal tuple or list of arrays ->
  `rt.concatenate_along(k, a, b)`, `rt.stack_along(k, a, b)`,
  `rt.hstack(a, b)`, `rt.vstack(a, b)`: each array an operand;
* `np.atleast_1d(x)`, `np.atleast_2d(x)` -> `rt.atleast_1d(x)`, ... (of
  numbers too, which Numba's versions refuse);
* `np.array([a, b, c])`, `np.asarray(...)` of a literal list or tuple (of
  numbers, of arrays, nested) -> `rt.array_of(a, b, c)`, nested;
  `np.array(x)` of anything else -> `np.copy(x)`; `np.asarray(x)` -> `x`;
* `X, Y = np.meshgrid(a, b)` (1-D `a`, `b`) -> the two broadcasts
  `np.zeros((b.shape[0], a.shape[0])) + a[None, :]` and `... + b[:, None]`;
* `w = [0.25, 0.5, 0.25]`, a list literal assigned to a name that is only
  indexed (`w[k]`), passed to NumPy functions or to `len` -> the array
  `rt.array_of(0.25, 0.5, 0.25)`: where a list and an array behave alike.

Anything else of these functions (another keyword, an axis that is not a
constant, a list used as a list) is a located error.
"""

from __future__ import annotations

import ast
import builtins

import numpy as np

from adjit.rules.joins import MOST_VALUES
from adjit.runtime import helpers as rt

OPERATOR_FUNCTIONS = {np.add: ast.Add, np.subtract: ast.Sub, np.multiply: ast.Mult,
                      np.divide: ast.Div, np.true_divide: ast.Div}
UNARY_FUNCTIONS = {np.negative: ast.USub, np.positive: ast.UAdd}

_SCANS = {np.cumsum: rt.cumsum_along, np.cumprod: rt.cumprod_along}
_JOINS = {np.concatenate: rt.concatenate_along, np.stack: rt.stack_along,
          np.hstack: rt.hstack, np.vstack: rt.vstack}
_AT_LEAST = {np.atleast_1d: rt.atleast_1d, np.atleast_2d: rt.atleast_2d}
_NAMES = {rt.cumsum_along: "rt.cumsum_along", rt.cumprod_along: "rt.cumprod_along",
          rt.diff_along: "rt.diff_along", rt.concatenate_along: "rt.concatenate_along",
          rt.stack_along: "rt.stack_along", rt.hstack: "rt.hstack", rt.vstack: "rt.vstack",
          rt.array_of: "rt.array_of", np.ravel: "np.ravel", np.copy: "np.copy",
          np.zeros: "np.zeros", rt.atleast_1d: "rt.atleast_1d", rt.atleast_2d: "rt.atleast_2d"}


def _function(target) -> ast.expr:
    head, *attributes = _NAMES[target].split(".")
    node: ast.expr = ast.Name(head, ast.Load())
    for attribute in attributes:
        node = ast.Attribute(node, attribute, ast.Load())
    node.denotes = target
    return node


def _call(target, arguments: list[ast.expr], like: ast.AST) -> ast.Call:
    call = ast.Call(_function(target), arguments, [])
    for node in ast.walk(call):
        ast.copy_location(node, like)
    return call


def _keywords(resolver, node: ast.Call, allowed: tuple[str, ...], written: str) -> dict:
    """The call's keyword arguments, refusing any not in `allowed`."""
    found = {}
    for keyword in node.keywords:
        if keyword.arg not in allowed:
            resolver.refuse(keyword, f"`{keyword.arg}=` in `{written}`",
                            "pass arguments by position" if allowed else
                            f"call `{written}` without it", "arrays")
        found[keyword.arg] = keyword.value
    return found


def _positional_or_keyword(node: ast.Call, keywords: dict, position: int, name: str,
                           default: ast.expr | None) -> ast.expr | None:
    if len(node.args) > position:
        return node.args[position]
    return keywords.get(name, default)


def _constant_int(resolver, value: ast.expr, what: str, written: str) -> int:
    value = resolver.visit(value)
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) \
            and isinstance(value.operand, ast.Constant):
        number = -value.operand.value
    elif isinstance(value, ast.Constant):
        number = value.value
    else:
        number = None
    if type(number) is not int:
        resolver.refuse(value, f"the {what} `{ast.unparse(value)}` of `{written}`",
                        f"give the {what} as a number", "arrays")
    return number


def _axis(resolver, number: int) -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(-number)) if number < 0 else \
        ast.Constant(number)


def respell(resolver, node: ast.Call, callee) -> ast.expr | None:
    """`node`, a call of `callee`, as the construct adjit knows, or None when
    `callee` is none of these functions. Nothing of `node` is resolved yet;
    the result is resolved by the caller."""
    written = ast.unparse(node.func)
    key = _hashable(callee)
    if key in OPERATOR_FUNCTIONS or key in UNARY_FUNCTIONS:
        _keywords(resolver, node, (), written)
        binary = key in OPERATOR_FUNCTIONS
        if len(node.args) != (2 if binary else 1):
            resolver.refuse(node, f"`{written}` called with {len(node.args)} arguments",
                            f"pass {'two' if binary else 'one'}", "calls")
        value = ast.BinOp(node.args[0], OPERATOR_FUNCTIONS[key](), node.args[1]) if binary \
            else ast.UnaryOp(UNARY_FUNCTIONS[key](), node.args[0])
        return ast.copy_location(value, node)
    if key in _SCANS:
        keywords = _keywords(resolver, node, ("axis",), written)
        if len(node.args) != 1:
            resolver.refuse(node, f"`{written}` with {len(node.args)} positional arguments",
                            "pass the array, and the axis as `axis=`", "arrays")
        array = node.args[0]
        if "axis" in keywords:
            axis = _axis(resolver, _constant_int(resolver, keywords["axis"], "axis", written))
        else:                                # NumPy runs along the flattened array
            array, axis = _call(np.ravel, [array], node), ast.Constant(0)
        extra = [ast.Constant(False)] if key is np.cumsum else []
        return _call(_SCANS[key], [array, axis, *extra], node)
    if key is np.diff:
        keywords = _keywords(resolver, node, ("axis",), written)
        if not 1 <= len(node.args) <= 3:
            resolver.refuse(node, f"`{written}` with {len(node.args)} positional arguments",
                            "write np.diff(x), np.diff(x, n) or np.diff(x, n, axis)", "arrays")
        count = _positional_or_keyword(node, keywords, 1, "n", ast.Constant(1))
        count = _constant_int(resolver, count, "order", written)
        if count < 1:
            resolver.refuse(node, f"`{written}` of order {count}", "give n >= 1", "arrays")
        axis = _positional_or_keyword(node, keywords, 2, "axis", ast.Constant(-1))
        axis = _constant_int(resolver, axis, "axis", written)
        value = node.args[0]
        for _ in range(count):
            value = _call(rt.diff_along, [value, _axis(resolver, axis)], node)
        return value
    if key in _JOINS:
        allowed = ("axis",) if key in (np.concatenate, np.stack) else ()
        keywords = _keywords(resolver, node, allowed, written)
        sequence = node.args[0] if node.args else None
        if not isinstance(sequence, (ast.Tuple, ast.List)) or not sequence.elts:
            resolver.refuse(sequence or node, f"`{written}` of "
                            f"`{ast.unparse(sequence) if sequence else 'nothing'}`",
                            f"list the arrays in the call: {written}((a, b))", "arrays")
        _count(resolver, sequence, written)
        if not allowed:
            if len(node.args) != 1:
                resolver.refuse(node, f"`{written}` with {len(node.args)} arguments",
                                "pass one tuple of arrays", "arrays")
            return _call(_JOINS[key], list(sequence.elts), node)
        if len(node.args) > 2:
            resolver.refuse(node, f"`{written}` with {len(node.args)} positional arguments",
                            "pass the arrays and the axis", "arrays")
        axis = _positional_or_keyword(node, keywords, 1, "axis", ast.Constant(0))
        axis = _axis(resolver, _constant_int(resolver, axis, "axis", written))
        return _call(_JOINS[key], [axis, *sequence.elts], node)
    if key in _AT_LEAST:
        _keywords(resolver, node, (), written)
        if len(node.args) != 1:
            resolver.refuse(node, f"`{written}` with {len(node.args)} arguments",
                            "pass one value", "arrays")
        return _call(_AT_LEAST[key], list(node.args), node)
    if key is np.array or key is np.asarray:
        _keywords(resolver, node, (), written)
        if len(node.args) != 1:
            resolver.refuse(node, f"`{written}` with {len(node.args)} arguments",
                            "pass one list, tuple or array", "arrays")
        value = node.args[0]
        if isinstance(value, (ast.List, ast.Tuple)):
            return array_literal(resolver, value, written)
        return _call(np.copy, [value], node) if key is np.array else value
    if key is np.meshgrid:
        _keywords(resolver, node, (), written)
        if not getattr(node, "unpacked", False) or len(node.args) != 2 \
                or not all(isinstance(a, ast.Name) for a in node.args):
            resolver.refuse(node, f"`{written}` here", "unpack two arrays named by "
                            "variables: `X, Y = np.meshgrid(x, y)`", "arrays")
        a, b = node.args
        parts = []
        for array, index in ((a, "[None, :]"), (b, "[:, None]")):
            shape = ast.parse(f"({b.id}.shape[0], {a.id}.shape[0])", mode="eval").body
            row = ast.parse(f"{array.id}{index}", mode="eval").body
            parts.append(ast.BinOp(_call(np.zeros, [shape], node), ast.Add(), row))
        value = ast.Tuple(parts, ast.Load())
        for inner in ast.walk(value):
            ast.copy_location(inner, node)
        return value
    return None


def array_literal(resolver, value: ast.List | ast.Tuple, written: str) -> ast.Call:
    """`[a, b, c]` as `rt.array_of(a, b, c)`; nested lists are nested."""
    if not value.elts:
        resolver.refuse(value, f"`{written}` of an empty list", "list the values", "arrays")
    _count(resolver, value, written)
    elements = [array_literal(resolver, e, written) if isinstance(e, (ast.List, ast.Tuple))
                else e for e in value.elts]
    return _call(rt.array_of, elements, value)


def _count(resolver, sequence, written: str) -> None:
    if len(sequence.elts) > MOST_VALUES:
        resolver.refuse(sequence, f"`{written}` of {len(sequence.elts)} values",
                        f"adjit joins at most {MOST_VALUES} values in one call; build "
                        "the array with np.zeros and element writes", "arrays")


def mark_forms(resolver, tree: ast.FunctionDef) -> None:
    """Mark what needs its context: a `np.meshgrid` call unpacked into two
    names (`unpacked`), and each list literal assigned to a name whose
    every use is one where an array behaves as the list would (`as_array`);
    any other use of such a name is refused."""
    parents = {id(child): parent for parent in ast.walk(tree)
               for child in ast.iter_child_nodes(parent)}
    lists: dict[str, list[ast.List]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and isinstance(node.targets[0], ast.Tuple) and len(node.targets[0].elts) == 2:
            node.value.unpacked = True
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List) \
                and isinstance(node.targets[0], ast.Name):
            lists.setdefault(node.targets[0].id, []).append(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in lists:
            parent = parents.get(id(node))
            if not _array_like_use(resolver, node, parent):
                resolver.refuse(parent if parent is not None else node,
                                f"`{node.id}`, a list, used as `{ast.unparse(parent)}`",
                                "adjit reads a list of numbers as an array: index it "
                                f"(`{node.id}[k]`), pass it to NumPy functions or len(), "
                                "or write np.array([...]) for array arithmetic", "types")
    for literals in lists.values():
        for literal in literals:
            literal.as_array = True


def _array_like_use(resolver, name: ast.Name, parent: ast.AST | None) -> bool:
    """Indexed for reading (`w[k]`), or an argument of a NumPy function or
    of `len`: where the array behaves as the list."""
    if isinstance(parent, ast.Subscript) and parent.value is name:
        return isinstance(parent.ctx, ast.Load)
    if isinstance(parent, ast.Call) and name in parent.args:
        callee = resolver.try_lookup(parent.func)
        module = getattr(callee, "__module__", None) or ""
        return callee is builtins.len or module.startswith("numpy") or \
            type(callee).__name__ == "ufunc"
    return False


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return None
    return value
