"""tuples: tuple values spelled as one variable per element.

Input: a `ParsedFunction` straight from `parse`, and the structure of each
tuple parameter in the call's signature (`structures`: parameter -> a
nested tuple whose leaves are the elements' types), or None before any
signature is known.
Output: the same function in which no variable holds a tuple:

* a tuple parameter `params` becomes one parameter per element
  (`params_0, params_1, ...`, nested tuples flattened in order); the
  pipeline packs them back at the boundary of the generated function
  (`pack_parameters`);
* `p = (a, b)`, `p = q`, `p = q[1]` (a tuple element that is a tuple)
  assign each element to a variable of its own (`p_0 = a; p_1 = b`), the
  same variables each time `p` is bound (a tuple bound again, in a branch
  or a loop, must have the same structure);
* `a, b = p`, `(w, b), c = ...` unpack element by element; `p[k]` with a
  constant `k` is the k-th element; `A[p]` indexes with the elements;
  `len(p)` is a number; `return p` returns the elements;
* `for (w, b) in layers`, `for i, v in enumerate(p)`, `for a, b in
  zip(p, q)` over tuples are unrolled: one copy of the body per element
  (the names the body binds first renamed in each copy, so that an array
  variable is bound once); loops over arrays become loops over indices
  (`iteration`);
* `a, b = g(x)` (the value of a call) becomes `_t = g(x)` read as `_t[0]`,
  `_t[1]`, the count recorded in `parsed.tuple_unpacks` for `inline`,
  which knows whether `g` returns a tuple of that many values.

A returned tuple is returned flat (its structure, when nested, kept in
`parsed.returned_structure` for `pack_parameters`).

A tuple passed to one of your functions (`forward(layers, x)`) is passed
as a display of its variables, `forward(((w0, b0), (w1, b1)), x)`, which
`inline` binds to the callee's tuple parameter.

Refused with a located error: a tuple variable bound to tuples of
different structures or to a value that is not a tuple, a tuple indexed
by a value that is not a constant, a tuple used as a number (`p * 2`,
passed to a call), `break`/`continue` in a loop over a tuple.

Without `structures` (the front end run once, before any call, to refuse
unsupported syntax early), a parameter unpacked or looped over as a tuple
is read by index (`params[0]`), which the later passes accept.
"""

from __future__ import annotations

import ast
import builtins
import copy

import numpy as np

from adjit.errors import UnsupportedSyntaxError
from adjit.passes.front.calls import user_function
from adjit.passes.front.iteration import lookup, lower_loop
from adjit.passes.front.parse import ParsedFunction
from adjit.passes.ir.build import Renamer as _Rename
from adjit.passes.ir.build import load as _load
from adjit.passes.ir.build import located as _located
from adjit.passes.ir.build import store as _store
from adjit.passes.ir.fold import integer_constant
from adjit.passes.ir.naming import Namer

# A tuple value: its elements, each a variable name or a nested tuple value.
TupleValue = list


def flatten_tuples(parsed: ParsedFunction, structures: dict | None) -> ParsedFunction:
    if parsed.namer is None:
        parsed.namer = Namer(parsed.tree)
    _Tuples(parsed, structures).run()
    return parsed


def leaves(value) -> list:
    """The variables of a tuple value, in order (nested tuples flattened)."""
    if not isinstance(value, list):
        return [value]
    return [name for element in value for name in leaves(element)]


class _Tuples:
    def __init__(self, parsed: ParsedFunction, structures: dict | None):
        self.parsed = parsed
        self.namer: Namer = parsed.namer
        self.structures = structures
        self.tuples: dict[str, TupleValue] = {}     # variable -> its element variables
        self.bound_at: dict[str, ast.AST] = {}      # variable -> where first bound
        self.plain: dict[str, ast.AST] = {}         # variables bound to non-tuples
        tree = parsed.tree
        self.parameters = [a.arg for a in tree.args.posonlyargs + tree.args.args]
        # parameters read by index before any signature is known
        self.opaque = set(self.parameters) if structures is None else set()

    def error(self, node: ast.AST, message: str, hint: str, anchor: str = "types"):
        raise UnsupportedSyntaxError(message, self.parsed.location(node), hint=hint,
                                     source_line=self.parsed.line_text(node),
                                     doc_anchor=anchor)

    def run(self) -> None:
        tree = self.parsed.tree
        self.parsed.tuple_parameters = {}
        self.parsed.structures_known = self.structures is not None
        for argument in list(tree.args.args):
            structure = (self.structures or {}).get(argument.arg)
            if isinstance(structure, tuple):
                value = self.variables_for(argument.arg, structure)
                self.tuples[argument.arg] = value
                self.bound_at[argument.arg] = argument
                self.parsed.tuple_parameters[argument.arg] = value
        if self.parsed.tuple_parameters:
            arguments = []
            for argument in tree.args.args:
                value = self.parsed.tuple_parameters.get(argument.arg)
                names = leaves(value) if value is not None else [argument.arg]
                arguments.extend(ast.copy_location(ast.arg(name), argument) for name in names)
            tree.args.args = arguments
        tree.body = self.block(tree.body)

    def variables_for(self, name: str, structure) -> TupleValue:
        """Fresh variables for the elements of a tuple of `structure`."""
        return [self.variables_for(f"{name}_{k}", element) if isinstance(element, (tuple, list))
                else self.namer.unique(f"{name}_{k}") for k, element in enumerate(structure)]

    # -- statements ---------------------------------------------------------------
    def block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for statement in statements:
            out.extend(self.statement(statement))
        return out

    def statement(self, node: ast.stmt) -> list[ast.stmt]:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            return self.assign(node.targets[0], node.value, node)
        if isinstance(node, ast.AnnAssign) and node.value is not None and \
                self.mentions_tuples(node.value):
            return self.assign(node.target, node.value, node)
        if isinstance(node, ast.For):
            return self.loop(node)
        if isinstance(node, ast.Return) and node.value is not None and (
                self.mentions_tuples(node.value) or (isinstance(node.value, ast.Tuple) and any(
                    isinstance(e, ast.Tuple) for e in node.value.elts))):
            out: list[ast.stmt] = []
            value = self.tuple_value(node.value, out)
            if value is not None:
                if any(isinstance(element, list) for element in value):
                    # the generated function returns them nested again (`pack_parameters`)
                    self.parsed.returned_structure = value
                node.value = ast.copy_location(
                    ast.Tuple([_value(name) for name in leaves(value)], ast.Load()),
                    node.value)
                return out + [node]
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, field, self.block(block))
        self.expressions(node)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                self.bind_plain(target, node)
        return [node]

    def bind_plain(self, target: ast.expr, node: ast.AST) -> None:
        for name in ast.walk(target):
            if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                if name.id in self.tuples:
                    self.error(node, f"`{name.id}` holds a tuple (line "
                               f"{self.bound_at[name.id].lineno}) and is assigned a "
                               "value that is not a tuple here",
                               "use another name for one of the two values")
                self.plain.setdefault(name.id, node)

    def assign(self, target: ast.expr, value: ast.expr, node: ast.stmt) -> list[ast.stmt]:
        if not isinstance(target, (ast.Name, ast.Tuple, ast.List)) or \
                any(isinstance(n, ast.Starred) for n in ast.walk(target)):
            self.expressions(node)          # `a[i] = v`, or what `fence` refuses
            return [node]
        plain_targets = isinstance(target, ast.Name) or (
            isinstance(target, (ast.Tuple, ast.List))
            and all(isinstance(e, ast.Name) for e in target.elts))
        if plain_targets and not self.mentions_tuples(value) and not (
                isinstance(target, ast.Name) and isinstance(value, ast.Tuple)) and not (
                isinstance(target, ast.Name) and target.id in self.tuples):
            if isinstance(target, (ast.Tuple, ast.List)) and not isinstance(value, ast.Tuple):
                return self.unpack_other(target, value, node)
            self.expressions(node)          # `s = x * y`, `a, b = b, a + b`
            self.bind_plain(target, node)
            return [node]
        out: list[ast.stmt] = []
        tuple_value = self.tuple_value(value, out)
        if tuple_value is None:
            if isinstance(target, (ast.Tuple, ast.List)):
                return self.unpack_other(target, value, node)
            if target.id not in self.tuples:        # `a = p[0] * 2.0`
                self.expressions(node)
                self.bind_plain(target, node)
                return out + [node]
            self.error(node, f"`{target.id}` holds a tuple (line "
                       f"{self.bound_at[target.id].lineno}) and is assigned a value "
                       "that is not a tuple here", "use another name for one of the "
                       "two values")
        pairs: list[tuple[str, str]] = []
        self.match(target, tuple_value, node, pairs)
        if pairs:
            statement = ast.Assign(
                [ast.Tuple([_store(t) for t, _ in pairs], ast.Store())],
                ast.Tuple([_value(v) for _, v in pairs], ast.Load())) if len(pairs) > 1 \
                else ast.Assign([_store(pairs[0][0])], _value(pairs[0][1]))
            out.append(_located(statement, node))
        return out

    def mentions_tuples(self, value: ast.expr) -> bool:
        """Does `value` name a tuple variable (or a parameter read as one)?"""
        return any(isinstance(n, ast.Name) and n.id in self.tuples for n in ast.walk(value))

    def match(self, target: ast.expr, value, node: ast.AST, pairs: list) -> None:
        """Pair each variable of `target` with the variable of `value` it
        receives (binding tuple variables as needed)."""
        if isinstance(target, (ast.Tuple, ast.List)):
            if not isinstance(value, list):
                self.error(target, "unpacking a value that is not a tuple",
                           "unpack tuples only", "statements")
            if len(target.elts) != len(value):
                self.error(node, f"unpacking {len(value)} values into "
                           f"{len(target.elts)} names", "match the counts", "statements")
            for element, part in zip(target.elts, value):
                self.match(element, part, node, pairs)
            return
        if not isinstance(target, ast.Name):
            self.error(target, f"assigning a tuple to `{ast.unparse(target)}`",
                       "assign tuples to variable names", "statements")
        name = target.id
        if not isinstance(value, list):         # a variable, or enumerate's count
            if name in self.tuples:
                self.error(node, f"`{name}` holds a tuple (line "
                           f"{self.bound_at[name].lineno}) and is assigned a value "
                           "that is not a tuple here", "use another name for one of "
                           "the two values")
            self.plain.setdefault(name, node)
            pairs.append((name, value))
            return
        if name in self.plain:
            self.error(node, f"`{name}` holds a value that is not a tuple (line "
                       f"{self.plain[name].lineno}) and is assigned a tuple here",
                       "use another name for one of the two values")
        if name not in self.tuples:
            self.tuples[name] = self.variables_for(name, value)
            self.bound_at[name] = node
        own = self.tuples[name]
        if _structure(own) != _structure(value):
            self.error(node, f"`{name}` is {_structure_text(own)} at line "
                       f"{self.bound_at[name].lineno} and {_structure_text(value)} here",
                       "a tuple variable keeps one structure (its length and "
                       "the lengths of its elements); use another name")
        pairs.extend(zip(leaves(own), leaves(value)))

    def unpack_other(self, target: ast.Tuple, value: ast.expr, node: ast.stmt):
        """`a, b = g(x)` and `a, b = p` with `p` not known to be a tuple here:
        read by index, the count checked when `g` is inlined."""
        if isinstance(value, ast.Tuple) or (isinstance(value, ast.Attribute)
                                            and value.attr == "shape") \
                or _names_meshgrid(value, self.parsed):
            # `a, b = x, y`, `n, m = x.shape`, and `X, Y = np.meshgrid(x, y)`
            # (`resolve` spells that one as two broadcasts)
            self.expressions(node)
            self.bind_plain(target, node)
            return [node]
        self.expressions(node)
        value = node.value
        out: list[ast.stmt] = []
        if isinstance(value, ast.Call):
            holder = self.namer.fresh("parts")
            out.append(_located(ast.Assign([_store(holder)], value), node))
            self.parsed.tuple_unpacks[holder] = (len(target.elts), node)
        elif isinstance(value, ast.Name) and value.id in self.opaque:
            holder = value.id
        elif isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
                and value.value.id in self.opaque:      # `layers[k]`, before a signature
            holder = self.namer.fresh("element")
            self.opaque.add(holder)
            out.append(_located(ast.Assign([_store(holder)], value), node))
        elif isinstance(value, ast.Name) and value.id not in self.parameters:
            holder = value.id               # a local; `inline` knows if a call made it
            self.parsed.tuple_unpacks[holder] = (len(target.elts), node)
        else:
            self.error(value, "unpacking a value that is not a tuple",
                       "unpack a tuple, `a, b = x, y`, or index an array", "types")
        for k, element in enumerate(target.elts):
            part = ast.Subscript(_load(holder), ast.Constant(k), ast.Load())
            if isinstance(element, (ast.Tuple, ast.List)):
                out.extend(self.unpack_other(element, part, _located(
                    ast.Assign([element], part), node)))
                continue
            out.append(_located(ast.Assign([element], part), node))
            self.bind_plain(element, node)
        return out

    # -- loops --------------------------------------------------------------------
    def loop(self, node: ast.For) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        elements = self.iterated_tuple(node.iter, out)
        if elements is None:
            if self.structures is None and isinstance(node.target, (ast.Tuple, ast.List)) \
                    and isinstance(node.iter, ast.Name) and node.iter.id in self.opaque:
                return self.opaque_loop(node)
            lowered = lower_loop(node, self.parsed, self.namer,
                                 lambda name, function: self.builtin(name) is function)
            if lowered is not None:             # a loop over arrays: over indices now
                return self.block(lowered)
            node.iter = self.expressions(node.iter)
            self.bind_plain(node.target, node)
            node.body = self.block(node.body)
            node.orelse = self.block(node.orelse)
            return [node]
        if node.orelse:
            self.error(node.orelse[0], "`for ... else`", "use a flag variable set "
                       "before `break`", "statements")
        for inner in _own_jumps(node.body):
            self.error(inner, f"`{type(inner).__name__.lower()}` in a loop over a tuple",
                       "adjit unrolls a loop over a tuple (one copy of the body per "
                       "element): use `if` around the rest of the body", "statements")
        targets, local = self.copy_locals(node)
        renamed: dict[str, str] = {}
        for k, element in enumerate(elements):
            renamed = {name: self.namer.unique(f"{name}_{k}") for name in targets | local}
            target = _Rename(renamed).visit(copy.deepcopy(node.target))
            out.extend(self.assign_element(target, element, node))
            out.extend(self.block([_Rename(renamed).visit(statement)
                                   for statement in copy.deepcopy(node.body)]))
        for name in sorted(targets):        # the last element, as after a Python loop
            if self.read_outside(name, node):
                last = _located(ast.Assign([_store(name)], _load(renamed[name])), node)
                out.extend(self.assign(last.targets[0], last.value, last))
        return out

    def copy_locals(self, node: ast.For) -> tuple[set[str], set[str]]:
        """The loop's target names, and the names each copy of an unrolled
        body may have to itself: assigned by a statement of the body before
        any read, and used nowhere else (one array binding per copy)."""
        targets = {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        local, seen = set(), set(targets)
        for statement in node.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Name):
                name = statement.targets[0].id
                reads = {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)}
                if name not in seen and name not in reads and \
                        not self.read_outside(name, node, stores_too=True):
                    local.add(name)
            seen |= {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}
        return targets, local

    def read_outside(self, name: str, loop: ast.For, stores_too: bool = False) -> bool:
        """Is `name` read (or, with `stores_too`, used at all) outside `loop`?"""
        inside = {id(n) for n in ast.walk(loop)}
        return any(isinstance(n, ast.Name) and n.id == name and id(n) not in inside
                   and (stores_too or isinstance(n.ctx, ast.Load))
                   for n in ast.walk(self.parsed.tree))

    def assign_element(self, target: ast.expr, element, node: ast.For) -> list[ast.stmt]:
        pairs: list[tuple[str, str]] = []
        self.match(target, element, node, pairs)
        return [_located(ast.Assign([_store(t)], _value(v)), node) for t, v in pairs]

    def iterated_tuple(self, iterator: ast.expr, out: list) -> list | None:
        """The elements a `for` over a tuple goes through, or None when it
        iterates over something else: a tuple value, `enumerate(t)`, `zip(t, u)`."""
        if isinstance(iterator, ast.Tuple) and not iterator.elts:
            self.error(iterator, "a loop over an empty tuple", "remove the loop",
                       "statements")
        value = self.tuple_value(iterator, out)
        if value is not None:
            return list(value)
        if not isinstance(iterator, ast.Call) or not isinstance(iterator.func, ast.Name) \
                or iterator.keywords or not iterator.args:
            return None
        function = self.builtin(iterator.func)
        operands = [self.tuple_value(argument, out) for argument in iterator.args]
        if function is enumerate and len(operands) == 1 and operands[0] is not None:
            return [[ast.Constant(k), element] for k, element in enumerate(operands[0])]
        if function is zip and all(operand is not None for operand in operands):
            return [list(parts) for parts in zip(*operands)]
        if function in (enumerate, zip) and any(o is not None for o in operands):
            self.error(iterator, f"`{ast.unparse(iterator)}` mixing tuples and arrays",
                       "loop over tuples or over arrays, not both at once", "statements")
        return None

    def opaque_loop(self, node: ast.For) -> list[ast.stmt]:
        """Before a signature is known: `for (w, b) in layers` as a loop over
        the indices of `layers` (this code is only checked, never run)."""
        index = self.namer.fresh("element")
        length = ast.Call(_load("len"), [_load(node.iter.id)], [])
        element = ast.Subscript(_load(node.iter.id), _load(index), ast.Load())
        body = self.unpack_other(node.target, element, _located(
            ast.Assign([node.target], element), node))
        loop = ast.For(_store(index), ast.Call(_load("range"), [length], []),
                       body + self.block(node.body), [])
        return [_located(loop, node)]

    def builtin(self, function: ast.Name):
        """The builtin `function` names, unless the module or function rebinds it."""
        if function.id in self.parameters or function.id in self.plain \
                or function.id in self.parsed.globals or function.id in self.parsed.closure:
            return None
        return getattr(builtins, function.id, None)

    # -- expressions --------------------------------------------------------------
    def tuple_value(self, value: ast.expr, out: list | None = None):
        """The tuple `value` denotes (a list of variables and nested tuple
        values), or None when it is not a tuple. An element of a display that
        is an expression is assigned to a variable of its own, appended to
        `out` (without `out`, only the structure is wanted)."""
        if isinstance(value, ast.Name) and value.id in self.tuples:
            return self.tuples[value.id]
        if isinstance(value, ast.Tuple):
            return [self.element_variable(e, out) for e in value.elts]
        if isinstance(value, ast.Subscript):
            element = self.element_of(value)
            return element if isinstance(element, list) else None
        return None

    def element_variable(self, element: ast.expr, out: list | None):
        """An element of a tuple display: a nested tuple value, or the
        variable holding it (a fresh one for an expression)."""
        nested = self.tuple_value(element, out)
        if nested is not None:
            return nested
        if isinstance(element, ast.Name):
            return element.id
        if isinstance(element, ast.Subscript) and self.element_of(element) is not None:
            return self.element_of(element)         # `p[1]`: its variable
        if out is None:
            return "?"
        holder = self.namer.fresh("element")
        statement = _located(ast.Assign([_store(holder)], element), element)
        self.expressions(statement)
        out.append(statement)
        return holder

    def element_of(self, subscript: ast.Subscript):
        """The element `p[k]` or `layers[0][1]` denotes (a variable or a
        tuple value), or None when the subscript is not of a tuple."""
        value = self.tuple_value(subscript.value)
        if value is None or isinstance(subscript.value, ast.Tuple):
            return None
        name = ast.unparse(subscript.value)
        index = integer_constant(subscript.slice)
        if index is None:
            self.error(subscript, f"indexing the tuple `{name}` with "
                       f"`{ast.unparse(subscript.slice)}`", "index a tuple with a "
                       "constant (`p[0]`), or unpack it (`a, b = p`)")
        if not -len(value) <= index < len(value):
            self.error(subscript, f"index {index} of `{name}`, a tuple of "
                       f"{len(value)} values", "index within the tuple")
        return value[index]

    def expressions(self, node: ast.AST) -> ast.AST:
        """Rewrite the tuple reads inside `node`'s expressions: `p[k]` to its
        variable, `len(p)` to a number; any other use of a tuple is refused."""
        return _Reads(self).visit(node)


class _Reads(ast.NodeTransformer):
    def __init__(self, tuples: _Tuples):
        self.owner = tuples

    def visit_Subscript(self, node: ast.Subscript):
        element = self.owner.element_of(node)
        if element is not None:
            if not isinstance(element, str):
                self.owner.error(node, f"`{ast.unparse(node)}` is a tuple, used here "
                                 "as a value", "unpack it (`w, b = layers[0]`) or index "
                                 "it again (`layers[0][1]`)")
            return ast.copy_location(ast.Name(element, node.ctx), node)
        index = self.owner.tuple_value(node.slice)
        if index is not None and isinstance(node.slice, ast.Name):     # A[idx]
            if any(isinstance(part, list) for part in index):
                self.owner.error(node.slice, f"indexing with `{node.slice.id}`, a tuple "
                                 "of tuples", "index with a tuple of ints")
            node.slice = ast.copy_location(ast.Tuple([_load(part) for part in index],
                                                     ast.Load()), node.slice)
            node.value = self.visit(node.value)
            return node
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call):
        if isinstance(node.func, ast.Name) and len(node.args) == 1 and \
                self.owner.builtin(node.func) is len:
            value = self.owner.tuple_value(node.args[0])
            if value is not None:
                return ast.copy_location(ast.Constant(len(value)), node)
        if user_function(lookup(self.owner.parsed, node.func)) is not None:
            # a tuple passed to one of your functions: a display of its
            # variables, which `inline` binds to the callee's elements
            node.args = [self.display(argument) for argument in node.args]
        return self.generic_visit(node)

    def display(self, argument: ast.expr) -> ast.expr:
        value = self.owner.tuple_value(argument)
        if value is None or isinstance(argument, ast.Tuple) and \
                not self.owner.mentions_tuples(argument):
            return argument
        return ast.copy_location(_display(value), argument)

    def visit_Name(self, node: ast.Name):
        if node.id in self.owner.tuples and isinstance(node.ctx, ast.Load):
            self.owner.error(node, f"`{node.id}` holds a tuple, used here as a value",
                             "use its elements (`p[0]`, `a, b = p`); a tuple may be "
                             "assigned, unpacked, indexed by a constant, looped over, "
                             "measured with len() and returned")
        return node


def _own_jumps(body: list[ast.stmt]) -> list[ast.stmt]:
    """The `break`/`continue` statements of this loop (not of inner loops)."""
    found = []
    pending = list(body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, (ast.Break, ast.Continue)):
            found.append(statement)
        elif isinstance(statement, (ast.If, ast.With, ast.Try)):
            pending.extend(statement.body + statement.orelse)
    return found


def _structure(value):
    return tuple(_structure(e) for e in value) if isinstance(value, list) else None


def _structure_text(value) -> str:
    if not isinstance(value, list):
        return "a value"
    return "a tuple of (" + ", ".join(_structure_text(e) for e in value) + ")"


def _display(value) -> ast.expr:
    """A tuple value as a tuple display of its variables."""
    if not isinstance(value, list):
        return _value(value)
    return ast.Tuple([_display(element) for element in value], ast.Load())


def _value(value) -> ast.expr:
    """A variable of a tuple value as an expression (enumerate's counts are
    numbers already)."""
    return _load(value) if isinstance(value, str) else copy.deepcopy(value)


def _paths(value, path: str = "") -> list[tuple[str, str]]:
    """(variable, index path such as `[0][1]`) of each element of a tuple value."""
    if not isinstance(value, list):
        return [(value, path)]
    return [pair for k, element in enumerate(value)
            for pair in _paths(element, f"{path}[{k}]")]


def _kinds(structure) -> list:
    if not isinstance(structure, tuple):
        return [structure]
    return [kind for element in structure for kind in _kinds(element)]


def element_parameters(parsed: ParsedFunction, parameter_types: dict,
                       wrt: list[str]) -> tuple[dict, list[str]]:
    """The parameter types and `wrt` with each tuple parameter replaced by
    its elements; a `DifferentiationError` where `wrt` names a tuple with an
    element that is not a float."""
    if not parsed.tuple_parameters:
        return parameter_types, wrt
    from adjit.errors import DifferentiationError
    from adjit.rules.registry import is_float_like
    types = {}
    for name, kind in parameter_types.items():
        value = parsed.tuple_parameters.get(name)
        if value is None:
            types[name] = kind
            continue
        for (variable, _), element in zip(_paths(value), _kinds(kind)):
            types[variable] = element
    elements = []
    for name in wrt:
        value = parsed.tuple_parameters.get(name)
        if value is None:
            elements.append(name)
            continue
        for variable, path in _paths(value):
            if not is_float_like(types[variable]):
                raise DifferentiationError(
                    f"cannot differentiate with respect to `{name}`: its element "
                    f"`{name}{path}` is not a float", parsed.location(parsed.tree),
                    hint=f"pass floats (or float arrays) in `{name}`, or leave it out "
                    "of `wrt`", source_line=parsed.line_text(parsed.tree),
                    doc_anchor="arguments")
            elements.append(variable)
    return types, elements


def pack_parameters(parsed: ParsedFunction, function: ast.FunctionDef, wrt: list[str],
                    prefix: str, with_value: bool = True,
                    gradient_tuple: bool = True) -> None:
    """Give the generated `function` the user's tuple parameters again:
    `params` in place of `params_0, params_1, ...` (read back as
    `params_0 = params[0]` first), in forward mode one tangent tuple
    `_d_params` for each tuple in `wrt`, and in reverse mode (`prefix`
    "_b_") each tuple's gradients returned as one tuple of its structure; in
    forward mode a function returning nested tuples returns its values and
    their tangents nested the same way."""
    tuples = parsed.tuple_parameters
    if not tuples and parsed.returned_structure is None:
        return
    namer = parsed.namer
    owner: dict[str, tuple[str, list]] = {}      # element variable -> (tuple, its value)
    for name, value in tuples.items():
        owner.update({variable: (name, value) for variable in leaves(value)})
        if prefix == "_d_" and name in wrt:
            tangents = _tangents(value, namer)
            owner.update({variable: (namer.tangent(name), tangents)
                          for variable in leaves(tangents)})
    arguments, reads, packed = [], [], set()
    for argument in function.args.args:
        if argument.arg not in owner:
            arguments.append(argument)
            continue
        name, value = owner[argument.arg]
        if name in packed:
            continue
        packed.add(name)
        arguments.append(ast.arg(name))
        reads.extend(ast.parse(f"{variable} = {name}{path}").body[0]
                     for variable, path in _paths(value))
    function.args.args = arguments
    function.body[:0] = reads
    if hasattr(function, "reverse_start"):
        function.reverse_start += len(reads)
    if prefix == "_b_" and any(name in tuples for name in wrt):
        _group_gradients(function.body[-1], wrt, tuples, with_value, gradient_tuple)
    if prefix == "_d_" and parsed.returned_structure is not None:
        final = function.body[-1]
        parts = final.value.elts if with_value else [final.value]
        grouped = [_grouped(list(part.elts), parsed.returned_structure) for part in parts]
        final.value = ast.Tuple(grouped, ast.Load()) if with_value else grouped[0]


def _grouped(elements: list, structure: list) -> ast.Tuple:
    """The flat `elements` nested as the tuple value `structure` is."""
    def group(part):
        if not isinstance(part, list):
            return elements.pop(0)
        return ast.Tuple([group(element) for element in part], ast.Load())
    return group(structure)


def _tangents(value, namer: Namer):
    return [_tangents(element, namer) if isinstance(element, list)
            else namer.tangent(element) for element in value]


def _group_gradients(final: ast.Return, wrt: list[str], tuples: dict, with_value: bool,
                     gradient_tuple: bool) -> None:
    """`return (value, g0, g1, g2)` -> `return (value, (g0, g1), g2)` for a
    `wrt` of a pair and a value."""
    elements = list(final.value.elts)
    value = elements.pop(0) if with_value else None

    gradients = [_grouped(elements, tuples[name]) if name in tuples else elements.pop(0)
                 for name in wrt]
    if with_value:
        final.value = ast.Tuple([value, *gradients], ast.Load())
    elif gradient_tuple:
        final.value = ast.Tuple(gradients, ast.Load())
    else:
        final.value = gradients[0]


def _names_meshgrid(value: ast.expr, parsed) -> bool:
    """Is `value` a call of `np.meshgrid` (however NumPy is imported)?"""
    if not isinstance(value, ast.Call):
        return False
    func, path = value.func, []
    while isinstance(func, ast.Attribute):
        path.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return False
    found = {**parsed.globals, **parsed.closure}.get(func.id)
    for attribute in reversed(path):
        found = getattr(found, attribute, None)
    return found is np.meshgrid
