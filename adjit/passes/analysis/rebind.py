"""rebind: the arrays of generated code, as the transformations see arrays.

Input: the typed ANF form of adjit's own generated code (a derivative
differentiated again). Its adjoint arrays are accumulated in place
(`_b_x += g`), which ANF reads as a rebinding (`_b_x = _b_x + g`).

* `accumulate_through_views` (both modes, before `views`): an accumulation
  into a named view of an adjoint (`_b_even = _b_x[::2]`, `_b_even += g`)
  becomes a write into the view's base, as the in-place `+=` was;
* `rename_rebound_arrays` (reverse mode): every array variable bound more
  than once (a parameter counts as bound on entry: `x = np.copy(x)`), all
  its bindings in the function's top-level block, gets a new name at each
  binding after the first (`_b_x2 = _b_x + _t1`), and the reads that
  follow use it; `types` gains the new names;
* `check_views_with_new_axes` (reverse mode): see below.

Why: reverse mode follows an array's adjoint by the array's name (see
`arrays`: user code binds each array once). Reversing `_b_x = _b_x + g`
under one name would add the adjoint to itself - a wrong number, not an
error. An array rebound inside a branch or a loop (other than creation
in a loop, and tapes, which `reverse` handles) cannot be renamed this way,
and an operand with `None` axes of an operation with an array rule has no
place for its adjoint in `reverse`: each is a located `DifferentiationError`.
"""

from __future__ import annotations

import ast
import copy

from adjit.errors import DifferentiationError
from adjit.passes.front.parse import ParsedFunction
from adjit.passes.ir.build import in_place_of
from adjit.passes.analysis.statements import arguments_of, is_array_operation, is_structured
from adjit.rules.arrays import index_parts
from adjit.rules.registry import is_array


def rename_rebound_arrays(parsed: ParsedFunction, types: dict[str, str]) -> None:
    """One name per binding of each array of `parsed` (see above)."""
    tree = parsed.tree
    parameters = {a.arg for a in tree.args.posonlyargs + tree.args.args}
    bindings: dict[str, list[tuple[ast.Assign, bool]]] = {}
    _collect(tree.body, False, types, bindings)
    renamed = set()
    for name, found in bindings.items():
        # a parameter is bound on entry: `x = np.copy(x)` (the copy of an
        # argument the code writes into) is its second binding
        if len(found) + (name in parameters) < 2 or _is_tape(name, found):
            continue
        if not any(nested for _, nested in found):
            renamed.add(name)
            continue
        for node, _ in found:
            if is_array_operation(node, types) or isinstance(node.value, ast.Name):
                raise DifferentiationError.at(
                    parsed, node, f"`{name}` is an array bound more than once inside a "
                    "branch or a loop of generated code; reverse mode cannot follow its "
                    "adjoint", "differentiate the gradient in forward mode: jit.hvp(f) "
                    "or jit.jvp(jit.grad(f))", "higher-order")
    if renamed:
        _rename(tree, renamed, parsed, types, parameters)


def check_views_with_new_axes(parsed: ParsedFunction) -> None:
    """Reverse mode of generated code: an operation with a derivative rule
    whose operand is a view with `None` axes (`rt.unbroadcast(g, a[None, :])`)
    is a located error (reverse mode has no place for such an operand's
    adjoint)."""
    for node in ast.walk(parsed.tree):
        if not (isinstance(node, ast.Assign) and is_structured(node)):
            continue
        for argument in arguments_of(node.value):
            if isinstance(argument, ast.Subscript) and any(
                    isinstance(part, ast.Constant) and part.value is None
                    for part in index_parts(argument.slice)):
                raise DifferentiationError(
                    f"reverse mode of `{ast.unparse(node.value)}`, whose operand "
                    f"`{ast.unparse(argument)}` is a view with `None` axes",
                    parsed.location(node), hint="differentiate the gradient in forward "
                    "mode: jit.hvp(f) or jit.jvp(jit.grad(f))",
                    source_line=parsed.line_text(node), doc_anchor="higher-order")


def _collect(statements, nested: bool, types, bindings) -> None:
    for node in statements:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and is_array(types.get(node.targets[0].id)):
            bindings.setdefault(node.targets[0].id, []).append((node, nested))
        elif isinstance(node, ast.If):
            _collect(node.body, True, types, bindings)
            _collect(node.orelse, True, types, bindings)
        elif isinstance(node, (ast.For, ast.While)):
            _collect(node.body, True, types, bindings)


def _is_tape(name: str, found) -> bool:
    """A tape of generated code, grown by rebinding (`reverse` knows them)."""
    return name.startswith("_tape") or any(
        isinstance(node.value, ast.Name) and node.value.id.startswith("_tape")
        or isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "rt.grow"
        for node, _ in found)


def _rename(tree: ast.FunctionDef, renamed: set[str], parsed: ParsedFunction,
            types: dict[str, str], parameters: set[str]) -> None:
    current: dict[str, str] = {name: name for name in renamed & parameters}
    for statement in tree.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                    and node.id in current:
                node.id = current[node.id]
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            name = statement.targets[0].id
            if name not in renamed:
                continue
            if name in current:
                new = parsed.namer.unique(name)
                types[new] = types[name]
                statement.targets[0].id = new
                current[name] = new
            else:
                current[name] = name


def accumulate_through_views(parsed: ParsedFunction, types: dict[str, str]) -> None:
    """Generated code accumulates into a named view of an adjoint in place
    (`_b_even = _b_x[::2]`, then `_b_even += g`), which ANF reads as a
    rebinding (`_b_even = _b_even + g`): the view's base would never see
    the sum. Each use of such a view is replaced by the view taken afresh
    from its base, and each rebinding by a write into the base:

        _t5 = _b_x[::2] + g          (was _b_even = _b_even + g)
        _b_x[::2] = _t5

    which is what the in-place `+=` did, whatever else accumulated into the
    base meanwhile. Runs on typed generated code, before `views`, in both
    modes; the view's binding is removed."""
    tree = parsed.tree
    views = _rebound_views(tree, types)
    if views:
        tree.body = _through_views(tree.body, views, parsed, types)
    bases = {node.value.value.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
             and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Subscript)
             and isinstance(node.value.value, ast.Name)
             and is_array(types.get(node.targets[0].id))}
    if bases:
        tree.body = _bases_in_place(tree.body, bases, parsed, types)


def _bases_in_place(statements: list[ast.stmt], bases: set[str], parsed: ParsedFunction,
                    types: dict[str, str]) -> list[ast.stmt]:
    """`_b_x += g` on an array that a named view reaches (`_b_v = _b_x[1:]`),
    which ANF reads as a rebinding (`_b_x = _b_x + g`), becomes a write of
    all its elements (`_t7 = _b_x + g; _b_x[:] = _t7`), so that the view
    still reaches the array the name holds."""
    out: list[ast.stmt] = []
    for node in statements:
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and not isinstance(node, ast.Assign):
                setattr(node, field, _bases_in_place(block, bases, parsed, types))
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id in bases \
                and getattr(node, "in_place", False) and is_array(types.get(target.id)):
            temporary = parsed.namer.temp()
            types[temporary] = types[target.id]
            out.append(in_place_of(ast.Assign([ast.Name(temporary, ast.Store())], node.value),
                                node))
            whole = [ast.Slice() for _ in range(types[target.id].count(":"))]
            index = whole[0] if len(whole) == 1 else ast.Tuple(whole, ast.Load())
            store = ast.Subscript(ast.Name(target.id, ast.Load()), index, ast.Store())
            out.append(in_place_of(ast.Assign([store], ast.Name(temporary, ast.Load())), node))
            continue
        out.append(node)
    return out


def _rebound_views(tree: ast.FunctionDef, types: dict[str, str]) -> dict[str, ast.Assign]:
    """Array variables bound once at the top level to a view of an array
    variable (`V = B[index]`), and rebound somewhere after."""
    bindings: dict[str, list[tuple[ast.Assign, bool]]] = {}
    _collect(tree.body, False, types, bindings)          # in source order
    views = {}
    for name, found in bindings.items():
        first, nested = found[0]
        if len(found) > 1 and not nested and isinstance(first.value, ast.Subscript) \
                and isinstance(first.value.value, ast.Name):
            views[name] = first
    return views


def _through_views(statements: list[ast.stmt], views: dict[str, ast.Assign],
                   parsed: ParsedFunction, types: dict[str, str]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    bindings = {id(node) for node in views.values()}
    for node in statements:
        if id(node) in bindings:
            continue
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and not isinstance(node, ast.Assign):
                setattr(node, field, _through_views(block, views, parsed, types))
        if not isinstance(node, ast.Assign):
            out.append(node)
            continue
        for name in sorted(_names_read(node) & set(views)):
            fresh = parsed.namer.temp()
            types[fresh] = types[name]
            out.append(in_place_of(ast.Assign([ast.Name(fresh, ast.Store())],
                                           copy.deepcopy(views[name].value)), node))
            _replace_reads(node, name, fresh)
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in views:
            view = views[target.id].value
            value = node.value
            if not isinstance(value, ast.Name):
                temporary = parsed.namer.temp()
                types[temporary] = types[target.id]
                out.append(in_place_of(ast.Assign([ast.Name(temporary, ast.Store())], value),
                                    node))
                value = ast.Name(temporary, ast.Load())
            store = ast.Subscript(ast.Name(view.value.id, ast.Load()),
                                  copy.deepcopy(view.slice), ast.Store())
            out.append(in_place_of(ast.Assign([store], value), node))
            continue
        out.append(node)
    return out


def _names_read(node: ast.Assign) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _replace_reads(node: ast.Assign, name: str, replacement: str) -> None:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) \
                and inner.id == name:
            inner.id = replacement
