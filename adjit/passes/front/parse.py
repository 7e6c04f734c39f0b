"""parse: a Python function object -> its `ast.FunctionDef`, located in its file.

Input: a plain Python function defined in a file (not in a REPL string).
Output: a `ParsedFunction` whose `tree` is an `ast.FunctionDef` with
decorators and annotations removed (`strip_declarations`: Python does not
evaluate a local annotation), nested `def`s and lambdas assigned to names
at the top of the body lifted out into `nested` (`lift_nested`), and every
node's `lineno` equal to the line in
the user's file, so errors and `# from line N` comments point where the user
looks.
"""

from __future__ import annotations

import ast
import copy
import inspect
import linecache
import textwrap
from dataclasses import dataclass, field

from adjit.errors import DifferentiationError, Location, UnsupportedSyntaxError
from adjit.passes.front.calls import Bound, NestedFunction
from adjit.passes.front.stale import file_changed_since_defined


@dataclass
class ParsedFunction:
    """A user function's syntax tree and everything needed to read it."""

    name: str
    filename: str
    tree: ast.FunctionDef
    globals: dict
    closure: dict = field(default_factory=dict)
    source_lines: dict[int, str] = field(default_factory=dict)
    # filled by `resolve`: the global and closure numbers the function reads
    constants: dict[str, object] = field(default_factory=dict)
    # filled by `desugar`: fresh names generated so far (see `naming.Namer`)
    namer: object = None
    # the source is adjit's own generated derivative (differentiated again):
    # its tapes (arrays indexed by an integer top) are accepted
    generated: bool = False
    # the function object itself (`inline` refuses recursion)
    function: object = None
    # set by `inline` for a callee: its parameters that every call being
    # inlined passes as an int or bool constant (`keepdims=keep`), which
    # `resolve` reads as that constant where the callee never assigns them
    constant_parameters: dict[str, object] = field(default_factory=dict)
    # the functions defined in the body (`lift_nested`): name -> NestedFunction
    nested: dict = field(default_factory=dict)
    # for a nested function: the enclosing function's variables it may read
    outer_locals: frozenset = frozenset()
    # filled by `resolve`: the global arrays read, by the name the code uses
    arrays: dict = field(default_factory=dict)

    # filled by `inline`: the name given to each inlined variable -> the user's
    user_names: dict = field(default_factory=dict)
    # filled by `inline`: the name given to each inlined user variable -> the
    # function whose variable it is (the callee's callee's, when inlined twice)
    owners: dict = field(default_factory=dict)
    # filled by `inline`: variables of an enclosing function that inlined
    # nested functions read here -> that enclosing ParsedFunction
    free_reads: dict = field(default_factory=dict)
    # filled by `tuples`: each tuple parameter -> the variables of its
    # elements (nested lists for nested tuples), and the variables holding a
    # call's value that the function unpacks -> (how many names, where)
    tuple_parameters: dict[str, list] = field(default_factory=dict)
    tuple_unpacks: dict[str, tuple] = field(default_factory=dict)
    # filled by `tuples`: whether the structure of tuple arguments is known
    # (False before any call: the front end then only refuses early)
    structures_known: bool = True
    # filled by `tuples` for a function returning nested tuples: their variables
    returned_structure: list | None = None
    # filled by `slots`: each stack of arrays, with the user's names of them
    stacks: dict[str, str] = field(default_factory=dict)

    def location(self, node: ast.AST) -> Location:
        """Where `node` is in the user's code: for code inlined from another
        function (`node.inlined`, see `inline`), its line there, and the
        calls that led to it."""
        here = Location(self.filename, getattr(node, "lineno", self.tree.lineno),
                        getattr(node, "col_offset", 0))
        frames = getattr(node, "inlined", None)
        if not frames:
            return here
        filename, line, column, _ = frames[0]
        calls = [f"{f}:{n}:{c}: {text.strip()}" for f, n, c, text in frames[1:]]
        calls.append(f"{here}: {self.source_lines.get(here.line, '').strip()}")
        return Location(filename, line, column, tuple(calls))

    def line_text(self, node: ast.AST) -> str | None:
        frames = getattr(node, "inlined", None)
        if frames:
            return frames[0][3]
        return self.source_lines.get(getattr(node, "lineno", -1))


def _source_lines(fn, code) -> tuple[list[str], int]:
    """`inspect.getsourcelines`; where it fails, the source a derivative
    carried when pickled (`__adjit_source__`: a function sent by value to
    another process has no file there), else the block at the code's
    first line of its file (a function whose `__main__` module is not its
    own)."""
    try:
        return inspect.getsourcelines(fn)
    except OSError:
        carried = getattr(fn, "__adjit_source__", None)    # unpickled with its source
        if carried is not None:
            return carried
        linecache.checkcache(code.co_filename)
        lines = linecache.getlines(code.co_filename)
        if not lines or code.co_firstlineno > len(lines):
            raise
        first = code.co_firstlineno
        return inspect.getblock(lines[first - 1:]), first


def source_text(fn) -> str:
    """The text of `fn`'s definition, as `parse_function` reads it (OSError
    or TypeError where there is none)."""
    return "".join(_source_lines(fn, fn.__code__)[0])


def parse_function(fn) -> ParsedFunction:
    """Read `fn`'s source and return it as a located `ast.FunctionDef`
    (`fn` a Python function, or a callee `resolve` made: a nested function,
    a function with bound parameters)."""
    if isinstance(fn, NestedFunction):
        return _parse_nested(fn)
    if isinstance(fn, Bound):
        return _bind(parse_function(fn.function), fn.values)
    code = getattr(fn, "__code__", None)
    if code is None:
        raise DifferentiationError(
            f"{fn!r} is not a Python function, so adjit cannot read its source",
            hint="pass a function defined with `def` in a .py file")
    try:
        lines, first_line = _source_lines(fn, code)
    except (OSError, TypeError) as error:
        raise DifferentiationError(
            f"cannot read the source of {fn.__qualname__}: {error}",
            hint="define the function in a .py file (not in an interactive "
                 "prompt or through exec)") from None
    if file_changed_since_defined(fn):
        raise DifferentiationError(
            f"the file of `{fn.__qualname__}` ({code.co_filename}) has changed since the "
            "function was defined: adjit would differentiate the new text while the "
            "function runs the old code",
            hint="reload the module (importlib.reload), or run again the code that "
                 "defines the function")
    source = textwrap.dedent("".join(lines))
    module = ast.parse(source)
    ast.increment_lineno(module, first_line - 1)
    # Dedenting shifted columns; restore them so carets land under the code.
    indent = len(lines[0]) - len(lines[0].lstrip())
    if indent:
        for node in ast.walk(module):
            if hasattr(node, "col_offset"):
                node.col_offset += indent
                if getattr(node, "end_col_offset", None) is not None:
                    node.end_col_offset += indent
    tree = module.body[0]
    if isinstance(tree, ast.AsyncFunctionDef):
        location = Location(code.co_filename, tree.lineno, tree.col_offset)
        raise UnsupportedSyntaxError(
            "`async def` is not supported by adjit", location,
            hint="differentiate a plain `def` function",
            source_line=lines[tree.lineno - first_line], doc_anchor="statements")
    if fn.__name__ == "<lambda>" and _definition(tree) is not None:
        tree = _definition(tree)             # `act = lambda z: ...` at module level
    if not isinstance(tree, ast.FunctionDef):
        location = Location(code.co_filename, first_line, 0)
        raise DifferentiationError(
            f"{fn.__qualname__} is not defined by a `def` statement", location,
            hint="adjit differentiates functions written with `def`, and lambdas "
                 "assigned to a name on a line of their own (`act = lambda z: ...`)")
    strip_declarations(tree)
    closure = {}
    if fn.__closure__:
        closure = {name: cell.cell_contents
                   for name, cell in zip(code.co_freevars, fn.__closure__)
                   if _cell_is_set(cell)}
    parsed = ParsedFunction(
        name=tree.name, filename=code.co_filename, tree=tree,
        globals=fn.__globals__, closure=closure,
        source_lines={first_line + k: text for k, text in enumerate(lines)},
        generated=getattr(fn, "__adjit_generated__", False), function=fn)
    lift_nested(parsed)
    return parsed


def lift_nested(parsed: ParsedFunction) -> None:
    """Move the nested `def`s and `NAME = lambda ...` statements at the top
    level of the body into `parsed.nested`: calls to them are inlined like
    calls to any function. A name that defines a function must not be
    bound again (`fence` refuses definitions elsewhere in the body)."""
    kept, definitions = [], []
    for statement in parsed.tree.body:
        definition = _definition(statement)
        (kept if definition is None else definitions).append(definition or statement)
    parsed.tree.body = kept
    variables = frozenset(parsed.outer_locals | _variables(parsed.tree))
    for definition in definitions:
        if definition.name in parsed.nested and \
                parsed.nested[definition.name].outer is parsed:
            _refuse(parsed, definition, f"function `{definition.name}` defined twice",
                    "give each nested function its own name")
        parsed.nested[definition.name] = NestedFunction(definition.name, definition,
                                                        parsed, variables)
    defined = {name for name, nested in parsed.nested.items() if nested.outer is parsed}
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) \
                and node.id in defined:
            _refuse(parsed, node, f"assigning to `{node.id}`, which names a nested "
                    "function", "use another name for the variable")


def _definition(statement: ast.stmt) -> ast.FunctionDef | None:
    """A nested `def`, or `NAME = lambda ...` as the `def` it means."""
    if isinstance(statement, ast.FunctionDef):
        return statement
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
            and isinstance(statement.targets[0], ast.Name) \
            and isinstance(statement.value, ast.Lambda):
        function = statement.value
        returned = ast.copy_location(ast.Return(function.body), function.body)
        definition = ast.FunctionDef(name=statement.targets[0].id, args=function.args,
                                     body=[returned], decorator_list=[], returns=None)
        return ast.copy_location(definition, statement)
    return None


def _variables(tree: ast.FunctionDef) -> set[str]:
    """The parameters of `tree` and every name its body binds."""
    names = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    names |= {node.id for statement in tree.body for node in ast.walk(statement)
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    return names


def _parse_nested(nested: NestedFunction) -> ParsedFunction:
    """A nested function read in its enclosing function's file, globals and
    closure; the enclosing function's functions stay callable in it."""
    outer = nested.outer
    tree = copy.deepcopy(nested.tree)
    strip_declarations(tree)
    tree.args.defaults = []                  # `resolve.user_call` applies them
    parsed = ParsedFunction(
        name=nested.__name__, filename=outer.filename, tree=tree, globals=outer.globals,
        closure=outer.closure, source_lines=outer.source_lines, function=nested,
        nested=dict(outer.nested), outer_locals=nested.outer_locals)
    lift_nested(parsed)
    return parsed


def _bind(parsed: ParsedFunction, values: dict) -> ParsedFunction:
    """`parsed` without the parameters in `values`, which it reads from its
    closure instead."""
    arguments = parsed.tree.args
    arguments.posonlyargs = [a for a in arguments.posonlyargs if a.arg not in values]
    arguments.args = [a for a in arguments.args if a.arg not in values]
    arguments.defaults = []                  # `resolve.user_call` applied them
    parsed.closure = {**parsed.closure, **values}
    return parsed


def _refuse(parsed: ParsedFunction, node: ast.AST, message: str, hint: str):
    raise UnsupportedSyntaxError(message, parsed.location(node), hint=hint,
                                 source_line=parsed.line_text(node),
                                 doc_anchor="statements")


def strip_declarations(tree: ast.FunctionDef) -> None:
    """Remove what the body never evaluates: decorators, the annotations
    of parameters and result (`x: np.ndarray`, `-> float`) and of local
    variables (`s: float = 0.0` -> `s = 0.0`; `x: float` alone -> `pass`)."""
    tree.decorator_list = []
    tree.returns = None
    arguments = tree.args
    for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs + \
            [arguments.vararg, arguments.kwarg]:
        if argument is not None:
            argument.annotation = None

    class Annotations(ast.NodeTransformer):
        def visit_AnnAssign(self, node: ast.AnnAssign):
            if node.value is None:
                return ast.copy_location(ast.Pass(), node)
            return ast.copy_location(ast.Assign([node.target], node.value), node)

        def visit_FunctionDef(self, node: ast.FunctionDef):
            return node            # a nested function is stripped when it is read

    for index, statement in enumerate(tree.body):
        tree.body[index] = Annotations().visit(statement)


def _cell_is_set(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True
