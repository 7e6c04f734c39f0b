"""Facts about single ANF statements, shared by the analyses and transforms.

* `reads` / `writes`: the names a statement (with its nested blocks) reads or
  assigns, in the primal program;
* `partials`: the partial derivative of an assignment with respect to each of
  its arguments, instantiated from the primitive's rule template;
* `adjoint_reads`: the primal values the adjoint of an assignment reads.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from adjit.passes.front.desugar import is_break_test  # noqa: F401 (shared here with the analyses)
from adjit.passes.ir.fold import fold
from adjit.rules import REGISTRY, Primitive
from adjit.rules.arrays import ARRAY_RULES, subscript_type
from adjit.rules.numpy import CREATION
from adjit.rules.registry import is_array


def primitive_of(value: ast.expr) -> Primitive | None:
    if isinstance(value, ast.BinOp):
        return REGISTRY.lookup(type(value.op))
    if isinstance(value, ast.UnaryOp) and not isinstance(value.op, ast.Not):
        return REGISTRY.lookup(type(value.op))
    if isinstance(value, ast.Call):
        return value.primitive
    return None


def arguments_of(value: ast.expr) -> list[ast.expr]:
    if isinstance(value, ast.BinOp):
        return [value.left, value.right]
    if isinstance(value, ast.UnaryOp):
        return [value.operand]
    if isinstance(value, ast.Call):
        return list(value.args)
    return []


def is_copy(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Constant))


def names_in(node: ast.AST) -> set[str]:
    """Every variable a node reads (not the `math` in `math.sin`)."""
    spellings = {id(inner) for call in ast.walk(node) if isinstance(call, ast.Call)
                 for inner in ast.walk(call.func)}
    return {inner.id for inner in ast.walk(node)
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load)
            and id(inner) not in spellings}


def reads(node: ast.stmt) -> set[str]:
    """Names a primal statement reads, nested blocks included."""
    if isinstance(node, ast.Assign):
        if isinstance(node.targets[0], ast.Subscript):      # tape[top] = v
            return names_in(node.value) | names_in(node.targets[0])
        return names_in(node.value)
    if isinstance(node, ast.If):
        return names_in(node.test) | _reads_block(node.body) | _reads_block(node.orelse)
    if isinstance(node, ast.For):
        return names_in(node.iter) | _reads_block(node.body)
    if isinstance(node, ast.While):
        return names_in(node.test) | _reads_block(node.body)
    if isinstance(node, ast.Return):
        return names_in(node.value)
    return set()


def _reads_block(statements) -> set[str]:
    return set().union(*(reads(s) for s in statements)) if statements else set()


def writes(node: ast.stmt) -> set[str]:
    """Names a primal statement assigns, nested blocks and loop indices
    included; an element write `tape[top] = v` writes `tape`."""
    return {n.id for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} | \
        {n.value.id for n in ast.walk(node)
         if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store)}


def writes_block(statements) -> set[str]:
    return set().union(*(writes(s) for s in statements)) if statements else set()


def partials(node: ast.Assign) -> list[tuple[str, ast.expr]]:
    """`[(argument name, partial expression), ...]` for `x = f(args)`.

    Arguments that are constants are skipped, and so are partials that fold
    to the constant 0; an argument used twice (`x * x`) gets one partial, the
    sum (`x + x`). A copy `x = y` has the partial 1 with respect to y.
    Expressions are fresh ASTs in terms of the statement's own atoms.
    """
    value = node.value
    if isinstance(value, ast.Name):
        return [(value.id, ast.Constant(1.0))]
    by_argument: dict[str, ast.expr] = {}
    for argument, expression in _instantiated_partials(node):
        if not isinstance(argument, ast.Name):
            continue
        if argument.id in by_argument:     # x * x: one partial, x + x
            expression = ast.BinOp(by_argument[argument.id], ast.Add(), expression)
        by_argument[argument.id] = expression
    result = []
    for name, expression in by_argument.items():
        expression = fold(expression)
        if isinstance(expression, ast.Constant) and expression.value == 0:
            continue
        result.append((name, expression))
    return result


def tape_flows(node: ast.Assign) -> list[tuple[str, str]]:
    """(destination, source) of values moving through a tape in generated
    code: `tape[top] = v`, `v = tape[top]`, `t = rt.grow(tape, n)`."""
    target, value = node.targets[0], node.value
    if isinstance(target, ast.Subscript) and isinstance(value, ast.Name):
        return [(target.value.id, value.id)]
    if isinstance(target, ast.Name) and isinstance(value, ast.Subscript) \
            and isinstance(value.value, ast.Name):
        return [(target.id, value.value.id)]
    if isinstance(target, ast.Name) and isinstance(value, ast.Call) \
            and ast.unparse(value.func) == "rt.grow":
        return [(target.id, value.args[0].id)]
    return []


def operand_type(operand: ast.expr, types: dict[str, str]) -> str | None:
    """The type of an operation's operand: a name, or a view (`q[i]`)."""
    if isinstance(operand, ast.Name):
        return types.get(operand.id)
    if isinstance(operand, ast.Subscript) and isinstance(operand.value, ast.Name) \
            and is_array(types.get(operand.value.id)):
        return subscript_type(types[operand.value.id], operand.slice)
    return None


def operand_base(operand: ast.expr) -> str | None:
    """The variable an operand reads: `x` for `x` and for `x[1:]`."""
    if isinstance(operand, ast.Name):
        return operand.id
    if isinstance(operand, ast.Subscript) and isinstance(operand.value, ast.Name):
        return operand.value.id
    return None


def is_array_operation(node: ast.stmt, types: dict[str, str]) -> bool:
    """A whole-array operation: an array result or array operands, other than
    creating, copying or aliasing an array or reading an element."""
    if not isinstance(node, ast.Assign) or not isinstance(node.targets[0], ast.Name):
        return False
    primitive = primitive_of(node.value)
    if primitive is None or primitive.key in CREATION or primitive.key is np.copy \
            or primitive.spelling == "rt.grow":
        return False
    return is_array(types.get(node.targets[0].id)) or any(
        is_array(operand_type(a, types)) for a in arguments_of(node.value))


def operand_partials(node: ast.Assign) -> list[tuple[ast.expr, ast.expr]]:
    """`[(operand, partial), ...]` of an elementwise operation, for operands
    that are names or views, each occurrence apart (`x * x` gives two)."""
    result = []
    for argument, expression in _instantiated_partials(node):
        if operand_base(argument) is None:
            continue
        expression = fold(expression)
        if not (isinstance(expression, ast.Constant) and expression.value == 0):
            result.append((argument, expression))
    return result


def is_structured(node: ast.Assign) -> bool:
    """An operation with an array rule (`np.sum`, `np.dot`, `@`, ...)
    rather than elementwise partial derivatives."""
    primitive = primitive_of(node.value)
    return primitive is not None and primitive.key in ARRAY_RULES


def differentiable_inputs(node: ast.Assign) -> list[str]:
    if is_structured(node):
        return [operand_base(a) for a in arguments_of(node.value) if operand_base(a)]
    if any(isinstance(a, ast.Subscript) for a in arguments_of(node.value)):
        return [operand_base(operand) for operand, _ in operand_partials(node)]
    return [name for name, _ in partials(node)]


def assigned_name(node: ast.Assign) -> str:
    """The variable an assignment writes (the tape, for `tape[top] = v`)."""
    target = node.targets[0]
    return target.value.id if isinstance(target, ast.Subscript) else target.id


def is_tape_store(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript)


def is_tape_load(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript) \
        and isinstance(node.value.value, ast.Name)


def adjoint_reads(node: ast.Assign, active: set[str]) -> set[str]:
    """Primal names the adjoint of `node` reads, given the active variables."""
    if is_tape_store(node):         # _b_v += _b_tape[top]; _b_tape[top] = 0.0
        return names_in(node.targets[0].slice) if node.targets[0].value.id in active else set()
    if is_tape_load(node):          # _b_tape[top] += _b_v
        return names_in(node.value.slice) if node.targets[0].id in active else set()
    if node.targets[0].id not in active:
        return set()
    if is_structured(node):         # what array rules read: the operands, the result
        reads_result = ARRAY_RULES[primitive_of(node.value).key].reads_result
        return names_in(node.value) | ({node.targets[0].id} if reads_result else set())
    if any(isinstance(a, ast.Subscript) for a in arguments_of(node.value)):
        # views: their indices (where the adjoint goes) and the partials
        return names_in(node.value) | set().union(
            *(names_in(partial) for _, partial in operand_partials(node)))
    needed = set()
    for name, expression in partials(node):
        if name in active:
            needed |= names_in(expression)
    return needed


def _instantiated_partials(node: ast.Assign) -> list[tuple[ast.expr, ast.expr]]:
    """(argument, its partial's template filled in with the statement's
    atoms) for each argument of a differentiable primitive."""
    primitive = primitive_of(node.value)
    if primitive is None or not primitive.differentiable:
        return []
    arguments = arguments_of(node.value)
    substitution = dict(zip(primitive.parameters, arguments))
    substitution["ans"] = ast.Name(node.targets[0].id, ast.Load())
    return [(argument, _substitute(template, substitution))
            for argument, template in zip(arguments, primitive.partial_expressions)]


def _substitute(template: ast.expr, substitution: dict[str, ast.expr]) -> ast.expr:
    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in substitution:
                return copy.deepcopy(substitution[node.id])
            return node
    return Substitute().visit(copy.deepcopy(template))
