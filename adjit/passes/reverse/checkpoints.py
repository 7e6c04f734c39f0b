"""checkpoints: long loops reversed segment by segment from saved states.

Input: the reverse transformer's plan (`recompute.LoopPlan`), the ANF tree,
types and private arrays.
Output: `Checkpoints`, which says which loops it takes (`covers`) and
writes their code in place of a recorded loop's: the forward sweep's
(`forward`) and the reverse sweep's (`reverse`).

A loop is checkpointed when recording it whole could keep too much: a
`for ... in range(...)` loop at the top of the function whose iterations
must be recorded (`RECORD`), with a loop inside it that records (pushes
values, or records the elements it overwrites: a time loop over array
work, whose record grows with the work of each iteration), not parallel,
not left by `break`, in code for the CPU, and not itself generated code.
At run time, `rt.checkpoint_stride` compares the state the loop carries
times its trip count with the budget (`ADJIT_CHECKPOINT_MB`, see
`runtime/checkpoints.py`). Within it, the loop is one segment: recorded
whole, as any recorded loop, and swept back at once. Beyond it, the loop
runs in segments of `stride` iterations (the square root of the trip
count, rounded up). A segment before the last first saves the state the
loop carries: the scalars it reads before assigning them (or whose value
before the loop the reverse sweep of earlier code needs back, pushed
inside it) and every array it writes element by element, except arrays it
creates and arrays every iteration refills before reading them
(`private.private_arrays`); then it runs the primal body, recording
nothing. The last segment runs recorded. The reverse sweep, from the last
segment to the first, sweeps the last segment back from its record; each
earlier one gets its state back, runs again recording (the loop's
recorded form over the segment's range), and is swept back. The tape
holds one segment at a time; the states, one per segment but the last:
memory about 2 sqrt(n) iterations' worth where recording takes n, for one
more run of the loop's primal but its last segment. The loop's code
appears four times in this form (the primal segments, the last segment
recorded, the reruns, the sweep back), so a derivative is first made
without it: its long loops recorded whole, each after a check of the
budget (`rt.require_budget`) that raises `CheckpointsNeeded` beyond it,
on which the dispatcher makes this form (`Checkpoints.segmented`).

Why it is exact: the rerun starts from the state the forward run had at
that segment's start, reads nothing else the loop changes, and is the same
code, so it recomputes the same values; what the reverse sweeps of earlier
segments and of the code before the loop need back is what the rerun of
the first segment pushes and its reverse pops, as in a recorded loop.
"""

from __future__ import annotations

import ast
import copy

from adjit.passes.analysis.parallel import is_parallel
from adjit.passes.analysis.statements import names_in, reads, writes_block
from adjit.passes.ir.build import name as name_node
from adjit.passes.ir.build import statement
from adjit.passes.reverse.recompute import RECORD
from adjit.passes.reverse.tbr import MAIN
from adjit.rules.registry import BOOL, FLOAT, INT, array_type, element_type, is_array
from adjit.runtime import checkpoints as runtime_checkpoints

_DTYPES = {FLOAT: "np.float64", INT: "np.int64", BOOL: "np.bool_"}


class Checkpoints:
    def __init__(self, tree: ast.FunctionDef, types: dict[str, str], plan, tbr, counters,
                 private: dict[str, tuple[int, int]], snapshot_owner: dict[str, int],
                 namer, enabled: bool, restores=lambda node: False, segmented: bool = True):
        self.types = types
        # False: the loops are recorded whole, each after a check of the
        # budget that raises `rt.CheckpointsNeeded` beyond it
        self.segmented = segmented
        self.namer = namer
        self.private = private
        # id(loop) -> (scalars, arrays) it saves; names of its counts
        self.state: dict[int, tuple[list[str], list[str]]] = {}
        self.names: dict[int, dict[str, str]] = {}
        self.state_names: dict[tuple[int, str], str] = {}
        if not enabled:
            return
        owners = set(snapshot_owner.values())
        for node in tree.body:
            if isinstance(node, ast.For) and _is_range(node.iter) \
                    and plan.mode.get(id(node)) == RECORD and plan.has_adjoint(node) \
                    and id(node) not in counters and id(node) not in owners \
                    and not is_parallel(node) and _has_inner_loop(node):
                inside = [inner for statement_ in node.body for inner in ast.walk(statement_)]
                pushed = {name for inner in inside for name in tbr.pushed(MAIN, inner)}
                # only where an inner loop records: a record that grows with
                # the work of an iteration, not a few values per iteration
                # (a loop that only steps an int the reverse sweep undoes, or
                # pushes the slot numbers of a swap, keeps its small tape)
                if _records_in_inner_loops(node, tbr, restores):
                    self.state[id(node)] = self._state(node, pushed)

    def covers(self, loop: ast.stmt) -> bool:
        return id(getattr(loop, "original", loop)) in self.state

    def _state(self, loop: ast.For, pushed: set[str]) -> tuple[list[str], list[str]]:
        created = {node.targets[0].id for node in ast.walk(loop)
                   if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                   and is_array(self.types.get(node.targets[0].id))}
        refilled = {array for array, (owner, _) in self.private.items() if owner == id(loop)}
        written = writes_block(loop.body)
        # a scalar the rerun reads before it assigns it, or whose value
        # before the loop the first segment's pushes must give back
        carried = (exposed(loop.body, {loop.target.id}) | pushed) & written
        scalars = sorted(name for name in carried
                         if not is_array(self.types.get(name))
                         and self.types.get(name) in _DTYPES)
        arrays = sorted(name for name in written
                        if is_array(self.types.get(name)) and name not in created | refilled)
        return scalars, arrays

    # -- the forward sweep ----------------------------------------------------
    def forward(self, loop: ast.For, recorded) -> list[ast.stmt]:
        """Not `segmented`: the check of the budget, then the loop recorded
        whole (`recorded(loop)`, statements). Else the loop segment by
        segment: a segment before the last saves the state it starts from
        and runs the primal body, recording nothing; the last runs
        recorded (`recorded(segment)`), its record kept for the reverse
        sweep. Within the budget the loop is one segment: recorded whole,
        nothing saved."""
        key = id(getattr(loop, "original", loop))
        scalars, arrays = self.state[key]
        start, stop, step = _range_parts(loop.iter)
        state = " + ".join([" * ".join(f"{name}.shape[{axis}]"
                                        for axis in range(_rank(self.types[name])))
                            for name in arrays] + ([str(len(scalars))] if scalars else [])) \
            or "1"
        budget = runtime_checkpoints.CHECKPOINT_BUDGET       # values, as generated
        if not self.segmented:
            return [statement(f"rt.require_budget(rt.trip_count({start}, {stop}, {step}), "
                              f"{state}, {budget})")] + recorded(loop)
        names = {part: self.namer.fresh(part) for part in
                 ("trips", "stride", "segments", "saved", "segment", "first", "last")}
        self.names[key] = names
        for part in names:
            self.types[names[part]] = INT
        code = [statement(f"{names['trips']} = rt.trip_count({start}, {stop}, {step})"),
                statement(f"{names['stride']} = rt.checkpoint_stride({names['trips']}, "
                          f"{state}, {budget})"),
                statement(f"{names['segments']} = rt.segment_count({names['trips']}, "
                          f"{names['stride']})"),
                statement(f"{names['saved']} = rt.saved_states({names['segments']})")]
        saves = []
        for name in scalars:
            states = self._states_name(key, name)
            self.types[states] = array_type(self.types[name], 1)
            code.append(statement(f"{states} = np.empty({names['saved']}, "
                                  f"{_DTYPES[self.types[name]]})"))
            saves.append(statement(f"{states}[{names['segment']}] = {name}"))
        for name in arrays:
            states = self._states_name(key, name)
            kind = self.types[name]
            self.types[states] = array_type(element_type(kind), _rank(kind) + 1)
            extents = ", ".join(f"{name}.shape[{axis}]" for axis in range(_rank(kind)))
            code.append(statement(f"{states} = np.empty(({names['saved']}, {extents}), "
                                  f"{_DTYPES[element_type(kind)]})"))
            saves.append(self._copy(f"{states}[{names['segment']}, {{}}]", f"{name}[{{}}]",
                                    name, _rank(kind)))
        # a segment before the last: its state saved, then the primal,
        # nothing recorded; the last: recorded, its record kept for the
        # reverse sweep (within the budget, the whole loop)
        primal = self.segment_loop(loop, names)
        primal.body = copy.deepcopy(loop.body)
        choice = statement(f"if {names['segment']} < {names['segments']} - 1:\n    pass\n"
                           "else:\n    pass")
        choice.body = saves + [primal]
        choice.orelse = recorded(self.segment_loop(loop, names))
        return code + [ast.For(name_node(names["segment"], store=True),
                               ast.Call(name_node("range"), [name_node(names["segments"])], []),
                               self.bounds(loop, names) + [choice], [])]

    # -- the reverse sweep ----------------------------------------------------
    def reverse(self, loop: ast.For, recorded, reversed_loop) -> list[ast.stmt]:
        """From the last segment to the first: a segment before the last
        gets its state back and is run again by `recorded(segment_loop)`
        (statements); each is then swept back by
        `reversed_loop(segment_loop)` (statements). The last segment's
        record is the forward sweep's."""
        key = id(getattr(loop, "original", loop))
        names = self.names[key]
        scalars, arrays = self.state[key]
        restores = [statement(f"{name} = {self._states_name(key, name)}[{names['segment']}]")
                    for name in scalars]
        restores += [self._copy(f"{name}[{{}}]",
                                f"{self._states_name(key, name)}[{names['segment']}, {{}}]",
                                name, _rank(self.types[name])) for name in arrays]
        segment = self.segment_loop(loop, names)
        rerun = statement(f"if {names['segment']} < {names['segments']} - 1:\n    pass")
        rerun.body = restores + recorded(segment)
        body = self.bounds(loop, names) + [rerun] + reversed_loop(segment)
        header = statement(f"for {names['segment']} in range({names['segments']} - 1, -1, -1):"
                           "\n    pass")
        header.body = body
        return [header]

    # -- pieces ---------------------------------------------------------------
    def _copy(self, target: str, source: str, array: str, rank: int) -> ast.stmt:
        """`target[...] = source[...]` element by element over `array`'s
        shape (`{}` in each spelling takes the indices): a loop nest, which
        Numba compiles in milliseconds where a slice assignment takes
        seconds, and which a derivative differentiated again reads as any
        other element loop."""
        indices = [self.namer.fresh("k") for _ in range(rank)]
        for index in indices:
            self.types[index] = INT
        text = f"{target.format(', '.join(indices))} = {source.format(', '.join(indices))}"
        for depth, index in reversed(list(enumerate(indices))):
            body = "\n".join("    " + line for line in text.splitlines())
            text = f"for {index} in range({array}.shape[{depth}]):\n{body}"
        return statement(text)

    def _states_name(self, key: int, name: str) -> str:
        if (key, name) not in self.state_names:
            self.state_names[key, name] = self.namer.unique(f"_states_{name.lstrip('_')}")
        return self.state_names[key, name]

    @staticmethod
    def bounds(loop: ast.For, names: dict[str, str]) -> list[ast.stmt]:
        """The loop's first index in this segment, and the index it stops at."""
        start, _, step = _range_parts(loop.iter)
        segment, stride = names["segment"], names["stride"]
        first = _affine(start, f"{segment} * {stride}", step)
        last = _affine(start, f"min({names['trips']}, ({segment} + 1) * {stride})", step)
        return [statement(f"{names['first']} = {first}"),
                statement(f"{names['last']} = {last}")]

    @staticmethod
    def segment_loop(loop: ast.For, names: dict[str, str]) -> ast.For:
        """`loop` over one segment's range; it answers for `loop` in the plan."""
        _, _, step = _range_parts(loop.iter)
        arguments = [name_node(names["first"]), name_node(names["last"])]
        if step != "1":
            arguments.append(ast.parse(step, mode="eval").body)
        segment = copy.copy(loop)
        segment.iter = ast.Call(name_node("range"), arguments, [])
        segment.original = getattr(loop, "original", loop)
        return segment


def _is_range(iterator: ast.expr) -> bool:
    return isinstance(iterator, ast.Call) and isinstance(iterator.func, ast.Name) \
        and iterator.func.id == "range" and 1 <= len(iterator.args) <= 3 \
        and not iterator.keywords


def _range_parts(iterator: ast.Call) -> tuple[str, str, str]:
    texts = [ast.unparse(argument) for argument in iterator.args]
    if len(texts) == 1:
        return "0", texts[0], "1"
    if len(texts) == 2:
        return texts[0], texts[1], "1"
    return texts[0], texts[1], texts[2]


def _has_inner_loop(loop: ast.For) -> bool:
    return any(isinstance(inner, (ast.For, ast.While))
               for statement_ in loop.body for inner in ast.walk(statement_))


def _rank(kind: str) -> int:
    return kind.count(":")


def _affine(start: str, count: str, step: str) -> str:
    """Source of `start + count * step`, without the zero and the one."""
    scaled = count if step == "1" else f"{count} * ({step})"
    return scaled if start == "0" else f"{start} + {scaled}"


def exposed(statements: list[ast.stmt], assigned: set[str]) -> set[str]:
    """Names `statements` may read before assigning them, when the names in
    `assigned` are assigned on entry (a loop body's: what an iteration
    reads from before it, the first iteration from before the loop)."""
    found: set[str] = set()
    assigned = set(assigned)
    for node in statements:
        if isinstance(node, ast.Assign):
            found |= reads(node) - assigned
            if isinstance(node.targets[0], ast.Name):
                assigned.add(node.targets[0].id)
        elif isinstance(node, ast.If):
            found |= names_in(node.test) - assigned
            found |= exposed(node.body, assigned) | exposed(node.orelse, assigned)
            assigned |= _surely_assigned(node.body, assigned) & \
                _surely_assigned(node.orelse, assigned)
        elif isinstance(node, ast.For):
            found |= names_in(node.iter) - assigned
            found |= exposed(node.body, assigned | {node.target.id})
        elif isinstance(node, ast.While):
            found |= names_in(node.test) - assigned
            found |= exposed(node.body, assigned)
        else:
            found |= reads(node) - assigned
    return found


def _surely_assigned(statements: list[ast.stmt], assigned: set[str]) -> set[str]:
    """`assigned`, and the names every path through `statements` assigns."""
    assigned = set(assigned)
    for node in statements:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            assigned.add(node.targets[0].id)
        elif isinstance(node, ast.If):
            assigned |= _surely_assigned(node.body, assigned) & \
                _surely_assigned(node.orelse, assigned)
    return assigned


def _records_in_inner_loops(loop: ast.For, tbr, restores) -> bool:
    """Does a loop inside `loop` push a value, or record an element it
    overwrites, in its body?"""
    for statement_ in loop.body:
        for inner in ast.walk(statement_):
            if isinstance(inner, (ast.For, ast.While)) and any(
                    tbr.pushed(MAIN, node) or restores(node)
                    for body_statement in inner.body for node in ast.walk(body_statement)):
                return True
    return False
