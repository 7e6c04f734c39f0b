"""desugar: rewrite sugar and jumps into a small structured core.

Input: a resolved `ast.FunctionDef` (calls canonical, globals constant).
Output: a `FunctionDef` in which

* every assignment is `NAME = EXPR` (augmented, chained and
  tuple assignments are spelled out, swaps through a saved old value; an
  augmented assignment's statement is marked `in_place`, since on an array
  it writes the array's elements);
* there is exactly one `return`, the last statement of the body, of a name
  (or of a tuple, when it was the function's only `return`); a function
  that returns nothing (its results are the arrays it writes into) ends
  with `return ()`, the empty tuple;
* a call on its own line (`fill(x, out)`) is one of the user's own
  functions (`resolve` marked it), assigned to a fresh name (`_unused1 =
  fill(x, out)`), the call marked `discarded`: `inline` binds no result;
* `break` appears only as the whole body of an `if FLAG: break` that is
  the last statement of a loop body, and there is no `continue`: jumps set
  flags (`_break_1 = True`, `_continue_1 = True`, `_returned = True`) and the
  statements they skip sit under `if not FLAG:` guards;
* there is no `pass`, no docstring and no `assert`: an input check is
  `if TEST: raise E("message")`, which the derivatives keep;
* an expression statement is a call of the user's own function on its own
  line (`fill(x, out)`, marked `discarded` for `inline`), or a call made
  for its effect (`np.random.seed(s)`, a draw whose value is dropped:
  `resolve` lets only those through), which assigns its value to a fresh
  name (`_seed_1`, `_unused_1`).

The flags turn every loop body into structured code whose iterations the
reverse sweep can replay by count alone (docs/architecture.md, "Jumps").
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from adjit.errors import UnsupportedSyntaxError
from adjit.passes.ir.naming import Namer
from adjit.passes.front.parse import ParsedFunction


def desugar(parsed: ParsedFunction) -> ParsedFunction:
    if parsed.namer is None:
        parsed.namer = Namer(parsed.tree)
    _Desugar(parsed).run()
    return parsed


@dataclass
class _Loop:
    """Flags of one loop, created when a jump inside it first needs them."""
    break_flag: str | None = None
    continue_flag: str | None = None


@dataclass
class _Function:
    result: str | None = None      # variable holding the returned value
    returned: str | None = None    # flag set by an early return
    loops: list[_Loop] = field(default_factory=list)


def _assign(name: str, value: ast.expr, like: ast.AST | None = None) -> ast.Assign:
    node = ast.Assign([ast.Name(name, ast.Store())], value)
    if like is not None:
        ast.copy_location(node, like)
    return node


def _true() -> ast.Constant:
    return ast.Constant(True)


class _Desugar:
    def __init__(self, parsed: ParsedFunction):
        self.parsed = parsed
        self.namer: Namer = parsed.namer
        self.function = _Function()

    def error(self, node, message, hint, kind=UnsupportedSyntaxError,
              anchor="statements"):
        raise kind(message, self.parsed.location(node), hint=hint,
                   source_line=self.parsed.line_text(node), doc_anchor=anchor)

    def run(self):
        tree = self.parsed.tree
        tree.body = _ConstantBranches().visit_block(tree.body) or tree.body
        body = [s for s in tree.body if not _is_docstring(s)]
        returns = [node for s in body for node in ast.walk(s)
                   if isinstance(node, ast.Return)]
        if not any(node.value is not None for node in returns):
            self.returns_nothing(body)
            return
        for node in returns:
            if isinstance(node.value, ast.Tuple) and (len(returns) > 1 or node is not body[-1]):
                self.error(node.value, "a function returning a tuple must have "
                           "one `return`, at its end",
                           "assign the results to variables and return them once",
                           anchor="statements")
        if not _definitely_returns(body):
            self.error(body[-1], f"`{tree.name}` may reach its end without "
                       "returning a value",
                       "end every path with `return` (a loop that only exits "
                       "through `return` is not recognised)")
        final = body[-1]
        simple = (isinstance(final, ast.Return) and len(returns) == 1)
        if simple:
            lowered, _ = self.block(body[:-1])
            value = final.value
            if isinstance(value, (ast.Name, ast.Tuple)):
                lowered.append(final)
            else:
                result = self.namer.unique("_result")
                lowered.append(_assign(result, value, final))
                lowered.append(ast.copy_location(
                    ast.Return(ast.Name(result, ast.Load())), final))
        else:
            self.function.result = self.namer.unique("_result")
            self.function.returned = self.namer.unique("_returned")
            final.is_last = True     # nothing follows it: no flag to set
            lowered, _ = self.block(body)
            lowered.insert(0, _assign(self.function.returned, ast.Constant(False),
                                      tree.body[0]))
            lowered.append(ast.copy_location(
                ast.Return(ast.Name(self.function.result, ast.Load())), final))
        tree.body = lowered

    def returns_nothing(self, body: list[ast.stmt]):
        """A function without a value to return (fence let only bare
        `return`s through): an early `return` sets the `_returned` flag, and
        the body ends with `return ()`."""
        tree = self.parsed.tree
        if not body:
            self.error(tree, f"`{tree.name}` has an empty body", "compute something")
        final = body[-1]
        if isinstance(final, ast.Return):
            final.is_last = True
        if any(isinstance(node, ast.Return) for s in body for node in ast.walk(s)
               if node is not final):
            self.function.returned = self.namer.unique("_returned")
        lowered, _ = self.block(body)
        if self.function.returned is not None:
            lowered.insert(0, _assign(self.function.returned, ast.Constant(False),
                                      body[0]))
        # located at the `def`: what it returns are the arguments it fills
        lowered.append(ast.copy_location(ast.Return(ast.Tuple([], ast.Load())), tree))
        tree.body = lowered

    # -- blocks -----------------------------------------------------------
    def block(self, statements: list[ast.stmt]) -> tuple[list[ast.stmt], set[str]]:
        """Lower a statement list; returns it and the flags it may set.

        After a statement that may jump, the rest of the list is guarded by
        `if not FLAG:` for each flag it may set.
        """
        lowered: list[ast.stmt] = []
        all_flags: set[str] = set()
        for index, statement in enumerate(statements):
            new, flags = self.statement(statement)
            lowered.extend(new)
            all_flags |= flags
            if _always_jumps(statement):
                # What follows can never run; guarding it would leave a test
                # of a flag just set to True, which Numba prunes, leaving the
                # variables only that code assigns undefined.
                break
            rest = statements[index + 1:]
            if flags and rest:
                guarded, rest_flags = self.block(rest)
                all_flags |= rest_flags
                for flag in sorted(flags, reverse=True):
                    guard = ast.If(ast.UnaryOp(ast.Not(), ast.Name(flag, ast.Load())),
                                   guarded, [])
                    guarded = [ast.copy_location(guard, rest[0])]
                lowered.extend(guarded)
                break
        return lowered, all_flags

    def statement(self, node: ast.stmt) -> tuple[list[ast.stmt], set[str]]:
        method = getattr(self, "statement_" + type(node).__name__)
        return method(node)

    # -- simple statements ------------------------------------------------
    def statement_Pass(self, node):
        return [], set()

    def statement_Expr(self, node):
        if not isinstance(node.value, ast.Call):
            return [], set()        # a docstring
        spelled = ast.unparse(node.value.func)
        if spelled.startswith("rt.draws."):     # np.random.seed(s) or a draw dropped
            stem = "seed_" if spelled == "rt.draws.seed" else "unused_"
            return [_assign(self.namer.fresh(stem), node.value, node)], set()
        if getattr(node.value, "callee", None) is None:
            self.error(node, "expression statement (a call whose value is unused)",
                       "assign the value to a variable, or remove the call "
                       "(side effects are not supported; your own functions may "
                       "fill their array arguments)")
        node.value.discarded = True     # on the call: `anf` carries it over
        return [_assign(self.namer.fresh("unused"), node.value, node)], set()

    def statement_Raise(self, node: ast.Raise):
        return [node], set()

    def statement_Assert(self, node: ast.Assert):
        """`assert test, message` -> `if not test: raise AssertionError(message)`."""
        raised = ast.copy_location(ast.Raise(ast.Call(
            ast.Name("AssertionError", ast.Load()), [node.msg] if node.msg else [], []),
            None), node)
        check = ast.If(ast.UnaryOp(ast.Not(), node.test), [raised], [])
        return [ast.copy_location(check, node)], set()

    def statement_AugAssign(self, node: ast.AugAssign):
        if isinstance(node.target, ast.Subscript):      # tape[top] += v (generated code)
            read = ast.Subscript(node.target.value, node.target.slice, ast.Load())
            store = ast.Assign([node.target], ast.BinOp(read, node.op, node.value))
            store.in_place = True       # on an array: a write (`lower`)
            return [ast.copy_location(store, node)], set()
        value = ast.copy_location(
            ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value), node)
        assignment = _assign(node.target.id, value, node)
        assignment.in_place = True      # on an array: a write, not a new array (`lower`)
        return [assignment], set()

    def statement_Assign(self, node: ast.Assign):
        if len(node.targets) > 1:     # a = b = value
            first, *others = node.targets
            lowered, _ = self.statement_Assign(
                ast.copy_location(ast.Assign([first], node.value), node))
            source = self.target_names(first)
            for other in others:
                copies = ast.copy_location(ast.Assign(
                    [other], _tuple_or_name(source, node)), node)
                lowered.extend(self.statement_Assign(copies)[0])
            return lowered, set()
        target = node.targets[0]
        if isinstance(target, ast.Subscript):    # a tape write in generated code
            return [node], set()
        if isinstance(target, ast.Name):
            if isinstance(node.value, ast.Tuple):
                self.error(node.value, "assigning a tuple to one variable",
                           "unpack it: `a, b = ...`", anchor="types")
            return [node], set()
        return self.unpack(target, node.value, node), set()

    def target_names(self, target: ast.expr) -> list[str]:
        if isinstance(target, ast.Name):
            return [target.id]
        return [element.id for element in target.elts]

    def unpack(self, target: ast.Tuple, value: ast.expr, node: ast.AST):
        """`a, b = x, y` -> assignments in order, saving an old value first
        when a later right-hand side still reads a variable assigned earlier.
        `a, b = x.shape` reads `x.shape[0]` and `x.shape[1]`; the pipeline
        checks, once types are known, that `x` has that many dimensions
        (`check_shape_unpacking`)."""
        if isinstance(value, ast.Attribute) and value.attr == "shape" \
                and isinstance(value.value, ast.Name) and isinstance(target, ast.Tuple):
            value = ast.copy_location(ast.Tuple([_shape_element(value, k, len(target.elts), node)
                                                 for k in range(len(target.elts))],
                                                ast.Load()), value)
        if not isinstance(value, ast.Tuple):
            self.error(value, "unpacking a value that is not a tuple display",
                       "write `a, b = x, y` with a tuple on the right",
                       anchor="types")
        if len(value.elts) != len(target.elts):
            self.error(value, f"unpacking {len(value.elts)} values into "
                       f"{len(target.elts)} names", "match the counts")
        names = [element.id for element in target.elts]
        values = list(value.elts)
        lowered: list[ast.stmt] = []
        for index, name in enumerate(names):
            later_reads = {n.id for v in values[index + 1:] for n in ast.walk(v)
                           if isinstance(n, ast.Name)}
            if name in later_reads:
                saved = self.namer.unique(f"_old_{name.lstrip('_')}")
                lowered.append(_assign(saved, ast.Name(name, ast.Load()), node))
                values[index + 1:] = [_rename(v, name, saved) for v in values[index + 1:]]
            lowered.append(_assign(name, values[index], node))
        return lowered

    # -- jumps ------------------------------------------------------------
    def statement_Break(self, node):
        loop = self.function.loops[-1]
        loop.break_flag = loop.break_flag or self.namer.fresh("break_")
        return [_assign(loop.break_flag, _true(), node)], {loop.break_flag}

    def statement_Continue(self, node):
        loop = self.function.loops[-1]
        loop.continue_flag = loop.continue_flag or self.namer.fresh("continue_")
        return [_assign(loop.continue_flag, _true(), node)], {loop.continue_flag}

    def statement_Return(self, node: ast.Return):
        if node.value is None:          # in a function that returns nothing
            if getattr(node, "is_last", False):
                return [], set()
            return [_assign(self.function.returned, _true(), node)], {self.function.returned}
        if getattr(node, "is_last", False):
            return [_assign(self.function.result, node.value, node)], set()
        return ([_assign(self.function.result, node.value, node),
                 _assign(self.function.returned, _true(), node)],
                {self.function.returned})

    # -- compound statements ----------------------------------------------
    def statement_If(self, node: ast.If):
        body, body_flags = self.block(node.body)
        orelse, else_flags = self.block(node.orelse)
        if not body and not orelse:
            return [], set()
        if not body:   # `if c: pass else: ...`
            node.test = ast.copy_location(ast.UnaryOp(ast.Not(), node.test), node.test)
            body, orelse = orelse, []
        node.body, node.orelse = body, orelse
        return [node], body_flags | else_flags

    def statement_For(self, node: ast.For):
        return self.loop(node)

    def statement_While(self, node: ast.While):
        return self.loop(node)

    def loop(self, node):
        loop = _Loop()
        self.function.loops.append(loop)
        body, flags = self.block(node.body)
        self.function.loops.pop()
        before: list[ast.stmt] = []
        if loop.continue_flag:
            body.insert(0, _assign(loop.continue_flag, ast.Constant(False), node))
        exits = [flag for flag in (loop.break_flag, self.function.returned)
                 if flag in flags]
        if loop.break_flag:
            before.append(_assign(loop.break_flag, ast.Constant(False), node))
        if exits:
            test = (ast.Name(exits[0], ast.Load()) if len(exits) == 1 else
                    ast.BoolOp(ast.Or(), [ast.Name(f, ast.Load()) for f in exits]))
            body.append(ast.copy_location(ast.If(test, [ast.Break()], []), node))
        if not body:
            body = [ast.Pass()]
        node.body = body
        outward = {self.function.returned} & flags
        return before + [node], outward


class _ConstantBranches(ast.NodeTransformer):
    """Resolve `if`s whose test is a constant (`if DEBUG:` once globals are
    inlined) to the branch taken. Numba would prune the other branch itself
    and leave the variables only it assigns undefined in the derivative."""

    def visit_block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        out = []
        for statement in statements:
            result = self.visit(statement)
            out.extend(result if isinstance(result, list) else [result])
        return out

    def generic_visit(self, node):
        for block_name in ("body", "orelse"):
            block = getattr(node, block_name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                visited = self.visit_block(block)
                empty = [ast.copy_location(ast.Pass(), node)] if block_name == "body" else []
                setattr(node, block_name, visited or empty)
        return node

    def visit_If(self, node: ast.If):
        truth = _constant_truth(node.test)
        if truth is None:
            return self.generic_visit(node)
        return self.visit_block(node.body if truth else node.orelse)

    def visit_While(self, node: ast.While):
        if _constant_truth(node.test) is False:
            return []
        return self.generic_visit(node)


_CONSTANT_NODES = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp,
                   ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.expr_context)


def _constant_truth(test: ast.expr) -> bool | None:
    """The truth of a test made of numbers and operators only, else None."""
    if not all(isinstance(node, _CONSTANT_NODES) for node in ast.walk(test)):
        return None
    try:
        return bool(eval(compile(ast.Expression(test), "<test>", "eval"), {"__builtins__": {}}))
    except Exception:       # e.g. 1 / 0: leave it to run time
        return None


def _tuple_or_name(names: list[str], like: ast.AST) -> ast.expr:
    if len(names) == 1:
        return ast.Name(names[0], ast.Load())
    return ast.Tuple([ast.Name(n, ast.Load()) for n in names], ast.Load())


def _rename(expression: ast.expr, old: str, new: str) -> ast.expr:
    class Rename(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id == old:
                return ast.copy_location(ast.Name(new, node.ctx), node)
            return node
    return Rename().visit(expression)


def _is_docstring(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


def _always_jumps(statement: ast.stmt) -> bool:
    """Does this statement leave its block on every path?"""
    if isinstance(statement, (ast.Return, ast.Break, ast.Continue, ast.Raise)):
        return True
    if isinstance(statement, ast.If) and statement.orelse:
        return any(_always_jumps(s) for s in statement.body) and \
            any(_always_jumps(s) for s in statement.orelse)
    return False


def _definitely_returns(body: list[ast.stmt]) -> bool:
    for statement in body:
        if isinstance(statement, (ast.Return, ast.Raise)):
            return True
        if isinstance(statement, ast.If) and statement.orelse \
                and _definitely_returns(statement.body) \
                and _definitely_returns(statement.orelse):
            return True
    return False


def _shape_element(shape: ast.Attribute, k: int, count: int, node: ast.AST) -> ast.Subscript:
    """`x.shape[k]` of `a, b, ... = x.shape` (`count` names), its array name
    marked with the rank the unpacking requires."""
    array = ast.copy_location(ast.Name(shape.value.id, ast.Load()), shape.value)
    array.required_rank = (count, node)
    return ast.copy_location(ast.Subscript(
        ast.copy_location(ast.Attribute(array, "shape", ast.Load()), shape),
        ast.Constant(k), ast.Load()), shape)


def check_shape_unpacking(parsed, tree: ast.AST, types: dict[str, str]) -> None:
    """A located error where `a, b = x.shape` names more or fewer values than
    `x` has dimensions (Numba would refuse the primal)."""
    for node in ast.walk(tree):
        required = getattr(node, "required_rank", None)
        if required is None or not isinstance(node, ast.Name):
            continue
        count, statement = required
        kind = types.get(node.id)
        rank = kind.count(":") if kind is not None and "[" in kind else None
        if rank != count:
            what = f"a {rank}-dimensional array" if rank is not None else "not an array"
            raise UnsupportedSyntaxError(
                f"unpacking `{node.id}.shape` into {count} names: `{node.id}` is {what} here",
                parsed.location(statement), hint=f"unpack as many names as `{node.id}` "
                "has dimensions, or index the shape (`n = x.shape[0]`)",
                source_line=parsed.line_text(statement), doc_anchor="types")


def is_break_test(node: ast.stmt) -> bool:
    """`if FLAG: break`, the loop exit that desugar leaves at a body's end."""
    return (isinstance(node, ast.If) and len(node.body) == 1
            and isinstance(node.body[0], ast.Break))
