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
caller indexes the result with a constant (`parts[0]`). A callee may fill
its array arguments (`out[i] = v`, Numba's output arguments): a parameter
it never rebinds *is* the caller's array in the spliced body, so its writes
land there. A call on its own line (`desugar` marked it `discarded`) binds
no result; a callee returning nothing (`return ()`) has no result to bind.
Refused with a located error: recursion (direct or through other
functions), a call in a `while` condition, any other use of a returned
tuple, a use of the result of a callee that returns nothing, a view
(`out[i]`) given to a parameter the callee writes into.
A tuple the callee returns may also be unpacked (`a, b = g(x)`, spelled
by `tuples` as constant reads, whose count is checked here), named again
(`q = parts`, bound once), or returned.
"""

from __future__ import annotations

import ast
import copy
import inspect
from typing import Callable

from adjit.errors import DifferentiationError
from adjit.passes.front.calls import NestedFunction, underlying
from adjit.passes.ir.build import Renamer as _Rename
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
    if inliner.tuples or inliner.nothing:
        _TupleParts(inliner.tuples, inliner.nothing, parsed).visit(parsed.tree)
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
        # target of a call to a function returning nothing -> that function
        self.nothing: dict[str, object] = {}

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
        function = underlying(call.callee)
        if function in _IN_PROGRESS or function is self.parsed.function:
            chain = " -> ".join(f.__name__ for f in _IN_PROGRESS + [function])
            self.error(call, f"recursive call to `{function.__name__}` ({chain})",
                       "adjit inlines calls and cannot inline recursion: write it "
                       "as a loop")
        # a tuple argument (a display of the caller's variables, `tuples`)
        # makes the callee's parameter a tuple of that structure
        structures = None
        if self.parsed.structures_known:
            names = _parameter_names(function)
            structures = {name: _structure(argument) for name, argument
                          in zip(names, call.args) if isinstance(argument, ast.Tuple)}
        _IN_PROGRESS.append(function)
        try:
            callee = self.front_end(call.callee, structures,
                                    _constant_arguments(function, call))
        finally:
            _IN_PROGRESS.pop()
        self.check_free_reads(call, function, callee)
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
        renamed = self.renaming(callee.name, tree,
                                [p for p in parameters if p not in passed], callee)
        renamed.update(passed)
        renamed.update(self.arrays_of(callee))
        _Rename(renamed).visit(tree)
        origin = getattr(statement, "origin", statement.lineno)
        code: list[ast.stmt] = []
        for parameter, argument in zip(parameters, call.args):
            if parameter not in passed:
                code.append(ast.Assign([ast.Name(renamed[parameter], ast.Store())],
                                       copy.deepcopy(argument)))
        code.extend(tree.body[:-1])
        target = statement.targets[0].id
        if getattr(call, "discarded", False):
            pass                        # `fill(x, out)` on its own line
        elif isinstance(returned.value, ast.Tuple) and not returned.value.elts:
            self.nothing[target] = function
        elif isinstance(returned.value, ast.Tuple):
            # `parts = g(...)` read as `parts[0]`, `parts[1]`: each part is a variable
            self.tuples[target] = [
                renamed.get(element.id, element.id) for element in returned.value.elts]
        else:
            code.append(ast.Assign([copy.deepcopy(statement.targets[0])],
                                   ast.Name(renamed.get(returned.value.id, returned.value.id),
                                            ast.Load())))
        from_callee = {id(inner) for node in tree.body for inner in ast.walk(node)}
        for node in code:
            for inner in ast.walk(node):
                if id(inner) in from_callee and hasattr(inner, "lineno"):
                    # where it is in the callee, for errors (`ParsedFunction.location`)
                    inner.inlined = getattr(inner, "inlined", []) + [
                        (callee.filename, inner.lineno, inner.col_offset,
                         callee.source_lines.get(inner.lineno, ""))]
                if isinstance(inner, (ast.stmt, ast.expr)):
                    ast.copy_location(inner, statement)
                if isinstance(inner, ast.stmt):
                    inner.origin = origin
        return code

    def check_free_reads(self, call: ast.Call, function, callee: ParsedFunction) -> None:
        """A nested function reads variables of its enclosing function by
        name: inlined into another function (`layer(x, act=halve)`), none
        of them may be a variable there, which would capture the read."""
        free = dict(callee.free_reads)
        if isinstance(function, NestedFunction):
            own = {n.id for n in ast.walk(callee.tree) if isinstance(n, ast.Name)
                   and isinstance(n.ctx, ast.Store)} | {
                a.arg for a in callee.tree.args.posonlyargs + callee.tree.args.args}
            free.update({n.id: function.outer for n in ast.walk(callee.tree)
                         if isinstance(n, ast.Name) and n.id in function.outer_locals
                         and n.id not in own})
        here = {n.id for n in ast.walk(self.parsed.tree) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store)} | {
            a.arg for a in self.parsed.tree.args.posonlyargs + self.parsed.tree.args.args}
        for name, outer in sorted(free.items()):
            if outer is self.parsed:
                continue                        # the enclosing function's own variable
            if name in here:
                self.error(call, f"`{function.__name__}` reads `{name}` of the function "
                           f"it is defined in, and `{self.parsed.name}`, into which it "
                           f"is inlined, has a variable `{name}` too",
                           f"rename `{name}` in one of them")
            self.parsed.free_reads[name] = outer

    def arrays_of(self, callee: ParsedFunction) -> dict[str, str]:
        """The global arrays the callee reads, added to the caller's: each
        callee name -> the caller's name for the same array (a new name
        where the caller uses the callee's for something else)."""
        caller_names = {n.id for n in ast.walk(self.parsed.tree) if isinstance(n, ast.Name)}
        names = {}
        for name, array in callee.arrays.items():
            chosen = name
            if self.parsed.arrays.get(name, array) is not array or \
                    (name in caller_names and name not in self.parsed.arrays):
                chosen = self.parsed.namer.unique(name)
            self.parsed.arrays[chosen] = array
            names[name] = chosen
        return names

    def renaming(self, prefix: str, tree: ast.FunctionDef, parameters: list[str],
                 callee: ParsedFunction) -> dict[str, str]:
        """Each of the callee's variables -> a fresh name in the caller: a
        temporary a new `_t` name, a user variable its function's name and
        its own (`normal_cdf_k`; `normal_cdf_k2` for a second call), the
        function being the one that wrote it however deep it was inlined
        (not `price_normal_cdf_k`)."""
        variables = set(parameters) | {n.id for n in ast.walk(tree)
                                       if isinstance(n, ast.Name)
                                       and isinstance(n.ctx, ast.Store)}
        namer = self.parsed.namer
        renamed = {}
        for name in sorted(variables):
            user = callee.user_names.get(name, name)
            if name in callee.namer.made:
                # a name adjit made there (`_t3`, `_c1`): a new one of its kind
                renamed[name] = namer.fresh(callee.namer.made[name])
                if name in callee.namer.temporaries:
                    namer.temporaries.add(renamed[name])
            else:
                owner = callee.owners.get(name, prefix)
                renamed[name] = namer.unique(f"{owner}_{user.lstrip('_')}")
                self.parsed.owners[renamed[name]] = owner
            self.parsed.user_names[renamed[name]] = user
        return renamed


def _parameter_names(function) -> list[str]:
    """The parameters of a callee: a function's, or as a nested function
    (`calls.NestedFunction`) spells them."""
    if hasattr(function, "tree"):
        return [a.arg for a in function.tree.args.posonlyargs + function.tree.args.args]
    return list(inspect.signature(function).parameters)


def _constant_arguments(function, call: ast.Call) -> dict[str, object]:
    """The callee's parameters this call passes as int or bool constants
    (`resolve` reads them as such: `keepdims=keep`, `axis=k`)."""
    parameters = _parameter_names(function)
    constants = {}
    for parameter, argument in zip(parameters, call.args):
        if isinstance(argument, ast.Constant) and type(argument.value) is bool:
            constants[parameter] = argument.value
        elif integer_constant(argument) is not None:
            constants[parameter] = integer_constant(argument)
    return constants


class _TupleParts(ast.NodeTransformer):
    """`v = parts[k]` -> `v = <the k-th returned variable>`; any other use of
    a tuple a call returned is refused."""

    def __init__(self, tuples: dict[str, list[str]], nothing: dict[str, object],
                 parsed: ParsedFunction):
        self.tuples = tuples
        self.nothing = nothing
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
        if node.id in self.nothing:
            name = self.nothing[node.id].__name__
            raise DifferentiationError(
                f"`{name}` returns nothing (None), and `{node.id}` holds what it "
                "returned", self.parsed.location(node),
                hint=f"call `{name}(...)` on its own line: the arrays it fills are "
                "its results", source_line=self.parsed.line_text(node),
                doc_anchor="calls")
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
