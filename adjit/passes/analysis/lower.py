"""lower: elementwise whole-array statements as element loops.

Input: the typed ANF tree of user code (after `types`; generated code is
left alone) and its types.
Output: the same function in which

* every elementwise statement with an array result inside a loop - a slice
  write `u[1:-1] = u[1:-1] + c * (u[2:] - u[:-2])`, `B[i, :] = ...`, a
  fresh result `y = np.sin(x) * s` - is an element loop (a nest, one loop a
  dimension) whose body reads elements, computes with scalars and writes
  elements. The ANF temporaries of one statement are fused into one loop;
  an operand that is not elementwise (`X @ w`) is read element by element;
* every in-place operator on an array (`x /= s`, `x -= lr * g`,
  `x[a:b] *= c`; marked `in_place` by `desugar`), inside loops or not, is
  such a loop writing the array's own elements;
* inside loops, `np.sum` of an array or an elementwise expression and `np.dot` of two
  vectors are sums in an element loop;
* inside loops, a matrix product with an array result (`t = A @ B`,
  `np.dot`; matrix by matrix, by vector, vector by matrix), an outer
  product `np.outer(a, b)` and `np.sum(A, axis)` with a constant axis are a
  nest over the result's elements summing along the contracted dimension
  (`emit_product`);
* a slice write through a view (`v = y[1:]; v[1:3] = e`), inside loops or
  not, is an element loop, so that `view_writes` finds only element writes
  through views;
* a fresh result inside a loop is allocated once before the outermost loop
  whose iterations keep its shape (the extents depend on nothing that loop
  assigns and no other name reaches the array), else in the loop;
* a write whose right side reads the written array (or an array that may
  share its memory) at other elements than it writes (`u[1:] = u[:-1]`) is
  computed into a scratch array first: NumPy evaluates the right side
  fully before writing;
* the extent of each dimension is checked, at run time, to be the same for
  every operand (`rt.common_extent`, a `ValueError` otherwise) so that no
  loop reads past an end; a lower-rank operand broadcasts along the
  trailing dimensions as in NumPy, and a scalar everywhere.

The loop machinery (to-be-recorded analysis, recomputation, the reverse
sweep's vectorising rewrites) then serves both spellings alike. A statement
that does not have this form is left as it was (the `arrays` checks then
apply), except an in-place operator on an array, which is a located error
when it cannot be lowered: rebinding the name instead would be wrong for
every other name of the array.

`lower_elementwise` returns whether it changed the tree; types must then
be inferred again.
"""

from __future__ import annotations

import ast

import numpy as np

from adjit.errors import DifferentiationError
from adjit.passes.front.parse import ParsedFunction
from adjit.passes.analysis.parallel import is_parallel
from adjit.passes.analysis.contractions import (Unlowerable, emit_contraction,
                                                is_contraction, plan_contraction, product)
from adjit.passes.analysis.element_loops import (Access, LoopWriter, Operation,
                                                 accesses_in, index_parts, int_atom,
                                                 name_of, primitive_call)
from adjit.passes.ir.fold import integer_constant
from adjit.rules.numpy import _SAME_AS_MATH
from adjit.rules.registry import element_type, is_array
from adjit.runtime import helpers as rt

_ELEMENTWISE_CALLS = set(_SAME_AS_MATH) | {np.where, np.clip}
_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_SHARING = {"np.transpose", "np.reshape", "np.ravel", "np.expand_dims", "rt.reshape_like",
            "rt.keep_dims"}


def lower_elementwise(parsed: ParsedFunction, types: dict[str, str]) -> bool:
    if parsed.generated:
        return False
    lowering = _Lowering(parsed, types)
    parsed.tree.body = lowering.block(parsed.tree.body, [])
    return lowering.changed


_Unlowerable = Unlowerable


class _Lowering:
    def __init__(self, parsed: ParsedFunction, types: dict[str, str]):
        self.parsed, self.types, self.namer = parsed, types, parsed.namer
        self.changed = False
        self.loads: dict[str, int] = {}
        self.stores: dict[str, int] = {}
        for node in ast.walk(parsed.tree):
            if isinstance(node, ast.Name):
                table = self.loads if isinstance(node.ctx, ast.Load) else self.stores
                table[node.id] = table.get(node.id, 0) + 1
        self.aliased = self._aliased()
        # a view bound once to fixed indices and whole dimensions of an array
        # bound once (`row = B[i]`) -> (that array, the dimension of it each of
        # the view's own is): its extents are the array's, fixed where the
        # view is bound in a loop
        self.whole_views: dict[str, tuple[str, list[int]]] = {}
        in_place = {}                           # `row *= s` keeps the view
        for node in ast.walk(parsed.tree):
            if isinstance(node, ast.Assign) and getattr(node, "in_place", False) \
                    and isinstance(node.targets[0], ast.Name):
                in_place[node.targets[0].id] = in_place.get(node.targets[0].id, 0) + 1
        for node in ast.walk(parsed.tree):
            if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                    and self.stores.get(node.targets[0].id, 0)
                    - in_place.get(node.targets[0].id, 0) == 1
                    and isinstance(node.value, ast.Subscript)
                    and isinstance(node.value.value, ast.Name)
                    and is_array(types.get(node.value.value.id))
                    and self.stores.get(node.value.value.id, 0) <= 1):
                continue
            parts = index_parts(node.value.slice)
            if any(isinstance(p, ast.Slice) and (p.lower or p.upper or p.step)
                   or (isinstance(p, ast.Constant) and p.value is None) for p in parts):
                continue
            base = node.value.value.id
            parts += [ast.Slice()] * (self.rank(base) - len(parts))
            self.whole_views[node.targets[0].id] = (
                base, [d for d, p in enumerate(parts) if isinstance(p, ast.Slice)])
        # the array names bound to an index of an array (views; `view_writes`
        # writes through them element by element, so their slices are lowered)
        self.views = {node.targets[0].id for node in ast.walk(parsed.tree)
                      if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                      and isinstance(node.value, ast.Subscript)
                      and is_array(types.get(node.targets[0].id))}
        aliases = [(node.targets[0].id, node.value.id) for node in ast.walk(parsed.tree)
                   if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                   and isinstance(node.value, ast.Name)]
        while any(source in self.views and alias not in self.views
                  for alias, source in aliases):       # and their aliases
            self.views |= {alias for alias, source in aliases if source in self.views}
        # an array bound once to the transpose of an array name -> that name
        self.transposes: dict[str, str] = {
            node.targets[0].id: node.value.args[0].id for node in ast.walk(parsed.tree)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and self.stores.get(node.targets[0].id) == 1 and isinstance(node.value, ast.Call)
            and getattr(node.value, "primitive", None) is not None
            and node.value.primitive.key is np.transpose and len(node.value.args) == 1
            and not node.value.keywords and isinstance(node.value.args[0], ast.Name)}
        # an int bound once from `+ - *` of atoms (`_t5 = n - 1` of a slice
        # bound): its expression, which a setup computes again where it goes
        self.int_values: dict[str, ast.expr] = {
            node.targets[0].id: node.value for node in ast.walk(parsed.tree)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and self.stores.get(node.targets[0].id) == 1
            and types.get(node.targets[0].id) == "int"
            and isinstance(node.value, (ast.BinOp, ast.Name, ast.Constant))
            and not isinstance(getattr(node.value, "op", None), (ast.Div, ast.Pow))}
        # a fresh result allocated before its loops -> its extents there
        self.extents_of: dict[str, list] = {}
        self.loop_variables: list[str] = []
        # loop -> statements to place just before it
        self.before: dict[int, list[ast.stmt]] = {}

    def _aliased(self) -> dict[str, set[str]]:
        """Array name -> the array names that may reach its memory (aliases,
        views, transposes and reshapes), itself included."""
        edges: dict[str, set[str]] = {}
        for node in ast.walk(self.parsed.tree):
            if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                    and is_array(self.types.get(node.targets[0].id))):
                continue
            value, sources = node.value, []
            if isinstance(value, ast.Name):
                sources = [value.id]
            elif isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
                sources = [value.value.id]
            elif isinstance(value, ast.Call) and getattr(value.primitive, "spelling", None) \
                    in _SHARING and value.args and isinstance(value.args[0], ast.Name):
                sources = [value.args[0].id]
            for source in sources:
                if is_array(self.types.get(source)):
                    edges.setdefault(node.targets[0].id, set()).add(source)
                    edges.setdefault(source, set()).add(node.targets[0].id)
        classes: dict[str, set[str]] = {}
        for name in edges:
            members, frontier = {name}, [name]
            while frontier:
                for other in edges.get(frontier.pop(), ()):
                    if other not in members:
                        members.add(other)
                        frontier.append(other)
            classes[name] = members
        return classes

    def loop_variable(self, dim: int) -> str:
        """The index of dimension `dim` of every element loop: one name per
        dimension, as a person reuses `i`, so that loops over the same range
        look alike to the rewrites that fuse them (`handoff`)."""
        while len(self.loop_variables) <= dim:
            self.loop_variables.append(self.namer.fresh("i"))
        return self.loop_variables[dim]

    def error(self, node: ast.AST, message: str, hint: str):
        raise DifferentiationError(message, self.parsed.location(node), hint=hint,
                                   source_line=self.parsed.line_text(node),
                                   doc_anchor="arrays")

    # -- blocks -------------------------------------------------------------
    def block(self, statements: list[ast.stmt], loops: list[ast.stmt]) -> list[ast.stmt]:
        """The statements with their roots lowered. Roots are found from
        the end, so that a temporary a later root reads once is fused into
        it rather than lowered on its own."""
        plans: dict[int, tuple] = {}
        fused: set[int] = set()
        for k in range(len(statements) - 1, -1, -1):
            node = statements[k]
            if id(node) in fused or not isinstance(node, ast.Assign):
                continue
            plan = self.plan(statements, k, loops, fused)
            if plan is not None:
                plans[id(node)] = plan
        out: list[ast.stmt] = []
        for node in statements:
            if id(node) in fused:
                continue
            if isinstance(node, (ast.For, ast.While)):
                node.body = self.block(node.body, loops + [node])
                out.extend(self.before.pop(id(node), []))
            elif isinstance(node, ast.If):
                node.body = self.block(node.body, loops)
                node.orelse = self.block(node.orelse, loops)
            if id(node) in plans:
                out.extend(self.emit(node, plans[id(node)], loops))
                self.changed = True
            elif self.invariant_view(node, loops):
                self.changed = True
            else:
                out.append(node)
        return out

    def invariant_view(self, node: ast.stmt, loops: list[ast.stmt]) -> bool:
        """`t = X.T` (a transpose, of an array no enclosing loop rebinds, `t`
        bound once) inside loops moves before the outermost of them: the
        same view on every iteration. True when moved."""
        if not (loops and isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and node.value.primitive.key is np.transpose
                and len(node.value.args) == 1 and isinstance(node.value.args[0], ast.Name)
                and self.stores.get(node.targets[0].id) == 1):
            return False
        depth = self.hoist_depth({node.value.args[0].id}, loops)
        if depth == len(loops):
            return False
        self.before.setdefault(id(loops[depth]), []).append(node)
        return True

    # -- planning -------------------------------------------------------------
    def plan(self, statements, k, loops, fused):
        """(kind, target access or name, expression tree[s]) for a root at
        `statements[k]`, fusing the temporaries it reads; or None."""
        node = statements[k]
        target, value = node.targets[0], node.value
        in_place = getattr(node, "in_place", False)
        taken: set[int] = set()
        try:
            if isinstance(target, ast.Subscript):
                if not (loops or in_place or target.value.id in self.views) \
                        or not is_array(self.types.get(target.value.id)) \
                        or not any(isinstance(p, ast.Slice) for p in index_parts(target.slice)):
                    return None
                access = self.access(target.value.id, index_parts(target.slice))
                plan = ("write", access, self.tree(value, statements, k, taken))
            elif in_place and is_array(self.types.get(target.id)):
                access = Access(target.id, [ast.Slice()] * self.rank(target.id))
                plan = ("write", access, self.tree(value, statements, k, taken,
                                                   top=not isinstance(value, (ast.Name,
                                                                              ast.Constant))))
            elif loops and is_array(self.types.get(target.id)) and _elementwise(value) \
                    and len(self.aliased.get(target.id, {target.id})) == 1:
                plan = ("fresh", target.id, self.tree(value, statements, k, taken, top=True))
            elif loops and self.types.get(target.id) == "float" and isinstance(value, ast.Call) \
                    and value.primitive.key is np.sum and len(value.args) == 1 \
                    and not value.keywords and isinstance(value.args[0], ast.Name) \
                    and is_array(self.types.get(value.args[0].id)):
                plan = ("sum", target.id, self.tree(value.args[0], statements, k, taken))
            elif loops and self.types.get(target.id) == "float" and product(value) \
                    and all(self.rank(getattr(a, "id", None)) == 1 for a in product(value)):
                plan = ("dot", target.id, [self.tree(a, statements, k, taken)
                                           for a in product(value)])
            elif loops and is_array(self.types.get(target.id)) and is_contraction(value) \
                    and len(self.aliased.get(target.id, {target.id})) == 1:
                plan = ("product", target.id,
                        plan_contraction(self, value, statements, k, taken))
            else:
                return None
            self.check_ranks(plan)
        except _Unlowerable as reason:
            if in_place and is_array(self.types.get(_target_base(target))):
                self.error(node, f"an in-place operator on the array "
                           f"`{_target_base(target)}` that cannot be written element by "
                           f"element ({reason})", "write the loop element by element "
                           "(`for i ...: x[i] -= ...`)")
            return None
        fused |= taken
        return plan

    def rank(self, name) -> int:
        kind = self.types.get(name)
        return kind.count(":") if is_array(kind) else 0

    def access(self, base: str, parts: list) -> Access:
        rank = self.rank(base)
        if len(parts) > rank or any(isinstance(p, ast.Constant) and p.value is None
                                    for p in parts):
            raise _Unlowerable("a new axis or too many indices")
        for part in parts:
            if isinstance(part, ast.Slice):
                step = 1 if part.step is None else integer_constant(part.step)
                if step is None or step == 0 or (step < 0 and not (
                        step == -1 and part.lower is None and part.upper is None)):
                    raise _Unlowerable("a slice step that is not a constant")
        return Access(base, list(parts) + [ast.Slice()] * (rank - len(parts)))

    def fusable(self, name: str, statements, k) -> ast.Assign | None:
        """The definition of the temporary `name` in this block before
        `statements[k]`, when `name` is bound there only and read only at
        `k`, its value is elementwise or a view, and nothing between
        rebinds what it reads or writes an array."""
        if self.stores.get(name) != 1 or self.loads.get(name) != 1 \
                or not is_array(self.types.get(name)):
            return None
        for j in range(k - 1, -1, -1):
            node = statements[j]
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id == name:
                value = node.value
                if not (_elementwise(value) or (isinstance(value, ast.Subscript)
                                                and isinstance(value.value, ast.Name))):
                    return None
                read = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
                for between in statements[j + 1:k]:
                    if not isinstance(between, ast.Assign) or isinstance(
                            between.targets[0], ast.Subscript) or between.targets[0].id in read:
                        return None
                return node
        return None

    def tree(self, atom: ast.expr, statements, k, taken: set[int], top: bool = False):
        """The expression tree of `atom` (or, with `top`, of the operation
        `statements[k]` computes): scalars stay atoms, arrays become
        accesses, fusable temporaries their operations."""
        if top:
            return self.operation(atom, statements, k, taken)
        if isinstance(atom, ast.Subscript) and isinstance(atom.value, ast.Name) \
                and is_array(self.types.get(atom.value.id)):
            # a slot of a stack of rebound arrays (`_stack_A[_slot_A]`, `slots`)
            parts = index_parts(atom.slice)
            if len(parts) < self.rank(atom.value.id) or any(
                    isinstance(part, ast.Slice) for part in parts):
                return self.access(atom.value.id, parts)
            return atom
        if not isinstance(atom, ast.Name) or not is_array(self.types.get(atom.id)):
            return atom
        definition = self.fusable(atom.id, statements, k)
        if definition is None:
            return self.access(atom.id, [])
        taken.add(id(definition))
        j = statements.index(definition)
        value = definition.value
        if isinstance(value, ast.Subscript):
            if not is_array(self.types.get(value.value.id)):
                raise _Unlowerable("an index of a non-array")
            return self.access(value.value.id, index_parts(value.slice))
        return self.operation(value, statements, j, taken)

    def operation(self, value: ast.expr, statements, k, taken) -> Operation:
        if not _elementwise(value):
            raise _Unlowerable(f"`{ast.unparse(value)}` is not elementwise")
        if isinstance(value, ast.BinOp):
            operands = [value.left, value.right]
        elif isinstance(value, ast.UnaryOp):
            operands = [value.operand]
        elif isinstance(value, ast.Compare):
            operands = [value.left, value.comparators[0]]
        else:
            operands = list(value.args)
        return Operation(value, [self.tree(o, statements, k, taken) for o in operands])

    def check_ranks(self, plan) -> None:
        kind, target, trees = plan
        if kind == "product":
            return
        trees = trees if kind == "dot" else [trees]
        ranks = [a.rank for tree in trees for a in accesses_in(tree)]
        if kind == "write" and any(r > target.rank for r in ranks):
            raise _Unlowerable("an operand of more dimensions than the written slice")
        if not ranks and kind != "write":
            raise _Unlowerable("no array operand")

    # -- emission ---------------------------------------------------------------
    def emit(self, node: ast.Assign, plan, loops) -> list[ast.stmt]:
        kind, target, trees = plan
        if kind == "product":
            return emit_contraction(self, node, target, trees, loops)
        all_trees = trees if kind == "dot" else [trees]
        accesses = [a for tree in all_trees for a in accesses_in(tree)]
        rank = target.rank if kind == "write" else max(a.rank for a in accesses)
        writer = LoopWriter(self, node)
        # the extents: the written slice's, or the first operand of full rank's
        anchor = target if kind == "write" else next(a for a in accesses if a.rank == rank)
        extents = writer.extents(anchor, rank)
        checked = [{extent} for extent in extents]
        for access in accesses:
            for dim, extent in zip(range(rank - access.rank, rank),
                                   writer.extents(access, access.rank)):
                if extent in checked[dim]:
                    continue
                checked[dim].add(extent)
                # in an order fixed by what they compute, so that two roots
                # over the same extents compute them alike (`handoff` then
                # sees their loops share a range)
                pair = sorted([extents[dim], extent], key=writer.spelled)
                extents[dim] = writer.setup_value(primitive_call(rt.common_extent,
                                                        [int_atom(e) for e in pair]))
        hazard = kind == "write" and any(
            a.base in self.aliased.get(target.base, {target.base})
            and (a.rank != rank or a.key(self.spelled) != target.key(self.spelled))
            for a in accesses)
        for access in accesses + ([target] if kind == "write" else []):
            for dim, part in writer.slices(access):
                writer.start(access, dim, part)
        loop_depth = self.hoist_depth(writer.setup_reads, loops)
        # an array made before a prange loop would be shared by its iterations
        hoisted_allocation = loop_depth < len(loops) and not any(
            is_parallel(loop) for loop in loops[loop_depth:])
        body: list[ast.stmt] = []
        if kind == "fresh":
            shape = [int_atom(e) for e in extents]
            element = element_type(self.types[target])
            arguments = [shape[0] if rank == 1 else ast.Tuple(shape, ast.Load())]
            if element != "float":
                arguments.append(ast.Attribute(name_of("np"), {"int": "int64", "bool": "bool_"}
                                               [element], ast.Load()))
            allocation = writer.assign(target, primitive_call(np.empty, arguments))
            if hoisted_allocation:
                writer.setup.append(allocation)
                self.extents_of[target] = extents
            else:
                body.append(allocation)
            destination = Access(target, [ast.Slice()] * rank)
            body += writer.nest(extents, destination, trees, accesses)
        elif kind == "write" and hazard:
            scratch = self.namer.fresh("scratch")
            shape = [int_atom(e) for e in extents]
            allocation = writer.assign(scratch, primitive_call(np.empty, [
                shape[0] if rank == 1 else ast.Tuple(shape, ast.Load())]))
            (writer.setup if hoisted_allocation else body).append(allocation)
            scratch_access = Access(scratch, [ast.Slice()] * rank)
            body += writer.nest(extents, scratch_access, trees, accesses)
            body += writer.nest(extents, target, scratch_access, [scratch_access])
        elif kind == "write":
            body += writer.nest(extents, target, trees, accesses)
        else:
            total = self.namer.fresh("sum")
            body.append(writer.assign(total, ast.Constant(0.0)))
            tree = trees if kind == "sum" else Operation(
                ast.BinOp(name_of("a"), ast.Mult(), name_of("b")), trees)
            body += writer.nest(extents, total, tree, accesses)
            body.append(writer.assign(target, name_of(total)))
        if loop_depth < len(loops):
            self.before.setdefault(id(loops[loop_depth]), []).extend(writer.setup)
            return body
        return writer.setup + body

    def spelled(self, atom: ast.expr) -> str:
        """An int atom written out through `int_values` (`n - 1` for `_t5`)."""
        if isinstance(atom, ast.Name) and atom.id in self.int_values:
            value = self.int_values[atom.id]
            if isinstance(value, ast.BinOp):
                return f"({self.spelled(value.left)} {type(value.op).__name__} " \
                       f"{self.spelled(value.right)})"
            return self.spelled(value)
        return ast.unparse(atom)

    def hoist_depth(self, reads: set[str], loops: list[ast.stmt]) -> int:
        """The index of the outermost loop in `loops` that assigns none of
        `reads` (the setup may go before it), or len(loops)."""
        for depth, loop in enumerate(loops):
            # an in-place operator on an array (`w -= g`) keeps its shape
            in_place = {id(node.targets[0]) for node in ast.walk(loop)
                        if isinstance(node, ast.Assign) and getattr(node, "in_place", False)
                        and is_array(self.types.get(_target_base(node.targets[0])))}
            assigned = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)
                        and isinstance(n.ctx, ast.Store) and id(n) not in in_place}
            if not assigned & reads:
                return depth
        return len(loops)



def _target_base(target: ast.expr) -> str:
    return target.value.id if isinstance(target, ast.Subscript) else target.id


def _elementwise(value: ast.expr) -> bool:
    if isinstance(value, ast.BinOp):
        return isinstance(value.op, _BINARY)
    if isinstance(value, ast.UnaryOp):
        return isinstance(value.op, (ast.USub, ast.UAdd))
    if isinstance(value, ast.Compare):
        return len(value.ops) == 1
    return isinstance(value, ast.Call) and not value.keywords \
        and getattr(value, "primitive", None) is not None \
        and value.primitive.key in _ELEMENTWISE_CALLS


