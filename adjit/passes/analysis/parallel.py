"""parallel: loops over `numba.prange`, and race-free shapes of their derivatives.

`resolve` turns `for i in numba.prange(n)` into a `range` loop marked
`parallel = True`, so that every analysis treats it as the loop it is; the
marked loops of a generated function are rendered with `prange` again
(`render_parallel_loops`), and compiled with `parallel=True`.

`check_parallel_loops` - input: a typed ANF `FunctionDef`. It guarantees,
or raises a located error, that each parallel loop's iterations are
independent, as Numba assumes without checking:

* no parallel loop inside another one, and no random draw inside one;
* every scalar the body writes is either *private* to an iteration (written
  before it is read, on every path) or a sum *reduction* (`s = s + e`,
  `s = s - e`, and no other use of `s` in the body), and none but the
  reductions is read after the loop;
* every element the body writes or reads of an array it writes is indexed
  by the loop index first (`a[i]`, `a[i, j]`), unless the array is created
  in the body (then it is the iteration's own).

`race_free_reverse` - input: the reversal of a parallel loop (a `for` over
the reversed range whose body is the recomputed slice and the adjoints).
Output: statements that compute the same, in parallel, without races:

* when iterations increment shared elements of an adjoint array
  (`_b_q[j, d] += ...` in a loop over `i`), the iterations are split into
  one contiguous chunk per thread, the prange runs over the chunks, each
  chunk adds into a copy of its own (`_b_q_chunks[_chunk, j, d] += ...`)
  and the copies are added to `_b_q` after the loop
  (`rt.add_chunk_copies`); an adjoint array only touched at `[i, ...]`
  stays as it is, when the caller knows `i` never goes below 0
  (`index_never_negative`, `loopforms.never_negative`);
* the adjoints of an iteration's private values start each iteration at 0
  explicitly (serial code carries the 0 left by the previous iteration);
* scalar adjoints of values from outside the loop are sum reductions;
* a reversal that would read the tape is refused: the body of a parallel
  loop must be recomputable from its index.

With `shared_adjoints="atomic"` (target="cuda", `passes/gpu/kernels.py`) the
shared elements are not privatized: the loop stays one parallel loop whose
increments of shared adjoint elements (`_b_q[j, d] += ...`, checked to be
the only use of such an array) the CUDA kernel makes atomic.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from adjit.errors import DifferentiationError, UnsupportedSyntaxError
from adjit.passes.analysis.statements import names_in, writes_block
from adjit.rules.numpy import CREATION
from adjit.rules.random import is_draw
from adjit.rules.registry import is_array


def is_parallel(loop: ast.stmt) -> bool:
    return isinstance(loop, ast.For) and getattr(loop, "parallel", False)


# ---- checking the primal ------------------------------------------------------------

def check_parallel_loops(parsed, tree: ast.FunctionDef, types: dict[str, str]) -> None:
    live_after: dict[int, set[str]] = {}
    live_in(tree.body, set(), live_after)
    arrays = {name for name, kind in types.items() if is_array(kind)}
    _check_block(parsed, tree.body, live_after, arrays, inside_parallel=False)


def _check_block(parsed, statements, live_after, arrays, inside_parallel: bool) -> None:
    for node in statements:
        if isinstance(node, ast.If):
            _check_block(parsed, node.body + node.orelse, live_after, arrays, inside_parallel)
        elif isinstance(node, (ast.For, ast.While)):
            if is_parallel(node):
                if inside_parallel:
                    _refuse(parsed, node, "a parallel loop inside a parallel loop",
                            "make only the outer loop a prange; Numba runs inner "
                            "pranges serially anyway")
                _check_loop(parsed, node, live_after[id(node)], arrays)
            _check_block(parsed, node.body, live_after, arrays,
                         inside_parallel or is_parallel(node))


def _check_loop(parsed, loop: ast.For, read_after: set[str], arrays: set[str]) -> None:
    index = loop.target.id
    if len(loop.iter.args) == 3 and not (isinstance(loop.iter.args[2], ast.Constant)
                                         and loop.iter.args[2].value == 1):
        _refuse(parsed, loop.iter, "a prange with a step", "Numba runs pranges with "
                "step 1 only: loop over prange(count) and compute the index")
    for node in ast.walk(ast.Module(loop.body, [])):
        if isinstance(node, ast.Assign) and is_draw(node.value):
            _refuse(parsed, node, "a random draw inside a parallel loop",
                    "each thread draws from its own stream, in no fixed order: draw "
                    "before the loop (np.random.standard_normal(n)) and index the draws")
    created = {node.targets[0].id for node in ast.walk(ast.Module(loop.body, []))
               if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
               and isinstance(node.value, ast.Call)
               and getattr(getattr(node.value, "primitive", None), "key", None)
               in (*CREATION, np.copy)}
    reductions = sum_reductions(loop.body)
    written = writes_block(loop.body) - {index} - arrays   # scalars; arrays below
    for name in sorted((live_in(loop.body) & written) - reductions):
        _refuse(parsed, _first_write(loop.body, name) or loop,
                f"`{name}` carries a value from one iteration of a parallel loop "
                "to the next",
                f"iterations of a prange run in any order: compute `{name}` afresh "
                "in each iteration, or only add to it (`s += ...`, a reduction)")
    for name in sorted((written - reductions - created) & read_after):
        _refuse(parsed, _first_write(loop.body, name) or loop,
                f"`{name}` is assigned in a parallel loop and read after it",
                "which iteration's value would it hold? Keep per-iteration results "
                "in an array indexed by the loop index, or sum them (`s += ...`)")
    written_arrays = {node.targets[0].value.id for node in ast.walk(ast.Module(loop.body, []))
                      if isinstance(node, (ast.Assign, ast.AugAssign))
                      and isinstance(getattr(node, "targets", [None])[0]
                                     if isinstance(node, ast.Assign) else node.target,
                                     ast.Subscript)} - created
    chunked = _chunk_indices(loop)
    # an array indexed first by the index of a chunk's own range (in the
    # gradient of a parallel loop: `_b_y[i]` in the range of `_chunk`) is
    # the iteration's own if every access of it is indexed so
    own_by_chunk = set()
    for array in written_arrays:
        firsts = {_first_index_name(node) for node in ast.walk(ast.Module(loop.body, []))
                  if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                  and node.value.id == array}
        if len(firsts) == 1 and firsts <= chunked:
            own_by_chunk.add(array)
    for statement in ast.walk(ast.Module(loop.body, [])):
        if not isinstance(statement, (ast.Assign, ast.AugAssign)):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                    and node.value.id in written_arrays - own_by_chunk \
                    and not first_index_is(node, index):
                _refuse(parsed, at_origin(statement), f"an element of `{node.value.id}` other "
                        f"than `{node.value.id}[{index}, ...]`, in a parallel loop that "
                        f"writes `{node.value.id}`", "iterations may only read and write "
                        "their own elements of an array they write: index it by the "
                        "loop index first")


def _refuse(parsed, node, message: str, hint: str):
    raise UnsupportedSyntaxError.at(parsed, node, message, hint, "parallel")


def _first_index_name(subscript: ast.Subscript) -> str | None:
    first = subscript.slice.elts[0] if isinstance(subscript.slice, ast.Tuple) \
        else subscript.slice
    return first.id if isinstance(first, ast.Name) else None


def _chunk_indices(loop: ast.For) -> set[str]:
    """The indices of loops directly in the body of the parallel `loop` that
    run over its iteration's own chunk, `for i in range(rt.chunk_start(a,
    b, c, k), rt.chunk_start(a, b, c, k + 1))` with `k` the parallel index
    and `a` a constant >= 0 (the ranges of different `k` are disjoint and
    never negative), and that nothing else in the body binds. The bounds
    may be names the body binds before the loop (ANF names them)."""
    index = loop.target.id
    bound: dict[str, ast.expr] = {}
    found = set()

    def spelled(expression: ast.expr) -> ast.expr:
        seen = set()
        while isinstance(expression, ast.Name) and expression.id in bound \
                and expression.id not in seen:
            seen.add(expression.id)
            expression = bound[expression.id]
        return expression

    def text(expression: ast.expr) -> str:
        if isinstance(expression, ast.BinOp):
            return ast.unparse(ast.BinOp(spelled(expression.left), expression.op,
                                         spelled(expression.right)))
        return ast.unparse(spelled(expression))

    for node in loop.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            bound[node.targets[0].id] = node.value
        if not (isinstance(node, ast.For) and isinstance(node.target, ast.Name)
                and isinstance(node.iter, ast.Call) and len(node.iter.args) == 2):
            continue
        low, high = (spelled(argument) for argument in node.iter.args)
        if not all(isinstance(limit, ast.Call) and ast.unparse(limit.func) == "rt.chunk_start"
                   and len(limit.args) == 4 for limit in (low, high)):
            continue
        start = spelled(low.args[0])
        if [text(a) for a in low.args[:3]] == [text(a) for a in high.args[:3]] \
                and text(low.args[3]) == index and text(spelled(high.args[3])) == f"{index} + 1" \
                and isinstance(start, ast.Constant) and type(start.value) is int \
                and start.value >= 0:
            found.add(node.target.id)
    targets = {id(node.target) for node in ast.walk(ast.Module(loop.body, []))
               if isinstance(node, ast.For)}
    stored = {node.id for node in ast.walk(ast.Module(loop.body, []))
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
              and id(node) not in targets}
    return found - stored


def first_index_is(subscript: ast.Subscript, index: str) -> bool:
    first = subscript.slice.elts[0] if isinstance(subscript.slice, ast.Tuple) \
        else subscript.slice
    return isinstance(first, ast.Name) and first.id == index


def _first_write(statements, name: str):
    """The first statement assigning `name`, placed at the user's line it
    comes from (ANF statements carry `origin`, not always a position)."""
    for node in ast.walk(ast.Module(statements, [])):
        if isinstance(node, (ast.Assign, ast.AugAssign)) and any(
                isinstance(target, ast.Name) and target.id == name
                for target in ast.walk(node) if isinstance(target, ast.Name)
                and isinstance(target.ctx, ast.Store)):
            return at_origin(node)
    return None


def at_origin(statement: ast.stmt) -> ast.AST:
    """`statement`, or a stand-in at the user's line it comes from when ANF
    made it without a position of its own."""
    line = getattr(statement, "origin", getattr(statement, "lineno", None))
    if getattr(statement, "lineno", None) == line:
        return statement
    return ast.Pass(lineno=line, col_offset=0)


def sum_reductions(statements) -> set[str]:
    """Names written only as `s = s + e` / `s = s - e` / `s += e` / `s -= e`
    (with `e` not reading `s`) and used nowhere else in `statements`."""
    uses: dict[str, int] = {}
    spelled_by_updates: dict[str, int] = {}    # `s = s + e` spells `s` twice, `s += e` once
    for node in ast.walk(ast.Module(statements, [])):
        if isinstance(node, ast.Name):
            uses[node.id] = uses.get(node.id, 0) + 1
        name = _sum_update(node)
        if name is not None:
            spelled = 1 if isinstance(node, ast.AugAssign) else 2
            spelled_by_updates[name] = spelled_by_updates.get(name, 0) + spelled
    return {name for name, spelled in spelled_by_updates.items() if uses.get(name) == spelled}


def _sum_update(node) -> str | None:
    if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)) \
            and isinstance(node.target, ast.Name) and node.target.id not in names_in(node.value):
        return node.target.id
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
            and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, (ast.Add, ast.Sub)) \
            and isinstance(node.value.left, ast.Name) \
            and node.value.left.id == node.targets[0].id \
            and node.targets[0].id not in names_in(node.value.right):
        return node.targets[0].id
    return None


def live_in(statements, live_after: set[str] = frozenset(),
            record: dict[int, set[str]] | None = None) -> set[str]:
    """Names read before being written on some path through `statements`,
    given what is live after them (loops may run zero times). With
    `record`, the names live after each parallel loop are stored there."""
    live = set(live_after)
    for node in reversed(statements):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            reads = names_in(node.value)
            if isinstance(target, ast.Name):
                if isinstance(node, ast.Assign):
                    live.discard(target.id)
                else:
                    reads.add(target.id)
            else:
                reads |= names_in(target)
            live |= reads
        elif isinstance(node, ast.If):
            live = (live_in(node.body, live, record) | live_in(node.orelse, live, record)
                    | names_in(node.test))
        elif isinstance(node, (ast.For, ast.While)):
            if record is not None and is_parallel(node):
                record[id(node)] = set(live)
            index = {node.target.id} if isinstance(node, ast.For) else set()
            header = names_in(node.iter) if isinstance(node, ast.For) else names_in(node.test)
            head = set(live)
            while True:
                grown = head | (live_in(node.body, head, record) - index)
                if grown == head:
                    break
                head = grown
            live = head | header
        else:
            live |= names_in(node)
    return live


# ---- the reverse sweep -------------------------------------------------------------

def race_free_reverse(parsed, primal_loop: ast.For, reversed_loop: ast.For,
                      adjoint_arrays: set[str], primal_locals: set[str],
                      local_adjoints: set[str], tape_names: set[str],
                      namer, shared_adjoints: str = "chunks",
                      index_never_negative: bool = True,
                      ranks: dict[str, int] | None = None) -> list[ast.stmt]:
    """The statements replacing `reversed_loop`, the reversal of the parallel
    `primal_loop` (see the module docstring). `primal_locals` are the
    scalars private to the primal's iterations (re-run in each reversed
    iteration: a read guarded by the same test as its write is no carried
    value, though the liveness here cannot tell), `local_adjoints` their
    adjoints. `shared_adjoints` is "chunks" (per-thread copies, for the CPU)
    or "atomic" (left as increments, for CUDA atomics). `ranks` gives the
    rank of the shared adjoint arrays: their chunk copies are then summed
    into them by a loop over elements (itself parallel, and differentiable
    again) instead of a call of `rt.add_chunk_copies`."""
    index = reversed_loop.target.id
    body = reversed_loop.body
    used = {node.id for node in ast.walk(ast.Module(body, [])) if isinstance(node, ast.Name)}
    if used & tape_names:
        _cannot_reverse(parsed, primal_loop, "the reverse sweep of this parallel loop "
                        "would need values recorded on a tape", "the body of a prange "
                        "must be recomputable from its index: no `while` loops or values "
                        "carried between the iterations of inner loops")
    shared = []
    for array in sorted(adjoint_arrays & used):
        accesses = [node for node in ast.walk(ast.Module(body, []))
                    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                    and node.value.id == array]
        spelled = sum(1 for node in ast.walk(ast.Module(body, []))
                      if isinstance(node, ast.Name) and node.id == array)
        # (`[i, ...]` is an iteration's own only if `i` never goes below 0:
        # a negative index wraps onto the element of another iteration)
        if len(accesses) != spelled or not index_never_negative or \
                not all(first_index_is(access, index) for access in accesses):
            shared.append(array)
    zeroed = sorted(local_adjoints & live_in(body) & writes_block(body))
    reversed_loop.body = [_statement(f"{name} = 0.0") for name in zeroed] + body
    arrays = {node.value.id for node in ast.walk(reversed_loop)
              if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)}
    carried = (live_in(reversed_loop.body) & writes_block(reversed_loop.body)) \
        - sum_reductions(reversed_loop.body) - arrays - primal_locals - {index}
    if carried:
        _cannot_reverse(parsed, primal_loop, "adjit cannot reverse this parallel loop "
                        f"without carrying {', '.join(sorted(carried))} between its "
                        "iterations", "write the loop serially (range), or report this case")
    if not shared:
        return [reversed_loop]
    if shared_adjoints == "atomic":
        for array in shared:
            _check_increments_only(parsed, primal_loop, reversed_loop.body, array)
        return [reversed_loop]
    # shared elements: one chunk of iterations per prange iteration, each
    # adding into its own copies
    chunks, chunk = namer.unique("_chunks"), namer.unique("_chunk")
    bounds = [ast.unparse(argument) for argument in reversed_loop.iter.args]
    start, stop = ("0", bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
    trips = stop if start == "0" else f"{stop} - {start}"
    before = [_statement(f"{chunks} = rt.chunk_count({trips})")]
    after = []
    for array in shared:
        copies = namer.unique(f"{array}_chunks")
        _privatize(parsed, primal_loop, reversed_loop.body, array, copies, chunk)
        rank = (ranks or {}).get(array)
        shape = f"({chunks},) + {array}.shape" if not rank else \
            "(" + ", ".join([chunks] + [f"{array}.shape[{axis}]" for axis in range(rank)]) + ")"
        before.append(_statement(f"{copies} = np.zeros({shape})"))
        after.extend(_sum_of_copies(array, copies, chunks, (ranks or {}).get(array), namer))
    reversed_loop.parallel = False
    reversed_loop.iter = _statement(
        f"range(rt.chunk_start({start}, {stop}, {chunks}, {chunk}), "
        f"rt.chunk_start({start}, {stop}, {chunks}, {chunk} + 1))").value
    chunked = ast.For(ast.Name(chunk, ast.Store()), _statement(f"range({chunks})").value,
                      [reversed_loop], [])
    chunked.parallel = True
    return before + [chunked] + after


def _sum_of_copies(array: str, copies: str, chunks: str, rank: int | None,
                   namer) -> list[ast.stmt]:
    """`array += copies[c]` for every chunk `c`: a parallel loop over the
    first axis of `array`, each element summing its chunks' copies."""
    if not rank:
        return [_statement(f"rt.add_chunk_copies({array}, {copies})")]
    indices = [namer.unique(f"_j{axis}") for axis in range(rank)]
    chunk = namer.unique("_c")
    element = ", ".join(indices)
    inner = _statement(f"{array}[{element}] += {copies}[{chunk}, {element}]")
    inner = ast.For(ast.Name(chunk, ast.Store()), _statement(f"range({chunks})").value,
                    [inner], [])
    for axis in range(rank - 1, 0, -1):
        inner = ast.For(ast.Name(indices[axis], ast.Store()),
                        _statement(f"range({array}.shape[{axis}])").value, [inner], [])
    outer = ast.For(ast.Name(indices[0], ast.Store()),
                    _statement(f"range({array}.shape[0])").value, [inner], [])
    outer.parallel = True
    return [outer]


def _increments(body, array: str) -> list[ast.AugAssign]:
    """The `array[idx] += v` statements of `body` (no slice in `idx`, no
    `array` in `v`)."""
    found = []
    for node in ast.walk(ast.Module(body, [])):
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) \
                and isinstance(node.target, ast.Subscript) \
                and isinstance(node.target.value, ast.Name) \
                and node.target.value.id == array and array not in names_in(node.value):
            index = node.target.slice
            parts = list(index.elts) if isinstance(index, ast.Tuple) else [index]
            if not any(isinstance(part, ast.Slice) for part in parts):
                found.append(node)
    return found


def _check_increments_only(parsed, primal_loop, body, array: str) -> None:
    """Refuse any use of the shared adjoint `array` in `body` other than
    element increments."""
    spelled = sum(1 for node in ast.walk(ast.Module(body, []))
                  if isinstance(node, ast.Name) and node.id == array)
    if spelled != len(_increments(body, array)):
        _cannot_reverse(parsed, primal_loop, "iterations of this parallel loop share "
                        f"elements of an array in a way adjit cannot make race-free "
                        f"(`{array}`)", "only sums into shared elements can run in parallel")


def _privatize(parsed, primal_loop, body, array: str, copies: str, chunk: str) -> None:
    """Rewrite each `array[idx] += v` in `body` as `copies[chunk, idx] += v`;
    any other use of `array` there is refused."""
    _check_increments_only(parsed, primal_loop, body, array)
    for node in _increments(body, array):
        index = node.target.slice
        parts = list(index.elts) if isinstance(index, ast.Tuple) else [index]
        node.target = ast.Subscript(
            ast.Name(copies, ast.Load()),
            ast.Tuple([ast.Name(chunk, ast.Load())] + parts, ast.Load()), ast.Store())


def _cannot_reverse(parsed, loop: ast.For, message: str, hint: str):
    raise DifferentiationError.at(parsed, loop, message, hint, "parallel")


def _statement(text: str) -> ast.stmt:
    return ast.parse(text).body[0]


# ---- rendering -------------------------------------------------------------------

def render_parallel_loops(function: ast.FunctionDef) -> bool:
    """Spell the marked loops of a generated function `prange`; returns
    whether there was any."""
    found = False
    for node in ast.walk(function):
        if is_parallel(node):
            node.iter = copy.copy(node.iter)
            node.iter.func = ast.Name("prange", ast.Load())
            found = True
    return found
