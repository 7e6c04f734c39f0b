"""element_loops: the element loop nest of one statement `lower` rewrites.

Input: an expression tree of `Access`es (an array read or written element
by element: base, fixed indices and slices), `Operation`s (an elementwise
ANF operation and its operands' trees) and scalar atoms, the destination
(an access, or a float to sum into) and the `lower` pass's state (names,
int values, extents of arrays it allocated).
Output: `LoopWriter.setup`, int statements (shapes, slice starts and
extents, `rt.common_extent` checks) that depend on no loop index, and the
nest itself: one `for` a dimension, over the destination's own indices
where its step is one, whose body reads elements, computes one operation
a statement (ANF) and writes one element (or adds to the sum).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from adjit.passes.ir.fold import integer_constant
from adjit.rules.registry import REGISTRY
from adjit.runtime import helpers as rt


@dataclass
class Access:
    """An array read or written element by element: `base[parts]`, each
    part an int atom (a fixed index) or a slice (lower, upper, step), the
    slices in order walking the loop dimensions they are aligned to."""
    base: str
    parts: list

    @property
    def rank(self) -> int:
        return sum(isinstance(part, ast.Slice) for part in self.parts)

    def key(self, spelled) -> str:
        """Which elements the access reaches, given the extent: its base,
        fixed indices, starts and steps (`spelled` writes an int atom out)."""
        def part_key(part) -> str:
            if not isinstance(part, ast.Slice):
                return spelled(part)
            lower = spelled(part.lower) if part.lower is not None else ""
            return f"{lower}:{ast.unparse(part.step or ast.Constant(1))}"
        return "|".join([self.base] + [part_key(part) for part in self.parts])


@dataclass
class Operation:
    """An elementwise operation of the fused expression: the ANF value
    (`a * b`, `np.sin(a)`, `a > b`) and the trees of its operands."""
    value: ast.expr
    operands: list


def name_of(identifier: str, store: bool = False) -> ast.Name:
    return ast.Name(identifier, ast.Store() if store else ast.Load())


def int_atom(value) -> ast.expr:
    return ast.Constant(value) if isinstance(value, int) else name_of(value) \
        if isinstance(value, str) else value

class LoopWriter:
    """The statements of one lowered root: `setup` (extents, starts: ints
    fixed by shapes and bounds) and the loop nests. `lowering` is the
    `lower` pass at work: its namer, `int_values`, `extents_of` and
    `loop_variable`."""

    def __init__(self, lowering, node: ast.Assign):
        self.lowering, self.node, self.namer = lowering, node, lowering.namer
        self.setup: list[ast.stmt] = []
        self.setup_reads: set[str] = set()
        self.setup_names: set[str] = set()
        self.cache: dict[str, object] = {}
        # a setup name -> what it computes, spelled with the names outside the setup
        self.spellings: dict[str, str] = {}

    def spelled(self, value) -> str:
        if isinstance(value, (int, str)):
            return self.spellings.get(value, str(value))

        class Expand(ast.NodeTransformer):
            def visit_Name(inner, name):
                return ast.Name(self.spellings.get(name.id, name.id), ast.Load())
        return ast.unparse(Expand().visit(copy.deepcopy(value)))

    def assign(self, target, value: ast.expr) -> ast.Assign:
        store = name_of(target, store=True) if isinstance(target, str) else target
        statement = ast.copy_location(ast.Assign([store], value), self.node)
        statement.origin = getattr(self.node, "origin", self.node.lineno)
        return statement

    def setup_value(self, value: ast.expr):
        """A name holding the int `value` (computed once per root)."""
        key = ast.unparse(value)
        if key not in self.cache:
            name = self.namer.fresh("n")
            self.setup.append(self.assign(name, value))
            self.setup_reads |= {n.id for n in ast.walk(value) if isinstance(n, ast.Name)
                                 and n.id not in self.setup_names
                                 and n.id not in ("np", "rt")}
            self.setup_names.add(name)
            self.cache[key] = name
            self.spellings[name] = self.spelled(value)
        return self.cache[key]

    def same(self, a, b) -> bool:
        return type(a) is type(b) and a == b

    def length(self, base: str, dim: int):
        known = self.lowering.extents_of.get(base)
        if known is not None:
            return known[dim]
        view = self.lowering.whole_views.get(base)
        if view is not None:                    # `row = B[i]`: B's extents
            return self.length(view[0], view[1][dim])
        transposed = self.lowering.transposes.get(base)
        if transposed is not None:              # `t = X.T`: X's, reversed
            return self.length(transposed, self.lowering.rank(base) - 1 - dim)
        return self.setup_value(ast.Subscript(ast.Attribute(name_of(base), "shape", ast.Load()),
                                              ast.Constant(dim), ast.Load()))

    def slices(self, access: Access):
        """(base dim, slice) of each slice part of `access`."""
        return [(dim, part) for dim, part in enumerate(access.parts)
                if isinstance(part, ast.Slice)]

    def extents(self, access: Access, count: int) -> list:
        """The extent of each of the last `count` slice dimensions."""
        result = []
        for dim, part in self.slices(access)[-count:] if count else []:
            length = self.length(access.base, dim)
            step = 1 if part.step is None else integer_constant(part.step)
            if part.lower is None and part.upper is None and step in (1, -1):
                result.append(length)
                continue
            lower = 0 if part.lower is None else integer_constant(part.lower)
            upper = None if part.upper is None else integer_constant(part.upper)
            if step == 1 and lower is not None and lower >= 0 and (
                    part.upper is None or upper is not None):
                result.append(self.short_extent(length, lower, part.upper, upper))
                continue
            start = self.bound(part.lower, length, clip_high=True) \
                if part.lower is not None else 0
            stop = self.bound(part.upper, length, clip_high=True) \
                if part.upper is not None else length
            if step == 1:
                difference = self.setup_value(ast.BinOp(int_atom(stop), ast.Sub(), int_atom(start)))
                result.append(self.setup_value(primitive_call(max, [name_of(difference),
                                                           ast.Constant(0)])))
            else:
                result.append(self.setup_value(primitive_call(rt.trip_count, [
                    int_atom(start), int_atom(stop), ast.Constant(step)])))
        return result

    def short_extent(self, length, lower: int, upper_node, upper: int | None):
        """The extent of `[lower:upper]` for constants `lower >= 0` and
        `upper` (or no upper bound): `max(length - lower, 0)`,
        `max(length - (lower - upper), 0)` for `upper < 0`, and
        `max(min(upper, length) - lower, 0)` for `upper >= 0`."""
        if upper_node is None:
            stop, cut = length, lower
        elif upper < 0:
            stop, cut = length, lower - upper
        else:
            stop = self.setup_value(primitive_call(min, [ast.Constant(upper),
                                                         int_atom(length)]))
            cut = lower
        difference = self.setup_value(ast.BinOp(int_atom(stop), ast.Sub(), ast.Constant(cut)))
        return self.setup_value(primitive_call(max, [name_of(difference), ast.Constant(0)]))

    def bound(self, bound: ast.expr, length, clip_high: bool):
        """A slice bound normalised against `length`; a constant >= 0 is
        itself where an element is read (the extent is then > 0, so it is
        below the length), clipped only for the extent."""
        constant = integer_constant(bound)
        if constant is not None and constant >= 0:
            if not clip_high:
                return constant
            return self.setup_value(primitive_call(min, [ast.Constant(constant),
                                                         int_atom(length)]))
        if constant is not None:
            shifted = self.setup_value(ast.BinOp(int_atom(length), ast.Sub(),
                                                 ast.Constant(-constant)))
            return self.setup_value(primitive_call(max, [name_of(shifted), ast.Constant(0)]))
        return self.setup_value(primitive_call(rt.clip_bound, [int_atom(length),
                                                               self.recomputed(bound)]))

    def recomputed(self, atom: ast.expr) -> ast.expr:
        """An int atom, its value computed again in the setup when it is
        one of `int_values` (so that the setup may sit before the loops)."""
        value = self.lowering.int_values.get(getattr(atom, "id", None))
        if value is None:
            return atom
        if isinstance(value, ast.BinOp):
            return name_of(self.setup_value(ast.BinOp(self.recomputed(value.left), value.op,
                                                    self.recomputed(value.right))))
        return self.recomputed(value)

    def start(self, access: Access, dim: int, part: ast.Slice):
        step = 1 if part.step is None else integer_constant(part.step)
        if step == -1:
            return self.setup_value(ast.BinOp(int_atom(self.length(access.base, dim)),
                                              ast.Sub(), ast.Constant(1)))
        if part.lower is None:
            return 0
        return self.bound(part.lower, self.length(access.base, dim), clip_high=False)

    # -- loop nests -------------------------------------------------------------
    def nest(self, extents, destination, tree, accesses) -> list[ast.stmt]:
        """One loop a dimension over `extents`, its body computing `tree`
        element by element into `destination` (an access, or the name of a
        float sum)."""
        rank = len(extents)
        anchor = destination if isinstance(destination, Access) else None
        variables, origins = [], []
        for dim in range(rank):
            variables.append(self.lowering.loop_variable(dim))
            origin = 0
            if anchor is not None:
                base_dim, part = self.slices(anchor)[dim]
                step = 1 if part.step is None else integer_constant(part.step)
                if step == 1:
                    origin = self.start(anchor, base_dim, part)
            origins.append(origin)
        body: list[ast.stmt] = []
        indices: dict[str, ast.expr] = {}

        def index_of(access: Access) -> list[ast.expr]:
            result = []
            offset = rank - access.rank
            slice_number = 0
            for dim, part in enumerate(access.parts):
                if not isinstance(part, ast.Slice):
                    result.append(part)
                    continue
                loop = offset + slice_number
                slice_number += 1
                variable, origin = variables[loop], origins[loop]
                step = 1 if part.step is None else integer_constant(part.step)
                start = self.start(access, dim, part)
                key = f"{variable}|{start}|{step}|{origin}"
                if key not in indices:
                    indices[key] = self.index(variable, origin, start, step, body)
                result.append(indices[key])
            return result

        def element(access: Access) -> ast.expr:
            index = index_of(access)
            temp = self.namer.temp()
            body.append(self.assign(temp, ast.Subscript(
                name_of(access.base), index[0] if len(index) == 1 else
                ast.Tuple(index, ast.Load()), ast.Load())))
            return name_of(temp)

        def compute(tree) -> ast.expr:
            if isinstance(tree, Access):
                return element(tree)
            if not isinstance(tree, Operation):
                return tree
            operands = [compute(operand) for operand in tree.operands]
            value = tree.value
            if isinstance(value, ast.BinOp):
                new = ast.BinOp(operands[0], value.op, operands[1])
            elif isinstance(value, ast.UnaryOp):
                new = ast.UnaryOp(value.op, operands[0])
            elif isinstance(value, ast.Compare):
                new = ast.Compare(operands[0], value.ops, [operands[1]])
            else:
                new = ast.Call(value.func, operands, [])
                new.primitive = value.primitive
                new.callee = None
            temp = self.namer.temp()
            body.append(self.assign(temp, new))
            return name_of(temp)

        result = compute(tree)
        if isinstance(destination, Access):
            index = index_of(destination)
            body.append(self.assign(ast.Subscript(
                name_of(destination.base), index[0] if len(index) == 1 else
                ast.Tuple(index, ast.Load()), ast.Store()), result))
        else:
            body.append(self.assign(destination, ast.BinOp(name_of(destination), ast.Add(),
                                                           result)))
        statements: list[ast.stmt] = []
        for dim in range(rank - 1, -1, -1):
            origin = origins[dim]
            if origin == 0:
                arguments = [int_atom(extents[dim])]
            else:
                stop = self.setup_value(ast.BinOp(int_atom(origin), ast.Add(),
                                                  int_atom(extents[dim])))
                arguments = [int_atom(origin), name_of(stop)]
            loop = ast.For(name_of(variables[dim], store=True),
                           ast.Call(name_of("range"), arguments, []), statements or body, [])
            ast.copy_location(loop, self.node)
            loop.origin = getattr(self.node, "origin", self.node.lineno)
            statements = [loop]
        return statements

    def index(self, variable: str, origin, start, step: int, body) -> ast.expr:
        """The element index `start + step * (variable - origin)`."""
        if step == 1:
            if self.same(start, origin):
                return name_of(variable)
            if isinstance(start, int) and isinstance(origin, int):
                shift = start - origin
                value = ast.BinOp(name_of(variable), ast.Add() if shift > 0 else ast.Sub(),
                                  ast.Constant(abs(shift)))
            else:
                delta = self.setup_value(ast.BinOp(int_atom(start), ast.Sub(), int_atom(origin)))
                value = ast.BinOp(name_of(variable), ast.Add(), name_of(delta))
        else:
            position = name_of(variable)
            if not self.same(origin, 0):
                relative = self.namer.temp()
                body.append(self.assign(relative, ast.BinOp(position, ast.Sub(),
                                                            int_atom(origin))))
                position = name_of(relative)
            scaled = self.namer.temp()
            body.append(self.assign(scaled, ast.BinOp(ast.Constant(step), ast.Mult(),
                                                      position)))
            value = ast.BinOp(int_atom(start), ast.Add(), name_of(scaled)) \
                if not self.same(start, 0) else None
            if value is None:
                return name_of(scaled)
        temp = self.namer.temp()
        body.append(self.assign(temp, value))
        return name_of(temp)


def index_parts(index: ast.expr) -> list:
    return list(index.elts) if isinstance(index, ast.Tuple) else [index]


def accesses_in(tree) -> list[Access]:
    if isinstance(tree, Access):
        return [tree]
    if isinstance(tree, Operation):
        return [a for operand in tree.operands for a in accesses_in(operand)]
    return []


def primitive_call(function, arguments: list[ast.expr]) -> ast.Call:
    primitive = REGISTRY.lookup(function)
    spelling = primitive.spelling.split(".")
    func: ast.expr = name_of(spelling[0])
    for attribute in spelling[1:]:
        func = ast.Attribute(func, attribute, ast.Load())
    call = ast.Call(func, arguments, [])
    call.primitive = primitive
    call.callee = None
    return call
