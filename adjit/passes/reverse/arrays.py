"""arrays: the array part of the reverse sweep, mixed into `transform.ReverseTransformer`.

Input: the transformer's state (the ANF tree, types, active variables, the
namer, `ArrayFacts`). Output, as methods:

* `restored_arrays`: the arrays whose overwritten elements are recorded and
  put back (so that loads from them can be recomputed);
* `array_adjoints`: one adjoint array per alias class of active arrays, the
  array whose shape allocates it, and the adjoints of named views;
* `check_allocations`: where an adjoint whose shape only an `if` branch
  knows is allocated (entering that branch), or a located refusal;
* the adjoint statements of array code: element writes and tape operations
  (`tape_adjoint`), array bindings (`array_binding_adjoint`), whole-array
  operations (`array_operation_adjoint`, through the rules of
  `rules/arrays.py`), and where an operand's adjoint goes
  (`operand_adjoint`).

Split from `reverse.py`, whose scalar and loop logic it shares no state
with beyond these attributes.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from adjit.errors import DifferentiationError
from adjit.passes.analysis.arrays import loop_view_indices
from adjit.passes.analysis.dependence import Accesses
from adjit.passes.front.desugar import is_break_test
from adjit.passes.ir.build import name as name_node
from adjit.passes.ir.build import statement
from adjit.passes.ir.fold import fold
from adjit.passes.analysis.statements import (adjoint_reads, arguments_of, operand_base,
                                     operand_partials, operand_type, primitive_of,
                                     is_structured, tape_flows)
from adjit.rules.arrays import (ARRAY_RULES, Operands, elementwise_partial, index_text,
                                rank, view_destination)
from adjit.rules.numpy import CREATION
from adjit.rules.registry import is_array


def _computed_from(body: list[ast.stmt], needed: set[str]) -> set[str]:
    """`needed` and every name its values are computed from: a value
    recomputed in the reverse sweep may come from a load through other
    names (`_t30 = centre[d]; _t28 = _t29 - _t30`, `_t28` read by `**`)."""
    sources: dict[str, set[str]] = {}
    for node in ast.walk(ast.Module(body, [])):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            sources.setdefault(node.targets[0].id, set()).update(
                inner.id for inner in ast.walk(node.value) if isinstance(inner, ast.Name))
    needed = set(needed)
    pending = list(needed)
    while pending:
        for source in sources.get(pending.pop(), ()):
            if source not in needed:
                needed.add(source)
                pending.append(source)
    return needed


def _mark_restoring_writes(body: list[ast.stmt], restored: set[str], needed: set[str],
                           parameters=()) -> None:
    """Mark each element write into a `restored` array that must record the
    element it replaces (`restores_element`): one that may store into an
    element a needed load of the same array read before it in the forward
    sweep (`dependence.Accesses.overwrites`: a load earlier in the program,
    or in an earlier iteration of a loop around both, of an element the
    write may reach). The reverse sweep reaches such a load after undoing
    the write, so the write must be undone. A write that stores into no
    element a needed load read before it (an array filled by a loop and
    read only by later loops; a recurrence `s[i] = ... s[i - 1]`, whose
    element `i - 1` no later iteration writes) leaves the values it wrote,
    which nothing before it reads back: its loop stays free of a tape, and
    may run in parallel."""
    accesses = Accesses(body, parameters)
    loads: list = []                  # the needed loads of restored arrays
    writes: list[ast.Assign] = []

    def visit(statements):
        for node in statements:
            if isinstance(node, ast.Assign):
                target = node.targets[0]
                if isinstance(target, ast.Subscript) and target.value.id in restored:
                    writes.append(node)
                elif isinstance(target, ast.Name) and target.id in needed:
                    check(node)
            elif isinstance(node, (ast.If, ast.For, ast.While)):
                visit(node.body)
                visit(node.orelse)

    def check(node):
        """Protect the loads of `node` from restored arrays; mark it
        `loads_checked`: the reverse sweep may run it again."""
        loads.extend(access for access in accesses.read_accesses(node)
                     if access.array in restored)
        node.loads_checked = True

    visit(body)
    for node in writes:
        write = accesses.write_access(node)
        node.restores_element = any(accesses.overwrites(load, write) for load in loads)


class ArrayAdjoints:
    """Mixin of `ReverseTransformer`: see the module docstring."""

    def restored_arrays(self) -> set[str]:
        """Arrays whose overwritten elements the reverse sweep puts back:
        active arrays, made once (not in a loop), whose loaded values an
        adjoint reads, or computes what it reads from. Each element write records the element it replaces
        and the reverse sweep restores it, so that at every point of the
        reverse sweep the array holds what it held at that point going
        forward: loads from it can be recomputed instead of recorded (the
        stencil `v[i] = f(u[i - 1], u[i], u[i + 1])` records one value per
        point, at the copy back into `u`)."""
        needed: set[str] = set()
        stored: set[str] = set()
        sliced: set[str] = set()
        loaded: dict[str, set[str]] = {}
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Assign):
                continue
            target = node.targets[0]
            if isinstance(target, ast.Subscript):
                stored.add(target.value.id)
                if rank(operand_type(target, self.types)):
                    sliced.add(target.value.id)       # a[1:3] = v: not element by element
            elif isinstance(node.value, ast.Subscript) and isinstance(node.value.value, ast.Name):
                loaded.setdefault(node.value.value.id, set()).add(target.id)
            needed |= adjoint_reads(node, self.active)
        needed = _computed_from(self.tree.body, needed)
        made_in_loops = {node.targets[0].id for node in ast.walk(self.tree)
                         if id(node) in self.created_in_loops}
        restored = {name for name in stored - sliced
                    if name in self.active and name not in made_in_loops
                    and not name.startswith("_tape") and loaded.get(name, set()) & needed}
        _mark_restoring_writes(self.tree.body, restored, needed,
                               [a.arg for a in self.tree.args.args])
        return restored

    def check_allocations(self) -> None:
        """An array adjoint is allocated when the reverse sweep starts, with
        the shape of its holder. A holder that some path leaves unbound
        (bound only in `if` branches): where one branch of an `if` at the top
        of the function binds it and nothing outside that branch reads it
        (the code after an early `return`, which `desugar` puts under `if
        not _returned:`), its adjoint is allocated where the reverse sweep
        enters that branch (`branch_allocations`); any other is refused."""
        bound = _definitely_bound(self.tree.body, {
            a.arg for a in self.tree.args.posonlyargs + self.tree.args.args})
        # (id of a top-level `if`, "body" or "orelse") -> adjoints allocated there
        self.branch_allocations: dict[tuple[int, str], list[str]] = {}
        for holder in sorted(set(self.array_allocations.values())):
            if holder in bound or not self.parsed:
                continue
            adjoints = sorted(a for a, h in self.array_allocations.items() if h == holder)
            branch = self.only_branch_using(adjoints)
            if branch is None:
                binding = next(node for node in ast.walk(self.tree)
                               if isinstance(node, ast.Assign)
                               and isinstance(node.targets[0], ast.Name)
                               and node.targets[0].id == holder)
                self.refuse(binding, "an array computed only on some paths (inside an "
                            "`if` branch) and used after that branch: reverse mode needs "
                            "its shape on every path", "compute the array before the "
                            "`if` and use it in the branch, or write the branch's "
                            "array work as a loop over elements", "arrays")
            self.branch_allocations.setdefault(branch, []).extend(adjoints)

    def only_branch_using(self, adjoints: list[str]) -> tuple[int, str] | None:
        """The branch of a top-level `if` holding every use of the arrays
        whose adjoints are `adjoints` (and no view of them), else None."""
        members = {name for name, adjoint in self.array_adjoint.items() if adjoint in adjoints}
        if any(view.value.id in members for view in self.view_adjoints.values()):
            return None
        uses = sum(1 for node in ast.walk(self.tree)
                   if isinstance(node, ast.Name) and node.id in members)
        for node in self.tree.body:
            if not isinstance(node, ast.If):
                continue
            for field in ("body", "orelse"):
                inside = sum(1 for statement in getattr(node, field)
                             for inner in ast.walk(statement)
                             if isinstance(inner, ast.Name) and inner.id in members)
                if inside and inside == uses:
                    return id(node), field
        return None

    def array_adjoints(self) -> tuple[dict[str, str], dict[str, str]]:
        """Adjoint array of each active array, one per alias class, and for
        each allocated one the array whose final size it takes.

        Names joined by an alias (`v = w`) or a tape's growth share one
        adjoint. A class holding a named view (`w = x[1:]`, and `v = w`,
        `u = v` after it) allocates nothing: its adjoint is the same view of
        the base's adjoint (`_b_w = _b_x[1:]`), which may itself be a view
        (`w2 = w[1:]`): `view_adjoints`, in an order where each base comes
        first."""
        arrays = [name for name in self.active if is_array(self.types.get(name))]
        parent = {name: name for name in arrays}

        def find(name):
            while parent[name] != name:
                name = parent[name]
            return name
        created = set()
        views: dict[str, ast.Subscript] = {}
        bound, not_aliases = set(), set()  # aliases: every binding `name = other`
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Assign) or not isinstance(node.targets[0], ast.Name):
                continue
            target = node.targets[0].id
            if target not in parent:
                continue
            bound.add(target)
            if not isinstance(node.value, ast.Name):
                not_aliases.add(target)
            if isinstance(node.value, ast.Call) and \
                    getattr(node.value.primitive, "key", None) in CREATION:
                created.add(target)
            if isinstance(node.value, ast.Subscript):
                views[target] = node.value       # row = q[i]: a view of q's adjoint
                continue
            for _, source in tape_flows(node) + [(target, getattr(node.value, "id", None))]:
                if source in parent:
                    parent[find(source)] = find(target)
        aliases_only = bound - not_aliases
        classes: dict[str, list[str]] = {}
        for name in sorted(arrays):
            classes.setdefault(find(name), []).append(name)
        parameters = {a.arg for a in self.tree.args.posonlyargs + self.tree.args.args}
        adjoint, allocations = {}, {}
        viewed: dict[str, str] = {}          # class root -> its named view
        for root, members in classes.items():
            named = [m for m in members if m in views]
            # a class of one view and its aliases takes the view's adjoint
            if len(named) == 1 and all(m in views or m in aliases_only for m in members):
                viewed[root] = named[0]
                for member in members:
                    adjoint[member] = self.namer.adjoint(named[0])
                continue
            # (a view in a class that also allocates, in generated code, keeps
            # an adjoint of its own)
            members = [m for m in members if m not in views]
            for name in named:
                adjoint[name] = self.namer.adjoint(name)
            if not members:
                continue
            holder = next((m for m in members if m in created),
                          next((m for m in members if m in parameters), members[0]))
            for member in members:
                adjoint[member] = self.namer.adjoint(holder)
            allocations[self.namer.adjoint(holder)] = holder
        for name, view in views.items():
            if name in parent and (find(name) not in viewed or viewed[find(name)] == name):
                self.view_adjoints[adjoint[name]] = view
        self.loop_views = self._loop_views(views, adjoint)
        in_loops = {statement.targets[0].id for rerun in self.loop_views.values()
                    for statement in rerun}
        self.view_order = [name for name in _bases_first(self.view_adjoints, adjoint)
                           if name not in in_loops]
        return adjoint, allocations

    def _loop_views(self, views: dict[str, ast.Subscript],
                    adjoint: dict[str, str]) -> dict[int, list[ast.stmt]]:
        """For each loop whose own body names views (`r = q[i]`, checked by
        `analysis.arrays`): what each reversed iteration runs first, the
        views and their aliases taken again and the views of the adjoints
        (`r = q[i]`, `_b_r = _b_q[i]`), after the index computations they
        need. A view's adjoint taken once at the top of the reverse sweep
        would point at the last iteration's row."""
        found: dict[int, list[ast.stmt]] = {}

        def walk(statements: list[ast.stmt], loops: list[ast.stmt]) -> None:
            for node in statements:
                if isinstance(node, ast.If):
                    walk(node.body + node.orelse, loops)
                elif isinstance(node, (ast.For, ast.While)):
                    chain = loops + [node]
                    rerun: list[ast.stmt] = []
                    named: set[str] = set()
                    for inner in node.body:
                        if not (isinstance(inner, ast.Assign)
                                and isinstance(inner.targets[0], ast.Name)):
                            continue
                        name = inner.targets[0].id
                        if name in views and views[name] is inner.value:
                            indices = loop_view_indices(self.tree, chain, inner)
                            if indices is None:
                                self.refuse(inner, f"reverse mode of the view "
                                            f"`{ast.unparse(inner.value)}` named in a loop, "
                                            "with an index the loop changes",
                                            "differentiate the gradient in forward mode: "
                                            "jit.hvp(f) or jit.jvp(jit.grad(f))",
                                            "higher-order")
                            rerun.extend(copy.deepcopy(i) for i in indices
                                         if not any(ast.dump(i) == ast.dump(r) for r in rerun))
                            rerun.append(copy.deepcopy(inner))
                            named.add(name)
                            if name in adjoint and adjoint[name] in self.view_adjoints:
                                base = adjoint.get(inner.value.value.id)
                                if base is not None:
                                    rerun.append(statement(
                                        f"{adjoint[name]} = {base}"
                                        f"[{index_text(inner.value.slice)}]"))
                        elif isinstance(inner.value, ast.Name) and inner.value.id in named:
                            rerun.append(copy.deepcopy(inner))
                            named.add(name)
                    if rerun:
                        found[id(getattr(node, "original", node))] = rerun
                    walk(node.body, chain)
        walk(self.tree.body, [])
        return found

    def tape_adjoint(self, node: ast.Assign) -> list[ast.stmt] | None:
        """Adjoints of the tape operations of generated code differentiated
        again: the tapes of one alias class (`t = rt.grow(tape, n)`,
        `tape = t`) share one adjoint array, sized when the reverse sweep
        starts; element writes and reads move adjoints in and out of it."""
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and is_array(self.types.get(target.id)):
            return self.array_binding_adjoint(node)
        if isinstance(target, ast.Subscript):      # a[i] = v, a[1:3] = v, tape[top] = v
            if target.value.id not in self.active:
                return []
            element = f"{self.array_adjoint[target.value.id]}[{index_text(target.slice)}]"
            code = []
            if isinstance(value, ast.Name) and value.id in self.active:
                written_rank = rank(operand_type(target, self.types))
                if is_array(self.types.get(value.id)):
                    code.append(statement(f"{self.array_adjoint[value.id]} += "
                                                 f"rt.unbroadcast({element}, {value.id})"))
                elif written_rank:                  # a[1:3] = s: s went everywhere
                    code.append(statement(
                        f"{self.namer.adjoint(value.id)} += np.sum({element})"))
                else:
                    code.append(statement(
                        f"{self.namer.adjoint(value.id)} += {element}"))
            return code + [statement(f"{element} = 0.0")]
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            if target.id not in self.active:        # v = tape[top]
                return []
            if value.value.id not in self.active:   # data: v's adjoint stops here
                return [statement(f"{self.namer.adjoint(target.id)} = 0.0")]
            element = f"{self.array_adjoint[value.value.id]}[{index_text(value.slice)}]"
            adjoint = self.namer.adjoint(target.id)
            return [statement(f"{element} += {adjoint}"),
                    statement(f"{adjoint} = 0.0")]
        return None

    def array_binding_adjoint(self, node: ast.Assign) -> list[ast.stmt]:
        """Binding an array: an alias or a tape's growth shares its adjoint
        (nothing to do); `b = np.copy(a)` hands b's adjoint to a; a new
        array made in a loop clears its adjoint for the previous iteration's
        array, which the same buffer serves next."""
        target, value = node.targets[0].id, node.value
        if target not in self.active or not isinstance(value, ast.Call):
            return []
        adjoint = self.array_adjoint[target]
        if value.primitive.key is np.copy:
            source = value.args[0]
            if isinstance(source, ast.Name) and source.id == target:
                return []                         # x = np.copy(x) on entry
            code = []
            # of a name or of a view (`np.copy(x[1:])`): the same place of
            # the source's adjoint
            destination, pick = self.operand_adjoint(source)
            if destination is not None:
                code.append(statement(f"{destination} += {adjoint}{pick}"))
            if id(node) in self.created_in_loops:
                code.append(statement(f"{adjoint}[:] = 0.0"))
            return code
        if id(node) in self.created_in_loops:
            return [statement(f"{adjoint}[:] = 0.0")]
        return []

    def array_operation_adjoint(self, node: ast.Assign) -> list[ast.stmt]:
        """The adjoint of a whole-array operation: its array rule's statements,
        or for an elementwise one `_b_a += _b_y * partial` per operand, in
        array form, summed back to the operand's shape where it may have been
        broadcast. An operand that is a view (`q[i]`) accumulates into the
        same view of its base's adjoint (`_b_q[i]`). An array result is
        bound once (see `arrays`), so its adjoint needs no reset; a scalar
        result's adjoint is reset."""
        target = node.targets[0].id
        if target not in self.active:
            return []
        target_rank = rank(self.types[target])
        adjoint = self.array_adjoint[target] if target_rank else self.namer.adjoint(target)
        arguments = arguments_of(node.value)
        if is_structured(node):
            operands = Operands(
                target, [ast.unparse(a) for a in arguments],
                [operand_type(a, self.types) for a in arguments], adjoint,
                [self.operand_adjoint(a, structured=True)[0] for a in arguments])
            code = [statement(text) for text in
                    ARRAY_RULES[primitive_of(node.value).key].reverse(operands)]
        else:
            code = []
            broadcast = sum(1 for a in arguments if rank(operand_type(a, self.types))) > 1
            for operand, partial in operand_partials(node):
                destination, pick = self.operand_adjoint(operand)
                if destination is None:
                    continue
                contribution = ast.unparse(fold(ast.BinOp(
                    name_node(adjoint), ast.Mult(), elementwise_partial(partial))))
                operand_rank = rank(operand_type(operand, self.types))
                if operand_rank == 0:
                    contribution = f"np.sum({contribution})"
                elif broadcast or operand_rank < target_rank:
                    contribution = f"rt.unbroadcast({contribution}, {ast.unparse(operand)})"
                if pick:        # index the whole contribution, not its last factor
                    whole = ast.parse(contribution, mode="eval").body
                    atomic = isinstance(whole, (ast.Call, ast.Name, ast.Subscript))
                    contribution = f"{contribution}{pick}" if atomic \
                        else f"({contribution}){pick}"
                code.append(statement(f"{destination} += {contribution}"))
        if not target_rank:
            code.append(statement(f"{adjoint} = 0.0"))
        return code

    def operand_adjoint(self, operand: ast.expr, structured: bool = False):
        """(where an operand's adjoint accumulates, the index that drops a
        view's `None` axes from a contribution), or (None, "") when the
        operand carries no derivative."""
        base = operand_base(operand)
        if base is None or base not in self.active:
            return None, ""
        if isinstance(operand, ast.Name):
            if is_array(self.types.get(base)):
                return self.array_adjoint[base], ""
            return self.namer.adjoint(base), ""
        destination, pick = view_destination(self.array_adjoint[base], operand.slice)
        if pick and structured:
            raise DifferentiationError(
                f"`{ast.unparse(operand)}`: a view with `None` axes as an operand of "
                f"`{ast.unparse(operand)}` is not supported", None,
                hint="bind the view to a name first, or drop the None axis")
        return destination, pick


def _bases_first(view_adjoints: dict[str, ast.Subscript], adjoint: dict[str, str]) -> list[str]:
    """The view adjoints in an order where the adjoint each is a view of
    (when itself a view adjoint) comes first."""
    order: list[str] = []

    def place(name: str, seen: frozenset) -> None:
        if name in order or name in seen:
            return
        base = adjoint.get(view_adjoints[name].value.id)
        if base in view_adjoints:
            place(base, seen | {name})
        order.append(name)
    for name in sorted(view_adjoints):
        place(name, frozenset())
    return order


def _definitely_bound(statements: list[ast.stmt], bound: set[str]) -> set[str]:
    """The names bound after `statements` on every path through its `if`s
    (a loop's bindings are counted: an array made in a loop is allocated
    from its last binding, `created_in_loops`)."""
    bound = set(bound)
    for node in statements:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            bound.add(node.targets[0].id)
        elif isinstance(node, ast.If) and not is_break_test(node):
            bound = _definitely_bound(node.body, bound) & _definitely_bound(node.orelse, bound)
        elif isinstance(node, (ast.For, ast.While)):
            bound = _definitely_bound(node.body, bound)
    return bound
