"""anf: administrative normal form - one operation per statement.

Input: a desugared `FunctionDef` (see `desugar`).
Output: a `FunctionDef` whose statements are only

* `x = a`, `x = a OP b`, `x = -a`/`+a`, `x = f(a, b, ...)` where `a`, `b` are
  *atoms* (names or numbers), `f` a registered primitive (`Call.primitive`),
  and `x` is not an argument unless `OP` is `+`/`-` or the unary minus
  (linear operations, whose adjoints read no values);
* `x = a[i, j]` and `a[i, j] = v` with atom indices and value (element
  reads and writes); a creation call's shape argument may be a tuple of
  atoms or `x.shape`;
* `x = <test>` where `<test>` is a comparison, `and`/`or` or `not` kept whole
  (a boolean has no derivative, and short-circuiting must be preserved);
* `if T:` where `T` is `n` or `not n` for a name `n` not assigned in the
  branches (so the reverse sweep can read the same value again);
* `for i in range(a[, b[, c]]):` with atom bounds, `while <test>:`;
* `if FLAG: break` as the last statement of a loop body; `return n` (or a
  tuple of names) last.

Each statement made from a user statement keeps that statement's `lineno`,
and carries `origin`: the user's source line it came from; the statement
that stores an augmented assignment's result keeps its `in_place` mark. An expression
node that occurs twice in one statement and is marked `evaluate_once` (the
array of a reduction with `keepdims`, see `reductions`) is computed once.
"""

from __future__ import annotations

import ast

from adjit.errors import UnsupportedSyntaxError
from adjit.passes.front.parse import ParsedFunction

_LINEAR_OPS = (ast.Add, ast.Sub)


def is_atom(node: ast.expr) -> bool:
    """A name, a number (`-1` too), or a dtype such as `np.float64` (tapes)."""
    return isinstance(node, (ast.Name, ast.Constant)) or (
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id == "np") or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant))


def is_shape(node: ast.expr) -> bool:
    """`x.shape`, the whole shape of an array variable."""
    return isinstance(node, ast.Attribute) and node.attr == "shape" \
        and isinstance(node.value, ast.Name)


def is_test_expression(node: ast.expr) -> bool:
    return isinstance(node, (ast.Compare, ast.BoolOp)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))


def assigned_names(statements: list[ast.stmt]) -> set[str]:
    return {node.id for statement in statements for node in ast.walk(statement)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def anf(parsed: ParsedFunction) -> ParsedFunction:
    _Normalizer(parsed).run()
    return parsed


class _Normalizer:
    def __init__(self, parsed: ParsedFunction):
        self.parsed = parsed
        self.namer = parsed.namer

    def run(self):
        self.parsed.tree.body = self.block(self.parsed.tree.body)

    def block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for statement in statements:
            self.current = statement
            out.extend(self.statement(statement))
        return out

    def emit(self, out: list, target: str, value: ast.expr) -> None:
        node = ast.Assign([ast.Name(target, ast.Store())], value)
        ast.copy_location(node, self.current)
        node.origin = getattr(self.current, "origin", self.current.lineno)
        if getattr(self.current, "in_place", False) \
                and getattr(self.current.targets[0], "id", None) == target:
            node.in_place = True        # the write of an augmented assignment
        out.append(node)

    def statement(self, node: ast.stmt) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        # an expression node that occurs twice in the statement, evaluated
        # once (`resolve`'s keepdims): id -> the temporary holding its value
        self.evaluated: dict[int, str] = {}
        if not hasattr(node, "origin") and hasattr(node, "lineno"):
            node.origin = node.lineno
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            value = self.atom(node.value, out)                  # a[i + 1] = v
            target = self.element(node.targets[0], out)
            target.ctx = ast.Store()
            store = ast.Assign([target], value)
            ast.copy_location(store, node)
            store.origin = node.origin
            store.in_place = getattr(node, "in_place", False)
            out.append(store)
        elif isinstance(node, ast.Assign):
            self.assign(node.targets[0].id, node.value, out)
        elif isinstance(node, ast.If):
            if node.body == [ast.Break()] or (len(node.body) == 1 and
                                              isinstance(node.body[0], ast.Break)):
                test = self.test(node.test, [], out)
                node.test = test
                out.append(node)
            else:
                node.test = self.test(node.test, node.body + node.orelse, out)
                node.body = self.block(node.body)
                node.orelse = self.block(node.orelse)
                self.current = node
                out.append(node)
        elif isinstance(node, ast.For):
            # range() reads its bounds once; the reverse sweep reads them again
            # after the loop, so a bound the body reassigns is snapshotted.
            written = assigned_names(node.body)
            bounds = []
            for argument in node.iter.args:
                if isinstance(argument, ast.Name) and argument.id in written:
                    snapshot = self.namer.fresh("bound")
                    self.emit(out, snapshot, argument)
                    argument = ast.Name(snapshot, ast.Load())
                bounds.append(self.atom(argument, out))
            node.iter.args = bounds
            node.body = self.block(node.body)
            out.append(node)
        elif isinstance(node, ast.While):
            for inner in ast.walk(node.test):
                if isinstance(inner, ast.IfExp):
                    raise UnsupportedSyntaxError(
                        "conditional expression inside a `while` condition is "
                        "not supported", self.parsed.location(inner),
                        hint="compute the condition in a variable at the end of "
                             "the loop body", source_line=self.parsed.line_text(inner),
                        doc_anchor="expressions")
            node.body = self.block(node.body)
            out.append(node)
        elif isinstance(node, ast.Return):
            if isinstance(node.value, ast.Tuple):
                node.value = ast.Tuple([self.returned_name(element, out)
                                        for element in node.value.elts], ast.Load())
            else:
                node.value = self.returned_name(node.value, out)
            out.append(node)
        else:   # `pass` (an empty loop body) and `break` stay as they are
            out.append(node)
        return out

    def returned_name(self, value: ast.expr, out: list) -> ast.Name:
        """A returned value as a variable (constants too, for uniformity)."""
        value = self.atom(value, out)
        if isinstance(value, ast.Constant):
            name = self.namer.unique("_result")
            self.emit(out, name, value)
            value = ast.Name(name, ast.Load())
        return value

    # -- expressions ------------------------------------------------------
    def assign(self, target: str, value: ast.expr, out: list) -> None:
        """Flatten `target = value`, the last operation writing `target`."""
        if isinstance(value, ast.IfExp):
            test = self.test(value.test, [], out, reads_after={target})
            body: list = []
            orelse: list = []
            self.assign(target, value.body, body)
            self.assign(target, value.orelse, orelse)
            branch = ast.copy_location(ast.If(test, body, orelse), self.current)
            branch.origin = getattr(self.current, "origin", None)
            out.append(branch)
            return
        if isinstance(value, ast.Subscript) and not (
                isinstance(value.value, ast.Attribute) and value.value.attr == "shape"):
            if not isinstance(value.value, ast.Name):     # f(x)[i]: name f(x) first
                value = ast.Subscript(self.atom(value.value, out), value.slice, ast.Load())
            self.emit(out, target, self.element(value, out))     # v = x[i, j]
            return
        if is_test_expression(value) or isinstance(value, ast.Subscript):
            self.emit(out, target, value)          # (x.shape[0] is an int, kept whole)
            return
        if is_atom(value):
            if not (isinstance(value, ast.Name) and value.id == target):
                self.emit(out, target, value)
            return
        operation = self.operation(value, out)
        reads = {n.id for n in ast.walk(operation) if isinstance(n, ast.Name)
                 and isinstance(n.ctx, ast.Load)} - _spelling_names(operation)
        linear = (isinstance(operation, ast.BinOp) and isinstance(operation.op, _LINEAR_OPS)) \
            or (isinstance(operation, ast.UnaryOp) and isinstance(operation.op, (ast.USub, ast.UAdd)))
        if target in reads and not linear:
            temp = self.namer.temp()
            self.emit(out, temp, operation)
            self.emit(out, target, ast.Name(temp, ast.Load()))
        else:
            self.emit(out, target, operation)

    def element(self, value: ast.Subscript, out: list) -> ast.Subscript:
        """`x[i + 1, j]` with atom indices: `x[_t1, j]`."""
        index = value.slice
        if isinstance(index, ast.Tuple):
            index = ast.Tuple([self.index(e, out) for e in index.elts], ast.Load())
        else:
            index = self.index(index, out)
        return ast.Subscript(value.value, index, ast.Load())

    def index(self, index: ast.expr, out: list) -> ast.expr:
        """One index: an atom, or a slice with atom bounds (`None` kept)."""
        if isinstance(index, ast.Slice):
            return ast.Slice(*(None if part is None else self.atom(part, out)
                               for part in (index.lower, index.upper, index.step)))
        return self.atom(index, out)

    def operation(self, value: ast.expr, out: list) -> ast.expr:
        """`value` with every operand made an atom (one operation left)."""
        if isinstance(value, ast.BinOp):
            return ast.BinOp(self.atom(value.left, out), value.op,
                             self.atom(value.right, out))
        if isinstance(value, ast.UnaryOp):
            return ast.UnaryOp(value.op, self.atom(value.operand, out))
        if isinstance(value, ast.Call):
            call = ast.Call(value.func, [self.argument(a, out) for a in value.args], [])
            call.primitive = value.primitive
            call.callee = getattr(value, "callee", None)     # a user function (`inline`)
            call.discarded = getattr(value, "discarded", False)     # on its own line
            return call
        raise UnsupportedSyntaxError(
            f"expression `{ast.unparse(value)}` is not supported here",
            self.parsed.location(value), hint="use arithmetic, comparisons and "
            "calls of math functions", source_line=self.parsed.line_text(value),
            doc_anchor="expressions")

    def argument(self, value: ast.expr, out: list) -> ast.expr:
        """A call argument: an atom, or a shape (`(n, m)` with atom
        elements, `x.shape`) or dtype (`x.dtype`) as array creation takes it."""
        if isinstance(value, ast.Tuple):          # a shape, or a tuple for `inline`
            return ast.Tuple([self.argument(e, out) for e in value.elts], ast.Load())
        if is_shape(value) or getattr(value, "dtype_element", None) == "like":
            return value                                # x.shape, dtype=x.dtype
        return self.atom(value, out)

    def atom(self, value: ast.expr, out: list) -> ast.expr:
        if is_atom(value):
            return value
        if getattr(value, "evaluate_once", False) and id(value) in self.evaluated:
            return ast.Name(self.evaluated[id(value)], ast.Load())
        temp = self.namer.temp()
        self.assign(temp, value, out)
        if getattr(value, "evaluate_once", False):
            self.evaluated[id(value)] = temp
        return ast.Name(temp, ast.Load())

    def test(self, test: ast.expr, branches: list[ast.stmt], out: list,
             reads_after: set[str] = frozenset()) -> ast.expr:
        """An `if` test the reverse sweep can re-read: `n` or `not n` with `n`
        not written in the branches; otherwise a fresh `_c` holds it."""
        written = assigned_names(branches) | set(reads_after)
        name = test
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            name = test.operand
        if isinstance(name, ast.Name) and name.id not in written:
            return test
        condition = self.namer.fresh("c")
        if is_test_expression(test):
            self.emit(out, condition, test)
        else:
            self.assign(condition, test, out)
        return ast.Name(condition, ast.Load())


def _spelling_names(operation: ast.expr) -> set[str]:
    """Names that only spell a primitive (`math` in `math.sin`)."""
    if isinstance(operation, ast.Call):
        return {n.id for n in ast.walk(operation.func) if isinstance(n, ast.Name)}
    return set()
