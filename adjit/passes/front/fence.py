"""fence: refuse unsupported constructs before any transformation.

Input: a `ParsedFunction` straight from `parse`.
Output: the same, unchanged, or an `UnsupportedSyntaxError` naming the file,
line, column, the construct and a hint. After this pass every later pass may
assume the function uses only the supported subset (docs/supported.md):

* statements: assignment to names, tuples of names, array elements and
  slices (`a[i] = v`, `a[1:-1] = e`), augmented assignment, `if`/`elif`/
  `else`, `for NAME in range(...)` and `numba.prange(...)`, `while`,
  `break`, `continue`, `return EXPR`, `pass`, docstrings, input checks
  (`raise E(message)`, `assert test, message`) and `print(...)` calls; a
  function returning nothing (no `return`, or only `return` without a
  value: its results are the arrays it writes into) and calls on their own
  line (`fill(x, out)`: `desugar` keeps those of the user's own functions);
* expressions: numbers, names, arithmetic and unary operators (`@`
  included), comparisons, `and`/`or`/`not`, conditional expressions, calls
  with positional and keyword arguments (which keywords a callee takes is
  decided by `resolve`), attribute reads (`math.pi`, `x.shape`),
  subscripts, tuples on the right of a tuple assignment or in a `return`.

Which callees are supported is decided by `resolve`, which knows the rules.
"""

from __future__ import annotations

import ast

from adjit.errors import UnsupportedSyntaxError
from adjit.passes.front.parse import ParsedFunction

# node type -> (what the user wrote, hint, anchor in docs/limitations.md)
_REFUSED_STATEMENTS = {
    ast.With: ("`with` statement", "move the context manager outside the "
               "differentiated function", "statements"),
    ast.AsyncWith: ("`async with` statement", "differentiate synchronous code",
                    "statements"),
    ast.Try: ("`try` statement", "move error handling outside the "
              "differentiated function", "statements"),
    ast.FunctionDef: ("nested `def` inside a block", "define the helper at the top "
                      "level of the function body, or at module level (calls to your "
                      "own functions are inlined)", "statements"),
    ast.AsyncFunctionDef: ("nested `async def`", "differentiate synchronous code",
                           "statements"),
    ast.ClassDef: ("nested `class`", "define classes outside the "
                   "differentiated function", "statements"),
    ast.Global: ("`global` statement", "pass the value as an argument and "
                 "return the new value", "statements"),
    ast.Nonlocal: ("`nonlocal` statement", "pass the value as an argument and "
                   "return the new value", "statements"),
    ast.Delete: ("`del` statement", "let the variable go out of scope instead",
                 "statements"),
    ast.Import: ("`import` inside the function", "import at module level",
                 "statements"),
    ast.ImportFrom: ("`import` inside the function", "import at module level",
                     "statements"),
    ast.AsyncFor: ("`async for` loop", "use a plain `for` loop", "statements"),
}
if hasattr(ast, "TryStar"):
    _REFUSED_STATEMENTS[ast.TryStar] = _REFUSED_STATEMENTS[ast.Try]
if hasattr(ast, "Match"):
    _REFUSED_STATEMENTS[ast.Match] = ("`match` statement", "use `if`/`elif`",
                                      "statements")

_REFUSED_EXPRESSIONS = {
    ast.Lambda: ("`lambda` other than assigned to a name", "assign it to a name at "
                 "the top level of the function body (`sq = lambda t: t * t`) and "
                 "call it by that name", "expressions"),
    ast.ListComp: ("list comprehension", "write a `for` loop", "expressions"),
    ast.SetComp: ("set comprehension", "write a `for` loop", "expressions"),
    ast.DictComp: ("dict comprehension", "write a `for` loop", "expressions"),
    ast.GeneratorExp: ("generator expression", "write a `for` loop",
                       "expressions"),
    ast.Yield: ("`yield`", "return a value instead of generating values",
                "expressions"),
    ast.YieldFrom: ("`yield from`", "return a value instead of generating "
                    "values", "expressions"),
    ast.Await: ("`await`", "differentiate synchronous code", "expressions"),
    ast.Dict: ("dict literal", "use scalar variables", "types"),
    ast.Set: ("set literal", "use scalar variables", "types"),
    ast.JoinedStr: ("f-string", "format strings outside the differentiated "
                    "function", "types"),
    ast.NamedExpr: ("assignment expression `:=`", "assign in a separate "
                    "statement", "expressions"),
    ast.Starred: ("starred expression `*x`", "pass arguments one by one",
                  "expressions"),
}

_SUPPORTED_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
                     ast.Mod, ast.Pow, ast.MatMult)


def fence(parsed: ParsedFunction) -> ParsedFunction:
    """Raise `UnsupportedSyntaxError` at the first unsupported construct."""
    _Fence(parsed).check()
    return parsed


class _Fence(ast.NodeVisitor):
    def __init__(self, parsed: ParsedFunction):
        self.parsed = parsed
        self.loop_variables: list[str] = []

    def refuse(self, node: ast.AST, construct: str, hint: str, anchor: str):
        raise UnsupportedSyntaxError(
            f"{construct} is not supported by adjit", self.parsed.location(node),
            hint=hint, source_line=self.parsed.line_text(node), doc_anchor=anchor)

    def check(self):
        tree = self.parsed.tree
        arguments = tree.args
        if arguments.vararg is not None:
            self.refuse(arguments.vararg, "`*args` parameter",
                        "list the parameters one by one", "arguments")
        if arguments.kwarg is not None:
            self.refuse(arguments.kwarg, "`**kwargs` parameter",
                        "list the parameters one by one", "arguments")
        if arguments.kwonlyargs:
            self.refuse(arguments.kwonlyargs[0], "keyword-only parameter",
                        "make it an ordinary positional parameter", "arguments")
        returns = [node for statement in tree.body for node in ast.walk(statement)
                   if isinstance(node, ast.Return)]
        if any(node.value is None for node in returns) and \
                any(node.value is not None for node in returns):
            bare = next(node for node in returns if node.value is None)
            self.refuse(bare, "`return` without a value in a function that also "
                        "returns a value", "return a value on every path, or on none "
                        "(a function filling output arguments)", "statements")
        for statement in tree.body:
            self.visit(statement)

    # -- statements -------------------------------------------------------
    def is_tape_access(self, node: ast.AST) -> bool:
        """`tape[top]` in adjit's own generated code."""
        index = node.slice.elts if isinstance(getattr(node, "slice", None), ast.Tuple) \
            else [getattr(node, "slice", None)]
        return (self.parsed.generated and isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and all(isinstance(i, (ast.Name, ast.Constant)) for i in index))

    def visit_Subscript(self, node: ast.Subscript):
        """An element or a view of an array: `x[i]`, `q[i, k]`, `q[i]`,
        `x[1:-1]`, `q[:, None, :]`, `x.shape[0]`, read or written."""
        if self.is_tape_access(node):
            return
        is_shape = isinstance(node.value, ast.Attribute) and node.value.attr == "shape"
        if not is_shape:
            self.visit(node.value)       # `np.max(x, axis=1)[:, None]`: ANF names it
        if is_shape and not isinstance(node.value.value, ast.Name):
            self.refuse(node, f"`{ast.unparse(node)}`", "take the shape of an array "
                        "variable: `x.shape[0]`", "types")
        index = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for part in index:
            if isinstance(part, ast.Constant) and part.value is None:
                continue                                    # q[:, None]
            if isinstance(part, ast.Slice):
                for bound in (part.lower, part.upper, part.step):
                    if bound is not None:
                        self.visit(bound)
                continue
            self.visit(part)

    def generic_visit(self, node):
        refused = (_REFUSED_STATEMENTS.get(type(node))
                   or _REFUSED_EXPRESSIONS.get(type(node)))
        if refused:
            self.refuse(node, *refused)
        super().generic_visit(node)

    def visit_Assign(self, node: ast.Assign):
        for target in node.targets:
            self.check_target(target)
        self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign):
        if not isinstance(node.target, (ast.Name, ast.Subscript)):
            self.refuse(node.target, "augmented assignment to "
                        f"`{ast.unparse(node.target)}`",
                        "assign to a plain variable name or an array element",
                        "statements")
        self.check_operator(node, node.op)
        self.check_target(node.target)
        self.visit(node.value)

    def check_target(self, target: ast.AST):
        if self.is_tape_access(target):
            return
        if isinstance(target, ast.Name):
            if target.id in self.loop_variables:
                self.refuse(target, f"assigning to the loop variable "
                            f"`{target.id}` inside its loop",
                            "use another variable name for the new value",
                            "statements")
            return
        if isinstance(target, ast.Tuple):
            for element in target.elts:
                if not isinstance(element, ast.Name):
                    self.refuse(element, "nested or starred unpacking target",
                                "unpack into plain variable names", "statements")
                self.check_target(element)
            return
        if isinstance(target, ast.Attribute):
            self.refuse(target, "attribute assignment",
                        "assign to a local variable", "statements")
        if isinstance(target, ast.Subscript):
            # an element write `a[i, j] = v`: the same rules as an element read
            self.visit_Subscript(target)
            if not isinstance(target.value, ast.Name):
                self.refuse(target, f"writing into `{ast.unparse(target.value)}`",
                            "write an element of an array variable: `a[i] = v`", "types")
            return
        self.refuse(target, f"assignment to `{ast.unparse(target)}`",
                    "assign to plain variable names (`a, b = ...`) or to an "
                    "array element (`a[i] = v`)", "statements")

    def visit_For(self, node: ast.For):
        if node.orelse:
            self.refuse(node.orelse[0], "`for ... else`",
                        "use a flag variable set before `break`", "statements")
        if not isinstance(node.target, ast.Name):
            self.refuse(node.target, "loop target other than a single name",
                        "write `for i in range(...)`", "statements")
        iterator = node.iter
        # `prange` (numba's parallel range) is checked to be numba's in resolve
        spelled = iterator.func if isinstance(iterator, ast.Call) else None
        is_range = (isinstance(spelled, ast.Name) and spelled.id in ("range", "prange")
                    or isinstance(spelled, ast.Attribute) and spelled.attr == "prange")
        if not (is_range and 1 <= len(iterator.args) <= 3 and not iterator.keywords):
            self.refuse(iterator, f"`for` over `{ast.unparse(iterator)}`",
                        "loop with `for i in range(start, stop, step)` "
                        "(or numba.prange)", "statements")
        if node.target.id in self.loop_variables:
            self.refuse(node.target, f"reusing the loop variable "
                        f"`{node.target.id}` of an enclosing loop",
                        "use a different name for the inner loop", "statements")
        for argument in iterator.args:
            self.visit(argument)
        self.loop_variables.append(node.target.id)
        for statement in node.body:
            self.visit(statement)
        self.loop_variables.pop()

    def visit_While(self, node: ast.While):
        if node.orelse:
            self.refuse(node.orelse[0], "`while ... else`",
                        "use a flag variable set before `break`", "statements")
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return):
        if node.value is not None:
            self.visit(node.value)

    def visit_Expr(self, node: ast.Expr):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                and call.func.id == "print":
            return  # left out of derivatives (`resolve` checks it is the builtin)
        if isinstance(call, ast.Call):
            self.visit(call)      # `fill(x, out)`: `desugar` checks the callee
            return
        self.refuse(node, "expression statement",
                    "assign the value to a variable, or remove the call "
                    "(side effects are not supported)", "statements")

    def visit_Raise(self, node: ast.Raise):
        """`raise ValueError("message")`: an input check the derivative keeps."""
        exception = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if node.exc is None or node.cause is not None or \
                not isinstance(exception, ast.Name):
            self.refuse(node, f"`{ast.unparse(node)}`", "raise a built-in exception "
                        "with a message: `raise ValueError(\"x must be positive\")`",
                        "statements")
        if isinstance(node.exc, ast.Call) and (node.exc.keywords or len(node.exc.args) > 1
                                               or not all(map(_is_message, node.exc.args))):
            self.refuse(node.exc, "an exception with arguments other than one message",
                        "pass one string (or f-string) message", "statements")

    def visit_Assert(self, node: ast.Assert):
        if node.msg is not None and not _is_message(node.msg):
            self.refuse(node.msg, "an `assert` message that is not a string",
                        "write the message as a string or an f-string", "statements")
        self.visit(node.test)

    # -- expressions ------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp):
        self.check_operator(node, node.op)
        self.generic_visit(node)

    def check_operator(self, node: ast.AST, op: ast.operator):
        if self.parsed.generated and isinstance(op, (ast.BitAnd, ast.BitOr)):
            return                  # `&` of comparisons in an elementwise partial
        if not isinstance(op, _SUPPORTED_BINOPS):
            symbol = {ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
                      ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}
            self.refuse(node, f"operator `{symbol.get(type(op), type(op).__name__)}`",
                        "use + - * / // % ** @",
                        "expressions")

    def visit_UnaryOp(self, node: ast.UnaryOp):
        if isinstance(node.op, ast.Invert):
            self.refuse(node, "operator `~`", "use `not` or `-`", "expressions")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call):
        for keyword in node.keywords:
            # names are matched to parameters by `resolve` (NumPy's dtype=,
            # axis=, keepdims=; SciPy's distributions and draws; any parameter
            # of the user's own functions)
            if keyword.arg is None:
                self.refuse(keyword, "`**` in a call", "pass the arguments one by one",
                            "calls")
            self.visit(keyword.value)
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            self.refuse(node.func, f"call of `{ast.unparse(node.func)}`",
                        "call a function by its name", "calls")
        if self.parsed.generated and ast.unparse(node.func) == "cuda.local.array":
            self.refuse(node, "differentiating a target='cuda' derivative that keeps a "
                        "tape in GPU local memory (`cuda.local.array`)",
                        "differentiate the target='cpu' derivative instead "
                        "(jit.grad(jit.grad(f)), jit.jvp(jit.grad(f)))", "parallel")
        for argument in node.args:
            self.visit(argument)
        self.visit(node.func)

    def visit_Constant(self, node: ast.Constant):
        if not isinstance(node.value, (bool, int, float)):
            self.refuse(node, f"constant {node.value!r}",
                        "use int, float or bool constants", "types")

    def visit_Name(self, node: ast.Name):
        pass

    def visit_Attribute(self, node: ast.Attribute):
        if not isinstance(node.ctx, ast.Load):
            self.refuse(node, "attribute assignment", "assign to a local variable",
                        "statements")
        self.visit(node.value)


def _is_message(node: ast.expr) -> bool:
    """A string or f-string: the message of a `raise` or an `assert`."""
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant)
                                                and isinstance(node.value, str))
