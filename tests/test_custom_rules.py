"""Custom derivative rules (`@f.defvjp`, `@f.defjvp`, `adjit.defvjp`,
`adjit.defjvp`), `adjit.nondifferentiable`, and `adjit.gradcheck` comparing
both modes with finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit import jit
from custom_rules_fixtures import (my_sin, only_reverse, quantize, softclip, vector_sin,
                                   wrong_rule)

TARGETS = ["python", pytest.param("cpu", marks=pytest.mark.slow)]


def sum_with_custom_sine(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += my_sin(x[i])
    return s


def sum_with_builtin_sine(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.sin(x[i])
    return s


@pytest.mark.parametrize("target", TARGETS)
def test_custom_sine_gives_the_builtin_gradients(target):
    """The seed's custom sine, on linspace(0, 2 pi, 20)."""
    x = np.linspace(0.0, 2 * math.pi, 20)
    custom = jit.grad(sum_with_custom_sine, target=target)(x)
    builtin = jit.grad(sum_with_builtin_sine, target=target)(x)
    assert np.allclose(custom, builtin, rtol=0, atol=1e-15)
    assert np.allclose(jit.grad(vector_sin_total, target=target)(x), np.cos(x), atol=1e-15)
    value, tangent = jit.jvp(sum_with_custom_sine, target=target)(x, np.ones(20))
    assert tangent == pytest.approx(float(np.sum(np.cos(x))), abs=1e-12)
    assert jit.grad(my_sin, target=target)(0.3) == pytest.approx(math.cos(0.3), abs=1e-15)


def vector_sin_total(x):
    return np.sum(vector_sin(x))


def uses_rules(x, c):
    s = 0.0
    for i in range(3):
        s += my_sin(x * i) + softclip(x * s + 0.1, c) + quantize(x) * x
    return s


def same_without_rules(x, c):
    s = 0.0
    for i in range(3):
        s += math.sin(x * i) + c * math.tanh((x * s + 0.1) / c) + float(round(x * 4.0)) / 4.0 * x
    return s


@pytest.mark.parametrize("target", TARGETS)
def test_rules_in_both_modes_and_at_second_order(target):
    expected = jit.grad(same_without_rules, wrt=(0, 1), target="python")(0.7, 1.3)
    assert jit.grad(uses_rules, wrt=(0, 1), target=target)(0.7, 1.3) == \
        pytest.approx(expected, rel=1e-13)
    _, tangent = jit.jvp(uses_rules, wrt=(0, 1), target=target)(0.7, 1.3, (1.0, 0.5))
    assert tangent == pytest.approx(expected[0] + 0.5 * expected[1], rel=1e-13)
    # second order: the rules are plain Python, transformed in their turn
    hessian = jit.hessian(uses_rules, wrt=(0, 1), target=target)(0.7, 1.3)
    reference = jit.hessian(same_without_rules, wrt=(0, 1), target="python")(0.7, 1.3)
    assert np.allclose(hessian, reference, rtol=1e-12)


@pytest.mark.parametrize("target", TARGETS)
def test_reverse_over_forward_through_rules(target):
    """`jit.grad(jit.jvp(f))` through a jvp rule: the rule takes its
    tangents as a tuple, `(_d_a,)` in the jvp's source, and differentiating
    that source again stopped at "returns a value of unknown type"."""
    tangent_of = jit.jvp(uses_rules, wrt=(0, 1), target=target)
    second = jit.grad(tangent_of, wrt=(0, 1), target=target)(0.7, 1.3, 1.0, 0.5)
    reference = jit.hessian(same_without_rules, wrt=(0, 1), target="python")(0.7, 1.3)
    expected = reference @ np.array([1.0, 0.5])
    assert np.allclose(second, expected, rtol=1e-12)


def test_rules_appear_in_the_generated_source():
    source = jit.grad(uses_rules, wrt=(0, 1), target="python").source_for(0.7, 1.3)
    assert "rt.custom.custom_rules_fixtures__softclip_vjp(" in source
    assert "rt.custom.custom_rules_fixtures__quantize(" in source


def test_nondifferentiable_functions_have_zero_derivative():
    assert jit.grad(quantized_square, target="python")(0.3) == pytest.approx(0.25)


def quantized_square(x):
    return quantize(x) * x + quantize(x * x)


def uses_only_reverse(x):
    return only_reverse(x) + x


def test_a_missing_forward_rule_is_a_clear_error():
    assert jit.grad(uses_only_reverse, target="python")(1.5) == pytest.approx(4.0)
    with pytest.raises(adjit.DifferentiationError, match="no forward-mode rule"):
        jit.jvp(uses_only_reverse, target="python")(1.5, 1.0)


def test_gradcheck_catches_a_wrong_rule_and_shows_both_values():
    with pytest.raises(adjit.GradcheckError) as error:
        adjit.gradcheck(wrong_rule, (0.4,))
    text = str(error.value)
    assert "d(output)/d(x), reverse mode" in text and "mismatch" in text
    assert "forward mode" not in text            # the forward rule is right
    assert f"{math.exp(0.4):.6f}"[:6] in text


def tanh_map(x, A):
    return np.tanh(A @ x)


def pair(x, y):
    return x * y, x + math.sin(y)


def test_gradcheck_compares_both_modes_on_arrays_and_tuples():
    assert adjit.gradcheck(tanh_map, (np.array([0.1, 0.2]),
                                      np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 0.1]])))
    assert adjit.gradcheck(pair, (0.3, 0.4))
    assert adjit.gradcheck(uses_rules, (0.7, 1.3))
    from adjit.testing import gradcheck
    assert gradcheck is adjit.gradcheck
