"""Random draws: constants of the derivative, drawn once.

A draw (`np.random.standard_normal(n)`, `np.random.random()`, ...) has no
derivative: its value is a constant of the derivative, like an argument
that is not differentiated. What makes draws different from other
primitives is that running one again gives another value, so:

* `resolve` spells each draw as the `rt.draws` helper of its result's rank
  (`draw_call`), and `np.random.normal(loc, scale, size)` as `loc + scale *`
  a standard normal draw (`np.random.uniform` likewise): derivatives with
  respect to `loc` and `scale` are then those of the reparameterisation;
* a derivative runs every draw of the function, in the same order, exactly
  once: the reverse sweep never recomputes one (`reverse.recompute` records
  what it needs instead) and dead-code removal keeps them (`optimize.cleanup`).
  `is_draw` tells those passes which statements draw;
* `np.random.seed(s)`, a statement, becomes the assignment of
  `rt.draws.seed(s)` (`desugar`): with a seed inside the function, its
  primal and its derivatives use the same draws on every call.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from adjit.rules.registry import FLOAT, INT, REGISTRY, array_type
from adjit.runtime import draws

# the helpers, by the rank of their result, and how generated code spells them
_NORMAL = {0: draws.normal, 1: draws.normal_vector, 2: draws.normal_matrix}
_UNIFORM = {0: draws.uniform, 1: draws.uniform_vector, 2: draws.uniform_matrix}
DRAW_SPELLINGS = {f"rt.draws.{helper.__name__}"
                  for helper in (*_NORMAL.values(), *_UNIFORM.values(), draws.seed)}

for _rank, _helper in [*_NORMAL.items(), *_UNIFORM.items()]:
    REGISTRY.register(_helper, f"rt.draws.{_helper.__name__}", None, (_rank,),
                      result_type=lambda *types, rank=_rank:
                      array_type(FLOAT, rank) if rank else FLOAT)
REGISTRY.register(draws.seed, "rt.draws.seed", None, (1,), result_type=lambda *types: INT)

# np.random function -> (its parameters, their defaults, the helpers it draws with,
# whether the shape is given as separate ints: rand(2, 3))
_DRAWS = {
    np.random.standard_normal: (("size",), (None,), _NORMAL, False),
    np.random.randn: ((), (), _NORMAL, True),
    np.random.normal: (("loc", "scale", "size"), (0.0, 1.0, None), _NORMAL, False),
    np.random.random: (("size",), (None,), _UNIFORM, False),
    np.random.random_sample: (("size",), (None,), _UNIFORM, False),
    np.random.rand: ((), (), _UNIFORM, True),
    np.random.uniform: (("low", "high", "size"), (0.0, 1.0, None), _UNIFORM, False),
}


class DrawError(Exception):
    """A draw adjit cannot spell; the message says why."""


def is_random_function(callee) -> bool:
    try:
        return callee in _DRAWS or callee is np.random.seed
    except TypeError:
        return False


def draw_call(callee, call: ast.Call) -> ast.expr:
    """The expression standing for `call` of the np.random function
    `callee` (its arguments already resolved): a call of an `rt.draws`
    helper carrying its `Primitive`, scaled and shifted for `normal` and
    `uniform`."""
    if callee is np.random.seed:
        if call.keywords or len(call.args) != 1:
            raise DrawError("np.random.seed takes one argument, the seed")
        return _helper_call(draws.seed, call.args, call)
    names, defaults, helpers, spread = _DRAWS[callee]
    if spread:
        if call.keywords:
            raise DrawError("pass the dimensions by position")
        shape = list(call.args)
        values = {}
    else:
        values = _bound(names, defaults, call)
        shape = _shape(values["size"])
    if len(shape) not in helpers:
        raise DrawError(f"a draw of {len(shape)} dimensions (adjit draws floats, "
                        "vectors and matrices)")
    drawn = _helper_call(helpers[len(shape)], shape, call)
    if "loc" in values:                       # loc + scale * z
        return _plus(values["loc"], _times(values["scale"], drawn, call), call)
    if "low" in values:                       # low + (high - low) * u
        low, high = values["low"], values["high"]
        width = ast.Constant(_number(high) - _number(low)) \
            if _number(low) is not None and _number(high) is not None else \
            ast.copy_location(ast.BinOp(high, ast.Sub(), copy.deepcopy(low)), call)
        return _plus(low, _times(width, drawn, call), call)
    return drawn


def _bound(names, defaults, call: ast.Call) -> dict:
    if len(call.args) > len(names):
        raise DrawError(f"at most {len(names)} arguments ({', '.join(names)})")
    values = dict(zip(names, call.args))
    for keyword in call.keywords:
        if keyword.arg not in names or keyword.arg in values:
            raise DrawError(f"`{keyword.arg}=` (its parameters: {', '.join(names)})")
        values[keyword.arg] = keyword.value
    for name, default in zip(names, defaults):
        values.setdefault(name, ast.Constant(default))
    return values


def _shape(size: ast.expr) -> list[ast.expr]:
    if isinstance(size, ast.Constant) and size.value is None:
        return []
    if isinstance(size, ast.Tuple):
        return list(size.elts)
    if isinstance(size, ast.Attribute) and size.attr == "shape":
        raise DrawError("`size=` an array's shape (give it as (n, m), or n)")
    return [size]


def _helper_call(helper, arguments, like: ast.AST) -> ast.Call:
    primitive = REGISTRY.lookup(helper)
    head, *attributes = primitive.spelling.split(".")
    func: ast.expr = ast.Name(head, ast.Load())
    for attribute in attributes:
        func = ast.Attribute(func, attribute, ast.Load())
    call = ast.copy_location(ast.Call(func, list(arguments), []), like)
    call.primitive = primitive
    return call


def _number(node: ast.expr) -> float | None:
    """The value of a constant number, negated or not; None otherwise."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _plus(left, right, like) -> ast.expr:
    if isinstance(left, ast.Constant) and left.value == 0.0:
        return right
    return ast.copy_location(ast.BinOp(left, ast.Add(), right), like)


def _times(left, right, like) -> ast.expr:
    if isinstance(left, ast.Constant) and left.value == 1.0:
        return right
    return ast.copy_location(ast.BinOp(left, ast.Mult(), right), like)


def is_draw(value: ast.expr | None) -> bool:
    """Does this expression (a statement's value) make a random draw?"""
    return isinstance(value, ast.Call) and ast.unparse(value.func) in DRAW_SPELLINGS
