"""view_writes: a write through a view is a write into the array it views.

Input: the typed ANF tree of user code after `lower` (every write through a
view is then an element write, `row[j] = e`, or a slice write outside
loops) and its types.
Output: the same function in which each write into a view - a name bound
once to an index of an array (`row = B[i]`, `v = x[1:]`, `w = q[i, 2:]`),
an alias of one (`u = v`), or a view of one (`t = v[1:]`) - is a write into
the base array at the index it reaches there:

    row = B[i]          row[j] = e        ->  B[i, j] = e
    v = x[a:b]          v[k] = e          ->  _n = x.shape[0]
                                              _e = rt.slice_element(k, a, b, _n)
                                              x[_e] = e

A dimension the view keeps whole (`B[i]`, `B[:, j]`) passes the index on
as it is; one it slices (`x[a:b]`, `x[::2]`, `x[::-1]`) maps it with
`rt.slice_element`, which follows NumPy (negative bounds and indices count
from the end, bounds clip, steps of either sign) and raises `IndexError`
for an index outside the view, where NumPy would.

Why: every analysis after this one (what is written, what a reverse sweep
must restore, what a parallel loop shares) follows an array by the name it
is written through. Reads through a view stay as they are: they read the
base's memory, which the analyses follow by the view's base.

What it proves first, else a located `DifferentiationError`: the view's
name (and each name of the chain down to the base) is bound once; the
write lies after that binding in the block it is bound in (so the binding
ran, in this iteration of any loop around it); and between the two,
nothing rebinds the base or a name the view's index reads (which would
make the view reach other elements than the write, composed afresh,
names). A view the analysis does not cover (a transpose, a reshape) is
left to the `arrays` checks, which refuse writes through it.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from adjit.errors import DifferentiationError
from adjit.passes.analysis.element_loops import index_parts, primitive_call
from adjit.passes.front.parse import ParsedFunction
from adjit.passes.ir.build import in_place_of, without
from adjit.passes.ir.fold import integer_constant
from adjit.rules.registry import INT, is_array
from adjit.runtime import helpers as rt


@dataclass
class _View:
    """What a view name reaches: its base array and one part per dimension
    of the base (an int atom, fixed, or an `ast.Slice` the view keeps),
    the bindings from the view's name down to the base, and the names
    their indices read."""
    base: str
    parts: list
    bindings: list
    reads: set


def write_through_bases(parsed: ParsedFunction, types: dict[str, str]) -> bool:
    """Rewrite the writes through views (see above); True when any was."""
    if parsed.generated:
        return False
    return _Rewriter(parsed, types).run()


class _Rewriter:
    def __init__(self, parsed: ParsedFunction, types: dict[str, str]):
        self.parsed, self.types = parsed, types
        self.stores: dict[str, int] = {}
        for node in ast.walk(parsed.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.stores[node.id] = self.stores.get(node.id, 0) + 1
        for argument in parsed.tree.args.posonlyargs + parsed.tree.args.args:
            self.stores[argument.arg] = self.stores.get(argument.arg, 0) + 1
        # array name -> (its binding to an index or an alias of an array,
        # the block holding it, its position there), for the last such binding
        self.bindings: dict[str, tuple[ast.Assign, list, int]] = {}
        self._collect(parsed.tree.body)
        self.changed = False

    def _collect(self, block: list[ast.stmt]) -> None:
        for position, node in enumerate(block):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and is_array(self.types.get(node.targets[0].id)):
                value = node.value
                source = value.value if isinstance(value, ast.Subscript) else value
                if isinstance(source, ast.Name) and is_array(self.types.get(source.id)):
                    self.bindings[node.targets[0].id] = (node, block, position)
            for field in ("body", "orelse"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    self._collect(inner)

    def error(self, node: ast.AST, message: str, hint: str):
        raise DifferentiationError.at(self.parsed, node, message, hint, "arrays")

    def shown(self, name: str) -> str:
        return self.parsed.user_names.get(name, name)

    # -- what a view reaches ----------------------------------------------------
    def view(self, name: str, write: ast.stmt, seen: frozenset = frozenset()) -> _View | None:
        """The base and parts `name` reaches, when it is a view or an alias
        of one; None for an array of its own or an alias of one (which the
        analyses follow as they are)."""
        if name not in self.bindings or name in seen:
            return None
        node, _, _ = self.bindings[name]
        value = node.value
        if isinstance(value, ast.Name):
            source, index = value.id, []
        else:
            source, index = value.value.id, index_parts(value.slice)
        inner = self.view(source, write, seen | {name})
        if inner is None and isinstance(value, ast.Name):
            return None
        if self.stores.get(name, 0) != 1:
            self.error(write, f"writing into `{self.shown(name)}`, which is bound more than "
                       "once and was bound to a view of an array", "write into the array "
                       "itself, or give the view a name of its own")
        reads = {n.id for part in index for n in ast.walk(part) if isinstance(n, ast.Name)}
        if any(isinstance(part, ast.Constant) and part.value in (None, Ellipsis)
               for part in index):
            return None                 # a new axis: the `arrays` checks refuse it
        if inner is None:
            rank = self.types[source].count(":")
            if len(index) > rank:
                return None
            parts = list(index) + [ast.Slice()] * (rank - len(index))
            return _View(source, parts, [node], reads)
        parts = self.compose(inner, index, write, setup=None)
        if parts is None:
            self.error(write, f"writing through `{self.shown(name)}`, a slice of a slice of "
                       f"`{self.shown(inner.base)}` (or a view of a slice with a step)",
                       "write into the array itself, or slice it once")
        return _View(inner.base, parts, inner.bindings + [node], inner.reads | reads)

    def compose(self, view: _View, index: list, write, setup: list | None):
        """The parts of the base that `index`, applied to `view`, reaches;
        None where that needs a slice of a slice. With `setup`, an int index
        into a sliced dimension becomes `rt.slice_element` (statements
        appended to `setup`); without, only whole dimensions take one."""
        kept = [d for d, part in enumerate(view.parts) if isinstance(part, ast.Slice)]
        if len(index) > len(kept):
            return None
        parts = [copy.deepcopy(part) for part in view.parts]
        for dim, part in zip(kept, index):
            own = view.parts[dim]
            whole = own.lower is None and own.upper is None and own.step is None
            if whole:
                parts[dim] = copy.deepcopy(part)
            elif isinstance(part, ast.Slice):
                if part.lower is not None or part.upper is not None or part.step is not None:
                    return None
            elif setup is None:
                return None
            else:
                parts[dim] = self.element_of_slice(view.base, dim, own, part, write, setup)
        return parts

    def element_of_slice(self, base: str, dim: int, own: ast.Slice, index: ast.expr,
                         write: ast.stmt, setup: list) -> ast.Name:
        namer = self.parsed.namer
        length = namer.temp()
        setup.append(in_place_of(ast.Assign([ast.Name(length, ast.Store())], ast.Subscript(
            ast.Attribute(ast.Name(base, ast.Load()), "shape", ast.Load()),
            ast.Constant(dim), ast.Load())), write))
        element = namer.temp()
        self.types[length] = self.types[element] = INT
        setup.append(in_place_of(ast.Assign([ast.Name(element, ast.Store())], primitive_call(
            rt.slice_element, [copy.deepcopy(index)] + self.bounds(own, length, setup, write)
            + [ast.Name(length, ast.Load())])), write))
        return ast.Name(element, ast.Load())

    def bounds(self, own: ast.Slice, length: str, setup: list, write) -> list[ast.expr]:
        """[start, stop, step] of a slice, an omitted bound spelled as the
        one that means it (`rt.slice_bounds`): for a step that is not a
        constant, chosen at run time by its sign."""
        step = copy.deepcopy(own.step) if own.step is not None else ast.Constant(1)
        if own.lower is not None and own.upper is not None:
            return [copy.deepcopy(own.lower), copy.deepcopy(own.upper), step]
        constant = integer_constant(step)
        if constant is not None:
            first = ast.Constant(0) if constant > 0 else \
                ast.BinOp(ast.Name(length, ast.Load()), ast.Sub(), ast.Constant(1))
            last = ast.Name(length, ast.Load()) if constant > 0 else \
                ast.BinOp(ast.UnaryOp(ast.USub(), ast.Name(length, ast.Load())), ast.Sub(),
                          ast.Constant(1))
        else:
            self.error(write, "writing through a view whose step is not a constant and "
                       "whose bounds are omitted", "give the view's bounds, or a constant "
                       "step")
        defaults = []
        for value in (first, last):                 # ANF: each bound an atom
            if isinstance(value, (ast.Name, ast.Constant)):
                defaults.append(value)
                continue
            name = self.parsed.namer.temp()
            self.types[name] = INT
            setup.append(in_place_of(ast.Assign([ast.Name(name, ast.Store())], value), write))
            defaults.append(ast.Name(name, ast.Load()))
        return [copy.deepcopy(own.lower) if own.lower is not None else defaults[0],
                copy.deepcopy(own.upper) if own.upper is not None else defaults[1], step]

    # -- the rewrite ------------------------------------------------------------
    def run(self) -> bool:
        self.parsed.tree.body = self.block(self.parsed.tree.body)
        if self.changed:
            self.drop_unread_views()
        return self.changed

    def drop_unread_views(self) -> None:
        """Remove the bindings of views no longer read (their writes now
        go to the base): a view bound in a loop would otherwise need what
        the `arrays` checks ask of a view that is read."""
        while True:
            loads = {n.id for n in ast.walk(self.parsed.tree)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            dead = {id(node) for name, (node, _, _) in self.bindings.items()
                    if name not in loads and self.stores.get(name) == 1}
            if not dead:
                return
            for name in [n for n, (node, _, _) in self.bindings.items() if id(node) in dead]:
                del self.bindings[name]
            self.parsed.tree.body = without(self.parsed.tree.body, dead)

    def block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for node in statements:
            for field in ("body", "orelse"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner:
                    setattr(node, field, self.block(inner))
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                view = self.view(target.value.id, node)
                if view is not None:
                    out.extend(self.rewrite(node, target, view))
                    continue
            if isinstance(node, ast.Assign) and _shape_read(node.value) is not None:
                out.extend(self.shape_through_base(node))
                continue
            out.append(node)
        return out

    def shape_through_base(self, node: ast.Assign) -> list[ast.stmt]:
        """`_n = v.shape[d]` of a view `v` -> the extent read from its base
        (`x.shape[1]`, or `rt.slice_extent(a, b, x.shape[0])` for `x[a:b]`),
        so that a view only written through and measured is read nowhere."""
        name, dim = _shape_read(node.value)
        try:
            view = self.view(name, node)
            if view is None:
                return [node]
            for binding in view.bindings:
                self.check_reaches(node, binding, view)
        except DifferentiationError:
            return [node]                      # left as it is: a read of the view
        kept = [d for d, part in enumerate(view.parts) if isinstance(part, ast.Slice)]
        if dim >= len(kept):
            return [node]
        own = view.parts[kept[dim]]
        length = ast.Subscript(ast.Attribute(ast.Name(view.base, ast.Load()), "shape",
                                             ast.Load()), ast.Constant(kept[dim]), ast.Load())
        if own.lower is None and own.upper is None and own.step is None:
            node.value = length
            return [node]
        temporary = self.parsed.namer.temp()
        self.types[temporary] = INT
        setup = [in_place_of(ast.Assign([ast.Name(temporary, ast.Store())], length), node)]
        try:
            bounds = self.bounds(own, temporary, setup, node)
        except DifferentiationError:
            return [node]
        node.value = primitive_call(rt.slice_extent, bounds + [ast.Name(temporary, ast.Load())])
        self.changed = True
        return setup + [node]

    def rewrite(self, node: ast.Assign, target: ast.Subscript, view: _View) -> list[ast.stmt]:
        name = target.value.id
        for binding in view.bindings:
            self.check_reaches(node, binding, view)
        setup: list[ast.stmt] = []
        parts = self.compose(view, index_parts(target.slice), node, setup)
        if parts is None:
            self.error(node, f"writing through `{self.shown(name)}`, a slice of "
                       f"`{self.shown(view.base)}` with a step, or a slice of it",
                       "write element by element (`for k ...: "
                       f"{self.shown(name)}[k] = ...`) through a slice of step one, or "
                       f"into `{self.shown(view.base)}` itself")
        index = parts[0] if len(parts) == 1 else ast.Tuple(parts, ast.Load())
        node.targets = [ast.Subscript(ast.Name(view.base, ast.Load()), index, ast.Store())]
        self.changed = True
        return setup + [node]

    def check_reaches(self, write: ast.stmt, binding: ast.Assign, view: _View) -> None:
        """The write lies after `binding` in the block that holds it, and
        nothing between rebinds the base or a name the view's index reads."""
        name = binding.targets[0].id
        _, block, position = self.bindings[name]
        region = block[position + 1:]
        inside = {id(inner) for statement in region for inner in ast.walk(statement)}
        if id(write) not in inside:
            self.error(write, f"writing through `{self.shown(name)}`, a view bound where "
                       "this write does not follow it (in a branch, or in another loop)",
                       "bind the view in the same block as the writes, before them")
        watched = {view.base} | view.reads
        for statement in region:
            for inner in ast.walk(statement):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store) \
                        and inner.id in watched:
                    changed = f"`{self.shown(inner.id)}` is bound again" \
                        if not self.shown(inner.id).startswith("_") \
                        else "the array it views is bound again"
                    self.error(write, f"writing through `{self.shown(name)}`, a view, after "
                               f"{changed} (the view still reaches the elements it "
                               "reached when made)", "make the view again after the "
                               "change, or write into the array itself")


def _shape_read(value: ast.expr) -> tuple[str, int] | None:
    """(v, d) for `v.shape[d]` with a constant `d`, else None."""
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Attribute) \
            and value.value.attr == "shape" and isinstance(value.value.value, ast.Name) \
            and isinstance(value.slice, ast.Constant) and isinstance(value.slice.value, int):
        return value.value.value.id, value.slice.value
    return None
