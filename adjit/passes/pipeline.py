"""The transformation pipeline, in order: the one place that lists the passes.

    front/     parse -> tuples (iteration) -> fence -> resolve -> desugar -> anf
               -> inline
    analysis/  webs -> types -> slots -> (gpu/device checks, target="cuda" | lower
               -> view_writes) -> views
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
from contextlib import contextmanager
from dataclasses import dataclass

from adjit.errors import DifferentiationError, LocatedError
from adjit.passes.analysis.activity import active_variables, varied_variables
from adjit.passes.front.anf import anf
from adjit.passes.analysis.arrays import ArrayFacts, check_arrays
from adjit.passes.optimize.definite import initialize_maybe_undefined
from adjit.passes.front.desugar import check_shape_unpacking, desugar
from adjit.passes.gpu.device import check_device_code
from adjit.passes.front.fence import fence
from adjit.passes.front.tuples import element_parameters, flatten_tuples, pack_parameters
from adjit.passes.analysis.hoist import hoist_invariants
from adjit.passes.front.inline import inline_calls
from adjit.passes.front.outputs import output_arguments, return_outputs, returns_nothing
from adjit.passes.analysis.lower import lower_elementwise
from adjit.passes.forward.transform import ForwardTransformer
from adjit.passes.optimize.cleanup import optimize
from adjit.passes.analysis.parallel import check_parallel_loops, render_parallel_loops
from adjit.passes.front.parse import ParsedFunction, parse_function
from adjit.passes.analysis.rebind import (accumulate_through_views, check_views_with_new_axes,
                                 rename_rebound_arrays)
from adjit.passes.ir.render import comment, constant_arrays, render
from adjit.passes.optimize.accumulate import sum_elements_in_locals
from adjit.passes.optimize.ascending import ascend_independent_loops
from adjit.passes.optimize.block_pops import pop_in_blocks
from adjit.passes.optimize.counting import count_upwards
from adjit.passes.optimize.handoff import hand_over_in_registers
from adjit.passes.optimize.lanes import sum_in_lanes
from adjit.passes.front.resolve import resolve
from adjit.passes.reverse.transform import ReverseTransformer
from adjit.passes.optimize.scatter import split_shifted_increments
from adjit.passes.analysis.slots import stack_rebound_arrays
from adjit.passes.analysis.types import infer_types
from adjit.passes.analysis.views import inline_views
from adjit.passes.analysis.view_writes import write_through_bases
from adjit.passes.analysis.webs import split_by_type
from adjit.rules.registry import BOOL, FLOAT, INT, array_type, is_array, is_float_like

# the element type adjit tracks for a global array of this dtype kind
_ELEMENTS = {"f": FLOAT, "i": INT, "b": BOOL}

PASSES = ("parse", "tuples", "fence", "resolve", "desugar", "anf", "inline", "types", "slots",
          "lower", "view_writes", "activity", "reverse", "forward", "optimize")


def _dump(pass_name: str, tree: ast.AST, extra: str = "") -> None:
    wanted = {w.strip() for w in os.environ.get("ADJIT_DUMP", "").split(",") if w.strip()}
    if pass_name in wanted or "all" in wanted:
        print(f"---- adjit: after {pass_name} {extra}----", file=sys.stderr)
        text = ast.unparse(ast.fix_missing_locations(tree)) if isinstance(tree, ast.AST) else tree
        print(text, file=sys.stderr)


def front_end(fn, structures: dict | None = None,
              constant_parameters: dict | None = None) -> ParsedFunction:
    """parse, tuples (and iteration), fence, resolve, desugar, anf, inline: the
    part that depends on the signature only through the structure of tuple
    arguments (`structures`: parameter -> nested tuple of element types;
    None before any call, to refuse unsupported code early); for a callee,
    with the parameters its call passes as constants."""
    parsed = parse_function(fn)
    parsed.constant_parameters = dict(constant_parameters or {})
    _dump("parse", parsed.tree)
    parsed = flatten_tuples(parsed, structures)
    _dump("tuples", parsed.tree)
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


def _typed(parsed: ParsedFunction, parameter_types: dict[str, str], wrt: list[str],
           device: bool = False):
    """Types, and the check that every `wrt` is a float (with `device`, the
    checks of `device.check_device_code` too). A tuple argument's elements
    are parameters of their own from here on (`tuples`): `wrt` comes back
    with each tuple replaced by its elements."""
    tree = parsed.tree
    parameter_types, wrt = element_parameters(parsed, parameter_types, wrt)
    # the global arrays it reads are typed like parameters (never active)
    parameter_types = {**{name: array_type(_ELEMENTS[array.dtype.kind], array.ndim)
                          for name, array in parsed.arrays.items()}, **parameter_types}
    split_by_type(parsed, parameter_types)
    types = infer_types(parsed, parameter_types)
    _dump("types", repr(types))
    stack_rebound_arrays(parsed, types)
    _dump("slots", tree)
    check_shape_unpacking(parsed, tree, types)
    if device:
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise):     # CUDA kernels do not raise
                raise DifferentiationError(
                    "an input check (`raise`, `assert`) in device code (target='cuda')",
                    parsed.location(node), hint="check the inputs before launching",
                    source_line=parsed.line_text(node), doc_anchor="parallel")
        for name in parsed.arrays:
            node = next(n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name)
            raise DifferentiationError(
                f"the global array `{parsed.user_names.get(name, name)}` in device code "
                "(target='cuda')", parsed.location(node), hint="pass it as an argument",
                source_line=parsed.line_text(node), doc_anchor="parallel")
        check_device_code(parsed, tree, types)
    else:
        if lower_elementwise(parsed, types):
            types = infer_types(parsed, parameter_types)
            _dump("lower", tree)
        if write_through_bases(parsed, types):
            types = infer_types(parsed, parameter_types)
            _dump("view_writes", tree)
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
    return tree, types, wrt


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


def _output_arguments(parsed: ParsedFunction, types: dict[str, str], wrt: list[str],
                      outputs: list[str] | None, reverse: bool) -> ArrayFacts | None:
    """For a function that returns nothing: its output arguments (`outputs`,
    or every parameter it writes into) made its returned values
    (`front.outputs`); the array facts, computed to check them, are
    returned for the transformation. None for a function returning a value."""
    tree = parsed.tree
    if not returns_nothing(tree):
        return None
    arrays = check_arrays(parsed, types, varied_variables(tree, types, wrt), reverse=reverse)
    written = output_arguments(tree)

    def refuse(message: str, hint: str):
        raise DifferentiationError(message, parsed.location(tree), hint=hint,
                                   source_line=parsed.line_text(tree), doc_anchor="calls")
    for name in arrays.written_parameters:
        if name not in written:
            refuse(f"`{parsed.name}` writes into its parameter `{name}` through a name "
                   "adjit cannot trace back to it", f"write into `{name}` by its own name "
                   f"(`{name}[i] = v`)")
    names = written if outputs is None else outputs
    if not names:
        refuse(f"`{parsed.name}` returns nothing and writes into none of its parameters: "
               "it has no result to differentiate", "return the result, or write it into "
               "an array argument (`out[i] = v`)")
    for name in names:
        if name not in written:
            refuse(f"`{name}` is named as an output argument, but `{parsed.name}` never "
                   "writes into it", f"name the parameters it fills: {written}")
        if not is_array(types.get(name)) or not is_float_like(types.get(name)):
            refuse(f"the output argument `{name}` is {_article(types.get(name))}; "
                   "arrays of floats are required", "pass an array of floats")
    return_outputs(tree, names)
    return arrays


def _structures(parameter_types: dict) -> dict:
    """The tuple arguments' structures (parameter -> nested element types)."""
    return {name: kind for name, kind in parameter_types.items() if isinstance(kind, tuple)}


@contextmanager
def _in_user_terms(parsed: ParsedFunction):
    """A located error about inlined code names its variables as the user
    wrote them (`inline` renamed them)."""
    try:
        yield
    except LocatedError as error:
        raise error.in_user_terms(parsed.user_names) from None


def reverse_mode(fn, parameter_types: dict[str, str], wrt: list[str],
                 seed: str | None = None, with_value: bool = True,
                 gradient_tuple: bool = True, output: int | None = None,
                 device: bool = False, outputs: list[str] | None = None,
                 checkpointed: bool = True) -> Generated:
    """The source of `fn`'s reverse-mode derivative (see `_reverse_mode`)."""
    parsed = front_end(fn, _structures(parameter_types))
    with _in_user_terms(parsed):
        return _reverse_mode(parsed, parameter_types, wrt, seed, with_value,
                             gradient_tuple, output, device, outputs, checkpointed)


def _reverse_mode(parsed: ParsedFunction, parameter_types: dict[str, str], wrt: list[str],
                  seed: str | None, with_value: bool, gradient_tuple: bool,
                  output: int | None, device: bool,
                  outputs: list[str] | None, checkpointed: bool = True) -> Generated:
    """The source of `fn`'s reverse-mode derivative for these argument types.

    The generated function takes `fn`'s parameters (and `seed`, the output's
    cotangent, when given) and returns `(value, adjoint of each wrt)`, or
    without the value the gradient alone (a tuple if `gradient_tuple`).
    For a function returning a tuple, `output` picks the element to
    differentiate (one row of a Jacobian). A function returning nothing is
    differentiated for its output arguments (`outputs`, by default all the
    parameters it writes into), given a `seed` (a vjp): one cotangent
    each (`seed`, or `seed_NAME` for several), and the value is the tuple of
    their contents on exit. With `device` (target="cuda"), code that would
    allocate (arrays, a tape) is refused with a located error. Without
    `checkpointed`, long loops (`reverse/checkpoints.py`) are recorded whole
    after a check of the budget that raises `rt.CheckpointsNeeded`."""
    user_wrt = wrt
    tree, types, wrt = _typed(parsed, parameter_types, wrt, device)
    if returns_nothing(tree) and (seed is None or output is not None):
        raise DifferentiationError(
            f"`{parsed.name}` returns nothing: jit.grad needs a scalar result",
            parsed.location(tree), hint="its results are the arrays it fills: use "
            "jit.vjp (a cotangent per output argument) or jit.jvp, or return a float",
            source_line=parsed.line_text(tree), doc_anchor="calls")
    arrays = _output_arguments(parsed, types, wrt, outputs, reverse=True)
    returned_node = tree.body[-1]
    several = arrays is not None and isinstance(returned_node.value, ast.Tuple)
    if isinstance(returned_node.value, ast.Tuple) and output is not None:
        returned_node.value = returned_node.value.elts[output]
    if isinstance(returned_node.value, ast.Tuple) and not several:
        raise DifferentiationError(
            f"`{parsed.name}` returns a tuple of {len(returned_node.value.elts)} "
            "values; jit.grad needs a scalar output",
            parsed.location(returned_node), hint="differentiate one scalar, or "
            "use jit.jvp / jit.jacobian(mode='fwd') for several outputs",
            source_line=parsed.line_text(returned_node), doc_anchor="types")
    returned = _outputs(parsed, types, arrays=seed is not None)
    if several:         # one cotangent per output argument
        seed = [parsed.namer.unique(f"{seed}_{name}") for name in returned]
    else:
        (returned,) = returned
        if seed is not None:
            seed = parsed.namer.unique(seed)
    if parsed.generated:
        check_views_with_new_axes(parsed)
        rename_rebound_arrays(parsed, types)
        returned = tree.body[-1].value.id
    active = active_variables(tree, types, wrt, returned)
    _dump("activity", repr(sorted(active)))
    arrays = arrays or check_arrays(parsed, types, varied_variables(tree, types, wrt))
    transformer = ReverseTransformer(tree, types, wrt, active, parsed.namer, arrays, parsed,
                                     tape_free=device, segmented=checkpointed)
    function_name = f"{parsed.name}_grad" + ("" if output is None else str(output))
    function = transformer.transform(function_name, seed=seed, with_value=with_value,
                                     gradient_tuple=gradient_tuple or wrt != user_wrt)
    pack_parameters(parsed, function, user_wrt, "_b_", with_value, gradient_tuple)
    _insert_section_comments(function)
    _dump("reverse", function)
    # device code allocates nothing: no scratch arrays or lanes to vectorise
    return _finish(parsed, function, "_b_", types, vectorise=not device)


def forward_mode(fn, parameter_types: dict[str, str], wrt: list[str],
                 with_value: bool = True, device: bool = False,
                 outputs: list[str] | None = None) -> Generated:
    """The source of `fn`'s forward-mode derivative (see `_forward_mode`)."""
    parsed = front_end(fn, _structures(parameter_types))
    with _in_user_terms(parsed):
        return _forward_mode(parsed, parameter_types, wrt, with_value, device, outputs)


def _forward_mode(parsed: ParsedFunction, parameter_types: dict[str, str], wrt: list[str],
                  with_value: bool, device: bool, outputs: list[str] | None) -> Generated:
    """The source of `fn`'s forward-mode derivative for these argument types:
    `NAME_jvp(params..., tangent of each wrt) -> (value, tangent of value)`.
    A function returning nothing is differentiated for its output
    arguments (`outputs`, by default all the parameters it writes into):
    their contents on exit, and their tangents (tuples for several).
    With `device` (target="cuda"), arrays are refused with a located error."""
    user_wrt = wrt
    tree, types, wrt = _typed(parsed, parameter_types, wrt, device)
    arrays = _output_arguments(parsed, types, wrt, outputs, reverse=False)
    returned = _outputs(parsed, types, arrays=True)
    active = active_variables(tree, types, wrt, returned)
    _dump("activity", repr(sorted(active)))
    arrays = arrays or check_arrays(parsed, types, varied_variables(tree, types, wrt),
                                    reverse=False)
    function = ForwardTransformer(tree, types, wrt, active, parsed.namer, arrays).transform(
        f"{parsed.name}_jvp", with_value=with_value)
    pack_parameters(parsed, function, user_wrt, "_d_")
    _dump("forward", function)
    return _finish(parsed, function, "_d_", types)


def _finish(parsed: ParsedFunction, function: ast.FunctionDef, prefix: str,
            types: dict[str, str], vectorise: bool = True) -> Generated:
    # the adjoint or tangent of an array is an array: it gets no start value
    initialize_maybe_undefined(function, {
        **{name: types[primal] for (_, primal), name in parsed.namer.derived.items()
           if is_array(types.get(primal))}, **types})
    derived = {name for (kind, _), name in parsed.namer.derived.items() if kind == prefix}
    function = optimize(function, derived)
    _dump("optimize", function)
    if prefix == "_b_" and vectorise:
        _vectorisable_loops(parsed, function, types)
    parallel = render_parallel_loops(function)
    source = constant_arrays(parsed.arrays) + render(function, parsed.source_lines)
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
