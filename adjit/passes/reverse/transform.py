"""reverse: write the reverse-mode derivative of an ANF function.

Input: an ANF `FunctionDef` (see `anf`), its variable types, the names of
the `wrt` parameters and the active variables.
Output: a new `FunctionDef` `NAME_grad(same parameters)` returning
`(value, adjoint of each wrt parameter)`, made of

1. the *forward sweep*: the primal statements, with pushes of the values the
   to-be-recorded analysis (`tbr`) requires, and trip counters for loops
   whose iteration count is not known in advance (`instrument`);
2. the *reverse sweep*: for each statement in reverse order its adjoint
   (`_b_x += _b_y * partial`), pops at the mirror points of pushes, loops
   run backwards; a recomputed loop (`recompute`) first re-runs the slice of
   its body that its adjoint needs, then the body's adjoint.

What to push, which loops to recompute and which nests to keep is decided
first (`plan`); this module emits the two sweeps from that plan.
Adjoints start at 0.0 and are reset when their variable is overwritten; the
`optimize` pass removes what turns out to be dead. Every emitted statement
carries `origin`, the user's line it derives from.
"""

from __future__ import annotations

import ast
import copy

from adjit.passes.analysis.arrays import ArrayFacts
from adjit.passes.ir.build import function_def
from adjit.passes.ir.build import name as name_node
from adjit.passes.ir.build import statement as _parse_statement
from adjit.passes.gpu.device_tapes import declare_tapes, entry_values
from adjit.passes.analysis.loopforms import lowest_index, never_negative, nonnegative_names
from adjit.passes.ir.naming import Namer
from adjit.passes.ir.fold import constant_value, fold
from adjit.passes.analysis.parallel import is_parallel, race_free_reverse, sum_reductions
from adjit.passes.analysis.private import private_arrays, stable_arrays
from adjit.passes.reverse.checkpoints import Checkpoints
from adjit.passes.reverse.contents import contents_tracked
from adjit.passes.reverse.recompute import RECOMPUTE, is_anchor
from adjit.passes.reverse.reserve import Reservations
from adjit.passes.reverse.arrays import ArrayAdjoints
from adjit.passes.reverse.plan import (ReversePlanning, creations_in_loops, instrument,
                                       with_origin)
from adjit.errors import DifferentiationError
from adjit.passes.analysis.statements import (is_array_operation, is_break_test, is_structured,
                                     partials, writes_block)
from adjit.passes.reverse.tbr import MAIN
from adjit.rules.arrays import index_text, rank
from adjit.rules.registry import BOOL, FLOAT, INT, is_array

INITIAL_TAPE_CAPACITY = 64


class ReverseTransformer(ReversePlanning, ArrayAdjoints):
    def __init__(self, tree: ast.FunctionDef, types: dict[str, str],
                 wrt: list[str], active: set[str], namer: Namer,
                 arrays: ArrayFacts | None = None, parsed=None, tape_free: bool = False,
                 segmented: bool = True):
        self.tree = tree
        # device code (target="cuda") cannot grow a tape: it keeps each in a
        # `cuda.local.array` sized when generated (`device_tapes`), one per
        # thread: a device function's, or each prange iteration's (the host
        # statements around prange loops keep none: a push there is refused)
        self.tape_free = tape_free
        self.thread_tapes = tape_free and not any(is_parallel(node)
                                                   for node in ast.walk(tree))
        self.loops: list[ast.stmt] = []     # the loops `forward` is inside
        self.parsed = parsed            # for located errors
        self.types = types
        self.wrt = wrt
        self.active = active
        self.namer = namer
        self.arrays = arrays or ArrayFacts()
        self.created_in_loops = creations_in_loops(tree.body, in_loop=False)
        self.counters = instrument(tree, namer)
        for counter in self.counters.values():
            types[counter] = INT
        # Scratch arrays private to a loop's iterations are neither restored
        # nor recorded when that loop is recomputed; where it is not after
        # all, they are restored like any other array.
        self.private = private_arrays(tree, types)
        self.stable = stable_arrays(tree, types)
        self.make_plan()
        # buffer -> id of the loop whose every iteration refills it (`snapshot`)
        self.snapshot_owner: dict[str, int] = {}
        if not tape_free:
            self.take_snapshots()
        self.tapes_used: set[str] = set()
        # Tape names are fresh: a derivative differentiated again has tapes
        # of its own beside the ones of the code it reads.
        float_tape = (namer.unique("_tape_f"), namer.unique("_top_f"), "np.float64")
        int_tape = (namer.unique("_tape_i"), namer.unique("_top_i"), "np.int64")
        self.tapes = {FLOAT: float_tape, INT: int_tape, BOOL: int_tape}
        self.view_adjoints: dict[str, ast.Subscript] = {}
        self.array_adjoint, self.array_allocations = self.array_adjoints()
        self.check_allocations()
        self.checkpoints = Checkpoints(tree, types, self.plan, self.tbr, self.counters,
                                       self.private,
                                       self.snapshot_owner, namer,
                                       not tape_free and not (parsed is not None
                                                              and parsed.generated),
                                       self.restores, segmented)
        self.top_of = {float_tape[0]: float_tape[1], int_tape[0]: int_tape[1]}
        self.reserves = Reservations(self.top_of)
        self.dtype_of = {float_tape[0]: float_tape[2], int_tape[0]: int_tape[2]}

    def refuse_tape(self, node: ast.stmt):
        """Refuse a push in device code outside a thread (the host statements
        around prange loops): at the innermost loop around `node` (or `node`
        itself, or the loop it is), with a hint."""
        if isinstance(node, (ast.For, ast.While)) or self.loops:
            loop = node if isinstance(node, (ast.For, ast.While)) else self.loops[-1]
            loop = getattr(loop, "original", loop)
            kind = "`while`" if isinstance(loop, ast.While) else "`for`"
            self.refuse(loop, f"the reverse sweep of this {kind} loop needs values recorded "
                        "on a tape; outside the prange loops, target='cuda' runs the "
                        "statements on the host, which keeps no tape",
                        "move the loop into the body of the prange loop (one tape per GPU "
                        "thread), use forward mode (jit.jvp), or a loop whose body can be "
                        "recomputed from its index (no value carried from one iteration to "
                        "the next)", "parallel")
        self.refuse(node, "the reverse sweep needs the value this statement overwrites, "
                    "recorded on a tape; outside the prange loops, target='cuda' runs the "
                    "statements on the host, which keeps no tape",
                    "assign the new value to a new name instead of overwriting, move the "
                    "statement into the prange loop (one tape per GPU thread), or use "
                    "forward mode (jit.jvp)", "parallel")

    def local_tapes(self, statements: list[ast.stmt], whose: str) -> list[ast.stmt]:
        """Device code: the declarations of the tapes `statements` (one
        thread's work) use (`device_tapes.declare_tapes`)."""
        tapes = [(tape, self.top_of[tape], self.dtype_of[tape])
                 for tape in sorted(self.top_of)]
        return declare_tapes(self.parsed, statements, tapes, whose)

    def refuse(self, node: ast.AST, message: str, hint: str, anchor: str):
        raise DifferentiationError.at(self.parsed, node, message, hint, anchor)

    # -- tape operations ------------------------------------------------------
    def restores(self, node: ast.stmt) -> bool:
        """Is `node` an element write whose old element is recorded?"""
        return isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript) \
            and node.targets[0].value.id in self.restored \
            and getattr(node, "restores_element", True)

    def push(self, name: str, kind: str | None = None) -> list[ast.stmt]:
        tape, top, _ = self.tapes[kind or self.types[name]]
        self.tapes_used.add(tape)
        return [_parse_statement(f"{tape}[{top}] = {name}"),
                _parse_statement(f"{top} += 1")]

    def pop(self, name: str, kind: str | None = None) -> list[ast.stmt]:
        kind = kind or self.types[name]
        tape, top, _ = self.tapes[kind]
        read = f"{tape}[{top}]" + (" != 0" if kind == BOOL else "")
        return [_parse_statement(f"{top} -= 1"), _parse_statement(f"{name} = {read}")]

    # -- forward sweep -----------------------------------------------------------
    def forward(self, statements: list[ast.stmt], context) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for node in statements:
            origin = getattr(node, "origin", getattr(node, "lineno", None))
            saved = self.tbr.pushed(context, node)
            if self.tape_free and self.restores(node):
                self.refuse(node, "the reverse sweep needs the element this statement "
                            "overwrites, which device code (target='cuda') does not "
                            "record", "write each element once, or use target='cpu'",
                            "parallel")
            if self.tape_free and saved and not self.thread_tapes:
                self.refuse_tape(node)
            for name in saved:
                out.extend(with_origin(self.push(name), origin))
            if self.restores(node):
                out.extend(with_origin(self.push(ast.unparse(node.targets[0]), FLOAT), origin))
            if is_anchor(node):
                continue              # not re-run: only its saves (above) happen
            if isinstance(node, ast.If) and not is_break_test(node):
                branch = ast.If(node.test, self.forward(node.body, context) or [ast.Pass()],
                                self.forward(node.orelse, context))
                out.append(with_origin([branch], origin)[0])
            elif isinstance(node, (ast.For, ast.While)) and self.plan.has_adjoint(node) \
                    and self.plan.mode_of(node) != RECOMPUTE and getattr(node, "records", True):
                if context == MAIN and self.checkpoints.covers(node):
                    out.extend(with_origin(self.checkpoints.forward(
                        node, lambda segment: self.recorded_loop(segment, context)),
                        origin))
                else:
                    out.extend(with_origin(self.recorded_loop(node, context), origin))
            elif isinstance(node, (ast.For, ast.While)):
                emitted = self.mark_private(copy.deepcopy(node), node)
                emitted.user_loop = getattr(node, "original", node)
                out.append(emitted)
            else:
                out.append(copy.deepcopy(node))
        return out

    def recorded_loop(self, node: ast.stmt, context) -> list[ast.stmt]:
        """`node` with its pushes, and the tape reservations before it."""
        out = []
        loop = copy.copy(node)
        loop.user_loop = getattr(node, "original", node)
        self.loops.append(node)
        body = self.forward(node.body, context)
        self.loops.pop()
        nested = any(isinstance(inner, (ast.For, ast.While))
                     for statement in body for inner in ast.walk(statement))
        if self.tape_free:       # a fixed tape: nothing to reserve
            loop.body = body
        elif isinstance(node, ast.For) and not nested:
            # The trip count is known before the loop: reserve once.
            # (A capacity check inside the loop would cost Numba a
            # reload of the tape every iteration: 40% of a small loop.)
            out.extend(self.reserves.before_loop(node, body))
            loop.body = body
        else:
            loop.body = self.reserves.with_reserves(body)
            if isinstance(node, ast.For):
                out.extend(self.reserves.before_nest(node, loop.body) or [])
        out.append(self.mark_private(loop, node))
        return out

    def mark_private(self, emitted: ast.stmt, loop: ast.stmt) -> ast.stmt:
        """Tell `optimize` which arrays every iteration of `emitted` (a copy
        or the reversal of `loop`) refills before reading them."""
        key = id(getattr(loop, "original", loop))
        emitted.private_arrays = {array for array, (owner, _) in self.private.items()
                                  if owner == key} | \
            {buffer for buffer, owner in self.snapshot_owner.items() if owner == key}
        return emitted

    # -- reverse sweep -----------------------------------------------------------
    def reverse(self, statements: list[ast.stmt], context) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for position in range(len(statements) - 1, -1, -1):
            node = statements[position]
            origin = getattr(node, "origin", getattr(node, "lineno", None))
            code: list[ast.stmt] = []
            if isinstance(node, ast.Assign):
                code = self.adjoint(node)
                if self.restores(node):
                    code.extend(self.pop(ast.unparse(node.targets[0]), FLOAT))
            elif isinstance(node, ast.If) and not is_break_test(node):
                body = self.reverse(node.body, context)
                orelse = self.reverse(node.orelse, context)
                # adjoints of arrays only this branch binds and reads
                body, orelse = ([_parse_statement(f"{adjoint} = np.zeros_like("
                                                  f"{self.array_allocations[adjoint]})")
                                 for adjoint in self.branch_allocations.get(
                                     (id(node), field), []) if block] + block
                                for field, block in (("body", body), ("orelse", orelse)))
                if body or orelse:
                    code = [_if(node.test, body, orelse)]
            elif isinstance(node, (ast.For, ast.While)) and self.plan.has_adjoint(node):
                code = self.reverse_loop(node, context)
                if position > 0:
                    self.note_counter_start(code, statements[position - 1])
            for name in reversed(self.tbr.pushed(context, node)):
                code.extend(self.pop(name))
            inverse = self.tbr.inverse(context, node)
            if inverse is not None:
                code.append(copy.deepcopy(inverse))
            out.extend(with_origin(code, origin))
        return out

    def note_counter_start(self, code: list[ast.stmt], previous: ast.stmt) -> None:
        """Tell `counting` the value an int the loop steps starts at, where
        the statement before the loop sets it (`index = d`)."""
        if len(code) == 1 and isinstance(code[0], ast.For) \
                and isinstance(previous, ast.Assign) \
                and isinstance(previous.targets[0], ast.Name) \
                and self.types.get(previous.targets[0].id) == INT:
            code[0].counter_starts = {previous.targets[0].id: copy.deepcopy(previous.value)}

    def reverse_loop(self, loop, context) -> list[ast.stmt]:
        """The loop run backwards (for a parallel loop: in parallel, with the
        statements `parallel.race_free_reverse` puts around it; for a
        checkpointed one, segment by segment, each run again first)."""
        key = id(getattr(loop, "original", loop))
        if context == MAIN and self.checkpoints.covers(loop) and self.checkpoints.segmented \
                and not getattr(loop, "segment", False):
            def segment_reversed(segment):
                segment.segment = True
                return self.reverse_loop(segment, context)
            return self.checkpoints.reverse(
                loop, lambda segment: self.recorded_loop(segment, context), segment_reversed)
        if is_parallel(loop) and self.plan.mode[key] != RECOMPUTE:
            self.refuse(loop, "the reverse sweep of this parallel loop would need values "
                        "recorded on a tape", "the body of a prange must be recomputable "
                        "from its index: no values carried between its iterations, no "
                        "`while` or `break`", "parallel")
        # a prange iteration is one GPU thread, with tapes of its own
        thread = self.tape_free and is_parallel(loop)
        if self.plan.mode[key] == RECOMPUTE:
            self.loops.append(loop)
            outer, self.thread_tapes = self.thread_tapes, self.thread_tapes or thread
            recomputed = self.forward(self.plan.recompute_slice[key], key)
            self.loops.pop()
            if not self.tape_free:
                recomputed = self.reserves.with_reserves(recomputed)
            body = recomputed + self.reverse(loop.body, key)
            self.thread_tapes = outer
        else:
            regenerated = [copy.deepcopy(node) for node in self.plan.regenerated.get(key, [])]
            body = regenerated + self.reverse(loop.body, context)
        # views named in the body, and their adjoints, taken for this iteration
        body = [copy.deepcopy(node) for node in self.loop_views.get(key, [])] + body
        counter = self.counters.get(key)
        if isinstance(loop, ast.While):
            target = self.namer.unique("_iteration")
            header = ast.Call(name_node("range"), [name_node(counter)], [])
        else:
            target = loop.target.id
            # a parallel loop's iterations are independent: any order will do
            header = copy.deepcopy(loop.iter) if is_parallel(loop) else \
                _reversed_range(loop.iter.args, counter)
        reversed_loop = self.mark_private(
            ast.For(name_node(target, store=True), header, body or [ast.Pass()], []), loop)
        reversed_loop.user_loop = getattr(loop, "original", loop)
        # a recomputed iteration pops all it pushes (see `device_tapes`)
        reversed_loop.pops_what_it_pushes = self.plan.mode[key] == RECOMPUTE
        if not is_parallel(loop):
            return [reversed_loop]
        reversed_loop.parallel = True
        primal_locals = {name for name in writes_block(loop.body) - sum_reductions(loop.body)
                         if not is_array(self.types.get(name))}
        tape_names = {name for tape in self.tapes.values() for name in tape[:2]}
        if thread:
            declared = self.local_tapes(body, "in each iteration of this prange loop (one "
                                        "GPU thread)")
            if declared:
                reversed_loop.body = declared + entry_values(body, primal_locals,
                                                             self.types) + body
                tape_names = set()           # the thread's own: nothing shared
        local_adjoints = {self.namer.derived[("_b_", name)] for name in primal_locals
                          if ("_b_", name) in self.namer.derived}
        own = self.own_array_adjoints(loop, reversed_loop)
        lowest = lowest_index(getattr(loop, "original", loop))
        return race_free_reverse(self.parsed, loop, reversed_loop,
                                 set(self.array_adjoint.values()) - own, primal_locals,
                                 local_adjoints, tape_names, self.namer,
                                 "atomic" if self.tape_free else "chunks",
                                 lowest is not None and never_negative(
                                     lowest, 0, nonnegative_names(self.tree)),
                                 {adjoint: rank(self.types[primal])
                                  for primal, adjoint in self.array_adjoint.items()
                                  if is_array(self.types.get(primal))})

    def own_array_adjoints(self, loop, reversed_loop: ast.For) -> set[str]:
        """Give each reversed iteration of the parallel `loop` its own adjoint
        of every array that an iteration creates (`tmp = np.zeros(3)` in the
        body): a fresh name, allocated right after the reversed body
        recomputes the array. Returns those adjoints' names, which no other
        iteration touches."""
        own = set()
        created = {name for name in writes_block(loop.body)
                   if is_array(self.types.get(name)) and name in self.array_adjoint}
        body = reversed_loop.body
        for name in sorted(created):
            adjoint = self.array_adjoint[name]
            position = next((k for k, node in enumerate(body) if isinstance(node, ast.Assign)
                             and isinstance(node.targets[0], ast.Name)
                             and node.targets[0].id == name), None)
            if position is None:
                continue
            private = self.namer.unique(f"{adjoint}_own")
            for node in ast.walk(ast.Module(body, [])):
                if isinstance(node, ast.Name) and node.id == adjoint:
                    node.id = private
            body.insert(position + 1, _parse_statement(f"{private} = np.zeros_like({name})"))
            own.add(private)
        return own

    def adjoint(self, node: ast.Assign) -> list[ast.stmt]:
        if is_array_operation(node, self.types) or is_structured(node):
            return self.array_operation_adjoint(node)
        tape_code = self.tape_adjoint(node)
        if tape_code is not None:
            return tape_code
        target = node.targets[0].id
        if target not in self.active:
            return []
        adjoint = self.namer.adjoint(target)
        code, own_coefficient = [], None
        for name, partial in partials(node):
            if name == target:   # s = s + e: only linear ops keep their target
                own_coefficient = (own_coefficient or 0) + constant_value(partial)
                continue
            if name in self.active:
                accumulation = _accumulate(self.namer.adjoint(name),
                                           ast.BinOp(name_node(adjoint), ast.Mult(), partial))
                if accumulation is not None:
                    code.append(accumulation)
        if own_coefficient is None:
            code.append(ast.Assign([name_node(adjoint, store=True)], ast.Constant(0.0)))
        elif own_coefficient != 1:
            code.append(ast.Assign([name_node(adjoint, store=True)], fold(ast.BinOp(
                _number(own_coefficient), ast.Mult(), name_node(adjoint)))))
        return code

    # -- the whole derivative ------------------------------------------------------
    def transform(self, name: str, seed: str | list[str] | None = None,
                  with_value: bool = True, gradient_tuple: bool = True) -> ast.FunctionDef:
        """`def NAME(params[, seed]): ... return value, grads...`, or, without
        the value, `return grad` / `return (grads...)`: the shape a user sees,
        which is what a further transformation differentiates.

        A function returning a tuple of arrays (the output arguments of one
        that returns nothing) takes a list of seeds, one cotangent per
        element, and returns the tuple of values as its value."""
        tree = self.tree
        returned_node = tree.body[-1].value
        if isinstance(returned_node, ast.Tuple):
            results = [element.id for element in returned_node.elts]
            seeds = list(seed) if seed else [None] * len(results)
        else:
            results = [returned_node.id]
            seeds = [seed]
        body = tree.body[:-1]
        forward = self.forward(body, MAIN)
        reverse = self.reverse(body, MAIN)
        init: list[ast.stmt] = []
        if self.tape_free:
            if self.thread_tapes:      # a device function: one thread runs it all
                init = self.local_tapes(forward + reverse, "in each thread")
        else:
            for tape in sorted(self.tapes_used):
                top, dtype = self.top_of[tape], self.dtype_of[tape]
                init.append(_parse_statement(
                    f"{tape} = np.empty({INITIAL_TAPE_CAPACITY}, {dtype})"))
                init.append(_parse_statement(f"{top} = 0"))
            forward = self.reserves.with_reserves(forward)
        # a derivative never modifies its caller's arrays
        init.extend(_parse_statement(f"{name} = np.copy({name})")
                    for name in self.arrays.written_parameters)
        starts = []
        in_branches = {a for adjoints in self.branch_allocations.values() for a in adjoints}
        for tape, size_from in sorted(self.array_allocations.items()):
            if tape not in in_branches:
                starts.append(_parse_statement(f"{tape} = np.zeros_like({size_from})"))
        for view_adjoint in self.view_order:
            view = self.view_adjoints[view_adjoint]
            starts.append(_parse_statement(
                f"{view_adjoint} = {self.array_adjoint[view.value.id]}[{index_text(view.slice)}]"))
        for variable in self.wrt:          # an array argument nothing reads
            if is_array(self.types.get(variable)) and variable not in self.active:
                starts.append(_parse_statement(
                    f"{self.namer.adjoint(variable)} = np.zeros_like({variable})"))
        for variable in sorted(self.active | set(self.wrt)):
            if (variable in results and variable in self.active) or \
                    is_array(self.types.get(variable)):
                continue
            starts.append(_parse_statement(f"{self.namer.adjoint(variable)} = 0.0"))
        for returned, seed in zip(results, seeds):
            if seed and not self.tape_free:
                # a vjp's cotangent has the shape of the result (or is a
                # float): checked before any adjoint is computed
                starts.append(_parse_statement(f"rt.cotangent_like({seed}, {returned})"))
            if returned in self.active and is_array(self.types.get(returned)):
                # the cotangent of an array result, copied in (never modified)
                starts.append(_parse_statement(f"{self.array_adjoint[returned]} += {seed}"))
            elif returned in self.active:
                starts.append(_parse_statement(
                    f"{self.namer.adjoint(returned)} = {seed if seed else '1.0'}"))
        values = [self.value_before_reverse(returned, forward, reverse)
                  if with_value else returned for returned in results]
        value = name_node(values[0]) if len(values) == 1 and not \
            isinstance(returned_node, ast.Tuple) else \
            ast.Tuple([name_node(v) for v in values], ast.Load())
        # an array's adjoint is its alias class's (`b = x` shares `_b_x`)
        gradients = [name_node(self.array_adjoint.get(w, self.namer.adjoint(w)))
                     for w in self.wrt]
        if with_value:
            final = ast.Return(ast.Tuple([value] + gradients, ast.Load()))
        elif gradient_tuple:
            final = ast.Return(ast.Tuple(gradients, ast.Load()))
        else:
            final = ast.Return(gradients[0])
        final.origin = getattr(tree.body[-1], "origin", None)
        arguments = copy.deepcopy(tree.args)
        arguments.args.extend(ast.arg(seed) for seed in seeds if seed)
        function = function_def(name, arguments, init + forward + starts + reverse + [final])
        function.reverse_start = len(init) + len(forward)
        # the adjoints of views, and the adjoints they are views of: an
        # in-place update of either is seen through the other
        function.writes_through = set(self.view_adjoints) | {
            self.array_adjoint[view.value.id] for view in self.view_adjoints.values()
            if view.value.id in self.array_adjoint}
        function.scratch_arrays = set(self.private) | set(self.snapshot_owner) | \
            contents_tracked(function, self.types)
        return function

    def value_before_reverse(self, returned: str, forward: list[ast.stmt],
                             reverse: list[ast.stmt]) -> str:
        """The name holding `returned`'s value once the forward sweep ends:
        itself, or a copy taken there when the reverse sweep rebinds it or
        restores elements of an array written in place (`out[i] = v`
        undone from the tape)."""
        restored = is_array(self.types.get(returned)) and returned in self.arrays.stored \
            and _elements_stored(reverse) & self.arrays.stored
        if returned not in _assigned(reverse) and not restored:
            return returned
        value = self.namer.unique("_value")
        copied = f"np.copy({returned})" if restored else returned
        forward.append(_parse_statement(f"{value} = {copied}"))
        return value


def _elements_stored(statements: list[ast.stmt]) -> set[str]:
    """The arrays whose elements or slices `statements` assign."""
    return {n.value.id for s in statements for n in ast.walk(s)
            if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store)
            and isinstance(n.value, ast.Name)}


def _if(test, body, orelse) -> ast.If:
    if not body:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test = test.operand
        else:
            test = ast.UnaryOp(ast.Not(), test)
        body, orelse = orelse, []
    return ast.If(copy.deepcopy(test), body, orelse)


def _number(value) -> ast.expr:
    return ast.Constant(float(value)) if value >= 0 else \
        ast.UnaryOp(ast.USub(), ast.Constant(float(-value)))


def _accumulate(adjoint: str, contribution: ast.expr) -> ast.stmt:
    """`adjoint += contribution`; a selecting partial (min, max: `g if c
    else 0.0`) becomes `if c: adjoint += g`, so that an infinite adjoint
    on the side not taken never turns into NaN through `inf * 0`."""
    contribution = fold(contribution)
    if isinstance(contribution, ast.IfExp):
        body = _accumulate(adjoint, contribution.body)
        orelse = _accumulate(adjoint, contribution.orelse)
        body = [] if body is None else [body]
        orelse = [] if orelse is None else [orelse]
        return _if(contribution.test, body, orelse) if body or orelse else None
    if constant_value(contribution) == 0:
        return None
    if isinstance(contribution, ast.UnaryOp) and isinstance(contribution.op, ast.USub):
        return ast.AugAssign(name_node(adjoint, store=True), ast.Sub(), contribution.operand)
    return ast.AugAssign(name_node(adjoint, store=True), ast.Add(), contribution)


def _reversed_range(arguments: list[ast.expr], counter: str | None) -> ast.Call:
    """The indices of `range(*arguments)` in reverse order."""
    if len(arguments) == 1:
        start, stop, step = ast.Constant(0), arguments[0], ast.Constant(1)
    elif len(arguments) == 2:
        (start, stop), step = arguments, ast.Constant(1)
    else:
        start, stop, step = arguments
    minus_one = ast.UnaryOp(ast.USub(), ast.Constant(1))
    if counter is None and constant_value(step) == 1:
        bounds = [ast.BinOp(stop, ast.Sub(), ast.Constant(1)),
                  ast.BinOp(start, ast.Sub(), ast.Constant(1)), minus_one]
    elif counter is None and constant_value(step) == -1:
        bounds = [ast.BinOp(stop, ast.Add(), ast.Constant(1)),
                  ast.BinOp(start, ast.Add(), ast.Constant(1)), ast.Constant(1)]
    else:
        trips = name_node(counter) if counter else ast.Call(
            ast.Attribute(name_node("rt"), "trip_count", ast.Load()), [start, stop, step], [])
        last = ast.BinOp(start, ast.Add(), ast.BinOp(
            ast.BinOp(trips, ast.Sub(), ast.Constant(1)), ast.Mult(), step))
        bounds = [last, ast.BinOp(start, ast.Sub(), step), ast.UnaryOp(ast.USub(), step)]
    bounds = [fold(copy.deepcopy(b)) for b in bounds]
    if constant_value(bounds[2]) == 1:           # range(a, b, 1) -> range(a, b)
        bounds = bounds[:2] if constant_value(bounds[0]) != 0 else bounds[1:2]
    return ast.Call(name_node("range"), bounds, [])


def _assigned(statements: list[ast.stmt]) -> set[str]:
    return {n.id for s in statements for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
