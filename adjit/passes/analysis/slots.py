"""slots: arrays that names pass among each other, as rows of one stack.

Input: the typed ANF `FunctionDef` of user code after `webs`, which gave
each web of an array name a name of its own. A name still bound more than
once (an array parameter counts as bound on entry) is one web whose
bindings a loop carries round (`u, u_new = u_new, u` at the end of a time
step) or a branch merges (`if c: u, v = v, u`).
Output: the same function where each *group* of such names - the names
that array assignments `a = b` join to them - is gone: its arrays are
the rows of one stacked array `_stack_u` of shape `(k,) + shape`, one row
per *object* (each binding that makes an array: a creation, a copy, an
array operation, a parameter on entry), and each name is an int *slot*
`_slot_u`, the row it refers to:

    u = np.copy(u0)          _stack_u = np.empty((2, u0.shape[0]))   (at the top)
                             ... row 0 filled from u0 ...;  _slot_u = 0
    v = np.zeros_like(u0)    ... row 1 filled from a zeros array; _slot_v = 1
    u[i] = e                 _stack_u[_slot_u, i] = e
    e = u[i + 1]             e = _stack_u[_slot_u, _t1]
    u, v = v, u              _old_u = _slot_u; _slot_u = _slot_v; _slot_v = _old_u
    s = np.sum(u * u)        _t2 = _stack_u[_slot_u] * _stack_u[_slot_u]
    w = u[1:]                _row_of_w = _slot_u; w = _stack_u[_row_of_w, 1:]

Every read and write of the group's arrays is then an element access of
one array with an int index, and a rebinding an int assignment: what the
tapes, the to-be-recorded analysis and the restored arrays of `reverse`
handle already. The adjoint of the stack is one adjoint array of the same
shape; the adjoint of each object is its row, and a swap of two names
swaps the rows both they and their adjoints refer to, which the reverse
sweep replays backwards by restoring the ints.

An array made inside a loop (`v = np.zeros_like(x)`, then `u = v`) is a
new object each iteration: the stack then has one row more than the group
has names, and each array made after the parameters takes the lowest row
that no slot holds at that moment (an int computation, recorded like any
other), so a row is reused only once no name reaches its object.

The stack takes the shape of the group's first object, which `shapes`
must know (from the shapes of parameters and of arrays bound once at the
top level, constants and int parameters; the stack is then made at the
top, or right after that array). An object whose shape `shapes` cannot
prove the same (`v = v * 0.5 + np.sum(P, axis=0)`) is checked, where it is
copied into its row, to have the row's extents (`rt.row_extent`, a
`ValueError` otherwise: adjit keeps one shape per group at run time).

Refused, with a located `DifferentiationError` naming the construct:
a group whose first object's shape `shapes` does not know,
arrays of ints or bools, a view (`q[i]`, `x.T`) bound to a name of a
group, and a prange loop writing into one of its arrays.

Why: reverse mode follows an array's adjoint by its name; a name that
refers to different objects at different times would have its adjoint
accumulated into the wrong object, a wrong number. Names bound once
(straight-line rebinding, split by `webs`) keep their arrays.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from adjit.errors import DifferentiationError
from adjit.passes.front.parse import ParsedFunction
from adjit.passes.analysis.parallel import is_parallel
from adjit.passes.analysis.shapes import Shapes
from adjit.rules.arrays import rank
from adjit.rules.registry import FLOAT, INT, REGISTRY, array_type, element_type, is_array
from adjit.runtime import helpers as rt

# operations whose result may share its elements with an operand
_SHARING = {"np.transpose", "np.reshape", "np.ravel", "np.expand_dims", "rt.reshape_like",
            "rt.keep_dims"}


def stack_rebound_arrays(parsed: ParsedFunction, types: dict[str, str]) -> None:
    """Rewrite each group of rebound array names into slots of a stack (see
    the module docstring); `parsed.tree` and `types` change in place."""
    if parsed.generated:
        return
    _Slots(parsed, types).run()


class _Slots:
    def __init__(self, parsed: ParsedFunction, types: dict[str, str]):
        self.parsed = parsed
        self.types = types
        self.tree = parsed.tree
        self.parameters = [a.arg for a in self.tree.args.posonlyargs + self.tree.args.args]
        # each array name's bindings: (statement, inside a loop)
        self.bindings: dict[str, list[tuple[ast.Assign, bool]]] = {}
        self.assigned: dict[str, list[ast.Assign]] = {}
        self.shapes = Shapes(self.parameters, self.bindings, self.assigned, types,
                             self.tree.body)
        self._collect(self.tree.body, False)

    def error(self, node: ast.AST, message: str, hint: str):
        raise DifferentiationError(message, self.parsed.location(node), hint=hint,
                                   source_line=self.parsed.line_text(node),
                                   doc_anchor="arrays")

    def _collect(self, statements: list[ast.stmt], in_loop: bool) -> None:
        for node in statements:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                self.assigned.setdefault(name, []).append(node)
                # (`u -= e` writes the array `u` names: no new binding)
                if is_array(self.types.get(name)) and not getattr(node, "in_place", False):
                    self.bindings.setdefault(name, []).append((node, in_loop))
            elif isinstance(node, ast.If):
                self._collect(node.body, in_loop)
                self._collect(node.orelse, in_loop)
            elif isinstance(node, (ast.For, ast.While)):
                if isinstance(node, ast.For):
                    self.assigned.setdefault(node.target.id, []).append(node)
                self._collect(node.body, True)

    def run(self) -> None:
        rebound = [name for name, found in self.bindings.items()
                   if len(found) + (name in self.parameters) > 1]
        done: set[str] = set()
        for name in rebound:
            if name not in done:
                group = self.group(name)
                done |= group
                self.rewrite(group)

    # -- which names, which objects ---------------------------------------
    def group(self, name: str) -> set[str]:
        """The array names that assignments `a = b` join to `name`."""
        edges: dict[str, set[str]] = {}
        for target, found in self.bindings.items():
            for node, _ in found:
                if isinstance(node.value, ast.Name) and is_array(self.types.get(node.value.id)):
                    edges.setdefault(target, set()).add(node.value.id)
                    edges.setdefault(node.value.id, set()).add(target)
        group, frontier = {name}, [name]
        while frontier:
            for other in edges.get(frontier.pop(), ()):
                if other not in group:
                    group.add(other)
                    frontier.append(other)
        return group

    def objects(self, group: set[str]) -> list[ast.Assign | str]:
        """The bindings that make the group's arrays (parameters first, then
        in the order of the source), each checked."""
        made: list[ast.Assign | str] = [p for p in self.parameters if p in group]
        self.made_in_loop = False
        for node in _in_order(self.tree.body):
            if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id in group) or isinstance(node.value, ast.Name):
                continue
            name, value = node.targets[0].id, node.value
            in_loop = next(inside for found, inside in self.bindings[name] if found is node)
            text = ast.unparse(value)
            if isinstance(value, ast.Subscript) or isinstance(value, ast.Attribute) \
                    or isinstance(value, ast.Call) \
                    and getattr(value.primitive, "spelling", None) in _SHARING:
                self.error(node, f"`{name} = {text}` binds a view to an array name that "
                           "is also bound to other arrays", f"copy it (`{name} = "
                           f"np.copy({text})`), or give the view a name of its own")
            self.made_in_loop |= in_loop
            made.append(node)
        return made

    # -- the rewrite -------------------------------------------------------
    def rewrite(self, group: set[str]) -> None:
        objects = self.objects(group)
        if not objects:
            return                        # aliases of nothing: no array to follow
        anchor = objects[0]
        first = anchor if isinstance(anchor, str) else anchor.targets[0].id
        named = "`, `".join(sorted(name for name in group if not name.startswith("_")))
        kinds = {self.types[name] for name in group}
        if len(kinds) != 1 or element_type(next(iter(kinds))) != FLOAT:
            self.error(anchor, f"the arrays named `{named}` are "
                       "rebound among each other and are not all arrays of floats of "
                       "one rank", "rebind float arrays of one shape, or copy the "
                       "values (`a[:] = b`)")
        for loop in ast.walk(self.tree):
            if isinstance(loop, ast.For) and is_parallel(loop) and any(
                    isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name) and node.value.id in group
                    for node in ast.walk(loop)):
                # all rows are one array: a prange could not tell its
                # iterations' own elements from those other rows hold
                self.error(loop, f"a prange loop writing into `{named}`, arrays passed "
                           "among names", "use `range` for this loop, or copy the new "
                           "values back (`for i ...: u[i] = u_new[i]`) instead of "
                           "swapping the names")
        kind = next(iter(kinds))
        # Induction over the run: if every object is made with the shape the
        # first one has, whenever the group's names refer to arrays of that
        # shape, then every name of the group always does.
        shapes = []
        for made in objects:
            shape = tuple(("dim", made, j) for j in range(rank(kind))) \
                if isinstance(made, str) else self.shapes.of_value(made.value, kind, 0)
            shapes.append(shape)
            if len(shapes) == 1 and shape is not None:
                self.shapes.assumed = {name: shape for name in group}
        self.shapes.assumed = {}
        # an object whose shape is not proven the first one's is checked to
        # have it when it is copied into the stack (`rt.row_extent`): a
        # different shape at run time is then an error, never a wrong row
        self.checked = {id(made) for made, shape in zip(objects, shapes)
                        if shape != shapes[0]}
        if not objects or shapes[0] is None:
            at = objects[0] if objects and isinstance(objects[0], ast.AST) else anchor
            self.error(at, f"the arrays named `{named}` are rebound "
                       "among each other, and adjit cannot prove they all have one shape",
                       "make each with the shape of one argument or of one array bound "
                       "once outside loops and branches (`np.zeros_like(u0)`, "
                       "`np.copy(u0)`, `np.zeros(n)` with `n = u0.shape[0]`), or copy the "
                       "values (`a[:] = b`) instead")
        stack = self.parsed.namer.unique(f"_stack_{first}")
        slots = {name: self.parsed.namer.unique(f"_slot_{name}") for name in sorted(group)}
        self.types[stack] = array_type(FLOAT, rank(kind) + 1)
        self.parsed.stacks[stack] = named
        for slot in slots.values():
            self.types[slot] = INT
        # An array made in a loop takes, each time, a row no name of the group
        # holds (there is one among len(group) + 1); then so does every array
        # made after the parameters, which that loop may have taken rows from.
        self.free_rows = len(group) + 1 if self.made_in_loop else 0
        # The stack is made where its shape can be read: at the top, or right
        # after the array whose shape it takes. No name of the group is used
        # before that: every object has that shape, so none is made earlier.
        start = 0
        for key in shapes[0]:
            if key[0] == "of":
                start = max(start, 1 + next(k for k, node in enumerate(self.tree.body)
                                            if node is self.bindings[key[1]][0][0]))
        top = self.allocation(stack, self.free_rows or len(objects), shapes[0], anchor)
        if self.free_rows:
            top += [self.located(_assign(slots[name], ast.Constant(-1)), anchor)
                    for name in sorted(group - set(self.parameters))]
        for row, made in enumerate(objects):
            if isinstance(made, str):
                top += self.fill(stack, row, made, slots[made], rank(kind), anchor,
                                 checked=id(made) in self.checked)
        body = self.tree.body
        self.tree.body = body[:start] + top + self.block(body[start:], group, stack, slots,
                                                         objects, rank(kind))
        for name in group - set(self.parameters):
            self.types.pop(name, None)

    def allocation(self, stack: str, rows: int, shape, anchor) -> list[ast.stmt]:
        dims: list[ast.expr] = [ast.Constant(rows)]
        out = []
        for key in shape:
            if key[0] == "const":
                dims.append(ast.Constant(key[1]))
            elif key[0] == "of":
                size = self.parsed.namer.temp()
                self.types[size] = INT
                out.append(self.located(_assign(size, _shape_at(key[1], key[2])), anchor))
                dims.append(ast.Name(size, ast.Load()))
            elif key[0] == "int":
                dims.append(ast.Name(key[1], ast.Load()))
            else:
                size = self.parsed.namer.temp()
                self.types[size] = INT
                out.append(self.located(_assign(size, _shape_at(key[1], key[2])), anchor))
                dims.append(ast.Name(size, ast.Load()))
        call = ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "empty", ast.Load()),
                        [ast.Tuple(dims, ast.Load())], [])
        call.primitive = REGISTRY.lookup(np.empty)
        out.append(self.located(_assign(stack, call), anchor))
        return out

    def free_row(self, slots: dict[str, str], node: ast.stmt, out: list) -> str:
        """Statements appended to `out` that set a new int name to the lowest
        row of the stack no slot of the group holds, as ANF:

            _t1 = _slot_u - 2; _t2 = _slot_v - 2; _t3 = _t1 * _t2; _t4 = _t3 != 0
            if _t4: _row = 2
            ... (rows 1 and 0 likewise)
        """
        namer = self.parsed.namer
        row = namer.unique("_row")
        self.types[row] = INT
        emitted: list[ast.stmt] = []
        for candidate in range(self.free_rows - 1, -1, -1):
            product = None
            for slot in sorted(slots.values()):
                difference = slot
                if candidate:
                    difference = namer.temp()
                    self.types[difference] = INT
                    emitted.append(_assign(difference, ast.BinOp(
                        ast.Name(slot, ast.Load()), ast.Sub(), ast.Constant(candidate))))
                if product is None:
                    product = difference
                    continue
                joined = namer.temp()
                self.types[joined] = INT
                emitted.append(_assign(joined, ast.BinOp(
                    ast.Name(product, ast.Load()), ast.Mult(), ast.Name(difference, ast.Load()))))
                product = joined
            free = namer.temp()
            self.types[free] = "bool"
            emitted.append(_assign(free, ast.Compare(ast.Name(product, ast.Load()),
                                                     [ast.NotEq()], [ast.Constant(0)])))
            emitted.append(ast.If(ast.Name(free, ast.Load()),
                                  [_assign(row, ast.Constant(candidate))], []))
        for statement in emitted:
            for inner in ast.walk(statement):
                if isinstance(inner, ast.stmt):
                    self.located(inner, node)
        out.extend(emitted)
        return row

    def fill(self, stack: str, row: int | str, source, slot: str, depth: int,
             like: ast.AST, checked: bool = False) -> list[ast.stmt]:
        """Row `row` of the stack set element by element from the array
        named `source` (or to the number `source`; left as it is for
        `np.empty`, `source` False), then `slot = row`. With `checked`, the
        source's extents are first checked to be the row's."""
        row = ast.Name(row, ast.Load()) if isinstance(row, str) else ast.Constant(row)
        if source is False:
            return [self.located(_assign(slot, row), like)]
        indices = [self.parsed.namer.fresh("k") for _ in range(depth)]
        for index in indices:
            self.types[index] = INT
        store = ast.Subscript(ast.Name(stack, ast.Load()),
                              _index([row] + indices), ast.Store())
        if isinstance(source, str):
            value = self.parsed.namer.temp()
            self.types[value] = FLOAT
            body: list[ast.stmt] = [
                _assign(value, ast.Subscript(ast.Name(source, ast.Load()), _index(indices),
                                             ast.Load())),
                ast.Assign([store], ast.Name(value, ast.Load()))]
        else:
            body = [ast.Assign([store], ast.Constant(float(source)))]
        sizes = []
        for axis, index in reversed(list(enumerate(indices))):
            size = self.parsed.namer.temp()
            self.types[size] = INT
            if checked and isinstance(source, str):
                own = self.parsed.namer.temp()
                self.types[own] = INT
                call = ast.Call(ast.Attribute(ast.Name("rt", ast.Load()), "row_extent",
                                              ast.Load()),
                                [_shape_at(stack, axis + 1), ast.Name(own, ast.Load())], [])
                call.primitive = REGISTRY.lookup(rt.row_extent)
                sizes.insert(0, _assign(size, call))
                sizes.insert(0, _assign(own, _shape_at(source, axis)))
            else:
                sizes.insert(0, _assign(size, _shape_at(stack, axis + 1)))
            loop = ast.For(ast.Name(index, ast.Store()),
                           ast.Call(ast.Name("range", ast.Load()),
                                    [ast.Name(size, ast.Load())], []), body, [])
            body = [loop]
        out = sizes + body + [_assign(slot, copy.copy(row))]
        for node in out:
            for inner in ast.walk(node):
                if isinstance(inner, ast.stmt):
                    self.located(inner, like)
        return out

    def block(self, statements, group, stack, slots, objects, depth) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for node in statements:
            if isinstance(node, (ast.If, ast.For, ast.While)):
                node.body = self.block(node.body, group, stack, slots, objects, depth)
                if isinstance(node, ast.If):
                    node.orelse = self.block(node.orelse, group, stack, slots, objects,
                                             depth)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in group and getattr(node, "in_place", False):
                # `u -= e` writes the array `u` names now: its row of the
                # stack, in place (`lower` makes it an element loop)
                name = node.targets[0].id
                node.targets[0] = ast.copy_location(ast.Subscript(
                    ast.Name(stack, ast.Load()), ast.Name(slots[name], ast.Load()),
                    ast.Store()), node.targets[0])
                self.replace(node, group, stack, slots, out)
                out.append(node)
                continue
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in group:
                target, value = node.targets[0].id, node.value
                if isinstance(value, ast.Name):            # b = a: b's slot is a's
                    out.append(self.located(_assign(slots[target],
                                                    ast.Name(slots[value.id], ast.Load())),
                                            node))
                    continue
                row = next(k for k, o in enumerate(objects) if o is node)
                if self.free_rows:
                    row = self.free_row(slots, node, out)
                # an unproven shape: the array is made, and checked as copied
                source = _filled_from(value, group) if id(node) not in self.checked \
                    else None
                if source is None:                 # any other array: made, then copied
                    source = self.parsed.namer.temp()
                    self.types[source] = self.types[target]
                    node.targets[0] = ast.Name(source, ast.Store())
                    self.replace(node, group, stack, slots, out)
                    out.append(node)
                out.extend(self.fill(stack, row, source, slots[target], depth, node,
                                     checked=id(node) in self.checked))
                continue
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Name) \
                    and node.value.id in group:
                result = self.parsed.namer.temp()
                self.types[result] = self.types[node.value.id]
                call = ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "copy", ast.Load()),
                                [self.view(stack, slots[node.value.id])], [])
                call.primitive = REGISTRY.lookup(np.copy)
                out.append(self.located(_assign(result, call), node))
                node.value = ast.Name(result, ast.Load())
            elif not isinstance(node, (ast.If, ast.For, ast.While)):
                view = node.value if isinstance(node, ast.Assign) else None
                if isinstance(view, ast.Subscript) and isinstance(view.value, ast.Name) \
                        and view.value.id in group and is_array(self.types.get(
                            node.targets[0].id if isinstance(node.targets[0], ast.Name)
                            else None)):
                    # a named view of the array a name refers to now: its row
                    # is the slot's value here, kept in a name bound once
                    base = view.value.id
                    row = self.parsed.namer.unique(f"_row_of_{node.targets[0].id}")
                    self.types[row] = INT
                    out.append(self.located(_assign(row, ast.Name(slots[base], ast.Load())),
                                            node))
                    self.replace(node, group, stack, {**slots, base: row}, out)
                else:
                    self.replace(node, group, stack, slots, out)
            out.append(node)
        return out

    def view(self, stack: str, slot: str) -> ast.Subscript:
        return ast.Subscript(ast.Name(stack, ast.Load()), ast.Name(slot, ast.Load()),
                             ast.Load())

    def replace(self, node: ast.stmt, group, stack, slots, before: list) -> None:
        """Each use of a group name in `node` becomes a use of the stack:
        element accesses and views get the slot as first index, shapes are
        the stack's from axis 1, any other use is the row `stack[slot]`."""
        stack_rank = rank(self.types[stack])
        for parent in list(ast.walk(node)):
            for field, old in ast.iter_fields(parent):
                items = old if isinstance(old, list) else [old]
                for k, child in enumerate(items):
                    new = self.replaced(child, group, stack, slots, stack_rank, node, before)
                    if new is None:
                        continue
                    if isinstance(old, list):
                        old[k] = new
                    else:
                        setattr(parent, field, new)

    def replaced(self, child, group, stack, slots, stack_rank, node, before):
        def member(expression) -> str | None:
            if isinstance(expression, ast.Name) and expression.id in group:
                return expression.id
            return None
        if isinstance(child, ast.Subscript) and member(child.value):
            parts = child.slice.elts if isinstance(child.slice, ast.Tuple) else [child.slice]
            return ast.copy_location(ast.Subscript(
                ast.Name(stack, ast.Load()),
                _index([ast.Name(slots[child.value.id], ast.Load())] + parts), child.ctx),
                child)
        if isinstance(child, ast.Subscript) and isinstance(child.value, ast.Attribute) \
                and child.value.attr == "shape" and member(child.value.value) \
                and isinstance(child.slice, ast.Constant):
            axis = child.slice.value
            axis = axis + 1 if axis >= 0 else stack_rank + axis
            return _shape_at(stack, axis)
        if isinstance(child, ast.Call) and getattr(child, "primitive", None) is not None \
                and child.primitive.spelling == "len" and member(child.args[0]):
            return _shape_at(stack, 1)
        if isinstance(child, ast.Attribute) and child.attr == "shape" \
                and member(child.value):
            sizes = []
            for axis in range(1, stack_rank):
                size = self.parsed.namer.temp()
                self.types[size] = INT
                before.append(self.located(_assign(size, _shape_at(stack, axis)), node))
                sizes.append(ast.Name(size, ast.Load()))
            return ast.Tuple(sizes, ast.Load())
        if member(child) and isinstance(child.ctx, ast.Load):
            return self.view(stack, slots[child.id])
        return None

    def located(self, new: ast.stmt, like) -> ast.stmt:
        if isinstance(like, ast.AST):
            ast.copy_location(new, like)
            new.origin = getattr(like, "origin", getattr(like, "lineno", None))
        else:
            ast.copy_location(new, self.tree.body[0])
            new.origin = getattr(self.tree.body[0], "origin", None)
        return new


def _filled_from(value: ast.expr, group: set[str]):
    """What a new row is filled from, without making the array first: the
    array a copy copies (a name outside the group), the number a
    `zeros`/`ones` creation holds, False for `np.empty`; None otherwise."""
    if not isinstance(value, ast.Call) or value.primitive is None:
        return None
    key = value.primitive.key
    if key is np.copy and isinstance(value.args[0], ast.Name) \
            and value.args[0].id not in group:
        return value.args[0].id
    if key in (np.zeros, np.zeros_like):
        return 0.0
    if key in (np.ones, np.ones_like):
        return 1.0
    if key in (np.empty, np.empty_like):
        return False
    return None


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign([ast.Name(name, ast.Store())], value)


def _shape_at(array: str, axis: int) -> ast.Subscript:
    return ast.Subscript(ast.Attribute(ast.Name(array, ast.Load()), "shape", ast.Load()),
                         ast.Constant(axis), ast.Load())


def _index(parts: list) -> ast.expr:
    parts = [ast.Name(p, ast.Load()) if isinstance(p, str) else p for p in parts]
    return parts[0] if len(parts) == 1 else ast.Tuple(parts, ast.Load())


def _in_order(statements):
    for node in statements:
        yield node
        if isinstance(node, ast.If):
            yield from _in_order(node.body)
            yield from _in_order(node.orelse)
        elif isinstance(node, (ast.For, ast.While)):
            yield from _in_order(node.body)
