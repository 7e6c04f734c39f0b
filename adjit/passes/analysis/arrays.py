"""arrays: check how a function uses arrays, and collect what the
transformations must know about them.

Input: a typed ANF `FunctionDef` (see `anf`, `types`) and its varied
variables (those that depend on a `wrt` parameter, see `activity`).
Output: `ArrayFacts`, or a located `DifferentiationError` for a use of
arrays that adjit would otherwise differentiate wrongly:

* an array variable is bound by one statement only (a creation call or an
  alias `b = a`); parameters are never rebound. The adjoint of an array
  follows the array object, and one binding per name makes name and object
  the same thing; in user code `webs` (a name per web) and `slots` (names
  passed among arrays in loops and branches become ints) have made it so,
  and this check stands behind them;
* an array created inside a loop has a shape that the loop does not change,
  so one adjoint buffer serves every iteration;
* every element access names one element (`q[i, k]` of a 2-D `q`), and a
  float is never stored into an int or bool array (it would be truncated,
  and its derivative silently lost);
* whole-array operations with an array result are not inside loops (their
  values would have to be recorded per iteration), and an array whose values
  such an operation's derivative reads is not written after it;
* a creation call whose arguments depend on a `wrt` parameter (`np.full(n, x)`,
  `np.linspace(0.0, x, n)`) is refused: creation is not differentiated.

Facts returned: `mutable`, the arrays created in the function or changed by
an element write (with their aliases), whose elements a reverse sweep must
never re-read (values loaded from them are recorded like any overwritten
scalar); and
`written_parameters`, the parameters a derivative must copy on entry so that
it never modifies its caller's arrays; and `stored`, the arrays an element
or slice write changes (with their aliases).

Code adjit generated itself (tapes grown by rebinding) is trusted: only the
element checks apply to it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from adjit.errors import DifferentiationError
from adjit.passes.front.parse import ParsedFunction
from adjit.passes.front.anf import is_shape
from adjit.passes.analysis.statements import (adjoint_reads, arguments_of, is_array_operation,
                                     is_structured, names_in, operand_base,
                                     operand_partials, primitive_of)
from adjit.passes.analysis.parallel import is_parallel
from adjit.rules.arrays import ARRAY_RULES, index_parts
from adjit.rules.numpy import CREATION
from adjit.rules.registry import FLOAT, element_type, is_array


@dataclass
class ArrayFacts:
    mutable: set[str] = field(default_factory=set)
    written_parameters: list[str] = field(default_factory=list)
    # the arrays an element or slice write changes, with their aliases
    stored: set[str] = field(default_factory=set)


def check_arrays(parsed: ParsedFunction, types: dict[str, str],
                 varied: set[str], reverse: bool = True) -> ArrayFacts:
    """The facts, after the checks; `reverse=False` (forward mode, where each
    tangent is computed right after its statement) leaves out the check of
    writes after reads."""
    return _Checker(parsed, types, varied, reverse).run()


class _Checker:
    def __init__(self, parsed: ParsedFunction, types: dict[str, str], varied: set[str],
                 reverse: bool = True):
        self.parsed = parsed
        self.reverse = reverse
        self.types = types
        self.varied = varied
        self.tree = parsed.tree
        self.parameters = [a.arg for a in self.tree.args.posonlyargs + self.tree.args.args]
        self.bindings: dict[str, list[ast.Assign]] = {}
        self.aliases: dict[str, set[str]] = {}
        self.stored: set[str] = set()
        self.views: dict[str, ast.Subscript] = {}
        # a named view or its alias -> (its binding, the loops around, whether
        # bound in the body of the innermost itself)
        self.view_loops: dict[str, tuple[ast.Assign, list[ast.stmt], bool]] = {}
        self.writes: list[ast.Assign] = []

    def error(self, node: ast.AST, message: str, hint: str):
        raise DifferentiationError(message, self.parsed.location(node), hint=hint,
                                   source_line=self.parsed.line_text(node),
                                   doc_anchor="arrays")

    def run(self) -> ArrayFacts:
        self.visit(self.tree.body, loops=[])
        self.check_views()
        if not self.parsed.generated:
            self.check_shared_elements()
        if not self.parsed.generated:
            self.check_bindings()
        classes = self.alias_classes()
        if self.reverse:
            self.check_reads_before_writes(classes)
        stored = set().union(*(classes[name] for name in self.stored)) if self.stored \
            else set()
        written = [p for p in self.parameters if p in stored]
        # Arrays created here hold nothing the caller gave: treated as
        # mutable, only unwritten parameters are data a reverse sweep re-reads.
        # (The tapes of generated code keep their own discipline: a slot is
        # read back only after being written in the same sweep.)
        local = {name for name in self.bindings if name not in self.parameters} \
            - self.caller_data()
        tapes = {name for name in stored | local if self.parsed.generated
                 and any(member.startswith("_tape") for member in classes.get(name, {name}))}
        return ArrayFacts((stored | local) - tapes, written, stored)

    def caller_data(self) -> set[str]:
        """Local names that only ever hold the caller's data: each binding
        is another name for, or a view of, a parameter or such a name
        (`S = spot`, `row = x[i]`). Taken out of the locals, which are all
        mutable; one that a write reaches stays mutable through `stored`
        (closed over aliases), so that only names for unchanged data are
        read again by a reverse sweep, like the parameter itself."""
        data = set(self.parameters)
        changed = True
        while changed:
            changed = False
            for name, nodes in self.bindings.items():
                if name in data:
                    continue
                if all(_base_name(node.value) in data for node in nodes):
                    data.add(name)
                    changed = True
        return data - set(self.parameters)

    # -- walking ------------------------------------------------------------
    def visit(self, statements: list[ast.stmt], loops: list[ast.stmt],
              direct: bool = True) -> None:
        """`direct`: `statements` are the body of `loops[-1]` itself (not
        of a branch inside it)."""
        for node in statements:
            if isinstance(node, ast.Assign):
                self.assignment(node, loops, direct)
            elif isinstance(node, ast.If):
                self.visit(node.body, loops, False)
                self.visit(node.orelse, loops, False)
            elif isinstance(node, (ast.For, ast.While)):
                self.visit(node.body, loops + [node])

    def assignment(self, node: ast.Assign, loops: list[ast.stmt], direct: bool = True) -> None:
        target, value = node.targets[0], node.value
        if loops and is_array_operation(node, self.types) \
                and is_array(self.types.get(target.id)):
            self.error(node, f"a whole-array operation inside a loop ({_spelled(node.value)} "
                       "with an array result)", "write the loop element by element "
                       "(`for i ...: y[i] = ...`), or move the operation out of the loop; "
                       "inside loops adjit differentiates element reads and writes, "
                       "elementwise and slice statements, and reductions to a scalar")
        if isinstance(target, ast.Subscript):
            array = target.value.id
            self.element(target, array)
            self.writes.append(node)
            self.stored.add(array)
            if element_type(self.types[array]) != FLOAT and \
                    self.types.get(getattr(value, "id", None)) == FLOAT:
                self.error(node, f"storing a float into `{array}`, an array of "
                           f"{element_type(self.types[array])}s",
                           "create the array with a float dtype (np.zeros(n) is float64)")
            return
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            self.element(value, value.value.id)
        if not is_array(self.types.get(target.id)):
            return
        if isinstance(value, ast.Subscript) and not self.parsed.generated:
            self.view(node, loops, direct)
        self.bindings.setdefault(target.id, []).append(node)
        if isinstance(value, ast.Name):
            self.aliases.setdefault(target.id, set()).add(value.id)
            self.aliases.setdefault(value.id, set()).add(target.id)
            if value.id in self.views:           # v = w, w a view: v is that view
                self.views[target.id] = self.views[value.id]
                self.view_loops[target.id] = (node, loops, direct)
        elif isinstance(value, ast.Call) and value.primitive.key in CREATION:
            self.creation(node, value, loops)
        elif isinstance(value, ast.Call) and value.primitive.key is np.copy and loops \
                and not self.parsed.generated:
            self.copy_in_loop(node, value.args[0], loops)

    def element(self, subscript: ast.Subscript, array: str) -> None:
        if not is_array(self.types.get(array)):
            self.error(subscript, f"`{array}` is indexed but is not an array here",
                       "index arrays only")

    def view(self, node: ast.Assign, loops: list[ast.stmt], direct: bool) -> None:
        """`row = q[i]`: a named view. Its adjoint is the same view of q's
        adjoint. Outside loops its indices must not change afterwards; in a
        loop (see `loop_view_indices`) it is taken again, with its adjoint,
        at the top of each reversed iteration, so it is bound in the loop's
        own body, indexed by what stays fixed through the iteration, and
        used only in that loop (checked in `check_views`)."""
        name, view = node.targets[0].id, node.value
        self.views[name] = view
        self.view_loops[name] = (node, loops, direct)
        # the view shares its base's elements: one class for what writes change
        self.aliases.setdefault(name, set()).add(view.value.id)
        self.aliases.setdefault(view.value.id, set()).add(name)
        if loops:
            text = ast.unparse(view)
            if any(is_parallel(loop) for loop in loops):
                self.error(node, f"naming the view `{text}` inside a prange loop",
                           f"use `{text}` directly in the expression, or read its "
                           "elements")
            if not direct:
                self.error(node, f"naming the view `{text}` inside a branch of a loop",
                           "name it in the loop body itself, outside any `if`, or use "
                           f"`{text}` directly in the expression")
            if loop_view_indices(self.tree, loops, node) is None:
                self.error(node, f"naming the view `{text}` inside a loop, with an index "
                           "that is not the loop's own index", "index with a loop "
                           f"index or a value fixed before the loop, or use `{text}` "
                           "directly in the expression")
            return
        assigned: dict[str, int] = {}
        for inner in ast.walk(self.tree):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                assigned[inner.id] = assigned.get(inner.id, 0) + 1
        for index_name in names_in(view.slice):
            if assigned.get(index_name, 0) > 1 or any(
                    index_name in _assigned(loop) for loop in self._loops_of(index_name)):
                self.error(node, f"the view `{ast.unparse(view)}` has an index that "
                           "changes later", "index with a value that stays fixed, or "
                           "use the view directly in the expression")

    def check_views(self) -> None:
        """Writes through a named view or an alias of one are refused, and a
        view named in a loop (or its alias) must be bound in the body of
        that loop itself and read only inside it."""
        for node in self.writes:
            array = node.targets[0].value.id
            if array in self.views:
                self.error(node, f"writing into `{array}`, a view of "
                           f"`{self.views[array].value.id}`", "write into the array "
                           "itself: `q[i, k] = v` rather than `row = q[i]; row[k] = v`")
        for name, (node, loops, direct) in self.view_loops.items():
            loop = _view_loop(name, self.views, self.view_loops)
            if loop is None:
                continue
            text = ast.unparse(self.views[name])
            if not loops or loops[-1] is not loop or not direct:
                self.error(node, f"`{name}` names the view `{text}` bound in a loop, "
                           "here outside that loop's own body", "bind the name in the "
                           "loop body itself, outside any `if`")
            inside = {id(n) for n in ast.walk(loop)}
            for other in ast.walk(self.tree):
                if isinstance(other, ast.Name) and other.id == name \
                        and isinstance(other.ctx, ast.Load) and id(other) not in inside:
                    self.error(other, f"`{name}`, the view `{text}` named inside a loop, "
                               "is used after the loop", f"use `{text}` directly after "
                               "the loop, or name it there again")

    def copy_in_loop(self, node: ast.Assign, source: ast.expr, loops: list[ast.stmt]) -> None:
        """`v = np.copy(x[k:])` in a loop: one adjoint buffer serves every
        iteration's copy, so its shape must not change (its slice bounds
        are fixed in the loop; an integer index changes no shape)."""
        if not isinstance(source, ast.Subscript):
            return
        bounds = set()
        for part in index_parts(source.slice):
            if isinstance(part, ast.Slice):
                bounds |= set().union(*(names_in(b) for b in (part.lower, part.upper,
                                                              part.step) if b is not None))
        changing = {name for name in bounds if not self.invariant(name, loops[0])}
        if changing:
            self.error(node, "a copy in a loop with a shape the loop changes "
                       f"(`{sorted(changing)[0]}`)", "copy before the loop, or write "
                       "the loop over elements (`x[k + j]`)")

    def _loops_of(self, name: str) -> list[ast.stmt]:
        return [loop for loop in ast.walk(self.tree) if isinstance(loop, (ast.For, ast.While))
                and name in _assigned(loop)]

    def creation(self, node: ast.Assign, call: ast.Call, loops: list[ast.stmt]) -> None:
        creation = CREATION[call.primitive.key]
        arguments = [a for i, a in enumerate(call.args) if i != creation.dtype_slot]
        # the values a creation reads: not the array whose shape it takes
        values = [a for a in arguments if not is_shape(a)
                  and not (creation.like and a is call.args[creation.shape_slot])]
        read = set().union(*(names_in(a) for a in values)) if values else set()
        if read & self.varied:
            self.error(node, f"`{ast.unparse(call.func)}` with an argument that "
                       "carries a derivative", "creation is not differentiated: "
                       "create the array, then write the values in a loop")
        if loops and not self.parsed.generated:
            shape_names = {a.value.id for a in arguments if is_shape(a)} | read
            if creation.like:
                like = call.args[creation.shape_slot]
                shape_names |= {like.id} if isinstance(like, ast.Name) else set()
            changing = {name for name in shape_names
                        if not self.invariant(name, loops[0])}
            if changing:
                self.error(node, "an array created in a loop with a shape the loop "
                           f"changes (`{sorted(changing)[0]}`)", "create it before the "
                           "loop with its largest shape, or give it a shape the loop "
                           "does not change")

    def invariant(self, name: str, loop: ast.stmt, seen: frozenset = frozenset()) -> bool:
        """Does `name` hold the same value on every iteration of `loop`? True
        when the loop does not assign it, or assigns it only from values
        that are themselves invariant (`_t3 = x.shape[0]` in ANF)."""
        assignments = [inner for inner in ast.walk(loop) if isinstance(inner, ast.Assign)
                       and isinstance(inner.targets[0], ast.Name)
                       and inner.targets[0].id == name]
        if not assignments and name not in _assigned(loop):
            return True
        if not assignments or name in seen:
            return False
        for assignment in assignments:
            value = assignment.value
            if isinstance(value, ast.Subscript) and is_shape(value.value):
                sources = {value.value.value.id} | names_in(value.slice)
            elif isinstance(value, (ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp)):
                sources = names_in(value)
            else:
                return False
            if is_array(self.types.get(name)) or not all(
                    self.invariant(source, loop, seen | {name}) for source in sources):
                return False
        return True

    # -- whole-function checks ------------------------------------------------
    def check_bindings(self) -> None:
        for name, nodes in self.bindings.items():
            if name in self.parameters:
                self.error(nodes[0], f"rebinding the array parameter `{name}`",
                           "give the new array another name")
            if len(nodes) > 1:
                self.error(nodes[1], f"the array variable `{name}` is bound a second "
                           "time", "adjit follows arrays by name: bind each array "
                           "variable once, and write into it (`a[i] = v`), or use "
                           "another name")

    def check_reads_before_writes(self, classes: dict[str, set[str]]) -> None:
        """A whole-array operation whose adjoint reads an array's values
        (`np.dot(y, y)`) must not be followed by writes into that array: the
        reverse sweep would read the new values."""
        order: list[tuple[ast.stmt, tuple[ast.stmt, ...]]] = []

        def walk(statements, loops):
            for node in statements:
                order.append((node, loops))
                if isinstance(node, ast.If):
                    walk(node.body + node.orelse, loops)
                elif isinstance(node, (ast.For, ast.While)):
                    walk(node.body, loops + (node,))
        walk(self.tree.body, ())
        stored_at = [(position, loops, classes.get(node.targets[0].value.id, set()))
                     for position, (node, loops) in enumerate(order)
                     if isinstance(node, ast.Assign) and isinstance(node.targets[0],
                                                                   ast.Subscript)]
        for position, (node, loops) in enumerate(order):
            if not is_array_operation(node, self.types):
                continue
            read = {name for name in _values_read(node, self.varied | {node.targets[0].id})
                    if is_array(self.types.get(name))}
            for later, store_loops, stored in stored_at:
                overlap = read & stored
                shared_loop = set(map(id, loops)) & set(map(id, store_loops))
                if overlap and (later > position or shared_loop):
                    name = sorted(overlap)[0]
                    if name in self.parsed.stacks:      # buffers the names pass among
                        self.error(node, f"the arrays `{self.parsed.stacks[name]}`, "
                                   "passed among names, are written after this "
                                   "operation reads one, and its derivative needs the "
                                   "values it read", "operate on a copy "
                                   "(`u_before = np.copy(u)`), or read the elements "
                                   "(`for i ...: e += u[i]`)")
                    self.error(node, f"`{name}` is written after this operation reads "
                               "it, and its derivative needs the values it read",
                               f"operate on a copy (`{name}_before = np.copy({name})`)")

    def check_shared_elements(self) -> None:
        """A result that shares its elements with its operand (`t = q.T`,
        `np.reshape`, `np.ravel`, `np.expand_dims`)
        has a derivative of its own, computed from the operand's at that
        statement: a later write into either (or into an alias or view of
        either) would change the other behind its derivative's back, in
        both modes."""
        order = _in_order(self.tree.body)
        position = {id(node): (k, loops) for k, (node, loops) in enumerate(order)}
        edges: dict[str, set[str]] = {}
        sharing = []
        for node, _ in order:
            if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                    and is_array(self.types.get(node.targets[0].id))):
                continue
            target, value = node.targets[0].id, node.value
            sources = []
            if isinstance(value, ast.Name):
                sources = [value.id]
            elif isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
                sources = [value.value.id]
            elif isinstance(value, ast.Call) and getattr(value.primitive, "spelling", None) \
                    in SHARING and value.args and operand_base(value.args[0]):
                sources = [operand_base(value.args[0])]
                sharing.append(node)
            for source in sources:
                edges.setdefault(target, set()).add(source)
                edges.setdefault(source, set()).add(target)
        if not sharing:
            return
        for node in sharing:
            group, frontier = {node.targets[0].id}, [node.targets[0].id]
            while frontier:
                for other in edges.get(frontier.pop(), ()):
                    if other not in group:
                        group.add(other)
                        frontier.append(other)
            at, loops = position[id(node)]
            for write in self.writes:
                later, write_loops = position[id(write)]
                array = write.targets[0].value.id
                if array in group and (later > at or set(map(id, loops)) & set(map(id, write_loops))):
                    operand = operand_base(node.value.args[0])
                    self.error(write, f"writing into `{array}`, which shares its elements "
                               f"with `{node.targets[0].id} = {ast.unparse(node.value)}` "
                               f"(line {node.lineno}): their derivatives would part",
                               f"copy first (`{node.targets[0].id} = "
                               f"np.copy({ast.unparse(node.value)})`), or write into "
                               f"`{operand}` before that line")

    def alias_classes(self) -> dict[str, set[str]]:
        classes: dict[str, set[str]] = {}
        for name in set(self.aliases) | self.stored:
            if name in classes:
                continue
            members, frontier = {name}, [name]
            while frontier:
                for other in self.aliases.get(frontier.pop(), ()):
                    if other not in members:
                        members.add(other)
                        frontier.append(other)
            for member in members:
                classes[member] = members
        return classes


# operations whose result may share its elements with their first operand
SHARING = {"np.transpose", "np.reshape", "np.ravel", "np.expand_dims", "rt.reshape_like",
           "rt.keep_dims", "rt.atleast_1d", "rt.atleast_2d"}


def _in_order(statements, loops=()) -> list[tuple[ast.stmt, tuple[ast.stmt, ...]]]:
    """Every statement, in the order of the source, with the loops around it."""
    order = []
    for node in statements:
        order.append((node, loops))
        if isinstance(node, ast.If):
            order.extend(_in_order(node.body + node.orelse, loops))
        elif isinstance(node, (ast.For, ast.While)):
            order.extend(_in_order(node.body, loops + (node,)))
    return order


def _values_read(node: ast.Assign, active: set[str]) -> set[str]:
    """The names whose values the adjoint of `node` reads: `adjoint_reads`,
    except that the base of a view operand of an elementwise operation
    (`_b_a[:] + g`) counts only where a partial derivative reads it; the
    view is otherwise only where the operand's adjoint goes."""
    if is_structured(node):
        # (an argument whose shape alone the rule reads: its values may change)
        shape_only = ARRAY_RULES[primitive_of(node.value).key].shape_only
        values = [argument for k, argument in enumerate(arguments_of(node.value))
                  if k not in shape_only]
        shapes = set().union(*(names_in(argument) for k, argument in
                               enumerate(arguments_of(node.value)) if k in shape_only)) \
            - set().union(set(), *(names_in(argument) for argument in values))
        return adjoint_reads(node, active) - shapes
    if not any(isinstance(a, ast.Subscript) for a in arguments_of(node.value)):
        return adjoint_reads(node, active)
    return set().union(*(names_in(partial) for operand, partial in operand_partials(node)
                         if operand_base(operand) in active))


def _spelled(value: ast.expr) -> str:
    """How the user wrote an operation: `@`, `np.linalg.solve`, ..."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult):
        return "a matrix product `@`"
    if isinstance(value, ast.Call) and getattr(value, "primitive", None) is not None:
        return f"`{value.primitive.spelling}`"
    return f"`{ast.unparse(value)}`"


def _assigned(loop: ast.stmt) -> set[str]:
    names = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)}
    return names


def _view_loop(name: str, views: dict, view_loops: dict) -> ast.stmt | None:
    """The loop whose body binds the view `name` stands for (through
    aliases: the view's own binding), or None for a view bound outside
    loops."""
    view = views[name]
    for other, (node, loops, _) in view_loops.items():
        if node.value is view:
            return loops[-1] if loops else None
    return None


def loop_view_indices(tree: ast.FunctionDef, loops: list[ast.stmt],
                      binding: ast.Assign) -> list[ast.Assign] | None:
    """For a view `r = q[index]` bound in the body of `loops[-1]`: the
    assignments of that body that compute its index names (`_t3 = i + 1`),
    in order, which a reversed iteration re-runs before taking the view
    again; or None when an index name is neither the target of an enclosing
    `for` loop, a name no loop assigns and bound at most once, nor a name
    bound once in that body, before the view, from such names by `+ - *`."""
    counts: dict[str, int] = {}
    for inner in ast.walk(tree):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
            counts[inner.id] = counts.get(inner.id, 0) + 1
    in_loops = set().union(*(_assigned(loop) for loop in ast.walk(tree)
                             if isinstance(loop, (ast.For, ast.While))))
    targets = {loop.target.id for loop in loops if isinstance(loop, ast.For)}
    body = loops[-1].body
    position = next(k for k, node in enumerate(body) if node is binding)
    statements: list[ast.Assign] = []

    def fixed(name: str, depth: int) -> bool:
        if name in targets or (name not in in_loops and counts.get(name, 0) <= 1):
            return True
        if counts.get(name, 0) != 1 or depth > 16:
            return False
        found = [node for node in body[:position] if isinstance(node, ast.Assign)
                 and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name]
        if not found or not isinstance(found[0].value, (ast.BinOp, ast.UnaryOp, ast.Name,
                                                        ast.Constant)) \
                or not all(fixed(inner, depth + 1) for inner in names_in(found[0].value)):
            return False
        if found[0] not in statements:
            statements.append(found[0])
        return True
    if not all(fixed(name, 0) for name in names_in(binding.value.slice)):
        return None
    return sorted(statements, key=lambda node: next(k for k, s in enumerate(body) if s is node))


def _base_name(value: ast.expr) -> str | None:
    """`b` for a binding's value `b` or `b[...]`; None for anything else."""
    if isinstance(value, ast.Subscript):
        value = value.value
    return value.id if isinstance(value, ast.Name) else None
