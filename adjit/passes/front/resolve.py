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
* a call of one of SciPy's distributions or `logsumexp` is a call of the
  Python function that computes it (`rules.scipy.definition_for`), its
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
import inspect
import numbers

import numpy as np

from adjit.errors import UnsupportedSyntaxError
from adjit.passes.front.calls import CALL, user_function
from adjit.passes.ir.naming import RESERVED
from adjit.passes.front.parse import ParsedFunction
from adjit.passes.front.reductions import AXIS_FUNCTIONS, along_an_axis, keeping_dims
from adjit.rules import REGISTRY
from adjit.rules.numpy import CREATION, DTYPES
from adjit.rules.random import DrawError, draw_call, is_random_function
from adjit.rules.scipy import DefinitionError, definition_for
from adjit.runtime.arrays import reshape_like

# Array methods, as the NumPy functions they are.
_ARRAY_METHODS = {"sum": "sum", "mean": "mean", "max": "max", "min": "min", "copy": "copy",
                  "dot": "dot", "transpose": "transpose", "prod": "prod",
                  "reshape": "reshape", "ravel": "ravel"}

# Tape growth: what only adjit's own generated code calls.
_GENERATED_ONLY = {"rt.grow"}


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
        self.locals = local_names(parsed.tree)
        self.constants: dict[str, object] = {}
        for node in ast.walk(parsed.tree):
            name = getattr(node, "id", None) or getattr(node, "arg", None)
            if name in RESERVED and (isinstance(node, ast.arg) or
                                     isinstance(getattr(node, "ctx", None), ast.Store)):
                self.refuse(node, f"a variable named `{name}`",
                            f"rename it: generated code uses `{name}` for "
                            "the module it imports under that name", "expressions")

    def refuse(self, node, message, hint, anchor="calls"):
        raise UnsupportedSyntaxError(
            message, self.parsed.location(node), hint=hint,
            source_line=self.parsed.line_text(node), doc_anchor=anchor)

    def lookup(self, node: ast.expr):
        """The object a Name/Attribute chain denotes outside the function."""
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

    def visit_Expr(self, node: ast.Expr):
        """A call made for its effect: only `np.random.seed(s)`, or a draw
        whose value is dropped (it advances the generator)."""
        if isinstance(node.value, ast.Call) and \
                is_random_function(self.try_lookup(node.value.func)):
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
        if not keepdims:
            return self.call(node)
        node.keywords = [k for k in node.keywords if k.arg != "keepdims"]
        key = _hashable_or_none(self.try_lookup(node.func))
        return keeping_dims(self, self.call(node), node, key, keepdims[0])

    def call(self, node: ast.Call) -> ast.expr:
        creation = CREATION.get(_hashable_or_none(self.try_lookup(node.func)))
        if creation is not None:
            self.creation_arguments(node, creation)
        node.args = [argument if getattr(argument, "dtype_element", None)
                     else self.visit(argument) for argument in node.args]
        if isinstance(node.func, ast.Name) and node.func.id in self.locals:
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
            defined = definition_for(callee, node)
        except DefinitionError as error:
            self.refuse(node, f"`{ast.unparse(node.func)}`: {error}", "see the supported "
                        "SciPy functions", "scipy")
        if defined is not None:          # a SciPy function adjit computes in Python
            return self.user_call(self.keywords_in_place(node, defined), defined)
        primitive = REGISTRY.lookup(callee)
        written = ast.unparse(node.func)
        if primitive is None and user_function(callee) is not None:
            return self.user_call(node, user_function(callee))
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

    def user_call(self, node: ast.Call, function) -> ast.Call:
        """A call of one of the user's functions, left for `inline`: the
        arguments, with the callee's numeric defaults filled in."""
        if node.keywords:
            self.refuse(node.keywords[0], f"keyword argument in a call to "
                        f"`{function.__name__}`", "pass arguments by position")
        parameters = list(inspect.signature(function).parameters.values())
        if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters):
            self.refuse(node, f"call to `{function.__name__}`, which takes *args, "
                        "**kwargs or keyword-only parameters", "call functions with "
                        "plain positional parameters")
        if len(node.args) > len(parameters):
            self.refuse(node, f"`{function.__name__}` called with {len(node.args)} "
                        f"arguments; it takes {len(parameters)}", "check the call")
        for parameter in parameters[len(node.args):]:
            default = parameter.default
            if default is inspect.Parameter.empty:
                self.refuse(node, f"`{function.__name__}` called without its argument "
                            f"`{parameter.name}`", "pass every argument")
            node.args.append(self.constant(node, default))
        node.callee = function
        node.primitive = CALL
        return node

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
        return not isinstance(receiver, ast.Name) or receiver.id in self.locals

    def method_as_function(self, node: ast.Call) -> ast.Call:
        """`x.sum()` -> `np.sum(x)`: array methods as the NumPy functions."""
        method = node.func.attr
        if method not in _ARRAY_METHODS:
            self.refuse(node.func, f"method `.{method}()` of `{ast.unparse(node.func.value)}`",
                        "array methods adjit knows: "
                        + ", ".join(f".{m}()" for m in sorted(_ARRAY_METHODS)), "arrays")
        function = ast.copy_location(spelling_node(f"np.{_ARRAY_METHODS[method]}"), node.func)
        receiver = node.func.value
        return ast.copy_location(ast.Call(function, [receiver, *node.args], node.keywords),
                                 node)

    def try_lookup(self, node: ast.expr):
        """The object `node` names, or None when it is not a global name."""
        try:
            return self.lookup(node)
        except UnsupportedSyntaxError:
            return None

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
            dtype = DTYPES.get(_hashable_or_none(self.try_lookup(written)))
            if dtype is None:
                self.refuse(written, f"dtype `{ast.unparse(written)}`",
                            "use np.float64, np.float32, np.int64, np.int32, "
                            "np.bool_ (or float, int, bool)", "types")
            element, spelling = dtype
            resolved = ast.copy_location(spelling_node(spelling), written)
            resolved.dtype_element = element
            node.args[creation.dtype_slot] = resolved

    def visit_Name(self, node: ast.Name):
        if not isinstance(node.ctx, ast.Load) or node.id in self.locals:
            return node
        return self.constant(node, self.lookup(node))

    def visit_Attribute(self, node: ast.Attribute):
        base = node.value
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in self.locals:
            if node.attr == "T" and base is node.value:       # x.T
                transpose = ast.Call(spelling_node("np.transpose"), [node.value], [])
                transpose.primitive = REGISTRY.lookup(np.transpose)
                return ast.copy_location(transpose, node)
            if node.attr != "shape":
                self.refuse(node, f"attribute `{ast.unparse(node)}`",
                            "array attributes adjit knows: .shape, .T", "arrays")
            return node                      # x.shape
        return self.constant(node, self.lookup(node))

    def constant(self, node: ast.expr, value) -> ast.Constant:
        if value is None:                    # np.newaxis
            return ast.copy_location(ast.Constant(None), node)
        if isinstance(value, (bool, np.bool_)):
            value = bool(value)
        elif isinstance(value, numbers.Integral):
            value = int(value)
        elif isinstance(value, numbers.Real):
            value = float(value)
        else:
            self.refuse(node, f"`{ast.unparse(node)}` is a "
                        f"{type(value).__name__}, not a number",
                        "only numeric globals can be read by a differentiated "
                        "function; pass other values as arguments", "types")
        self.constants[ast.unparse(node)] = value
        return ast.copy_location(ast.Constant(value), node)


def _hashable_or_none(value):
    try:
        hash(value)
    except TypeError:
        return None
    return value
