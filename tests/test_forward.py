"""Forward mode against reverse mode against finite differences, and
derivatives of derivatives (second and third order)."""

import importlib.util
import math
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import adjit
from adjit import jit
from adjit.rules import REGISTRY
from corpus_scalar import CORPUS

_JVPS: dict = {}
_GRADS: dict = {}


def derivatives(case, target):
    key = (case.name, target)
    if key not in _JVPS:
        _JVPS[key] = jit.jvp(case.fn, wrt=tuple(case.wrt), target=target)
        _GRADS[key] = jit.grad(case.fn, wrt=tuple(case.wrt), target=target)
    return _JVPS[key], _GRADS[key]


def directional_difference(fn, args, wrt, direction, h=1e-6):
    plus, minus = list(args), list(args)
    for index, component in zip(wrt, direction):
        plus[index] += h * component
        minus[index] -= h * component
    return (fn(*plus) - fn(*minus)) / (2 * h)


def direction_for(case):
    return tuple(0.3 + 0.7 * k / len(case.wrt) for k in range(len(case.wrt)))


# Cases with an infinite partial derivative on the side of a min/max that is
# not taken. Reverse mode drops it (tests/test_corpus.py); forward mode
# multiplies it by a zero tangent and gets NaN, as JAX and PyTorch do
# (docs/limitations.md#non-smooth-points). Not compared here.
IEEE_ONLY = {case.name for case in CORPUS if "singular-partial-unused" in case.tags}


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_forward_matches_reverse_and_finite_differences(case):
    if case.name in IEEE_ONLY:
        pytest.skip("infinite partial on the side not taken: see IEEE_ONLY")
    forward, reverse = derivatives(case, "python")
    direction = direction_for(case)
    value, tangent = forward(*case.args, direction)
    gradient = reverse(*case.args)
    assert value == pytest.approx(case.fn(*case.args), rel=1e-12)
    expected = sum(g * d for g, d in zip(gradient, direction))
    assert tangent == pytest.approx(expected, rel=1e-9, abs=1e-12)
    numerical = directional_difference(case.fn, case.args, case.wrt, direction)
    assert tangent == pytest.approx(numerical, rel=1e-5, abs=1e-7)


COMPILED_SLICE = [case for case in CORPUS[::4] if case.name not in IEEE_ONLY]


@pytest.mark.parametrize("case", COMPILED_SLICE, ids=lambda case: case.name)
def test_forward_compiled_matches_reverse(case):
    forward, reverse = derivatives(case, "cpu")
    direction = direction_for(case)
    _, tangent = forward(*case.args, direction)
    expected = sum(g * d for g, d in zip(reverse(*case.args), direction))
    assert tangent == pytest.approx(expected, rel=1e-9, abs=1e-12)
    numerical = directional_difference(case.fn, case.args, case.wrt, direction)
    assert tangent == pytest.approx(numerical, rel=1e-5, abs=1e-7)


SMOOTH = [case for case in CORPUS if case.domain and all(
    bound is None or bound[0] < bound[1] for bound in case.domain)
    and case.name not in IEEE_ONLY][::3]


@pytest.mark.parametrize("case", SMOOTH, ids=lambda case: case.name)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_jvp_is_the_gradient_dotted_with_the_direction(case, data):
    forward, reverse = derivatives(case, "python")
    args = list(case.args)
    for index in case.wrt:
        low, high = case.domain[index]
        args[index] = data.draw(st.floats(low, high), label=f"arg{index}")
    direction = tuple(data.draw(st.floats(-1.0, 1.0), label=f"v{k}")
                      for k in range(len(case.wrt)))
    _, tangent = forward(*args, direction)
    expected = sum(g * d for g, d in zip(reverse(*args), direction))
    assert tangent == pytest.approx(expected, rel=1e-8, abs=1e-10)


# ---- every primitive, both modes ----------------------------------------------------

UNARY_POINTS = {"acosh": 1.7, "atanh": 0.3, "asin": 0.3, "acos": 0.3, "arcsin": 0.3,
                "arccos": 0.3, "arccosh": 1.7, "arctanh": 0.3}


@pytest.fixture(scope="module")
def primitive_functions(tmp_path_factory):
    """One function per registered differentiable primitive, in a real file."""
    lines = ["import math", "import numpy as np", ""]
    cases = []
    for primitive in REGISTRY.primitives():
        spelling = primitive.spelling
        if not primitive.differentiable or not spelling[0].isalpha() \
                or spelling.startswith("rt."):
            continue
        if spelling == "np.where":     # selects between arrays: tests/test_array_ops.py
            continue
        name = "of_" + spelling.replace(".", "_")
        arguments = {(2,): "x, y", (3,): "x, y, z"}.get(primitive.arity, "x")
        lines += [f"def {name}({arguments}):", f"    return {spelling}({arguments})", ""]
        point = UNARY_POINTS.get(spelling.split(".")[-1], 0.6)
        cases.append((name, {"x, y": (point, 0.45), "x, y, z": (point, 0.1, 0.9)}.get(
            arguments, (point,))))
    path = tmp_path_factory.mktemp("primitives") / "adjit_primitives_fixture.py"
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location("adjit_primitives_fixture", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module, cases


def test_every_primitive_has_agreeing_forward_and_reverse_rules(primitive_functions):
    module, cases = primitive_functions
    assert len(cases) > 40
    for name, args in cases:
        fn = getattr(module, name)
        wrt = tuple(range(len(args)))
        gradient = jit.grad(fn, wrt=wrt, target="python")(*args)
        for k in wrt:
            direction = tuple(1.0 if j == k else 0.0 for j in wrt)
            _, tangent = jit.jvp(fn, wrt=wrt, target="python")(*args, direction)
            numerical = directional_difference(fn, args, wrt, direction)
            assert tangent == pytest.approx(gradient[k], rel=1e-12, abs=1e-14), name
            assert tangent == pytest.approx(numerical, rel=1e-6, abs=1e-8), name


# ---- higher order -------------------------------------------------------------------

def mixed(a, b):
    return a ** 3 * b + math.sin(a * b)


def sine(x):
    return math.sin(x)


def exp_chain(x):
    return math.exp(math.sin(x) * 0.5)


def carried_loop(a, b, n):
    for i in range(n):
        a = a * 0.9 + math.sin(a) * b
    return a


def closed_form_hessian(a, b):
    s, c = math.sin(a * b), math.cos(a * b)
    return ((6 * a * b - b * b * s, 3 * a * a + c - a * b * s),
            (3 * a * a + c - a * b * s, -a * a * s))


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_hessian_matches_the_closed_form(target):
    hessian = jit.hessian(mixed, wrt=(0, 1), target=target)
    for a, b in ((1.1, 0.7), (-0.4, 2.3)):
        result = hessian(a, b)
        expected = closed_form_hessian(a, b)
        for i in range(2):
            for j in range(2):
                assert result[i][j] == pytest.approx(expected[i][j], abs=1e-8)
        assert result[0][1] == pytest.approx(result[1][0], rel=1e-14)   # symmetric


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_third_derivative_of_sine_is_minus_cosine(target):
    third = jit.grad(jit.grad(jit.grad(sine)), target=target)
    for x in (0.4, -1.3, 2.0):
        assert third(x) == pytest.approx(-math.cos(x), rel=1e-14)
    fourth = jit.grad(jit.grad(jit.grad(jit.grad(sine, target=target), target=target),
                               target=target), target=target)
    assert fourth(0.4) == pytest.approx(math.sin(0.4), rel=1e-14)


def test_third_derivatives_of_an_exp_chain_by_every_composition():
    x = 0.7
    f = exp_chain

    def closed_third(x):
        s, c = math.sin(x), math.cos(x)
        e = math.exp(0.5 * s)
        u = 0.5 * c
        du, ddu = -0.5 * s, -0.5 * c
        return e * (u ** 3 + 3 * u * du + ddu)
    expected = closed_third(x)
    reverse_cubed = jit.grad(jit.grad(jit.grad(f, target="python"), target="python"),
                             target="python")
    forward_over_reverse = jit.jvp(jit.grad(jit.grad(f, target="python"), target="python"),
                                   target="python")
    assert reverse_cubed(x) == pytest.approx(expected, rel=1e-12)
    assert forward_over_reverse(x, 1.0)[1] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_hessian_and_hvp_through_a_recorded_loop(target):
    """Forward over reverse differentiates the gradient's tape too."""
    hessian = jit.hessian(carried_loop, wrt=(0, 1), target=target)(0.5, 0.1, 20)
    gradient = jit.grad(carried_loop, wrt=(0, 1), target="python")
    h = 1e-5
    for j, (da, db) in enumerate(((h, 0.0), (0.0, h))):
        plus = gradient(0.5 + da, 0.1 + db, 20)
        minus = gradient(0.5 - da, 0.1 - db, 20)
        for i in range(2):
            assert hessian[i][j] == pytest.approx((plus[i] - minus[i]) / (2 * h), rel=1e-6)
    product = jit.hvp(carried_loop, wrt=(0, 1), target=target)(0.5, 0.1, 20, (1.0, -2.0))
    for i in range(2):
        assert product[i] == pytest.approx(hessian[i][0] - 2.0 * hessian[i][1], rel=1e-12)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_reverse_over_reverse_through_a_recorded_loop(target):
    """The gradient's tape pushes and pops have reverse rules of their own."""
    second = jit.grad(jit.grad(carried_loop, wrt=1, target=target), wrt=1, target=target)
    assert second(0.5, 0.1, 20) == pytest.approx(
        jit.hessian(carried_loop, wrt=1, target="python")(0.5, 0.1, 20), rel=1e-12)
    third = jit.grad(jit.grad(jit.grad(carried_loop, target=target), target=target),
                     target=target)
    forward_third = jit.jvp(jit.grad(jit.grad(carried_loop, target=target), target=target),
                            target=target)
    g1 = jit.grad(carried_loop, target="python")
    g2 = jit.grad(g1, target="python")
    h = 1e-5
    # the reference itself, reverse over reverse, against forward over reverse
    # and differences of the gradient (it once regenerated the tape's own
    # `_top_f -= 1` in each reversed iteration: 0.0 for -0.669)
    assert g2(0.5, 0.1, 20) == pytest.approx(
        jit.hessian(carried_loop, wrt=0, target="python")(0.5, 0.1, 20), rel=1e-10)
    assert g2(0.5, 0.1, 20) == pytest.approx(
        (g1(0.5 + h, 0.1, 20) - g1(0.5 - h, 0.1, 20)) / (2 * h), rel=1e-6)
    numerical = (g2(0.5 + h, 0.1, 20) - g2(0.5 - h, 0.1, 20)) / (2 * h)
    assert abs(numerical) > 0.1
    assert third(0.5, 0.1, 20) == pytest.approx(numerical, rel=1e-6)
    assert forward_third(0.5, 0.1, 20, 1.0)[1] == pytest.approx(third(0.5, 0.1, 20), rel=1e-12)


def polar(r, t):
    return r * math.cos(t), r * math.sin(t)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_of_a_tuple_valued_function(mode):
    jacobian = jit.jacobian(polar, wrt=(0, 1), mode=mode, target="python")(2.0, 0.3)
    expected = ((math.cos(0.3), -2.0 * math.sin(0.3)), (math.sin(0.3), 2.0 * math.cos(0.3)))
    for i in range(2):
        for j in range(2):
            assert jacobian[i][j] == pytest.approx(expected[i][j], rel=1e-14)


def test_grad_of_a_tuple_valued_function_says_scalar_output_required():
    with pytest.raises(adjit.DifferentiationError, match="scalar output"):
        jit.grad(polar, target="python")(2.0, 0.3)


def test_sources_of_nested_derivatives_are_readable():
    text = adjit.source(jit.grad(jit.grad(sine, target="python"), target="python"), 0.4)
    assert "def sine_grad_grad(x):" in text and "math.sin(x)" in text
    text = adjit.source(jit.hvp(mixed, wrt=(0, 1), target="python"), 1.1, 0.7, (1.0, 0.0))
    assert "def mixed_grad_jvp(a, b, _d_a, _d_b):" in text


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_reverse_over_forward_gives_the_hessian_vector_product(target):
    """jit.grad of a jvp differentiates (args..., tangent components...) ->
    tangent of f: its gradient w.r.t. the arguments is H @ v."""
    for f, args in ((mixed, (1.1, 0.7)), (carried_loop, (0.5, 0.1, 20))):
        reverse_over_forward = jit.grad(jit.jvp(f, wrt=(0, 1), target=target),
                                        wrt=(0, 1), target=target)
        product = jit.hvp(f, wrt=(0, 1), target=target)(*args, (1.0, -2.0))
        result = reverse_over_forward(*args, 1.0, -2.0)
        for i in range(2):
            assert result[i] == pytest.approx(product[i], rel=1e-12)
    text = adjit.source(jit.grad(jit.jvp(mixed, wrt=(0, 1), target="python"),
                                 wrt=(0, 1), target="python"), 1.1, 0.7, 1.0, -2.0)
    assert "def mixed_jvp_grad(a, b, _d_a, _d_b):" in text


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_reverse_over_reverse_agrees_with_forward_over_reverse(case):
    """The Hessian both ways on the whole corpus (target="python"): reverse
    over reverse differentiates the gradient's own tape and loop code, which
    forward over reverse does not, so a wrong second-order reversal shows
    here (a regenerated tape step once gave 0.0 for -0.669)."""
    if case.name in IEEE_ONLY:
        pytest.skip("infinite partial on the side not taken: see IEEE_ONLY")
    wrt = tuple(case.wrt)
    try:
        by_forward = jit.hessian(case.fn, wrt=wrt, target="python")(*case.args)
        gradient = jit.grad(case.fn, wrt=wrt, target="python")
        by_reverse = jit.jacobian(gradient, wrt=wrt, mode="rev", target="python")(*case.args)
    except adjit.AdjitError as refusal:       # a located refusal is no wrong number
        pytest.skip(f"second order refused: {str(refusal).splitlines()[0]}")
    rows_forward = by_forward if isinstance(by_forward, tuple) else ((by_forward,),)
    rows_reverse = by_reverse if isinstance(by_reverse, tuple) else ((by_reverse,),)
    for row_forward, row_reverse in zip(rows_forward, rows_reverse):
        row_reverse = row_reverse if isinstance(row_reverse, tuple) else (row_reverse,)
        for expected, got in zip(row_forward, row_reverse):
            if math.isfinite(expected):
                assert got == pytest.approx(expected, rel=1e-8, abs=1e-10)
