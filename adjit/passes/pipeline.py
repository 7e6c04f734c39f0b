"""The transformation pipeline, in order: the one place that lists the passes.

    front/     parse -> fence -> resolve -> desugar -> anf -> inline
    analysis/  webs -> types -> (gpu/device checks, target="cuda" | lower)
               -> views
               -> (rebind, generated code differentiated again) -> hoist
               -> parallel (checks) -> activity -> arrays
    reverse/   instrument, recompute, tbr, snapshot -> the two sweeps
    | forward/ the tangent statements
    optimize/  definite -> cleanup -> (reverse mode) accumulate, scatter,
               lanes, block_pops, ascending, counting, handoff
    ir/        render

Each pass is one module of a stage subpackage whose docstring states what
it accepts and what it guarantees. `ADJIT_DUMP=anf,reverse` (any pass
names, `vectorise` for the loop rewrites, or `all`) prints the code after
those passes to stderr. Tests run `front.verify.check_anf` after `anf`.
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass

from adjit.errors import DifferentiationError
from adjit.passes.analysis.activity import active_variables, varied_variables
from adjit.passes.front.anf import anf
from adjit.passes.analysis.arrays import check_arrays
from adjit.passes.optimize.definite import initialize_maybe_undefined
from adjit.passes.front.desugar import check_shape_unpacking, desugar
from adjit.passes.gpu.device import check_device_code
from adjit.passes.front.fence import fence
from adjit.passes.analysis.hoist import hoist_invariants
from adjit.passes.front.inline import inline_calls
from adjit.passes.analysis.lower import lower_elementwise
from adjit.passes.forward.transform import ForwardTransformer
from adjit.passes.optimize.cleanup import optimize
from adjit.passes.analysis.parallel import check_parallel_loops, render_parallel_loops
from adjit.passes.front.parse import ParsedFunction, parse_function
from adjit.passes.analysis.rebind import (accumulate_through_views, check_views_with_new_axes,
                                 rename_rebound_arrays)
from adjit.passes.ir.render import comment, render
from adjit.passes.optimize.accumulate import sum_elements_in_locals
from adjit.passes.optimize.ascending import ascend_independent_loops
from adjit.passes.optimize.block_pops import pop_in_blocks
from adjit.passes.optimize.counting import count_upwards
from adjit.passes.optimize.handoff import hand_over_in_registers
from adjit.passes.optimize.lanes import sum_in_lanes
from adjit.passes.front.resolve import resolve
from adjit.passes.reverse.transform import ReverseTransformer
from adjit.passes.optimize.scatter import split_shifted_increments
from adjit.passes.analysis.types import infer_types
from adjit.passes.analysis.views import inline_views
from adjit.passes.analysis.webs import split_by_type
from adjit.rules.registry import FLOAT, INT, is_array, is_float_like

PASSES = ("parse", "fence", "resolve", "desugar", "anf", "inline", "types", "activity",
          "reverse", "forward", "optimize")


def _dump(pass_name: str, tree: ast.AST, extra: str = "") -> None:
    wanted = {w.strip() for w in os.environ.get("ADJIT_DUMP", "").split(",") if w.strip()}
    if pass_name in wanted or "all" in wanted:
        print(f"---- adjit: after {pass_name} {extra}----", file=sys.stderr)
        text = ast.unparse(ast.fix_missing_locations(tree)) if isinstance(tree, ast.AST) else tree
        print(text, file=sys.stderr)


def front_end(fn) -> ParsedFunction:
    """parse, fence, resolve, desugar, anf, inline: the signature-independent
    part."""
    parsed = parse_function(fn)
    _dump("parse", parsed.tree)
    for name, step in (("fence", fence), ("resolve", resolve),
                       ("desugar", desugar), ("anf", anf)):
        parsed = step(parsed)
        _dump(name, parsed.tree)
    # a callee goes through this same front end, its own calls inlined too
    parsed = inline_calls(parsed, front_end)
    _dump("inline", parsed.tree)
    return parsed


@dataclass
class Generated:
    """A generated derivative: its function name and source text."""
    function_name: str
    source: str


def _typed(fn, parameter_types: dict[str, str], wrt: list[str], device: bool = False):
    """The front end, types, and the check that every `wrt` is a float
    (with `device`, the checks of `device.check_device_code` too)."""
    parsed = front_end(fn)
    tree = parsed.tree
    split_by_type(parsed, parameter_types)
    types = infer_types(parsed, parameter_types)
    _dump("types", repr(types))
    check_shape_unpacking(parsed, tree, types)
    if device:
        check_device_code(parsed, tree, types)
    elif lower_elementwise(parsed, types):
        types = infer_types(parsed, parameter_types)
        _dump("lower", tree)
    if parsed.generated:
        accumulate_through_views(parsed, types)
    inline_views(tree, types, parsed.namer.temporaries)
    hoist_invariants(tree, types, parsed.namer.temporaries)
    check_parallel_loops(parsed, tree, types)
    for name in wrt:
        # the type of the argument as called: an int the body later turns
        # into a float (`x -= 0.1 * y`) is still an int argument
        called = parameter_types.get(name)
        if not is_float_like(called) or not is_float_like(types.get(name)):
            raise DifferentiationError(
                f"cannot differentiate with respect to `{name}`: it is "
                f"{_article(called)} here, not a float",
                parsed.location(tree), hint=f"pass a float for `{name}` (e.g. "
                "2.0 instead of 2), or leave it out of `wrt`",
                source_line=parsed.line_text(tree), doc_anchor="arguments")
    return parsed, tree, types


def _outputs(parsed: ParsedFunction, types: dict[str, str],
             arrays: bool = False) -> list[str]:
    """The returned names, each checked to be a float (or, with `arrays`,
    an array of floats)."""
    returned_node = parsed.tree.body[-1]
    value = returned_node.value
    names = [element.id for element in value.elts] if isinstance(value, ast.Tuple) \
        else [value.id]
    for name in names:
        if types.get(name) != FLOAT and not (arrays and is_float_like(types.get(name))):
            raise DifferentiationError(
                f"`{parsed.name}` returns {_article(types.get(name))}; "
                "float outputs are required",
                parsed.location(returned_node), hint="return floats",
                source_line=parsed.line_text(returned_node), doc_anchor="types")
    return names


def reverse_mode(fn, parameter_types: dict[str, str], wrt: list[str],
                 seed: str | None = None, with_value: bool = True,
                 gradient_tuple: bool = True, output: int | None = None,
                 device: bool = False) -> Generated:
    """The source of `fn`'s reverse-mode derivative for these argument types.

    The generated function takes `fn`'s parameters (and `seed`, the output's
    cotangent, when given) and returns `(value, adjoint of each wrt)`, or
    without the value the gradient alone (a tuple if `gradient_tuple`).
    For a function returning a tuple, `output` picks the element to
    differentiate (one row of a Jacobian). With `device` (target="cuda"),
    code that would allocate (arrays, a tape) is refused with a located
    error."""
    parsed, tree, types = _typed(fn, parameter_types, wrt, device)
    returned_node = tree.body[-1]
    if isinstance(returned_node.value, ast.Tuple) and output is not None:
        returned_node.value = returned_node.value.elts[output]
    if isinstance(returned_node.value, ast.Tuple):
        raise DifferentiationError(
            f"`{parsed.name}` returns a tuple of {len(returned_node.value.elts)} "
            "values; jit.grad needs a scalar output",
            parsed.location(returned_node), hint="differentiate one scalar, or "
            "use jit.jvp / jit.jacobian(mode='fwd') for several outputs",
            source_line=parsed.line_text(returned_node), doc_anchor="types")
    (returned,) = _outputs(parsed, types, arrays=seed is not None)
    if seed is not None:
        seed = parsed.namer.unique(seed)
    if parsed.generated:
        check_views_with_new_axes(parsed)
        rename_rebound_arrays(parsed, types)
        returned = tree.body[-1].value.id
    active = active_variables(tree, types, wrt, returned)
    _dump("activity", repr(sorted(active)))
    arrays = check_arrays(parsed, types, varied_variables(tree, types, wrt))
    transformer = ReverseTransformer(tree, types, wrt, active, parsed.namer, arrays, parsed,
                                     tape_free=device)
    function_name = f"{parsed.name}_grad" + ("" if output is None else str(output))
    function = transformer.transform(function_name, seed=seed, with_value=with_value,
                                     gradient_tuple=gradient_tuple)
    _insert_section_comments(function)
    _dump("reverse", function)
    # device code allocates nothing: no scratch arrays or lanes to vectorise
    return _finish(parsed, function, "_b_", types, vectorise=not device)


def forward_mode(fn, parameter_types: dict[str, str], wrt: list[str],
                 with_value: bool = True, device: bool = False) -> Generated:
    """The source of `fn`'s forward-mode derivative for these argument types:
    `NAME_jvp(params..., tangent of each wrt) -> (value, tangent of value)`.
    With `device` (target="cuda"), arrays are refused with a located error."""
    parsed, tree, types = _typed(fn, parameter_types, wrt, device)
    outputs = _outputs(parsed, types, arrays=True)
    active = active_variables(tree, types, wrt, outputs)
    _dump("activity", repr(sorted(active)))
    arrays = check_arrays(parsed, types, varied_variables(tree, types, wrt), reverse=False)
    function = ForwardTransformer(tree, types, wrt, active, parsed.namer, arrays).transform(
        f"{parsed.name}_jvp", with_value=with_value)
    _dump("forward", function)
    return _finish(parsed, function, "_d_", types)


def _finish(parsed: ParsedFunction, function: ast.FunctionDef, prefix: str,
            types: dict[str, str], vectorise: bool = True) -> Generated:
    initialize_maybe_undefined(function, types)
    derived = {name for (kind, _), name in parsed.namer.derived.items() if kind == prefix}
    function = optimize(function, derived)
    _dump("optimize", function)
    if prefix == "_b_" and vectorise:
        _vectorisable_loops(parsed, function, types)
    parallel = render_parallel_loops(function)
    source = render(function, parsed.source_lines)
    if parallel:
        source = "from numba import prange\n\n\n" + source
    return Generated(function.name, source)


def _vectorisable_loops(parsed: ParsedFunction, function: ast.FunctionDef,
                        types: dict[str, str]) -> None:
    """accumulate, scatter, lanes, block pops, ascending, counting and
    handoff: reverse-sweep loops rewritten so that LLVM can keep sums in
    registers and vectorise them (adjoint elements summed over an inner
    loop, stencil adjoints, parameters summed over a nest, a loop's pops in
    one copy, independent iterations and counting nests run upwards, an
    adjoint array carried from one loop to the next made a local)."""
    ranks, scalars = {}, set()
    for (kind, primal), adjoint in parsed.namer.derived.items():
        if kind == "_b_" and is_array(types.get(primal)):
            ranks[adjoint] = types[primal].count(":")
        elif kind == "_b_" and types.get(primal) == FLOAT:
            scalars.add(adjoint)
    sum_elements_in_locals(function, ranks, parsed.namer)
    split_shifted_increments(function, ranks, parsed.namer)
    sum_in_lanes(function, scalars, parsed.namer)
    array_ranks = {name: kind.count(":") for name, kind in types.items() if is_array(kind)}
    pop_in_blocks(function, {**array_ranks, **ranks}, parsed.namer)
    ascend_independent_loops(function, {**array_ranks, **ranks})
    count_upwards(function, {**array_ranks, **ranks},
                  {name for name, kind in types.items() if kind == INT})
    hand_over_in_registers(function, {**array_ranks, **ranks})
    _dump("vectorise", function)


def _insert_section_comments(function: ast.FunctionDef) -> None:
    start = function.reverse_start
    function.body[start:start] = [comment("reverse sweep: adjoints in reverse order")]


def _article(type_name: str | None) -> str:
    if type_name is not None and "[" in type_name:
        return f"an array of {type_name.split('[')[0]}s"
    return {"int": "an int", "bool": "a bool", "float": "a float"}.get(
        type_name, "a value of unknown type")
