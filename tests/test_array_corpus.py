"""The array corpus (tests/corpus_arrays.py) against finite differences.

For every case, on target ``python`` (the generated source run uncompiled)
and ``cpu`` (compiled with Numba; ``slow`` mark, ``cpu`` in the id):

(a) ``jit.grad(fn, wrt=...)`` returns one gradient per ``wrt`` argument, an
    array of its shape and dtype (a float for a float argument);
(b) along a random direction ``d`` (one component per ``wrt`` argument, fixed
    seed), ``<grad, d>`` matches the fourth-order central difference of the
    plain function along ``d``

        (-f(x+2hd) + 8 f(x+hd) - 8 f(x-hd) + f(x-2hd)) / (12 h),
        h = 1e-4 * max(1, max|x|) / max|d|

    in float64 (float32 inputs are upcast for the differences), to
    ``|<g, d> - fd| <= rtol |fd| + atol * scale`` with rtol 1e-6, atol 1e-8
    (float32: rtol 1e-3, atol 1e-4), scale = max(1, |f|, sum |g| |d|); steps
    1e-5 and 1e-3 are tried too (trajectories) and a match at any step counts;
(c) ``jit.jvp`` along the same direction returns the primal value and a
    tangent equal to ``<grad, d>`` (rel 1e-9 in float64, 1e-4 in float32);
    on cpu for every third case only, to bound compile time;
(d) the caller's arrays are unchanged by the grad and jvp calls.

A size sweep (corpus_arrays.SWEEP) calls one derivative object of a few
functions at every size / trip count up to SWEEP_MAX_N (zero-length loops,
buffers and tapes sized at run time), with checks (a)-(d).

Several functions write into their array arguments, so the plain function is
always run on copies.  Derivative objects are built once per session.
"""

from __future__ import annotations

import os

import zlib

import numpy as np
import pytest

from corpus_arrays import CASES, SECOND_ORDER_REFUSED, SWEEP, SWEEP_MAX_N, Case

import adjit
from adjit import jit

RTOL, ATOL = 1e-6, 1e-8
RTOL_F32, ATOL_F32 = 1e-3, 1e-4
JVP_RTOL, JVP_RTOL_F32 = 1e-9, 1e-4
FD_REL_STEPS = (1e-4, 1e-5, 1e-3)

# Known adjit bugs: case name -> (reason, exception). Empty: the two found
# when the corpus was written (np.zeros(T.shape) of a wrt argument, a buffer
# made in a loop with the loop-invariant shape x.shape[0]) are fixed.
XFAIL_CASES: dict[str, tuple[str, type]] = {}


def _params(target: str, cases):
    params = []
    for case in cases:
        marks = [pytest.mark.slow] if target == "cpu" else []
        if case.name in XFAIL_CASES:
            reason, error = XFAIL_CASES[case.name]
            marks.append(pytest.mark.xfail(strict=True, raises=error, reason=reason))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


# Compiled (cpu) checks on a representative slice, to keep CI's cold
# compiles in budget: every case on target="python", every other gradient
# and every sixth jvp compiled (ADJIT_ARRAY_CPU=all compiles them all).
_ALL_CPU = os.environ.get("ADJIT_ARRAY_CPU") == "all"
_GRAD_CPU_CASES = CASES if _ALL_CPU else CASES[::2]
_JVP_CPU_CASES = CASES if _ALL_CPU else CASES[1::6]

_derivatives: dict = {}
_args: dict = {}


def derivative(case: Case, target: str, kind: str = "grad"):
    key = (case.fn, case.wrt, target, kind)
    if key not in _derivatives:
        make = jit.grad if kind == "grad" else jit.jvp
        _derivatives[key] = make(case.fn, wrt=tuple(case.wrt), target=target)
    return _derivatives[key]


def example_args(case: Case) -> tuple:
    """The case's arguments, drawn once per session from a per-case seed."""
    if case.name not in _args:
        _args[case.name] = tuple(case.make_args(np.random.default_rng(zlib.crc32(case.name.encode()))))
    return _args[case.name]


def copies(args, upcast=False):
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            a = a.astype(np.float64) if upcast and a.dtype == np.float32 else a.copy()
        out.append(a)
    return out


def is_float32(case: Case) -> bool:
    return any(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in example_args(case))


def directions(case: Case) -> tuple:
    """One random direction per wrt argument (fixed seed); float32 components
    for float32 arguments, so that the same numbers serve every check."""
    rng = np.random.default_rng(7 + zlib.crc32(case.name.encode()))
    args = example_args(case)
    out = []
    for i in case.wrt:
        if isinstance(args[i], np.ndarray):
            out.append(rng.normal(size=args[i].shape).astype(args[i].dtype))
        else:
            out.append(float(rng.normal()))
    return tuple(out)


def inner(gradients, ds) -> float:
    return float(sum(np.sum(np.asarray(g, dtype=np.float64) * np.asarray(d, dtype=np.float64))
                     for g, d in zip(gradients, ds)))


def abs_inner(gradients, ds) -> float:
    return float(sum(np.sum(np.abs(np.asarray(g, dtype=np.float64) * np.asarray(d, dtype=np.float64)))
                     for g, d in zip(gradients, ds)))


def directional_fd(case: Case, rel_step: float) -> float:
    args = example_args(case)
    ds = directions(case)
    size = max([1.0] + [float(np.max(np.abs(args[i]), initial=0.0)) for i in case.wrt])
    dmax = max(float(np.max(np.abs(d), initial=0.0)) for d in ds)
    h = rel_step * size / (dmax if dmax > 0.0 else 1.0)

    def at(t):
        shifted = copies(args, upcast=True)
        for i, d in zip(case.wrt, ds):
            shifted[i] = shifted[i] + t * np.asarray(d, dtype=np.float64) if isinstance(shifted[i], np.ndarray) \
                else shifted[i] + t * d
        return float(case.fn(*shifted))

    return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)


def plain_value(case: Case) -> float:
    return float(case.fn(*copies(example_args(case), upcast=True)))


def assert_unchanged(args, saved, what):
    for k, (a, b) in enumerate(zip(args, saved)):
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), f"{what} modified the caller's argument {k}"


def check_grad(case: Case, target: str):
    args = example_args(case)
    saved = copies(args)
    gradients = derivative(case, target)(*args)
    assert_unchanged(args, saved, "grad")                                   # (d)
    # (a) one gradient per wrt argument, shaped and typed like it
    assert isinstance(gradients, tuple) and len(gradients) == len(case.wrt), repr(gradients)
    for i, g in zip(case.wrt, gradients):
        if isinstance(args[i], np.ndarray):
            assert isinstance(g, np.ndarray), f"d/d arg{i} is {type(g).__name__}"
            assert g.shape == args[i].shape, f"d/d arg{i}: shape {g.shape} vs {args[i].shape}"
            assert g.dtype == args[i].dtype, f"d/d arg{i}: dtype {g.dtype} vs {args[i].dtype}"
        else:
            assert np.ndim(g) == 0 and isinstance(g, (float, np.floating)), \
                f"d/d arg{i} is {type(g).__name__}"
        assert np.all(np.isfinite(g)), f"d/d arg{i} is not finite: {g}"
    # (b) directional derivative against finite differences
    ds = directions(case)
    predicted = inner(gradients, ds)
    estimates = [directional_fd(case, step) for step in FD_REL_STEPS]
    rtol, atol = (RTOL_F32, ATOL_F32) if is_float32(case) else (RTOL, ATOL)
    scale = max(1.0, abs(plain_value(case)), abs_inner(gradients, ds))
    assert any(abs(predicted - fd) <= rtol * abs(fd) + atol * scale for fd in estimates), (
        f"{case.name} [{target}]: <grad, d> = {predicted!r} vs finite differences {estimates[0]!r} "
        f"(difference {predicted - estimates[0]:.3g}; other steps {estimates[1:]})")
    return gradients


def check_jvp(case: Case, target: str):
    args = example_args(case)
    gradients = derivative(case, target)(*args)
    ds = directions(case)
    saved = copies(args)
    value, tangent = derivative(case, target, "jvp")(*args, ds)   # wrt is a tuple: so is ds
    assert_unchanged(args, saved, "jvp")                                    # (d)
    f32 = is_float32(case)
    expected_value = float(case.fn(*copies(args)))
    assert float(value) == pytest.approx(expected_value, rel=1e-5 if f32 else 1e-12, abs=1e-12)
    predicted = inner(gradients, ds)
    rtol = JVP_RTOL_F32 if f32 else JVP_RTOL
    scale = abs_inner(gradients, ds)
    assert abs(float(tangent) - predicted) <= rtol * max(abs(predicted), scale, 1e-300), (
        f"{case.name} [{target}]: jvp tangent {float(tangent)!r} vs <grad, d> {predicted!r}")


@pytest.mark.parametrize("case", _params("python", CASES))
def test_grad_python(case):
    check_grad(case, "python")


@pytest.mark.parametrize("case", _params("python", CASES))
def test_jvp_python(case):
    check_jvp(case, "python")


@pytest.mark.parametrize("case", _params("cpu", _GRAD_CPU_CASES))
def test_grad_cpu(case):
    check_grad(case, "cpu")


@pytest.mark.parametrize("case", _params("cpu", _JVP_CPU_CASES))
def test_jvp_cpu(case):
    check_jvp(case, "cpu")


SWEEP_PARAMS = [pytest.param(fn, make, wrt, low, id=fn.__name__) for fn, make, wrt, low in SWEEP]


def sweep_cases(fn, make, wrt, low):
    for n in range(low, SWEEP_MAX_N + 1):
        case = Case(f"{fn.__name__}[n={n}]", fn, lambda rng, n=n: make(rng, n), tuple(wrt))
        yield case


@pytest.mark.parametrize("fn, make, wrt, low", SWEEP_PARAMS)
def test_size_sweep_python(fn, make, wrt, low):
    """One derivative object, called at every size 0..SWEEP_MAX_N: buffers and
    tapes sized at run time, loops that run zero or one times."""
    for case in sweep_cases(fn, make, wrt, low):
        check_grad(case, "python")
        check_jvp(case, "python")


@pytest.mark.slow
@pytest.mark.parametrize("fn, make, wrt, low", SWEEP_PARAMS)
def test_size_sweep_cpu(fn, make, wrt, low):
    for case in sweep_cases(fn, make, wrt, low):
        check_grad(case, "cpu")


def test_corpus_is_large_and_names_are_unique():
    assert len(CASES) >= 45
    assert len({c.name for c in CASES}) == len(CASES)


# Second order on arrays: jit.hvp (forward over reverse, transforming the
# generated gradient again, tapes and element writes included) against
# central differences of the gradient along the same direction.
_HVP_CASES = [case for case in CASES if not is_float32(case)][::4]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(
    strict=True, raises=adjit.DifferentiationError, reason=SECOND_ORDER_REFUSED[c.name])]
    if c.name in SECOND_ORDER_REFUSED else []) for c in _HVP_CASES])
def test_hvp_python(case):
    args = example_args(case)
    w = case.wrt[0]
    v = directions(case)[0]
    saved = copies(args)
    product = np.asarray(jit.hvp(case.fn, wrt=w, target="python")(*args, v))
    assert_unchanged(args, saved, "hvp")
    gradient = jit.grad(case.fn, wrt=w, target="python")
    h = 1e-5 * max(1.0, float(np.max(np.abs(args[w]))))
    plus, minus = copies(args), copies(args)
    plus[w] = plus[w] + h * v
    minus[w] = minus[w] - h * v
    numerical = (np.asarray(gradient(*plus)) - np.asarray(gradient(*minus))) / (2 * h)
    scale = max(1.0, float(np.max(np.abs(numerical))))
    assert np.allclose(product, numerical, rtol=1e-5, atol=1e-6 * scale), (
        f"{case.name}: hvp {product} vs differences of the gradient {numerical}")
