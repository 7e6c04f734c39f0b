"""inline: replace each call to one of the user's own functions by its body.

Input: an ANF `FunctionDef` in which `resolve` marked the calls to user
functions (plain Python functions, `adjit.differentiable` functions, Numba
`@njit` functions through their Python source) with `Call.callee`; each such
call is the whole value of an assignment `t = g(a, b)` (ANF).
Output: the same function with every such statement replaced by

    _g_y = b            # a parameter the callee assigns, bound to its argument
    ...                 # the callee's own ANF body, its variables renamed and
                        # the parameters it only reads replaced by the
                        # arguments (`a` itself)
    t = _g_result       # what it returns

so that the derivative of the caller is the derivative of one function and
the callee's statements are differentiated, recorded and recomputed like
the caller's own (docs/architecture.md#calls). The callee goes through the
same front end (`parse` ... `anf`, its own `inline` included) with its own
globals and closure, so the names it reads resolve where it was defined.

A callee returning a tuple gives one variable per element, read where the
caller indexes the result with a constant (`parts[0]`, and the reads by
which `tuples` spelled `a, b = g(x)`, whose count is checked here), or
names it again (`q = parts`, bound once), or returns it. Refused with a located error:
recursion (direct or through other functions), a call in a `while`
condition, any other use of a returned tuple.
"""

from __future__ import annotations

import ast
import copy
import inspect
from typing import Callable

from adjit.errors import DifferentiationError
from adjit.passes.ir.fold import integer_constant
from adjit.passes.front.parse import ParsedFunction

# the functions being inlined right now, outermost first (recursion check)
_IN_PROGRESS: list = []


def inline_calls(parsed: ParsedFunction,
                 front_end: Callable[..., ParsedFunction]) -> ParsedFunction:
    """Inline every marked call of `parsed`; `front_end` takes a callee
    through the front end (the pipeline's own, this pass included)."""
    inliner = _Inliner(parsed, front_end)
    parsed.tree.body = inliner.block(parsed.tree.body)
    for holder, (count, statement) in parsed.tuple_unpacks.items():
        parts = inliner.tuples.get(holder)
        if parts is None:
            raise DifferentiationError(
                "unpacking a value that is not a tuple", parsed.location(statement),
                hint="unpack a tuple (`a, b = x, y`, or the tuple one of your "
                "functions returns), or index an array (`a = x[0]`)",
                source_line=parsed.line_text(statement), doc_anchor="types")
        if len(parts) != count:
            raise DifferentiationError(
                f"unpacking {len(parts)} values into {count} names",
                parsed.location(statement), hint="match the counts",
                source_line=parsed.line_text(statement), doc_anchor="types")
    if inliner.tuples:
        _TupleParts(inliner.tuples, parsed).visit(parsed.tree)
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.Call) and getattr(node, "callee", None) is not None:
            raise DifferentiationError(
                f"call to `{node.callee.__name__}` inside a `while` condition is not "
                "supported", parsed.location(node), hint="compute it in a variable "
                "before the loop and at the end of the loop body",
                source_line=parsed.line_text(node), doc_anchor="calls")
    return parsed


class _Inliner:
    def __init__(self, parsed: ParsedFunction, front_end):
        self.parsed = parsed
        self.front_end = front_end
        # target of a call returning a tuple -> the names of its elements
        self.tuples: dict[str, list[str]] = {}

    def block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for node in statements:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and getattr(node.value, "callee", None) is not None:
                out.extend(self.inline(node))
                continue
            for field in ("body", "orelse"):
                block = getattr(node, field, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    setattr(node, field, self.block(block))
            out.append(node)
        return out

    def error(self, node: ast.AST, message: str, hint: str):
        raise DifferentiationError(message, self.parsed.location(node), hint=hint,
                                   source_line=self.parsed.line_text(node),
                                   doc_anchor="calls")

    def inline(self, statement: ast.Assign) -> list[ast.stmt]:
        call = statement.value
        function = call.callee
        if function in _IN_PROGRESS or function is self.parsed.function:
            chain = " -> ".join(f.__name__ for f in _IN_PROGRESS + [function])
            self.error(call, f"recursive call to `{function.__name__}` ({chain})",
                       "adjit inlines calls and cannot inline recursion: write it "
                       "as a loop")
        # a tuple argument (a display of the caller's variables, `tuples`)
        # makes the callee's parameter a tuple of that structure
        structures = None
        if self.parsed.structures_known:
            names = list(inspect.signature(function).parameters)
            structures = {name: _structure(argument) for name, argument
                          in zip(names, call.args) if isinstance(argument, ast.Tuple)}
        _IN_PROGRESS.append(function)
        try:
            callee = self.front_end(function, structures)
        finally:
            _IN_PROGRESS.pop()
        tree = copy.deepcopy(callee.tree)
        returned = tree.body[-1]
        parameters = [a.arg for a in tree.args.posonlyargs + tree.args.args]
        if structures is not None:
            call.args = [element for argument in call.args for element in _elements(argument)]
        assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)}
        # a parameter the callee never assigns reads the caller's variable
        # itself (`q`, not a copy bound on every call: no alias in loops)
        passed = {parameter: argument.id for parameter, argument in zip(parameters, call.args)
                  if isinstance(argument, ast.Name) and parameter not in assigned}
        renamed = self.renaming(function.__name__, tree,
                                [p for p in parameters if p not in passed], callee)
        renamed.update(passed)
        _Rename(renamed).visit(tree)
        origin = getattr(statement, "origin", statement.lineno)
        code: list[ast.stmt] = []
        for parameter, argument in zip(parameters, call.args):
            if parameter not in passed:
                code.append(ast.Assign([ast.Name(renamed[parameter], ast.Store())],
                                       copy.deepcopy(argument)))
        code.extend(tree.body[:-1])
        if isinstance(returned.value, ast.Tuple):
            # `parts = g(...)` read as `parts[0]`, `parts[1]`: each part is a variable
            self.tuples[statement.targets[0].id] = [
                renamed.get(element.id, element.id) for element in returned.value.elts]
        else:
            code.append(ast.Assign([copy.deepcopy(statement.targets[0])],
                                   ast.Name(renamed.get(returned.value.id, returned.value.id),
                                            ast.Load())))
        for node in code:
            for inner in ast.walk(node):
                if isinstance(inner, ast.stmt):
                    ast.copy_location(inner, statement)
                    inner.origin = origin
        return code

    def renaming(self, prefix: str, tree: ast.FunctionDef, parameters: list[str],
                 callee: ParsedFunction) -> dict[str, str]:
        """Each of the callee's variables -> a fresh name in the caller."""
        variables = set(parameters) | {n.id for n in ast.walk(tree)
                                       if isinstance(n, ast.Name)
                                       and isinstance(n.ctx, ast.Store)}
        namer = self.parsed.namer
        renamed = {}
        for name in sorted(variables):
            renamed[name] = namer.unique(f"_{prefix}_{name.lstrip('_')}")
            if name in callee.namer.temporaries:
                namer.temporaries.add(renamed[name])
        return renamed


class _TupleParts(ast.NodeTransformer):
    """`v = parts[k]` -> `v = <the k-th returned variable>`; any other use of
    a tuple a call returned is refused."""

    def __init__(self, tuples: dict[str, list[str]], parsed: ParsedFunction):
        self.tuples = tuples
        self.parsed = parsed
        self.stores: dict[str, int] = {}
        for node in ast.walk(parsed.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.stores[node.id] = self.stores.get(node.id, 0) + 1

    def visit_Assign(self, node: ast.Assign):
        """`q = parts`: `q` names the same variables (bound once, so that it
        cannot mean another value elsewhere)."""
        target = node.targets[0]
        if isinstance(node.value, ast.Name) and node.value.id in self.tuples \
                and isinstance(target, ast.Name):
            if self.stores.get(target.id, 0) != 1:
                raise DifferentiationError(
                    f"`{target.id}` holds the tuple a call returned and is assigned "
                    "elsewhere too", self.parsed.location(node),
                    hint="give the tuple a name of its own",
                    source_line=self.parsed.line_text(node), doc_anchor="calls")
            self.tuples[target.id] = self.tuples[node.value.id]
            return None
        return self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript):
        index = integer_constant(node.slice)
        if isinstance(node.value, ast.Name) and node.value.id in self.tuples \
                and index is not None:
            parts = self.tuples[node.value.id]
            if -len(parts) <= index < len(parts):
                return ast.copy_location(ast.Name(parts[index], ast.Load()), node)
        return self.generic_visit(node)

    def visit_Return(self, node: ast.Return):
        """`return parts`: the function returns the tuple's elements."""
        if isinstance(node.value, ast.Name) and node.value.id in self.tuples:
            node.value = ast.Tuple([ast.Name(part, ast.Load())
                                    for part in self.tuples[node.value.id]], ast.Load())
            return node
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name):
        if node.id in self.tuples:
            raise DifferentiationError(
                f"`{node.id}` holds the tuple a call returned", self.parsed.location(node),
                hint="unpack it by index (`parts[0]`) or return one value",
                source_line=self.parsed.line_text(node), doc_anchor="calls")
        return node


def _structure(display: ast.Tuple) -> tuple:
    return tuple(_structure(e) if isinstance(e, ast.Tuple) else None for e in display.elts)


def _elements(argument: ast.expr) -> list[ast.expr]:
    """A call's argument, a tuple display flattened to its elements."""
    if isinstance(argument, ast.Tuple):
        return [part for element in argument.elts for part in _elements(element)]
    return [argument]


class _Rename(ast.NodeTransformer):
    def __init__(self, renamed: dict[str, str]):
        self.renamed = renamed

    def visit_Name(self, node: ast.Name):
        if node.id in self.renamed:
            return ast.copy_location(ast.Name(self.renamed[node.id], node.ctx), node)
        return node
