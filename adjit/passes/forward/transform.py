"""forward: write the forward-mode (tangent) derivative of an ANF function.

Input: an ANF `FunctionDef` (see `anf`), its variable types, the `wrt`
parameter names and the active variables.
Output: a new `FunctionDef` `NAME_jvp(params..., _d_w1, _d_w2, ...)` taking
one tangent per `wrt` parameter and returning `(value, tangent of value)`
(for a function returning a tuple, a tuple of values then a tuple of
tangents).

Every assignment `x = f(a, b)` to an active `x` is followed by its tangent
statement `_d_x = ∂f/∂a * _d_a + ∂f/∂b * _d_b` over the active arguments,
instantiated from the same rule templates as reverse mode. Control flow is
kept as it is: a tangent travels with its value, so forward mode needs no
tape and no reversal. `optimize` then folds zero tangents away.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from adjit.passes.analysis.arrays import ArrayFacts
from adjit.passes.ir.build import function_def
from adjit.passes.ir.build import name as name_node
from adjit.passes.ir.naming import Namer
from adjit.passes.ir.fold import fold
from adjit.passes.analysis.statements import (arguments_of, is_array_operation, is_structured,
                                     operand_base, operand_partials, operand_type, partials,
                                     primitive_of)
from adjit.rules.arrays import ARRAY_RULES, Operands, elementwise_partial, index_text
from adjit.rules.registry import is_array


class ForwardTransformer:
    def __init__(self, tree: ast.FunctionDef, types: dict[str, str],
                 wrt: list[str], active: set[str], namer: Namer,
                 arrays: ArrayFacts | None = None):
        self.arrays = arrays or ArrayFacts()
        self.tree = tree
        self.types = types
        self.wrt = wrt
        self.active = active
        self.namer = namer

    def array_tangent(self, node: ast.Assign) -> ast.stmt | None:
        """The tangent of a whole-array operation: its array rule's, or the
        elementwise sum of partial * tangent, broadcast to the result's shape
        when no active operand has the result's rank."""
        target = node.targets[0].id
        if target not in self.active:
            return None
        tangent = self.namer.tangent
        arguments = arguments_of(node.value)
        if is_structured(node):
            operands = Operands(
                target, [ast.unparse(a) for a in arguments],
                [operand_type(a, self.types) for a in arguments], tangent(target),
                [self.operand_tangent(a) for a in arguments])
            text = ARRAY_RULES[primitive_of(node.value).key].forward(operands)
        else:
            active = [(operand, partial) for operand, partial in operand_partials(node)
                      if operand_base(operand) in self.active]
            terms = [ast.BinOp(elementwise_partial(partial), ast.Mult(),
                               ast.parse(self.operand_tangent(operand), mode="eval").body)
                     for operand, partial in active]
            if not terms:
                # an active name bound here from inactive values only
                # (`_b_v = _b_v + 1.0` after `_b_v = np.zeros_like(v)`)
                statement = ast.parse(f"{tangent(target)} = np.zeros_like({target})").body[0]
                statement.origin = getattr(node, "origin", None)
                return statement
            value = terms[0]
            for term in terms[1:]:
                value = ast.BinOp(value, ast.Add(), term)
            folded = fold(value)
            text = ast.unparse(folded)
            if isinstance(folded, (ast.Name, ast.Subscript)) \
                    and ({target} | {operand_base(o) for o, _ in active}) & self.arrays.stored:
                # `c = y * 1.0` (or `y + b`): the tangent of `c` would be the
                # tangent array of `y` itself (or a view of it), and a write
                # into either would change the other
                text = f"np.copy({text})"
            target_type = self.types[target]
            if not any(operand_type(operand, self.types) == target_type
                       for operand, _ in active):
                text = f"rt.broadcast_like({text}, {target})"
        statement = ast.parse(f"{tangent(target)} = {text}").body[0]
        statement.origin = getattr(node, "origin", None)
        return statement

    def operand_tangent(self, operand: ast.expr) -> str | None:
        """The tangent of an operand (`_d_x`; `_d_q[i]` for the view `q[i]`),
        or None when it carries no derivative."""
        base = operand_base(operand)
        if base is None or base not in self.active:
            return None
        if isinstance(operand, ast.Name):
            return self.namer.tangent(base)
        return f"{self.namer.tangent(base)}[{index_text(operand.slice)}]"

    def tangent_statement(self, node: ast.Assign) -> ast.stmt | None:
        if is_array_operation(node, self.types) or is_structured(node):
            return self.array_tangent(node)
        tape = self.tape_tangent(node)
        if tape is not None:
            return tape
        if isinstance(node.targets[0], ast.Subscript):
            return None
        target = node.targets[0].id
        if target not in self.active:
            return None
        terms = [ast.BinOp(partial, ast.Mult(), name_node(self.namer.tangent(name)))
                 for name, partial in partials(node) if name in self.active]
        value = terms[0] if terms else ast.Constant(0.0)
        for term in terms[1:]:
            value = ast.BinOp(value, ast.Add(), term)
        statement = ast.Assign([name_node(self.namer.tangent(target), store=True)], fold(value))
        statement.origin = getattr(node, "origin", None)
        return statement

    def tape_tangent(self, node: ast.Assign) -> ast.stmt | None:
        """Tangents of the tapes of generated code, differentiated again: a
        tangent tape beside each active tape, written and read in step."""
        target, value = node.targets[0], node.value
        tangent = self.namer.tangent
        if isinstance(target, ast.Subscript):                  # tape[top] = v
            tape = target.value.id
            if tape not in self.active:
                return None
            moved = ast.Name(tangent(value.id), ast.Load()) if \
                isinstance(value, ast.Name) and value.id in self.active else ast.Constant(0.0)
            text = f"{tangent(tape)}[{index_text(target.slice)}] = {ast.unparse(moved)}"
        elif isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            if target.id not in self.active:                    # v = tape[top]
                return None
            if value.value.id not in self.active:               # data: no tangent
                text = f"{tangent(target.id)} = 0.0"
            else:
                text = (f"{tangent(target.id)} = "
                        f"{tangent(value.value.id)}[{index_text(value.slice)}]")
        elif isinstance(value, ast.Call) and is_array(self.types.get(target.id)):
            if target.id not in self.active:
                return None
            source = value.args[0].id if value.args and \
                isinstance(value.args[0], ast.Name) else None
            if ast.unparse(value.func) == "rt.grow":
                text = (f"{tangent(target.id)} = rt.grow({tangent(source)}, "
                        f"{ast.unparse(value.args[1])})")
            elif value.primitive.key is np.copy and self.operand_tangent(value.args[0]):
                # of a name or of a view (`np.copy(x[1:])`): the same of its tangent
                text = f"{tangent(target.id)} = np.copy({self.operand_tangent(value.args[0])})"
            else:                           # a new array: its tangent is zero
                text = f"{tangent(target.id)} = np.zeros_like({target.id})"
        else:
            return None
        statement = ast.parse(text).body[0]
        statement.origin = getattr(node, "origin", None)
        return statement

    def block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for node in statements:
            if isinstance(node, ast.Assign):
                out.append(copy.deepcopy(node))
                tangent = self.tangent_statement(node)
                if tangent is not None:
                    out.append(tangent)
            elif isinstance(node, (ast.If, ast.For, ast.While)):
                compound = copy.copy(node)
                compound.body = self.block(node.body) or [ast.Pass()]
                if isinstance(node, ast.If):
                    compound.orelse = self.block(node.orelse)
                out.append(compound)
            else:
                out.append(copy.deepcopy(node))
        return out

    def transform(self, name: str, with_value: bool = True) -> ast.FunctionDef:
        """`def NAME(params, tangents): ... return value, tangent`, or without
        the value `return tangent`: the function a further transformation
        differentiates (reverse over forward)."""
        tree = self.tree
        returned = tree.body[-1].value
        outputs = returned.elts if isinstance(returned, ast.Tuple) else [returned]
        body = self.block(tree.body[:-1])
        # An array parameter that is not differentiated but becomes active
        # starts with a zero tangent array (scalar tangents read before they
        # are assigned get their start value from `definite`).
        parameters = [argument.arg for argument in tree.args.posonlyargs + tree.args.args]
        body[:0] = [ast.parse(f"{self.namer.tangent(p)} = np.zeros_like({p})").body[0]
                    for p in parameters if p in self.active and p not in self.wrt
                    and is_array(self.types.get(p))]
        # a derivative never modifies its caller's arrays, tangents included
        copies = []
        for parameter in self.arrays.written_parameters:
            copies.append(ast.parse(f"{parameter} = np.copy({parameter})").body[0])
            if parameter in self.wrt and parameter in self.active:
                tangent = self.namer.tangent(parameter)
                copies.append(ast.parse(f"{tangent} = np.copy({tangent})").body[0])
        body[:0] = copies
        # an output that does not depend on `wrt` has a zero tangent of its
        # own shape: an array of zeros for an array
        tangents = [name_node(self.namer.tangent(o.id)) if o.id in self.active
                    else ast.parse(f"np.zeros_like({o.id})", mode="eval").body
                    if is_array(self.types.get(o.id)) else ast.Constant(0.0)
                    for o in outputs]
        if isinstance(returned, ast.Tuple):
            results = [copy.deepcopy(returned), ast.Tuple(tangents, ast.Load())]
        else:
            results = [copy.deepcopy(returned), tangents[0]]
        final = ast.Return(ast.Tuple(results, ast.Load()) if with_value else results[1])
        final.origin = getattr(tree.body[-1], "origin", None)
        arguments = copy.deepcopy(tree.args)
        arguments.args.extend(ast.arg(self.namer.tangent(w)) for w in self.wrt)
        return function_def(name, arguments, body + [final])
