"""device_tapes: the fixed capacity of the tapes of device code (target="cuda").

Device code cannot allocate, so it cannot grow a tape as the cpu does
(`runtime/tape.py`). It keeps each tape in a per-thread stack of a size
fixed when the code is generated, with the same inline pushes and pops::

    _tape_f = cuda.local.array(5, np.float64)
    _top_f = 0
    ...
    _tape_f[_top_f] = a          # a push
    _top_f += 1
    ...
    _top_f -= 1                  # a pop
    a = _tape_f[_top_f]

This module computes that size, an upper bound on how high each top
rises (`tape_capacities`), and writes the declarations (`declare_tapes`,
called by `reverse` for a device function's body and for each prange
iteration's reversal, and `entry_values` for the latter).

Input: generated statements, the whole work of one thread (a device
function's forward and reverse sweeps, or the reversed body of a prange
loop, one iteration per thread), in which each top named in `tops`
starts at 0 and changes only by `top += c` and `top -= c` with `c` an int
constant; loops that are `for` over `range` (or `prange`) and `while`;
emitted loops may carry `user_loop`, the user's loop they derive from,
and statements `origin`, the user's line (for located errors). A loop
marked `pops_what_it_pushes` is the reversal of a recomputed loop: each
of its iterations re-runs a slice of the body, pushing, then pops all of
it back (the last-in-first-out discipline every tape relies on, on the
cpu too: a reversal that broke it would read wrong values there).
Output: per top, an upper bound on its value anywhere in the statements
(the capacity of its tape), or a located `DifferentiationError`:

* at a loop that records values in its iterations (its pushes may
  outnumber its pops) and whose trip count is not a literal (`range(n)`
  of an argument `n`, a `while` loop): the tape cannot be bounded;
* where the tapes of one thread would hold more than `MAX_SLOTS` values
  in all: local memory per thread is limited.

The bound is an abstract interpretation, per statement, of two upper
bounds: `delta`, how much a top changes from before to after it, and
`peak`, how far above its value before it the top rises inside it. Both
branches of an `if` count (the larger of each), a loop of literal trip
count T adds T times its body's `delta`, and an iteration left early is
counted at its body's `peak` (every iteration for `continue`, the last
for `break`). A loop of unknown trip count is bounded only when a full
iteration cannot raise the top (its body's `delta` is at most 0, or the
loop pops what it pushes): then it rises at most its body's `peak`, and
adds at most 0 (its `peak` when a `break` may end it midway). Branches
make `delta` loose: `if c: push` going forward and `if c: pop` going
back count +1 and 0, the test's value being the same on both sides is
not seen; hence the mark, without which a recomputed loop of `range(n)`
around a branch that records would be refused. Every step
over-approximates, never under: a tape too small would write past its
end, silently, on a GPU.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from adjit.errors import AdjitError, DifferentiationError
from adjit.passes.ir.build import statement
from adjit.passes.ir.fold import integer_constant
from adjit.passes.analysis.parallel import live_in
from adjit.passes.ir.render import comment
from adjit.rules.registry import BOOL, FLOAT, INT

# Values (float64 or int64, 8 bytes each) the tapes of one thread hold at
# most: 2048 is 16 KiB of local memory per thread, which the GPU reserves
# for every thread that can be resident at once (docs/parallel.md#tapes-in-local-memory).
MAX_SLOTS = 2048

_ANCHOR = "parallel"


@dataclass(frozen=True)
class _Effect:
    delta: int      # top after - top before, at most
    peak: int       # highest top inside - top before, at most (>= 0)


def tape_capacities(parsed, statements: list[ast.stmt], tops: list[str],
                    description: str) -> dict[str, int]:
    """Per top in `tops`, the capacity its tape needs for `statements`
    (see the module); `description` says whose tapes these are in the
    error past `MAX_SLOTS` ("each thread", "each iteration of this prange
    loop")."""
    capacities = {top: _Bound(parsed, top).block(statements).peak for top in tops}
    total = sum(capacities.values())
    if total > MAX_SLOTS:
        culprit = _first_over(parsed, statements, tops)
        raise DifferentiationError.at(
            parsed, _where(culprit),
            f"the reverse sweep records up to {total} values on its tape in device code "
            f"(target='cuda'), {description}: more than the {MAX_SLOTS} a GPU thread "
            f"keeps in local memory ({MAX_SLOTS * 8 // 1024} KiB)",
            "record fewer values: a smaller literal trip count, a loop body that can be "
            "recomputed from its index (no value carried from one iteration to the "
            "next), forward mode (jit.jvp, which needs no tape), or target='cpu'",
            _ANCHOR)
    return capacities


def declare_tapes(parsed, statements: list[ast.stmt], tapes: list[tuple[str, str, str]],
                  whose: str) -> list[ast.stmt]:
    """The declarations, to put before `statements` (one thread's work), of
    those of `tapes` (`(tape, top, dtype)`: `("_tape_f", "_top_f",
    "np.float64")`) that the statements use: a comment, then per tape
    `tape = cuda.local.array(capacity, dtype)` and `top = 0`."""
    used = {node.id for node in ast.walk(ast.Module(statements, []))
            if isinstance(node, ast.Name)}
    tapes = [entry for entry in tapes if entry[0] in used]
    if not tapes:
        return []
    capacities = tape_capacities(parsed, statements, [top for _, top, _ in tapes], whose)
    sizes = " and ".join(f"{capacities[top]} {'floats' if 'float' in dtype else 'ints'}"
                         for _, top, dtype in tapes)
    declarations = [comment(f"a tape per thread, in local memory: at most {sizes}")]
    for tape, top, dtype in tapes:
        declarations.append(statement(
            f"{tape} = cuda.local.array({max(capacities[top], 1)}, {dtype})"))
        declarations.append(statement(f"{top} = 0"))
    return declarations


def entry_values(body: list[ast.stmt], private: set[str], types: dict[str, str]
                 ) -> list[ast.stmt]:
    """`name = 0.0` (0, False) to put first in a prange iteration's reversal
    `body` for each scalar `private` to the iteration that the body reads
    before it sets it: only a first push does (the iteration's primal
    writes a private before it reads it), to pop it back unused. Without
    it, the value would come from the primal loop, which would then stay,
    a kernel of its own computing nothing the reverse sweep uses."""
    zeros = {FLOAT: "0.0", INT: "0", BOOL: "False"}
    read_first = sorted(name for name in live_in(body) & private
                        if types.get(name) in zeros)
    if not read_first:
        return []
    return [comment("set before the first push records them (never used)")] + \
        [statement(f"{name} = {zeros[types[name]]}") for name in read_first]


def _first_over(parsed, statements: list[ast.stmt], tops: list[str]) -> ast.stmt:
    """The first of `statements` by which the tapes' bounds pass MAX_SLOTS."""
    bounds = {top: _Bound(parsed, top) for top in tops}
    deltas = {top: 0 for top in tops}
    peaks = {top: 0 for top in tops}
    for node in statements:
        for top, bound in bounds.items():
            effect = bound.statement(node)
            peaks[top] = max(peaks[top], deltas[top] + effect.peak)
            deltas[top] += effect.delta
        if sum(peaks.values()) > MAX_SLOTS:
            return node
    return statements[-1]


def _where(node: ast.stmt) -> ast.AST:
    """A node located in the user's source for an error about `node`."""
    loop = getattr(node, "user_loop", None)
    if loop is not None:
        return loop
    origin = getattr(node, "origin", None)
    for inner in ast.walk(node):
        loop = getattr(inner, "user_loop", None)
        if loop is not None:
            return loop
        if origin is None:
            origin = getattr(inner, "origin", None)
    located = ast.Pass()
    if origin is not None:
        located.lineno, located.col_offset = origin, 0
    return located


class _Bound:
    """The (delta, peak) bounds of statements for one top."""

    def __init__(self, parsed, top: str):
        self.parsed = parsed
        self.top = top

    def block(self, statements: list[ast.stmt]) -> _Effect:
        delta = peak = 0
        for node in statements:
            effect = self.statement(node)
            peak = max(peak, delta + effect.peak)
            delta += effect.delta
        return _Effect(delta, peak)

    def statement(self, node: ast.stmt) -> _Effect:
        if isinstance(node, ast.If):
            body, orelse = self.block(node.body), self.block(node.orelse)
            return _Effect(max(body.delta, orelse.delta), max(body.peak, orelse.peak))
        if isinstance(node, (ast.For, ast.While)):
            return self.loop(node)
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == self.top:
            step = integer_constant(node.value)
            if step is None or not isinstance(node.op, (ast.Add, ast.Sub)):
                _internal(f"`{ast.unparse(node)}` moves the top of a tape")
            step = step if isinstance(node.op, ast.Add) else -step
            return _Effect(step, max(step, 0))
        if any(isinstance(inner, ast.Name) and inner.id == self.top
               and isinstance(inner.ctx, ast.Store) for inner in ast.walk(node)):
            _internal(f"`{ast.unparse(node)}` sets the top of a tape")
        if any(isinstance(inner, ast.stmt) and inner is not node for inner in ast.walk(node)):
            _internal(f"a {type(node).__name__} statement in device code")
        return _Effect(0, 0)

    def loop(self, loop: ast.For | ast.While) -> _Effect:
        body = self.block(loop.body)
        leaves = _leaves_early(loop.body)
        # a full iteration changes the top by at most `step`; one left early,
        # anywhere in the body, by at most the body's peak: every iteration
        # may be left so by `continue`, only the last by `break`
        step = body.peak if "continue" in leaves else body.delta
        if getattr(loop, "pops_what_it_pushes", False):
            step = min(step, 0)
        last = body.peak if "break" in leaves else max(step, 0)
        trips = _literal_trip_count(loop) if isinstance(loop, ast.For) else None
        if trips is None:
            if step > 0:
                self.unbounded(loop)
            effect = _Effect(last if "break" in leaves else 0, body.peak)
        elif trips == 0:
            effect = _Effect(0, 0)
        else:
            rise = (trips - 1) * max(step, 0)
            delta = trips * step if "break" not in leaves else rise + last
            effect = _Effect(delta, rise + body.peak)
        if loop.orelse:          # runs unless a break left the loop: either may be
            after = self.block(loop.orelse)
            effect = _Effect(effect.delta + max(after.delta, 0),
                             max(effect.peak, effect.delta + after.peak))
        return effect

    def unbounded(self, loop: ast.For | ast.While):
        user_loop = getattr(loop, "user_loop", None)
        if user_loop is None:
            _internal("a loop of unknown trip count records values, and it is not "
                      "the user's")
        if isinstance(user_loop, ast.While):
            message = ("the reverse sweep of this `while` loop records values on a tape in "
                       "each of its iterations, whose number is not known when the code is "
                       "generated")
            hint = ("write it as a `for` loop with a literal trip count (`for k in "
                    "range(8):`, left with `break` if need be), use forward mode "
                    "(jit.jvp), or target='cpu'")
        else:
            message = ("the reverse sweep of this `for` loop records values on a tape in "
                       "each of its iterations, and its trip count is not a constant known "
                       "when the code is generated")
            hint = ("give the loop a literal trip count (`range(8)`, or a numeric "
                    "global); or use forward mode (jit.jvp), a body that can be recomputed "
                    "from the loop index (no value carried from one iteration to the "
                    "next), or target='cpu'")
        raise DifferentiationError.at(
            self.parsed, user_loop,
            f"{message}: device code (target='cuda') keeps its tape in a "
            "`cuda.local.array` whose size is fixed at compile time", hint, _ANCHOR)


def _literal_trip_count(loop: ast.For) -> int | None:
    """len(range(...)) of a `for` over `range`/`prange` (or `rt.trip_count`)
    of int literals; None for anything else."""
    call = loop.iter
    if not isinstance(call, ast.Call) or call.keywords:
        return None
    name = ast.unparse(call.func)
    if name not in ("range", "prange", "rt.trip_count"):
        return None
    bounds = [integer_constant(argument) for argument in call.args]
    if any(bound is None for bound in bounds) or not 1 <= len(bounds) <= 3:
        return None
    if name == "rt.trip_count":
        return None if len(bounds) != 3 or bounds[2] == 0 else \
            len(range(*bounds))
    if len(bounds) == 3 and bounds[2] == 0:
        return None
    return len(range(*bounds))


def _leaves_early(statements: list[ast.stmt]) -> set[str]:
    """Which of "break" and "continue" this loop body (not a loop inside it)
    holds: each ends an iteration before its end."""
    found = set()
    for node in statements:
        if isinstance(node, ast.Break):
            found.add("break")
        elif isinstance(node, ast.Continue):
            found.add("continue")
        elif isinstance(node, ast.If):
            found |= _leaves_early(node.body + node.orelse)
    return found


def _internal(message: str):
    raise AdjitError(f"internal: cannot size the tape of device code: {message}; "
                     "please report it")
