"""The mutation tool (tests/mutation.py) on a few mutants, in-process: the
rule checks of tests/test_rules.py kill a wrong second-order factor of
`x ** y`, a sign flip of the divisor partial of `%` and a negated tangent
of `np.dot`, and let an unchanged rule pass; its named patches still apply
to the code, and each explained equivalent names a mutant it makes."""

from __future__ import annotations

import ast
import re

import numpy as np

import mutation
import test_rules
from adjit.rules import REGISTRY
from adjit.runtime import helpers as rt


def outcome_of(mutant, tmp_path):
    return mutation.run_mutant(mutant, test_rules.all_checks(), tmp_path, targeted_only=True)


def replaced_partial(key, position, source, checked_as):
    primitive = REGISTRY.lookup(key)
    partials = list(primitive.partial_expressions)
    partials[position] = ast.parse(source, mode="eval").body
    return mutation.Mutant(f"self-check:{source}", "self-check", checked_as,
                           mutation._setter([primitive], tuple(partials)))


def test_a_second_order_factor_lost_from_a_power_is_killed(tmp_path):
    """d/dy of the y partial of x ** y without its log x factor: the Hessian
    of x ** y is checked against second differences of the function."""
    mutant = replaced_partial(rt.pow_exponent_partial, 1, "rt.pow_exponent_partial(x, y)",
                              ast.Pow)
    outcome = outcome_of(mutant, tmp_path)
    assert outcome.status == "killed" and outcome.by == "scalar:Pow", outcome
    assert "hessian" in outcome.detail
    assert ast.unparse(REGISTRY.lookup(rt.pow_exponent_partial).partial_expressions[1]) == \
        "rt.pow_exponent_partial(x, y) * math.log(x)"


def test_the_sign_of_the_divisor_partial_of_a_remainder_is_killed(tmp_path):
    mutant = replaced_partial(ast.Mod, 1, "math.floor(x / y)", ast.Mod)
    outcome = outcome_of(mutant, tmp_path)
    assert outcome.status == "killed" and outcome.by == "scalar:Mod", outcome


def test_a_negated_tangent_of_a_matrix_product_is_killed(tmp_path):
    from adjit.rules.arrays import ARRAY_RULES
    rule = ARRAY_RULES[np.dot]
    mutant = mutation._array_mutant(np.dot, "self-check:dot", "forward negate",
                                    forward="negate")
    outcome = outcome_of(mutant, tmp_path)
    assert outcome.status == "killed" and outcome.by.startswith("array:dot_"), outcome
    assert ARRAY_RULES[np.dot] is rule


def test_an_unchanged_rule_survives(tmp_path):
    primitive = REGISTRY.lookup(ast.Mod)
    mutant = mutation.Mutant("self-check:unchanged", "self-check", ast.Mod,
                             mutation._setter([primitive], primitive.partial_expressions))
    assert outcome_of(mutant, tmp_path).status == "survived"


def test_every_differentiable_primitive_has_mutants():
    mutated = {name for m in mutation.scalar_mutants()
               for name in m.id.split(":")[1].split("[")[0].split("|")}
    named = {test_rules.primitive_name(p) for p in REGISTRY.primitives() if p.differentiable}
    assert named <= mutated, named - mutated


def test_explained_equivalents_name_mutants_the_tool_makes():
    identifiers = [m.id for m in mutation.scalar_mutants()]
    for pattern in mutation.EQUIVALENT:
        assert any(re.fullmatch(pattern, identifier) for identifier in identifiers), pattern


def test_named_patches_apply_to_the_code():
    """Each patch's text occurs exactly once (when the code it mutates
    changes, the tool must be updated, not silently skip it)."""
    for named in mutation.NAMED:
        for path, old, new in named.patches:
            text = (mutation.ROOT / path).read_text()
            assert text.count(old) == 1, (named.name, path, old)
            assert old != new
        for test in named.tests:
            assert (mutation.ROOT / test.split("::")[0]).exists(), (named.name, test)
