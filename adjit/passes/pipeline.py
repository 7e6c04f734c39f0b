"""The transformation pipeline, in order.

    parse -> fence -> resolve -> desugar -> anf -> types -> activity
          -> reverse (instrument, recompute, tbr) -> optimize -> render

Each pass is one module of this package whose docstring states what it
accepts and what it guarantees. `ADJIT_DUMP=anf,reverse` (any pass names,
or `all`) prints the code after those passes to stderr. Tests run
`verify.check_anf` after `anf`.
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass

from adjit.errors import DifferentiationError
from adjit.passes.activity import active_variables
from adjit.passes.anf import anf
from adjit.passes.desugar import desugar
from adjit.passes.fence import fence
from adjit.passes.optimize import optimize
from adjit.passes.parse import ParsedFunction, parse_function
from adjit.passes.render import comment, render
from adjit.passes.resolve import resolve
from adjit.passes.reverse import ReverseTransformer
from adjit.passes.types import infer_types
from adjit.rules.registry import FLOAT

PASSES = ("parse", "fence", "resolve", "desugar", "anf", "types", "activity",
          "reverse", "optimize")


def _dump(pass_name: str, tree: ast.AST, extra: str = "") -> None:
    wanted = {w.strip() for w in os.environ.get("ADJIT_DUMP", "").split(",") if w.strip()}
    if pass_name in wanted or "all" in wanted:
        print(f"---- adjit: after {pass_name} {extra}----", file=sys.stderr)
        text = ast.unparse(ast.fix_missing_locations(tree)) if isinstance(tree, ast.AST) else tree
        print(text, file=sys.stderr)


def front_end(fn) -> ParsedFunction:
    """parse, fence, resolve, desugar, anf: the signature-independent part."""
    parsed = parse_function(fn)
    _dump("parse", parsed.tree)
    for name, step in (("fence", fence), ("resolve", resolve),
                       ("desugar", desugar), ("anf", anf)):
        parsed = step(parsed)
        _dump(name, parsed.tree)
    return parsed


@dataclass
class Generated:
    """A generated derivative: its function name and source text."""
    function_name: str
    source: str


def reverse_mode(fn, parameter_types: dict[str, str], wrt: list[str],
                 seed: str | None = None) -> Generated:
    """The source of `fn`'s reverse-mode derivative for these argument types.

    The generated function takes `fn`'s parameters (and `seed`, the output's
    cotangent, when given) and returns `(value, adjoint of each wrt)`."""
    parsed = front_end(fn)
    tree = parsed.tree
    types = infer_types(parsed, parameter_types)
    _dump("types", repr(types))
    for name in wrt:
        if types.get(name) != FLOAT:
            raise DifferentiationError(
                f"cannot differentiate with respect to `{name}`: it is "
                f"{_article(types.get(name))} here, not a float",
                parsed.location(tree), hint=f"pass a float for `{name}` (e.g. "
                "2.0 instead of 2), or leave it out of `wrt`",
                source_line=parsed.line_text(tree), doc_anchor="arguments")
    returned_node = tree.body[-1]
    returned = returned_node.value.id
    if types.get(returned) != FLOAT:
        raise DifferentiationError(
            f"`{parsed.name}` returns {_article(types.get(returned))}; "
            "a scalar float output is required",
            parsed.location(returned_node), hint="return a float",
            source_line=parsed.line_text(returned_node), doc_anchor="types")
    active = active_variables(tree, types, wrt, returned)
    _dump("activity", repr(sorted(active)))
    transformer = ReverseTransformer(tree, types, wrt, active, parsed.namer)
    function_name = f"{parsed.name}_grad"
    function = transformer.transform(function_name, seed=seed)
    _insert_section_comments(function)
    _dump("reverse", function)
    adjoints = {name for (prefix, _), name in parsed.namer.derived.items()
                if prefix == "_b_"}
    function = optimize(function, adjoints)
    _dump("optimize", function)
    return Generated(function_name, render(function, parsed.source_lines))


def _insert_section_comments(function: ast.FunctionDef) -> None:
    start = function.reverse_start
    function.body[start:start] = [comment("reverse sweep: adjoints in reverse order")]


def _article(type_name: str | None) -> str:
    return {"int": "an int", "bool": "a bool", "float": "a float"}.get(
        type_name, "a value of unknown type")
