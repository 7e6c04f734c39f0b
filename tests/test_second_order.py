"""Second-order derivatives against an independent reference: finite
differences of the first-order gradient.

Forward over reverse (``jit.hessian``, ``jit.hvp``, ``jit.jvp(jit.grad(f))``)
and reverse over reverse (``jit.jacobian(jit.grad(f), mode="rev")``)
instantiate the same rule templates, so comparing them with each other
cannot catch a wrong second-order rule (the ``y`` partial of ``x ** y``
once lost its ``log x`` factor in its own derivative, and both modes agreed
on the wrong Hessian). Every second derivative here is compared with
central differences of the reverse-mode gradient, which tests/test_corpus.py
and tests/test_array_corpus.py check against differences of the function
itself.

* Scalar corpus (tests/corpus_scalar.py), every case on ``target="python"``
  and every seventh on ``cpu``: the full Hessian, forward over reverse and
  reverse over reverse, at the example point and at points drawn from the
  case's domain (where its branches and trip counts are fixed). Skipped,
  and counted: SKIPPED and PYTHON_SKIPPED below.
* Array corpus (tests/corpus_arrays.py): ``jit.hvp`` along a random
  direction (one component per ``wrt`` argument), every case on python, a
  slice on cpu.
* Whole-array programs (broadcasting operators, matrix products; the array
  corpus is written element by element): ``jit.hvp`` on python, two of
  them on cpu.
* The other combinations of docs/higher-order.md (``jit.grad`` and
  ``jit.jvp`` results can be differentiated again, docs/limitations.md#higher-order),
  on a sample of the scalar corpus, python and (three cases) cpu:
  ``jit.jvp(jit.grad(f))`` (gradient and Hessian column in one pass),
  reverse over forward (``jit.grad(jit.jvp(f))``: ``H @ v``) and forward
  over forward (``jit.jvp(jit.jvp(f))``: ``w . H @ v``).

Finite differences of the gradient ``g``, per coordinate ``e_j`` (scalars)
or along a direction ``d`` (arrays), fourth-order central:

    H e_j ~ (-g(x+2h e_j) + 8 g(x+h e_j) - 8 g(x-h e_j) + g(x-2h e_j)) / (12 h),
    h = 1e-4 * max(1, |x_j|)

in float64 (float32 array arguments are upcast). As in test_corpus.py, long
trajectories have large high derivatives, so steps 1e-5 and 1e-3 are tried
too and a match at any step is accepted, to

    |analytic - numeric| <= 1e-6 |numeric| + 1e-8 * max(1, |g|, |numeric|)

(float32 results: 1e-3 and 1e-4). The rounding error of the differences is
about eps |g| / h ~ 1e-12 |g|: a failure is a wrong derivative.

Derivative objects are built once per module (dicts below), so that every
function is transformed and compiled once.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import adjit
from adjit import jit
from corpus_scalar import CORPUS
from corpus_arrays import CASES as ARRAY_CASES
from corpus_arrays import SECOND_ORDER_REFUSED
import regression_fixtures as fx

RTOL, ATOL = 1e-6, 1e-8
RTOL_F32, ATOL_F32 = 1e-3, 1e-4
FD_REL_STEPS = (1e-4, 1e-5, 1e-3)
DOMAIN_POINTS = 2          # points of a case's domain beside its example

# Cases whose second derivative is not checked, each with the documented
# reason. The whole corpus is checked otherwise; test_skips_stay_few keeps
# these lists short, so that the check cannot quietly become vacuous.
SKIPPED: dict[str, str] = {
    # floor, ceil and trunc have derivative 0 and the x partial is exactly 1:
    # the gradient is an int, and an int output has no derivative (a located
    # DifferentiationError)
    "floor_ceil_trunc": "the gradient is an integer constant: int outputs are not differentiated",
}
# docs/limitations.md#non-smooth-points: an infinite partial on the side of
# a min/max not taken. target="python" raises ZeroDivisionError in the
# gradient itself; on cpu (IEEE arithmetic) they are checked, against
# differences of the compiled gradient.
SINGULAR_TAG = "singular-partial-unused"
PYTHON_SKIPPED: dict[str, str] = {
    case.name: "infinite partial on the side not taken: ZeroDivisionError on target='python' "
               "(limitations.md#non-smooth-points)"
    for case in CORPUS if SINGULAR_TAG in case.tags}
MAX_SKIPPED = 4

SCALAR_PYTHON = [pytest.param(case, id=case.name) for case in CORPUS]
SCALAR_CPU = [pytest.param(case, id=case.name, marks=pytest.mark.slow)
              for k, case in enumerate(CORPUS) if k % 7 == 0 or case.name in PYTHON_SKIPPED]


def reference_target(case) -> str:
    """Where the gradient whose differences are the reference runs."""
    return "cpu" if case.name in PYTHON_SKIPPED else "python"


_derivatives: dict = {}


def cached(kind: str, fn, wrt, target: str, make):
    key = (kind, fn, wrt, target)
    if key not in _derivatives:
        _derivatives[key] = make()
    return _derivatives[key]


def gradient_of(fn, wrt, target="python"):
    return cached("grad", fn, wrt, target, lambda: jit.grad(fn, wrt=wrt, target=target))


# ---- the reference: differences of the gradient --------------------------------------

def stencil(at, h):
    """Fourth-order central difference of `at` (a function of the step, to a
    float64 array) at 0."""
    return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)


def gradient_differences(fn, wrt, args, position, rel_step, target="python"):
    """Column `position` of the Hessian (a float64 vector over wrt), by
    differences of the gradient (uncompiled unless `target` says)."""
    g = gradient_of(fn, wrt, target)
    h = rel_step * max(1.0, abs(args[position]))

    def at(delta):
        shifted = list(args)
        shifted[position] = args[position] + delta
        return np.asarray(g(*shifted), dtype=np.float64)

    return stencil(at, h)


def as_matrix(result, size: int) -> np.ndarray:
    """A Hessian (tuple of rows, or a number for one wrt) as a float matrix."""
    return np.asarray(result, dtype=np.float64).reshape(size, size)


def assert_close_to_differences(label, got, estimates, scale, rtol=RTOL, atol=ATOL):
    """`got` (an array) matches one of the lazily computed `estimates` (a
    list of callables, one per step) everywhere."""
    got = np.asarray(got, dtype=np.float64)
    assert np.all(np.isfinite(got)), f"{label}: {got}"
    tried = []
    for estimate in estimates:
        numeric = estimate()
        tried.append(numeric)
        largest = float(np.max(np.abs(numeric), initial=0.0))
        bound = rtol * np.abs(numeric) + atol * max(scale, 1.0, largest)
        if np.all(np.abs(got - numeric) <= bound):
            return
    worst = np.abs(got - tried[0])
    raise AssertionError(
        f"{label}: adjit {got.tolist()} vs differences of the gradient {tried[0].tolist()} "
        f"(largest difference {float(np.max(worst)):.3g}; other steps: "
        f"{[t.tolist() for t in tried[1:]]})")


def check_hessian(case, args, hessian, label):
    """Each column of `hessian` (a matrix over case.wrt) against differences
    of the gradient in that coordinate."""
    wrt = tuple(case.wrt)
    reference = reference_target(case)
    gradient = np.asarray(gradient_of(case.fn, wrt, reference)(*args), dtype=np.float64)
    scale = float(np.max(np.abs(gradient), initial=0.0))
    for column, position in enumerate(wrt):
        estimates = [lambda step=step, position=position:
                     gradient_differences(case.fn, wrt, args, position, step, reference)
                     for step in FD_REL_STEPS]
        assert_close_to_differences(f"{case.name}{tuple(args)}: d grad / d arg{position} ({label})",
                                    hessian[:, column], estimates, scale)


def domain_points(case, count=DOMAIN_POINTS):
    """The example point, then deterministic points of the case's domain
    (seeded by its name, as in test_corpus.py)."""
    yield tuple(case.args)
    rng = np.random.default_rng(sum(map(ord, case.name)))
    for _ in range(count):
        args = list(case.args)
        for position, box in enumerate(case.domain):
            if box is not None:
                args[position] = float(rng.uniform(box[0], box[1]))
        yield tuple(args)


# ---- scalar corpus: the full Hessian both ways ---------------------------------------

def hessians(case, target):
    wrt = tuple(case.wrt)
    forward = cached("hessian", case.fn, wrt, target,
                     lambda: jit.hessian(case.fn, wrt=wrt, target=target))
    reverse = cached("rev-rev", case.fn, wrt, target,
                     lambda: jit.jacobian(jit.grad(case.fn, wrt=wrt, target=target),
                                          wrt=wrt, mode="rev", target=target))
    return forward, reverse


def check_scalar_case(case, target):
    if case.name in SKIPPED:
        pytest.skip(SKIPPED[case.name])
    if target == "python" and case.name in PYTHON_SKIPPED:
        pytest.skip(PYTHON_SKIPPED[case.name])
    forward, reverse = hessians(case, target)
    size = len(case.wrt)
    for args in domain_points(case):
        by_forward = as_matrix(forward(*args), size)
        by_reverse = as_matrix(reverse(*args), size)
        check_hessian(case, args, by_forward, f"forward over reverse, {target}")
        check_hessian(case, args, by_reverse, f"reverse over reverse, {target}")


@pytest.mark.parametrize("case", SCALAR_PYTHON)
def test_hessian_of_scalar_corpus_python(case):
    check_scalar_case(case, "python")


@pytest.mark.parametrize("case", SCALAR_CPU)
def test_hessian_of_scalar_corpus_cpu(case):
    check_scalar_case(case, "cpu")


def test_skips_stay_few():
    """The skip lists name real cases, stay short, and each skipped case is
    still out of reach (once one works, it must be checked instead)."""
    names = {case.name for case in CORPUS}
    assert set(SKIPPED) | set(PYTHON_SKIPPED) <= names
    assert len(SKIPPED) + len(PYTHON_SKIPPED) <= MAX_SKIPPED
    assert len(CORPUS) - len(SKIPPED) - len(PYTHON_SKIPPED) >= 150
    by_name = {case.name: case for case in CORPUS}
    case = by_name["floor_ceil_trunc"]
    with pytest.raises(adjit.DifferentiationError, match="returns an int"):
        hessians(case, "python")[0](*case.args)
    for name in PYTHON_SKIPPED:
        case = by_name[name]
        with pytest.raises(ZeroDivisionError):
            gradient_of(case.fn, tuple(case.wrt))(*case.args)


# ---- other combinations, on a sample --------------------------------------------------

COMBINATION_SAMPLE = [pytest.param(case, id=case.name) for case in CORPUS[3::8]
                      if case.name not in SKIPPED and case.name not in PYTHON_SKIPPED]


def direction_for(case):
    return tuple(0.3 + 0.7 * k / len(case.wrt) for k in range(len(case.wrt)))


def other_direction_for(case):
    return tuple((-1.0) ** k * (0.9 - 0.4 * k / len(case.wrt)) for k in range(len(case.wrt)))


def hessian_by_differences(case, args, step):
    wrt = tuple(case.wrt)
    return np.stack([gradient_differences(case.fn, wrt, args, position, step)
                     for position in wrt], axis=1)


def check_product(case, args, got, direction, label, left=None):
    """`got` is H v (or w . H v with `left` = w) against differences."""
    gradient = np.asarray(gradient_of(case.fn, tuple(case.wrt))(*args), dtype=np.float64)
    v = np.asarray(direction)

    def estimate(step):
        product = hessian_by_differences(case, args, step) @ v
        return product if left is None else np.asarray(np.dot(left, product))
    assert_close_to_differences(f"{case.name}{tuple(args)}: {label}", got,
                                [lambda step=step: estimate(step) for step in FD_REL_STEPS],
                                float(np.max(np.abs(gradient), initial=0.0)))


@pytest.mark.parametrize("case", COMBINATION_SAMPLE)
def test_jvp_of_grad_python(case):
    """jit.jvp(jit.grad(f)): the gradient and H @ v in one pass."""
    wrt = tuple(case.wrt)
    h = cached("jvp-grad", case.fn, wrt, "python",
               lambda: jit.jvp(jit.grad(case.fn, wrt=wrt, target="python"), wrt=wrt,
                               target="python"))
    v = direction_for(case)
    gradient, column = h(*case.args, v)
    expected = gradient_of(case.fn, wrt)(*case.args)
    assert np.allclose(gradient, expected, rtol=1e-12, atol=1e-14)
    check_product(case, case.args, column, v, "jvp of grad")


@pytest.mark.parametrize("case", COMBINATION_SAMPLE)
def test_reverse_over_forward_python(case):
    """jit.grad(jit.jvp(f)) called as (args..., v...) is H @ v."""
    wrt = tuple(case.wrt)
    h = cached("grad-jvp", case.fn, wrt, "python",
               lambda: jit.grad(jit.jvp(case.fn, wrt=wrt, target="python"), wrt=wrt,
                                target="python"))
    v = direction_for(case)
    check_product(case, case.args, h(*case.args, *v), v, "grad of jvp")


@pytest.mark.parametrize("case", COMBINATION_SAMPLE)
def test_forward_over_forward_python(case):
    """jit.jvp(jit.jvp(f)) called as (args..., v..., w): the tangent of the
    inner tangent J v in direction w is w . H @ v."""
    wrt = tuple(case.wrt)
    h = cached("jvp-jvp", case.fn, wrt, "python",
               lambda: jit.jvp(jit.jvp(case.fn, wrt=wrt, target="python"), wrt=wrt,
                               target="python"))
    v, w = direction_for(case), other_direction_for(case)
    inner, outer = h(*case.args, *v, w)
    gradient = gradient_of(case.fn, wrt)(*case.args)
    assert inner == pytest.approx(float(np.dot(gradient, v)), rel=1e-9, abs=1e-12)
    check_product(case, case.args, outer, v, "jvp of jvp", left=np.asarray(w))


COMBINATION_CPU = [pytest.param(case, id=case.name, marks=pytest.mark.slow)
                   for case in CORPUS[3::60]
                   if case.name not in SKIPPED and case.name not in PYTHON_SKIPPED]


@pytest.mark.parametrize("case", COMBINATION_CPU)
def test_combinations_cpu(case):
    wrt = tuple(case.wrt)
    v, w = direction_for(case), other_direction_for(case)
    jvp_of_grad = jit.jvp(jit.grad(case.fn, wrt=wrt, target="cpu"), wrt=wrt, target="cpu")
    check_product(case, case.args, jvp_of_grad(*case.args, v)[1], v, "jvp of grad, cpu")
    grad_of_jvp = jit.grad(jit.jvp(case.fn, wrt=wrt, target="cpu"), wrt=wrt, target="cpu")
    check_product(case, case.args, grad_of_jvp(*case.args, *v), v, "grad of jvp, cpu")
    jvp_of_jvp = jit.jvp(jit.jvp(case.fn, wrt=wrt, target="cpu"), wrt=wrt, target="cpu")
    check_product(case, case.args, jvp_of_jvp(*case.args, *v, w)[1], v, "jvp of jvp, cpu",
                  left=np.asarray(w))


# ---- array corpus: Hessian-vector products -------------------------------------------

_array_args: dict = {}


def array_args(case) -> tuple:
    """The case's arguments, from the same per-case seed as test_array_corpus.py."""
    if case.name not in _array_args:
        rng = np.random.default_rng(zlib.crc32(case.name.encode()))
        _array_args[case.name] = tuple(case.make_args(rng))
    return _array_args[case.name]


def copies(args, upcast=False):
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            a = a.astype(np.float64) if upcast and a.dtype == np.float32 else a.copy()
        out.append(a)
    return out


def is_float32(case) -> bool:
    return any(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in array_args(case))


def array_directions(case) -> tuple:
    rng = np.random.default_rng(11 + zlib.crc32(case.name.encode()))
    out = []
    for i in case.wrt:
        a = array_args(case)[i]
        out.append(rng.normal(size=a.shape).astype(a.dtype) if isinstance(a, np.ndarray)
                   else float(rng.normal()))
    return tuple(out)


def flat(parts) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def array_gradient_differences(case, rel_step) -> np.ndarray:
    """The derivative of the (float64) gradient along the case's direction."""
    wrt = tuple(case.wrt)
    g = gradient_of(case.fn, wrt)
    args = copies(array_args(case), upcast=True)
    ds = [np.asarray(d, dtype=np.float64) if isinstance(d, np.ndarray) else float(d)
          for d in array_directions(case)]
    size = max([1.0] + [float(np.max(np.abs(args[i]), initial=0.0)) for i in wrt])
    dmax = max(float(np.max(np.abs(d), initial=0.0)) for d in ds)
    h = rel_step * size / (dmax if dmax > 0.0 else 1.0)

    def at(t):
        shifted = copies(args)
        for i, d in zip(wrt, ds):
            shifted[i] = shifted[i] + t * d
        return flat(g(*shifted))

    return stencil(at, h)


ARRAY_CPU_NAMES = {case.name for case in ARRAY_CASES[::8]}

def _refused(case) -> list:
    """A strict xfail for a case whose second derivative is refused as
    documented (`corpus_arrays.SECOND_ORDER_REFUSED`)."""
    reason = SECOND_ORDER_REFUSED.get(case.name)
    return [] if reason is None else [pytest.mark.xfail(
        strict=True, raises=adjit.DifferentiationError, reason=reason)]


ARRAY_PARAMS = [pytest.param(case, "python", id=f"{case.name}-python", marks=_refused(case))
                for case in ARRAY_CASES] + \
    [pytest.param(case, "cpu", id=f"{case.name}-cpu", marks=[pytest.mark.slow, *_refused(case)])
     for case in ARRAY_CASES if case.name in ARRAY_CPU_NAMES]


@pytest.mark.parametrize("case, target", ARRAY_PARAMS)
def test_hvp_of_array_corpus(case, target):
    wrt = tuple(case.wrt)
    hvp = cached("hvp", case.fn, wrt, target, lambda: jit.hvp(case.fn, wrt=wrt, target=target))
    args = array_args(case)
    saved = copies(args)
    product = hvp(*args, array_directions(case))
    for k, (a, b) in enumerate(zip(args, saved)):
        if isinstance(b, np.ndarray):
            assert np.array_equal(a, b), f"hvp modified the caller's argument {k}"
    assert isinstance(product, tuple) and len(product) == len(wrt), repr(product)
    for i, p in zip(wrt, product):
        assert np.shape(p) == np.shape(args[i]), f"H v for arg{i}: shape {np.shape(p)}"
    gradient = flat(gradient_of(case.fn, wrt)(*copies(args, upcast=True)))
    rtol, atol = (RTOL_F32, ATOL_F32) if is_float32(case) else (RTOL, ATOL)
    assert_close_to_differences(
        f"{case.name} [{target}]: H v", flat(product),
        [lambda step=step: array_gradient_differences(case, step) for step in FD_REL_STEPS],
        float(np.max(np.abs(gradient), initial=0.0)), rtol, atol)


# ---- whole-array programs: Hessian-vector products --------------------------------------

WHOLE_ARRAY = [(fn, args) for _, fn, args in fx.BROADCASTS + fx.PRODUCTS]

WHOLE_ARRAY_CPU = {fx.column_plus_row, fx.matrix_vector}


@pytest.mark.parametrize("fn, args, target", [
    pytest.param(fn, args, "python", id=f"{fn.__name__}-python") for fn, args in WHOLE_ARRAY] + [
    pytest.param(fn, args, "cpu", id=f"{fn.__name__}-cpu", marks=pytest.mark.slow)
    for fn, args in WHOLE_ARRAY if fn in WHOLE_ARRAY_CPU])
def test_hvp_of_whole_array_programs(fn, args, target):
    """H v through the whole-array rules' own rules (`rt.unbroadcast`,
    `rt.broadcast_like`, the tangent of `np.dot` applied to gradient code)."""
    wrt = (0, 1)
    hvp = cached("hvp", fn, wrt, target, lambda: jit.hvp(fn, wrt=wrt, target=target))
    rng = np.random.default_rng(zlib.crc32(fn.__name__.encode()) + 5)
    direction = tuple(rng.normal(size=np.shape(args[i])) if isinstance(args[i], np.ndarray)
                      else float(rng.normal()) for i in wrt)
    product = hvp(*args, direction)
    g = gradient_of(fn, wrt)
    size = max(1.0, max(float(np.max(np.abs(args[i]))) for i in wrt))

    def estimate(step):
        h = step * size

        def at(t):
            return flat(g(*[a + t * d for a, d in zip(args, direction)]))
        return stencil(at, h)
    assert_close_to_differences(f"{fn.__name__} [{target}]: H v", flat(product),
                                [lambda step=step: estimate(step) for step in FD_REL_STEPS],
                                float(np.max(np.abs(flat(g(*args))))))
