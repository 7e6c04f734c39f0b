"""Reductions along an axis and `keepdims=True`, as `resolve` spells them.

Numba compiles np.sum along an axis, but not np.mean, np.max, np.min or
np.prod along one, nor `keepdims`. `resolve` calls these functions when it
meets such a call (its arguments already resolved, `axis=` made the second
positional argument):

* `np.mean(x, k)` -> `np.sum(x, k) / x.shape[k]`; of an expression `E`,
  `np.sum(E, k) / rt.axis_size(E, k)`, `E` evaluated once (below);
* `np.max(x, k)`, `np.min(x, k)` -> `rt.extremum_along(x, k, True/False)`;
* `np.prod(x, k)` -> `rt.prod_along(x, k)`;
* `f(E, ..., keepdims=True)` -> `rt.keep_dims(f(E, ...), E[, k])`: the
  reduced result in the shape keepdims gives.

Where `E` occurs twice, both are the same expression node, marked
`evaluate_once`: `anf` evaluates it once.

Every result carries its `Primitive`; anything else is a located error.
"""

from __future__ import annotations

import ast

import numpy as np

from adjit.rules import REGISTRY
from adjit.runtime import helpers as rt

# functions that take `axis` (second positional argument)
AXIS_FUNCTIONS = {np.sum, np.mean, np.max, np.min, np.prod, np.expand_dims}
# reductions that take `keepdims`
KEEPDIMS_FUNCTIONS = {np.sum, np.mean, np.max, np.min, np.prod}


def _call(spelling: str, key, arguments: list[ast.expr], like: ast.AST) -> ast.Call:
    head, *attributes = spelling.split(".")
    function: ast.expr = ast.Name(head, ast.Load())
    for attribute in attributes:
        function = ast.Attribute(function, attribute, ast.Load())
    call = ast.Call(function, arguments, [])
    call.primitive = REGISTRY.lookup(key)
    return ast.copy_location(call, like)


def _is_constant_axis(axis: ast.expr) -> bool:
    if isinstance(axis, ast.UnaryOp) and isinstance(axis.op, ast.USub):
        axis = axis.operand
    return isinstance(axis, ast.Constant) and type(axis.value) is int


def along_an_axis(resolver, node: ast.Call, key) -> ast.expr | None:
    """The call `key(x, k)` (`node`, arguments resolved) as adjit computes
    it, or None when `key` is itself the primitive (np.sum, np.expand_dims)."""
    array, axis = node.args
    if key in (np.sum, np.expand_dims):
        return None
    if not _is_constant_axis(axis):
        resolver.refuse(axis, f"the axis `{ast.unparse(axis)}` of `{ast.unparse(node.func)}`",
                        "give the axis as a number (`axis=1`, `axis=-1`)", "arrays")
    if key is np.mean:
        total = _call("np.sum", np.sum, [array, axis], node)
        if isinstance(array, ast.Name):
            count = ast.Subscript(ast.Attribute(ast.Name(array.id, ast.Load()), "shape",
                                                ast.Load()), _copy_axis(axis), ast.Load())
        else:
            array.evaluate_once = True
            count = _call("rt.axis_size", rt.axis_size, [array, _copy_axis(axis)], node)
        return ast.copy_location(ast.BinOp(total, ast.Div(), count), node)
    if key is np.prod:
        return _call("rt.prod_along", rt.prod_along, [array, axis], node)
    return _call("rt.extremum_along", rt.extremum_along,
                 [array, axis, ast.Constant(key is np.max)], node)


def _copy_axis(axis: ast.expr) -> ast.expr:
    if isinstance(axis, ast.UnaryOp):
        return ast.UnaryOp(ast.USub(), ast.Constant(axis.operand.value))
    return ast.Constant(axis.value)


def keeping_dims(resolver, result: ast.expr, node: ast.Call, key,
                 keyword: ast.keyword) -> ast.expr:
    """`result`, the resolved reduction `node` (a call of `key`), in the
    shape `keepdims=<keyword>` asks for."""
    flag = resolver.visit(keyword.value)
    if key not in KEEPDIMS_FUNCTIONS:
        resolver.refuse(keyword, f"`keepdims=` in `{ast.unparse(node.func)}`",
                        "adjit supports keepdims= in np.sum, np.mean, np.max, np.min "
                        "and np.prod", "arrays")
    if not (isinstance(flag, ast.Constant) and isinstance(flag.value, bool)):
        resolver.refuse(keyword, f"`keepdims={ast.unparse(flag)}`",
                        "write keepdims=True or keepdims=False", "arrays")
    if not flag.value:
        return result
    array = node.args[0]          # the very node the reduction reads
    array.evaluate_once = True
    return _call("rt.keep_dims", rt.keep_dims, [result, array, *node.args[1:2]], node)
