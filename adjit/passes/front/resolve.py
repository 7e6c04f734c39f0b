"""resolve: decide what every non-local name in the function refers to.

Input: a fenced `ParsedFunction`.
Output: its `tree` rewritten so that

* every call's `func` is the canonical spelling of a registered primitive
  (`math.sin`, `np.exp`, `abs`, ...) and the `ast.Call` node carries the
  `Primitive` as attribute `primitive`, whatever name the user imported it
  under (`from math import sin as s` -> `math.sin`);
* the dtype of an array creation is a positional argument spelled
  canonically (`np.float64`) and carries `dtype_element`;
* every read of a global or closure number (`math.pi`, a module constant) is
  an `ast.Constant` holding its value at transformation time;
* `range` in a `for` header is left as the builtin it is;
* reductions along an axis and `keepdims=True` are spelled as Numba can
  compile them (`reductions`), and `np.reshape(v, A.shape)` as
  `rt.reshape_like(v, A)`;
* NumPy's other spellings (`np.multiply`, `np.cumsum`, `np.concatenate`,
  `np.array([...])`, list literals, `np.meshgrid`, ...) are the constructs
  `numpy_forms` rewrites them to;
* in a callee being inlined, a parameter every call passes as an int or
  bool constant, and that the callee never assigns, is that constant
  (`keepdims=keep`).
* a call of one of SciPy's distributions or `logsumexp` is a call of the
  Python function that computes it (`rules.library_definition`), its
  keywords made positional, marked for `inline` like a user function;
* a random draw is a call of the `rt.draws` helper of its rank, `normal`
  and `uniform` scaled and shifted (`rules.random.draw_call`); a draw, or
  `np.random.seed(s)`, may be a statement of its own (`desugar` makes it
  an assignment).

Anything else (an unknown function, a global list, an undefined name) is a
located error. The constants read here are part of the cache key.
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import numbers

import numpy as np

from adjit.errors import UnsupportedSyntaxError
from adjit.passes.front.calls import CALL, Bound, NestedFunction, user_function
from adjit.passes.front.numpy_forms import array_literal, mark_forms, respell
from adjit.passes.ir.fold import integer_constant
from adjit.passes.ir.naming import RESERVED
from adjit.passes.front.parse import ParsedFunction
from adjit.passes.front.reductions import AXIS_FUNCTIONS, along_an_axis, keeping_dims
from adjit.rules import REGISTRY, DefinitionError, library_definition
from adjit.rules.numpy import CREATION, DTYPES
from adjit.rules.random import DrawError, draw_call, is_random_function
from adjit.runtime.arrays import reshape_like

# Array methods, as the NumPy functions they are.
_ARRAY_METHODS = {"sum": "sum", "mean": "mean", "max": "max", "min": "min", "copy": "copy",
                  "dot": "dot", "transpose": "transpose", "prod": "prod",
                  "reshape": "reshape", "ravel": "ravel"}

# Tape growth and checkpoint segments: what only adjit's own generated code calls.
_GENERATED_ONLY = {"rt.grow", "rt.checkpoint_stride", "rt.segment_count", "rt.saved_states"}


def spelling_node(spelling: str) -> ast.expr:
    """`"math.sin"` -> the expression `math.sin`."""
    head, *attributes = spelling.split(".")
    node: ast.expr = ast.Name(head, ast.Load())
    for attribute in attributes:
        node = ast.Attribute(node, attribute, ast.Load())
    return node


def local_names(tree: ast.FunctionDef) -> set[str]:
    """Parameters and every name the function assigns."""
    names = {argument.arg for argument in tree.args.posonlyargs + tree.args.args}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def resolve(parsed: ParsedFunction) -> ParsedFunction:
    resolver = _Resolver(parsed)
    parsed.tree = resolver.visit(parsed.tree)
    parsed.constants = resolver.constants
    return parsed


class _Resolver(ast.NodeTransformer):
    def __init__(self, parsed: ParsedFunction):
        self.parsed = parsed
        # the enclosing function's variables too, for a nested function
        self.locals = local_names(parsed.tree) | parsed.outer_locals
        self.constants: dict[str, object] = {}
        for node in ast.walk(parsed.tree):
            name = getattr(node, "id", None) or getattr(node, "arg", None)
            if name in RESERVED and (isinstance(node, ast.arg) or
                                     isinstance(getattr(node, "ctx", None), ast.Store)):
                self.refuse(node, f"a variable named `{name}`",
                            f"rename it: generated code uses `{name}` for "
                            "the module it imports under that name", "expressions")
        assigned = {node.id for node in ast.walk(parsed.tree)
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        self.constant_parameters = {name: value for name, value
                                    in parsed.constant_parameters.items()
                                    if name not in assigned}
        mark_forms(self, parsed.tree)

    def refuse(self, node, message, hint, anchor="calls"):
        raise UnsupportedSyntaxError(
            message, self.parsed.location(node), hint=hint,
            source_line=self.parsed.line_text(node), doc_anchor=anchor)

    def lookup(self, node: ast.expr):
        """The object a Name/Attribute chain denotes outside the function
        (adjit's own spellings, such as `np.sum` for `x.sum()`, carry it as
        `denotes`: the user's module need not import NumPy as `np`)."""
        if hasattr(node, "denotes"):
            return node.denotes
        if isinstance(node, ast.Name):
            for namespace in (self.parsed.closure, self.parsed.globals):
                if node.id in namespace:
                    return namespace[node.id]
            if hasattr(builtins, node.id):
                return getattr(builtins, node.id)
            self.refuse(node, f"name `{node.id}` is not defined",
                        "define it at module level or pass it as an argument",
                        "expressions")
        if not isinstance(node, ast.Attribute) or not isinstance(node.value, (ast.Name,
                                                                              ast.Attribute)):
            self.refuse(node, f"`{ast.unparse(node)}`", "call a function by its name",
                        "calls")
        base = self.lookup(node.value)
        try:
            return getattr(base, node.attr)
        except AttributeError:
            self.refuse(node, f"`{ast.unparse(node)}` does not exist",
                        "check the spelling", "expressions")

    def visit_arguments(self, node: ast.arguments):
        """Numeric defaults become constants. Whoever calls the function
        applies its defaults (the dispatcher, `user_call`), so where one is
        not a number (an array, a function) the tree keeps none."""
        try:
            node.defaults = [self.visit(default) for default in node.defaults]
        except UnsupportedSyntaxError:
            node.defaults = []
        return node

    def visit_Assign(self, node: ast.Assign):
        for target in node.targets:
            self.check_written(target)
        return self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign):
        self.check_written(node.target)
        return self.generic_visit(node)

    def check_written(self, target: ast.expr) -> None:
        """A write into a global (`W[0] = v`) is refused: a derivative reads
        globals as constants and never changes them."""
        for element in target.elts if isinstance(target, ast.Tuple) else [target]:
            base = element
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if element is not base and isinstance(base, ast.Name) \
                    and base.id not in self.locals:
                self.refuse(element, f"writing into the global `{base.id}`",
                            "copy it into a local array first "
                            f"(`w = np.copy({base.id})`)", "types")

    def visit_Raise(self, node: ast.Raise):
        """`raise E(message)` with `E` a built-in exception; an f-string
        message becomes its text as written (`f"got {s}"` -> "got {s}"):
        compiled code cannot format numbers into strings."""
        written = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        exception = self.lookup(written)
        if not (isinstance(exception, type) and issubclass(exception, Exception)
                and getattr(builtins, written.id, None) is exception):
            self.refuse(written, f"raising `{written.id}`, which is not a built-in "
                        "exception", "raise a built-in exception (ValueError, "
                        "ArithmeticError, ...)", "statements")
        arguments = node.exc.args if isinstance(node.exc, ast.Call) else []
        node.exc = ast.copy_location(ast.Call(
            ast.Name(written.id, ast.Load()), [_message(a) for a in arguments], []), node.exc)
        return node

    def visit_Assert(self, node: ast.Assert):
        node.test = self.visit(node.test)
        if node.msg is not None:
            node.msg = _message(node.msg)
        return node

    def visit_Expr(self, node: ast.Expr):
        """`print(...)`: left out of derivatives (docs/supported.md);
        `np.random.seed(s)` or a draw whose value is dropped (it advances the
        generator): kept; any other call on its own line is resolved like any
        call (`desugar` keeps those of the user's own functions: `fill(x, out)`)."""
        if isinstance(node.value, ast.Call):
            if self.try_lookup(node.value.func) is builtins.print:
                return ast.copy_location(ast.Pass(), node)
            node.value = self.visit(node.value)
            return node
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node                              # a docstring
        self.refuse(node, "expression statement", "assign the value to a variable, or "
                    "remove the call (side effects are not supported)", "statements")

    def visit_AnnAssign(self, node: ast.AnnAssign):
        node.value = self.visit(node.value)   # the annotation is not evaluated
        return node

    def visit_For(self, node: ast.For):
        spelled = node.iter.func
        if not (isinstance(spelled, ast.Name) and spelled.id == "range"):
            import numba
            if self.lookup(spelled) is not numba.prange:
                self.refuse(spelled, f"`for` over `{ast.unparse(node.iter)}`",
                            "loop with `range(...)` or `numba.prange(...)`", "statements")
            # a parallel loop: a range to every pass, `prange` again when
            # rendered (see `parallel`)
            node.iter.func = ast.copy_location(ast.Name("range", ast.Load()), spelled)
            node.parallel = True
        node.iter.args = [self.visit(argument) for argument in node.iter.args]
        node.body = [self.visit(statement) for statement in node.body]
        return node

    def visit_Call(self, node: ast.Call):
        if self.is_method(node.func):
            node = self.method_as_function(node)
        keepdims = [k for k in node.keywords if k.arg == "keepdims"]
        if not keepdims or self.called_function(node) is not None:
            return self.call(node)
        node.keywords = [k for k in node.keywords if k.arg != "keepdims"]
        key = _hashable_or_none(self.try_lookup(node.func))
        return keeping_dims(self, self.call(node), node, key, keepdims[0])

    def call(self, node: ast.Call) -> ast.expr:
        respelled = respell(self, node, self.try_lookup(node.func))   # np.add, np.cumsum, ...
        if respelled is not None:
            return self.visit(respelled)
        creation = CREATION.get(_hashable_or_none(self.try_lookup(node.func)))
        if creation is not None:
            self.creation_arguments(node, creation)
            self.shape_slice(node, creation)
        function = self.called_function(node)
        if function is not None:
            return self.user_call(node, function)
        node.args = [argument if getattr(argument, "dtype_element", None)
                     else self.visit(argument) for argument in node.args]
        if isinstance(node.func, ast.Name) and node.func.id in self.locals:
            parameters = {a.arg for a in self.parsed.tree.args.posonlyargs +
                          self.parsed.tree.args.args}
            if node.func.id in parameters:
                self.refuse(node.func, f"call of the parameter `{node.func.id}`: adjit "
                            "reads the functions a derivative calls when it generates "
                            "the code", "differentiate a function that passes it "
                            f"(`def loss(x): return {self.parsed.name}(x, np.tanh)`): "
                            "functions passed to your own functions are inlined")
            self.refuse(node.func, f"call of the local variable `{node.func.id}`",
                        "call math/NumPy functions directly")
        callee = self.lookup(node.func)
        if is_random_function(callee):
            for keyword in node.keywords:
                keyword.value = self.visit(keyword.value)
            try:
                return draw_call(callee, node)
            except DrawError as error:
                self.refuse(node, f"`{ast.unparse(node)}`: {error}",
                            "see the supported draws", "randomness")
        try:
            defined = library_definition(callee, node)
        except DefinitionError as error:
            self.refuse(node, f"`{ast.unparse(node.func)}`: {error}", "see the supported "
                        "SciPy functions", "scipy")
        if defined is not None:          # a SciPy function adjit computes in Python
            return self.user_call(self.keywords_in_place(node, defined), defined)
        primitive = REGISTRY.lookup(callee)
        written = ast.unparse(node.func)
        if primitive is None and getattr(callee, "__module__", "").startswith("adjit.runtime"):
            self.refuse(node, f"`{written}`, a helper of adjit's generated code, has no "
                        "derivative rule", "differentiate this derivative fewer times "
                        "(docs/limitations.md lists what can be differentiated again)",
                        "higher-order")
        if primitive is None and type(callee).__module__ == "adjit.dispatch":
            self.refuse(node, f"call to `{written}`, a derivative made by adjit.jit",
                        "differentiate the derivative itself (`jit.grad(jit.grad(f))`, "
                        "`jit.hessian(f)`) and combine the results outside the function",
                        "calls")
        if primitive is None and callee is sum:
            self.refuse(node, f"call to the builtin `{written}`",
                        "use np.sum(x) for an array, or add the terms in a loop",
                        "expressions")
        if primitive is None:
            what = getattr(callee, "__qualname__", type(callee).__name__)
            module = getattr(callee, "__module__", None)
            origin = f" (`{module}.{what}`)" if module else ""
            if any(callee is f for f in (np.array, np.asarray, np.ascontiguousarray)):
                self.refuse(node, f"call to `{written}`{origin} is not supported by adjit",
                            "to copy an array (or a slice of one) write np.copy(a), "
                            "which is differentiated; to use it as it is, drop the call",
                            "arrays")
            self.refuse(node, f"call to `{written}`{origin} is not supported by adjit",
                        "adjit differentiates math/NumPy primitives, builtins "
                        "(abs, min, max, float, int, round) and your own Python "
                        "functions; give this one a rule with adjit.defvjp")
        axis = [k for k in node.keywords if k.arg == "axis"]
        if axis:
            if primitive.key not in AXIS_FUNCTIONS or len(node.args) != 1:
                self.refuse(axis[0], f"`axis=` in `{written}`",
                            "adjit supports axis= in np.sum, np.mean, np.max, np.min, "
                            "np.prod and np.expand_dims", "arrays")
            node.args.append(self.visit(axis[0].value))      # a global axis: its value
            node.keywords = [k for k in node.keywords if k.arg != "axis"]
        if primitive.key in AXIS_FUNCTIONS and len(node.args) == 2 and not node.keywords:
            along = along_an_axis(self, node, primitive.key)
            if along is not None:
                return along
        if primitive.key is np.reshape and len(node.args) == 2 and \
                isinstance(node.args[1], ast.Attribute) and node.args[1].attr == "shape" \
                and isinstance(node.args[1].value, ast.Name):   # np.reshape(v, A.shape)
            like = ast.Call(spelling_node("rt.reshape_like"),
                            [node.args[0], node.args[1].value], [])
            like.primitive = REGISTRY.lookup(reshape_like)
            return ast.copy_location(like, node)
        if node.keywords:
            self.refuse(node.keywords[0], f"`{node.keywords[0].arg}=` in `{written}`",
                        "pass arguments by position", "calls")
        while primitive.key in (min, max) and len(node.args) > 2:
            # min(a, b, c) is min(min(a, b), c): Python returns the first of
            # equal arguments, and so does the nested call
            nested = ast.copy_location(ast.Call(spelling_node(primitive.spelling),
                                                node.args[:2], []), node)
            nested.primitive = primitive
            node.args = [nested, *node.args[2:]]
        if len(node.args) not in primitive.arity:
            expected = " or ".join(str(count) for count in primitive.arity)
            self.refuse(node, f"`{written}` called with {len(node.args)} "
                        f"arguments; adjit supports it with {expected}",
                        "pass the supported number of positional arguments")
        if primitive.spelling in _GENERATED_ONLY and not self.parsed.generated:
            self.refuse(node, f"`{written}` is adjit's own runtime function",
                        "call NumPy functions instead", "calls")
        node.func = spelling_node(primitive.spelling)
        node.primitive = primitive
        return node

    def called_function(self, node: ast.Call):
        """The user function (or nested function) `node` calls, else None."""
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.parsed.nested \
                and func.id not in self.locals:
            return self.parsed.nested[func.id]
        if isinstance(func, ast.Name) and func.id in self.locals:
            return None
        callee = self.try_lookup(func)
        if callee is None or REGISTRY.lookup(callee) is not None:
            return None
        return user_function(callee)

    def user_call(self, node: ast.Call, function) -> ast.Call:
        """A call of one of the user's functions, left for `inline`: the
        arguments by position, keywords matched to their parameters and
        the callee's numeric defaults filled in. A parameter receiving a
        function (`np.tanh`, a function of the user's) or an array default
        is bound in the callee instead (`calls.Bound`)."""
        name = function.__name__
        parameters = self.parameters_of(node, function)
        names = [parameter for parameter, _ in parameters]
        if len(node.args) > len(parameters):
            self.refuse(node, f"`{name}` called with {len(node.args)} "
                        f"arguments; it takes {len(parameters)}", "check the call")
        given = dict(zip(names, node.args))
        for keyword in node.keywords:
            if keyword.arg not in names or keyword.arg in given:
                problem = "twice" if keyword.arg in given else "not a parameter"
                written = "**" if keyword.arg is None else f"{keyword.arg}="
                self.refuse(keyword, f"`{written}` in a call to `{name}`: {problem}",
                            f"`{name}` takes {', '.join(names)}")
            given[keyword.arg] = keyword.value
        arguments, bound = [], {}
        for parameter, default in parameters:
            if parameter in given:
                passed = self.function_named(given[parameter])
                if passed is not None:
                    bound[parameter] = passed
                else:
                    arguments.append(self.visit(given[parameter]))
            elif default is inspect.Parameter.empty:
                self.refuse(node, f"`{name}` called without its argument "
                            f"`{parameter}`", "pass every argument")
            elif isinstance(default, (numbers.Number, np.bool_)):
                arguments.append(self.constant(node, default))
            else:
                bound[parameter] = default   # an array or a function, read in the callee
        node.args, node.keywords = arguments, []
        node.callee = Bound(function, bound) if bound else function
        node.primitive = CALL
        return node

    def parameters_of(self, node: ast.Call, function) -> list[tuple[str, object]]:
        """(name, default or `Parameter.empty`) of each parameter of a callee."""
        if isinstance(function, NestedFunction):
            arguments = function.tree.args
            if arguments.vararg or arguments.kwarg or arguments.kwonlyargs:
                self.refuse(node, f"call to `{function.__name__}`, which takes *args, "
                            "**kwargs or keyword-only parameters", "call functions "
                            "with plain positional parameters")
            names = [a.arg for a in arguments.posonlyargs + arguments.args]
            defaults = [self.nested_default(function, d) for d in arguments.defaults]
            return list(zip(names, [inspect.Parameter.empty] *
                            (len(names) - len(defaults)) + defaults))
        parameters = list(inspect.signature(function).parameters.values())
        if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters):
            self.refuse(node, f"call to `{function.__name__}`, which takes *args, "
                        "**kwargs or keyword-only parameters", "call functions with "
                        "plain positional parameters")
        return [(p.name, p.default) for p in parameters]

    def nested_default(self, function: NestedFunction, default: ast.expr):
        """The value of a nested function's default: a number, or a global
        (Python evaluates it once, where the function is defined)."""
        if isinstance(default, ast.Constant) and isinstance(default.value, (int, float)):
            return default.value
        reads = {n.id for n in ast.walk(default) if isinstance(n, ast.Name)}
        if isinstance(default, (ast.Name, ast.Attribute)) and \
                not reads & function.outer_locals and not reads & set(self.parsed.nested):
            return self.lookup(default)
        self.refuse(default, f"default `{ast.unparse(default)}` of the nested function "
                    f"`{function.__name__}`", "use a number or a global as the default, "
                    "or pass the value as an argument")

    def function_named(self, argument: ast.expr):
        """The function an argument names (`np.tanh`, a function of the
        user's, a nested function), passed on as it is; None otherwise."""
        if isinstance(argument, ast.Name) and argument.id in self.parsed.nested \
                and argument.id not in self.locals:
            return self.parsed.nested[argument.id]
        base = argument
        while isinstance(base, ast.Attribute):
            base = base.value
        if not isinstance(base, ast.Name) or base.id in self.locals:
            return None
        value = self.try_lookup(argument)
        if callable(value) and not isinstance(value, type):
            return value
        return None

    def keywords_in_place(self, node: ast.Call, function) -> ast.Call:
        """`f(x, scale=s)` -> `f(x, 0.0, s)`: keywords as positional
        arguments of `function`, the defaults they skip filled in."""
        parameters = list(inspect.signature(function).parameters.values())
        names = [p.name for p in parameters]
        written = ast.unparse(node.func)
        if len(node.args) > len(parameters):
            self.refuse(node, f"`{written}` called with {len(node.args)} arguments",
                        f"its parameters: {', '.join(names)}", "calls")
        slots = list(node.args) + [None] * (len(parameters) - len(node.args))
        for keyword in node.keywords:
            if keyword.arg not in names or slots[names.index(keyword.arg)] is not None:
                self.refuse(keyword, f"`{keyword.arg}=` in `{written}`",
                            f"its parameters: {', '.join(names)}", "calls")
            slots[names.index(keyword.arg)] = self.visit(keyword.value)
        while slots and slots[-1] is None:
            slots.pop()
        for slot, parameter in zip(slots, parameters):
            if slot is None and parameter.default is inspect.Parameter.empty:
                self.refuse(node, f"`{written}` called without its argument "
                            f"`{parameter.name}`", "pass every argument", "calls")
        node.args = [self.constant(node, parameter.default) if slot is None else slot
                     for slot, parameter in zip(slots, parameters)]
        node.keywords = []
        return node

    def is_method(self, func: ast.expr) -> bool:
        """`x.sum` of a local `x`, or of any value that is not a name
        (`(a * b).sum`): a method of an array, not a module function."""
        if not isinstance(func, ast.Attribute):
            return False
        receiver = func.value
        while isinstance(receiver, ast.Attribute):
            receiver = receiver.value
        return not isinstance(receiver, ast.Name) or receiver.id in self.locals \
            or (receiver is func.value and self.is_global_array(receiver))

    def is_global_array(self, node: ast.expr) -> bool:
        """A name that is no variable of the function and holds an array."""
        return isinstance(node, ast.Name) and node.id not in self.locals and \
            isinstance(self.try_lookup(node), np.ndarray)

    def method_as_function(self, node: ast.Call) -> ast.Call:
        """`x.sum()` -> `np.sum(x)`: array methods as the NumPy functions."""
        method = node.func.attr
        if method not in _ARRAY_METHODS:
            self.refuse(node.func, f"method `.{method}()` of `{ast.unparse(node.func.value)}`",
                        "array methods adjit knows: "
                        + ", ".join(f".{m}()" for m in sorted(_ARRAY_METHODS)), "arrays")
        function = ast.copy_location(spelling_node(f"np.{_ARRAY_METHODS[method]}"), node.func)
        function.denotes = getattr(np, _ARRAY_METHODS[method])
        receiver = node.func.value
        return ast.copy_location(ast.Call(function, [receiver, *node.args], node.keywords),
                                 node)

    def try_lookup(self, node: ast.expr):
        """The object `node` names, or None when it is not a global name."""
        try:
            return self.lookup(node)
        except UnsupportedSyntaxError:
            return None

    def shape_slice(self, node: ast.Call, creation) -> None:
        """`np.empty(x.shape[:2])` -> `np.empty((x.shape[0], x.shape[1]))`:
        a slice of a shape with constant bounds as the tuple it is."""
        if creation.shape_slot is None or creation.like or \
                len(node.args) <= creation.shape_slot:
            return
        shape = node.args[creation.shape_slot]
        if not (isinstance(shape, ast.Subscript) and isinstance(shape.slice, ast.Slice)
                and isinstance(shape.value, ast.Attribute) and shape.value.attr == "shape"):
            return
        bounds = [integer_constant(b) if b is not None else default for b, default in
                  ((shape.slice.lower, 0), (shape.slice.upper, None), (shape.slice.step, 1))]
        lower, upper, step = bounds
        if lower is None or upper is None or step is None or lower < 0 or upper < 0 \
                or step <= 0:
            self.refuse(shape, f"the shape `{ast.unparse(shape)}`: a slice of a shape "
                        "needs constant non-negative bounds, the upper one included",
                        "slice a shape with constant non-negative bounds "
                        "(`x.shape[:2]`, `x.shape[1:3]`), or write the tuple: "
                        "`(x.shape[1], x.shape[2])`", "arrays")
        elements = [ast.copy_location(ast.Subscript(copy.deepcopy(shape.value), ast.Constant(k),
                                                    ast.Load()),
                                      shape) for k in range(lower, upper, step)]
        node.args[creation.shape_slot] = ast.copy_location(ast.Tuple(elements, ast.Load()),
                                                           shape)

    def creation_arguments(self, node: ast.Call, creation) -> None:
        """`np.zeros(n, dtype=np.int64)` -> `np.zeros(n, np.int64)`: the dtype
        as a positional argument, resolved to its canonical spelling, with
        the element type adjit tracks in `dtype_element`."""
        for keyword in node.keywords:
            if creation.dtype_slot is None or len(node.args) != creation.dtype_slot:
                self.refuse(keyword, f"`dtype=` in `{ast.unparse(node.func)}`",
                            "adjit supports dtype= for np.zeros/ones/empty/full and "
                            "the *_like functions, after their other arguments")
            node.args.append(keyword.value)
        node.keywords = []
        if creation.dtype_slot is not None and len(node.args) > creation.dtype_slot:
            written = node.args[creation.dtype_slot]
            if isinstance(written, ast.Attribute) and written.attr == "dtype" and \
                    isinstance(written.value, ast.Name) and written.value.id in self.locals:
                written.dtype_element = "like"      # `dtype=x.dtype`: the element of x
                return
            dtype = DTYPES.get(_hashable_or_none(self.try_lookup(written)))
            if dtype is None:
                self.refuse(written, f"dtype `{ast.unparse(written)}`",
                            "use np.float64, np.float32, np.int64, np.int32, "
                            "np.bool_ (or float, int, bool)", "types")
            element, spelling = dtype
            resolved = ast.copy_location(spelling_node(spelling), written)
            resolved.dtype_element = element
            node.args[creation.dtype_slot] = resolved

    def visit_List(self, node: ast.List):
        if not getattr(node, "as_array", False):
            self.refuse(node, "a list literal here is not supported by adjit",
                        "use scalars, tuples of scalars, or a NumPy "
                        "array (`a = np.zeros(n)`, then `a[i] = v`)", "types")
        return self.visit(array_literal(self, node, "a list literal"))

    def visit_Name(self, node: ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id in self.constant_parameters:
            value = self.constant_parameters[node.id]       # `keepdims=keep`: a constant
            return ast.copy_location(ast.Constant(value), node)
        if not isinstance(node.ctx, ast.Load) or node.id in self.locals:
            return node
        if node.id in self.parsed.nested:
            self.refuse(node, f"the nested function `{node.id}` used as a value",
                        f"call it (`{node.id}(...)`), or pass it to a function "
                        "as an argument", "calls")
        return self.constant(node, self.lookup(node))

    def visit_Attribute(self, node: ast.Attribute):
        base = node.value
        while isinstance(base, ast.Attribute):
            base = base.value
        if base is node.value and self.is_global_array(base):    # W.shape of a global W
            node.value = self.visit(base)
            base = node.value
        if isinstance(base, ast.Name) and (base.id in self.locals or base.id in self.parsed.arrays):
            if node.attr == "T" and base is node.value:       # x.T
                transpose = ast.Call(spelling_node("np.transpose"), [node.value], [])
                transpose.primitive = REGISTRY.lookup(np.transpose)
                return ast.copy_location(transpose, node)
            if node.attr in ("size", "ndim") and base is node.value:
                return self.count(node)
            if node.attr != "shape":
                self.refuse(node, f"attribute `{ast.unparse(node)}`",
                            "array attributes adjit knows: .shape, .T, .size, .ndim "
                            "(and .dtype as the dtype of a new array)", "arrays")
            return node                      # x.shape
        return self.constant(node, self.lookup(node))

    def array_constant(self, node: ast.expr, value: np.ndarray) -> ast.Name:
        """A global (or closure, or bound default) array read by name: a
        constant of the derivative, emitted with the generated code
        (`pipeline`). Its content is part of the dispatch and cache keys
        (`dispatch`), so changing it makes a new derivative."""
        what = f"the array `{ast.unparse(node)}`"
        if not isinstance(node, ast.Name):
            self.refuse(node, f"{what}, read as an attribute", "import it by name "
                        "(`from params import W`), or pass it as an argument", "types")
        if value.dtype.kind not in "fib" or value.dtype.itemsize not in (1, 4, 8):
            self.refuse(node, f"{what} of dtype {value.dtype}", "use an array of "
                        "float64, float32, int64, int32 or bool", "types")
        if value.size > MAX_CONSTANT_ARRAY:
            self.refuse(node, f"{what} of {value.size} elements, embedded in the "
                        f"derivative as a constant (at most {MAX_CONSTANT_ARRAY})",
                        "pass it as an argument", "types")
        self.parsed.arrays[node.id] = value
        return ast.copy_location(ast.Name(node.id, ast.Load()), node)

    def count(self, node: ast.Attribute) -> ast.Call:
        """`x.size` -> `np.size(x)`, `x.ndim` -> `len(x.shape)`: ints."""
        if node.attr == "size":
            call = ast.Call(spelling_node("np.size"), [node.value], [])
            call.primitive = REGISTRY.lookup(np.size)
        else:
            shape = ast.copy_location(ast.Attribute(node.value, "shape", ast.Load()), node)
            call = ast.Call(ast.Name("len", ast.Load()), [shape], [])
            call.primitive = REGISTRY.lookup(len)
        return ast.copy_location(call, node)

    def constant(self, node: ast.expr, value) -> ast.Constant:
        if value is None:                    # np.newaxis
            return ast.copy_location(ast.Constant(None), node)
        if isinstance(value, (bool, np.bool_)):
            value = bool(value)
        elif isinstance(value, numbers.Integral):
            value = int(value)
        elif isinstance(value, numbers.Real):
            value = float(value)
        elif isinstance(value, np.ndarray):
            return self.array_constant(node, value)
        else:
            self.refuse(node, f"`{ast.unparse(node)}` is a "
                        f"{type(value).__name__}, not a number",
                        "a differentiated function reads numbers and NumPy arrays "
                        "from globals; pass other values as arguments", "types")
        self.constants[ast.unparse(node)] = value
        return ast.copy_location(ast.Constant(value), node)


# the largest global array a derivative embeds as a constant
MAX_CONSTANT_ARRAY = 10_000


def _message(node: ast.expr) -> ast.Constant:
    """The text of a message string or f-string, its fields as written."""
    if isinstance(node, ast.Constant):
        return node
    parts = [part.value if isinstance(part, ast.Constant) else
             "{" + ast.unparse(part.value) + "}" for part in node.values]
    return ast.copy_location(ast.Constant("".join(parts)), node)


def _hashable_or_none(value):
    try:
        hash(value)
    except TypeError:
        return None
    return value
