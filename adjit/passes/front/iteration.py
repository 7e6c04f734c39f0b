"""iteration: `for` loops over arrays, as loops over their indices.

Input: one `for` statement of the user's function that does not iterate
over a tuple (`tuples` unrolls those, and calls `lower_loop` for the rest).
Output: statements in which the loop is `for INDEX in range(...)` and the
body starts by reading the elements it went through:

* `for v in x` -> `for _i1 in range(x.shape[0]): v = x[_i1]` (the
  elements of a 1-D array, the rows of a 2-D one: views, as `x[i]` is);
* `for i, v in enumerate(x)` -> `for i in range(x.shape[0]): v = x[i]`
  (`enumerate(x, start)` counts from `start`);
* `for a, b in zip(x, y)` -> a loop over `min(x.shape[0], y.shape[0])`;
* `for i, j in np.ndindex(A.shape)` (or `np.ndindex(n, m)`, `(n, m)`) ->
  nested loops, one per axis (one loop over the product of the extents,
  divided back into indices, where the body may `break`); `A` must have
  as many axes as there are names, checked once types are known
  (`desugar.check_shape_unpacking`); `for idx in np.ndindex(n, m)` binds
  `idx` to the tuple `(i, j)`;
* `for v in x.flat` -> a loop over `x.ravel()`.

An iterated expression that is not a variable (`for row in A[1:]`) is
named before the loop. Anything else (`for v in f(x)`) is left for `fence`
to refuse; unpacking the rows of an array (`for a, b in A`) is refused here.
"""

from __future__ import annotations

import ast
import builtins
import copy

import numpy as np

from adjit.errors import UnsupportedSyntaxError
from adjit.passes.ir.build import load as _load
from adjit.passes.ir.build import located as _located
from adjit.passes.ir.build import store as _store


def lower_loop(node: ast.For, parsed, namer, is_builtin) -> list[ast.stmt] | None:
    """The statements replacing `node`, or None when it is not one of the
    forms above (a `range` loop, or something `fence` refuses).
    `is_builtin(name_node, function)` says whether a name is that builtin."""
    return _Lowering(parsed, namer, is_builtin).loop(node)


class _Lowering:
    def __init__(self, parsed, namer, is_builtin):
        self.parsed = parsed
        self.namer = namer
        self.is_builtin = is_builtin
        self.before: list[ast.stmt] = []

    def error(self, node: ast.AST, message: str, hint: str):
        raise UnsupportedSyntaxError(message, self.parsed.location(node), hint=hint,
                                     source_line=self.parsed.line_text(node),
                                     doc_anchor="statements")

    def loop(self, node: ast.For) -> list[ast.stmt] | None:
        iterator = node.iter
        if isinstance(iterator, ast.Call) and isinstance(iterator.func, ast.Name) \
                and iterator.func.id in ("range", "prange"):
            return None
        if self.is_ndindex(iterator):
            return self.ndindex(node)
        sequences = self.sequences(node.target, iterator, node)
        if sequences is None:
            return None
        if node.orelse:
            return None                        # `fence` refuses `for ... else`
        (index, start), reads = sequences
        lengths = [self.length(sequence, node) for sequence in reads.values()]
        count = lengths[0] if len(lengths) == 1 else _call("min", lengths, node)
        if index is None:
            index = self.namer.fresh("i")
        counter = index if start is None else self.namer.fresh("i")
        body = []
        if start is not None:
            if not isinstance(start, ast.Constant):     # read once, as enumerate does
                first = self.namer.fresh("start")
                self.before.append(_assign(first, start, node))
                start = _load(first)
            body.append(_assign(index, ast.BinOp(_load(counter), ast.Add(), start), node))
        for target, sequence in reads.items():
            body.append(_assign(target, ast.Subscript(_load(sequence), _load(counter),
                                                      ast.Load()), node))
        loop = ast.For(_store(counter), _call("range", [count], node),
                       body + node.body, [])
        return self.before + [_located(loop, node)]

    def sequences(self, target: ast.expr, iterator: ast.expr, node: ast.For):
        """((the index variable or None, enumerate's start or None),
        {element variable: array variable}) of a loop over arrays, or None."""
        if isinstance(iterator, ast.Call) and isinstance(iterator.func, ast.Name) \
                and not iterator.keywords:
            if self.is_builtin(iterator.func, enumerate) and len(iterator.args) in (1, 2):
                if not isinstance(target, ast.Tuple) or len(target.elts) != 2 or \
                        not isinstance(target.elts[0], ast.Name):
                    self.error(target, "a loop over `enumerate(...)` with a target "
                               "other than `i, v`", "write `for i, v in enumerate(x)`")
                start = iterator.args[1] if len(iterator.args) == 2 else None
                inner = self.sequences(target.elts[1], iterator.args[0], node)
                if inner is None or inner[0][0] is not None:
                    return None
                return (target.elts[0].id, start), inner[1]
            if self.is_builtin(iterator.func, zip) and iterator.args:
                if not isinstance(target, ast.Tuple) or \
                        len(target.elts) != len(iterator.args):
                    self.error(target, f"a loop over `zip` of {len(iterator.args)} "
                               "arrays with another number of names",
                               "name one element per array: `for a, b in zip(x, y)`")
                reads = {}
                for element, sequence in zip(target.elts, iterator.args):
                    inner = self.sequences(element, sequence, node)
                    if inner is None or inner[0][0] is not None:
                        return None
                    reads.update(inner[1])
                return (None, None), reads
            return None
        if isinstance(iterator, ast.Attribute) and iterator.attr == "flat":
            flat = ast.Call(ast.Attribute(iterator.value, "ravel", ast.Load()), [], [])
            return (None, None), {self.single(target): self.named(flat, node)}
        if isinstance(iterator, (ast.Name, ast.Subscript, ast.Attribute)):
            if isinstance(iterator, ast.Attribute) and iterator.attr != "T":
                return None
            return (None, None), {self.single(target): self.named(iterator, node)}
        return None

    def single(self, target: ast.expr) -> str:
        if not isinstance(target, ast.Name):
            self.error(target, "unpacking the elements of an array in a `for` target",
                       "loop over the rows and index them (`for row in A: a = row[0]`), "
                       "or over `range`")
        return target.id

    def named(self, sequence: ast.expr, node: ast.For) -> str:
        """The array a loop goes through, as a variable (named before the
        loop when it is an expression: `A[1:]`, `x.ravel()`)."""
        if isinstance(sequence, ast.Name):
            return sequence.id
        name = self.namer.fresh("iterated")
        self.before.append(_assign(name, sequence, node))
        return name

    def length(self, sequence: str, node: ast.For) -> ast.expr:
        return _located(ast.Subscript(ast.Attribute(_load(sequence), "shape", ast.Load()),
                                      ast.Constant(0), ast.Load()), node)

    # -- np.ndindex ------------------------------------------------------------------
    def is_ndindex(self, iterator: ast.expr) -> bool:
        if not isinstance(iterator, ast.Call) or iterator.keywords:
            return False
        return lookup(self.parsed, iterator.func) is np.ndindex

    def ndindex(self, node: ast.For) -> list[ast.stmt]:
        arguments = node.iter.args
        target = node.target
        names = [e.id for e in target.elts] if isinstance(target, ast.Tuple) and all(
            isinstance(e, ast.Name) for e in target.elts) else None
        if isinstance(target, ast.Tuple) and names is None:
            self.error(target, "nested names in a loop over `np.ndindex`",
                       "write `for i, j in np.ndindex(...)`")
        if len(arguments) == 1 and isinstance(arguments[0], ast.Tuple):
            extents = list(arguments[0].elts)
        elif len(arguments) == 1 and isinstance(arguments[0], ast.Attribute) \
                and arguments[0].attr == "shape" and isinstance(arguments[0].value, ast.Name):
            if names is None:
                self.error(target, "one name for the indices of `np.ndindex(x.shape)`",
                           "name each index (`for i, j in np.ndindex(A.shape)`): the "
                           "number of axes is not known before the call")
            array = ast.copy_location(_load(arguments[0].value.id), arguments[0].value)
            array.required_rank = (len(names), node)      # checked with the types
            extents = [ast.Subscript(ast.Attribute(array if k == 0 else _load(array.id),
                                                   "shape", ast.Load()),
                                     ast.Constant(k), ast.Load()) for k in range(len(names))]
        else:
            extents = list(arguments)
        if names is not None and len(names) != len(extents):
            self.error(target, f"{len(names)} names for the {len(extents)} indices of "
                       "`np.ndindex`", "name one index per axis")
        if names is None:
            names = [self.namer.fresh("i") for _ in extents]
            prefix = [_assign(target.id, ast.Tuple([_load(n) for n in names], ast.Load()),
                              node)]
        else:
            prefix = []
        if node.orelse or not extents:
            return None
        if any(isinstance(s, ast.Break) for s in _own_statements(node.body)) \
                and len(extents) > 1:
            return self.flat_ndindex(node, names, extents, prefix)
        body = prefix + node.body
        for name, extent in reversed(list(zip(names, extents))):
            body = [_located(ast.For(_store(name), _call("range", [extent], node), body, []),
                             node)]
        return body

    def flat_ndindex(self, node: ast.For, names: list[str], extents: list[ast.expr],
                     prefix: list[ast.stmt]) -> list[ast.stmt]:
        """One loop over the product of the extents, so that `break` leaves
        all of them: `i = _k // n1`, `j = _k % n1`."""
        before, sizes = [], []
        for extent in extents:
            size = self.namer.fresh("extent")
            before.append(_assign(size, extent, node))
            sizes.append(size)
        total = _load(sizes[0])
        for size in sizes[1:]:
            total = ast.BinOp(total, ast.Mult(), _load(size))
        counter = self.namer.fresh("k")
        reads, rest = [], _load(counter)
        for name, size in reversed(list(zip(names[1:], sizes[1:]))):
            reads.insert(0, _assign(name, ast.BinOp(copy.deepcopy(rest), ast.Mod(),
                                                    _load(size)), node))
            rest = ast.BinOp(rest, ast.FloorDiv(), _load(size))
        reads.insert(0, _assign(names[0], rest, node))
        loop = ast.For(_store(counter), _call("range", [total], node),
                       reads + prefix + node.body, [])
        return before + [_located(loop, node)]


def lookup(parsed, node: ast.expr):
    """The object a global name or `module.name` denotes, or None (what
    `resolve` decides for good; here only to recognise `np.ndindex` and
    the user's functions)."""
    if isinstance(node, ast.Name):
        for namespace in (parsed.closure, parsed.globals):
            if node.id in namespace:
                return namespace[node.id]
        return getattr(builtins, node.id, None)
    if isinstance(node, ast.Attribute):
        return getattr(lookup(parsed, node.value), node.attr, None)
    return None


def _own_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a loop body, in `if`s too, not in inner loops."""
    found, pending = [], list(body)
    while pending:
        statement = pending.pop(0)
        found.append(statement)
        if isinstance(statement, ast.If):
            pending.extend(statement.body + statement.orelse)
    return found


def _call(function: str, arguments: list[ast.expr], like: ast.AST) -> ast.Call:
    return _located(ast.Call(_load(function), arguments, []), like)


def _assign(name: str, value: ast.expr, like: ast.AST) -> ast.Assign:
    return _located(ast.Assign([_store(name)], value), like)
