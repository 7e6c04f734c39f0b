"""SciPy functions, random draws and custom rules on any callable, in
programs as people write them: against central finite differences in
float64, forward against reverse (`adjit.gradcheck`), on target="python"
and "cpu", second order for a sample."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
import scipy.special
import scipy.special as sc
import scipy.stats
from scipy import special
from scipy.special import expit, gammaln, logsumexp
from scipy.stats import multivariate_normal, norm, t

import adjit
from adjit import jit
from adjit.errors import DifferentiationError, UnsupportedSyntaxError
from adjit.runtime import special as implemented

TARGETS = ["python", "cpu"]


def second_differences(gradient, args, wrt, step=1e-5):
    """The Jacobian of `gradient` (a function returning one float per `wrt`
    argument) by central differences: the Hessian, row by row."""
    rows = []
    for k in wrt:
        plus, minus = list(args), list(args)
        plus[k] += step
        minus[k] -= step
        rows.append((np.array(gradient(*plus)) - np.array(gradient(*minus))) / (2 * step))
    return np.array(rows).T


# ---- accuracy of the special functions adjit compiles ----------------------------------

def _points():
    rng = np.random.default_rng(0)
    positive = np.concatenate([rng.uniform(1e-3, 30.0, 3000), np.geomspace(1e-8, 1e8, 400)])
    negative = rng.uniform(-30.0, 0.0, 2000)
    negative = negative[np.abs(negative - np.round(negative)) > 1e-3]
    return rng, positive, negative


def _relative(got, expected):
    return np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300))


def test_special_functions_agree_with_scipy():
    """The Numba implementations (adjit/runtime/special.py) against SciPy,
    over thousands of points: the bounds docs/supported.md states."""
    rng, positive, negative = _points()
    both = np.concatenate([positive, negative])
    assert _relative(implemented.gammaln(both), sc.gammaln(both)) < 1e-12
    assert _relative(implemented.digamma(positive), sc.digamma(positive)) < 1e-12
    assert _relative(implemented.trigamma(positive), sc.polygamma(1, positive)) < 1e-12
    # near its poles the reflection is ill-conditioned, for SciPy too
    assert _relative(implemented.digamma(negative), sc.digamma(negative)) < 5e-12
    assert _relative(implemented.trigamma(negative), sc.polygamma(1, negative)) < 5e-12
    assert _relative(implemented.tetragamma(positive), sc.polygamma(2, positive)) < 1e-12
    assert _relative(implemented.tetragamma(negative), sc.polygamma(2, negative)) < 2e-11
    near_root = np.linspace(1.45, 1.47, 201)
    assert np.max(np.abs(implemented.digamma(near_root) - sc.digamma(near_root))) < 1e-15
    x = rng.uniform(-6.0, 6.0, 3000)
    assert _relative(implemented.erf(x), sc.erf(x)) < 1e-13
    tail = rng.uniform(-6.0, 26.0, 3000)
    assert _relative(implemented.erfc(tail), sc.erfc(tail)) < 1e-13
    wide = rng.uniform(-700.0, 700.0, 3000)
    assert _relative(implemented.expit(wide), sc.expit(wide)) < 1e-13
    p = rng.uniform(1e-9, 1.0 - 1e-9, 3000)
    assert _relative(implemented.logit(p), sc.logit(p)) < 1e-13
    normal_range = rng.uniform(-37.0, 8.0, 3000)
    assert _relative(implemented.ndtr(normal_range), sc.ndtr(normal_range)) < 1e-13
    log_range = np.concatenate([rng.uniform(-1e3, 40.0, 3000), rng.uniform(-25.0, 8.0, 3000)])
    assert _relative(implemented.log_ndtr(log_range), sc.log_ndtr(log_range)) < 1e-13
    y = rng.uniform(1e-3, 10.0, 3000)
    assert _relative(implemented.xlogy(x, y), sc.xlogy(x, y)) < 1e-13
    assert _relative(implemented.xlog1py(x, y - 0.999), sc.xlog1py(x, y - 0.999)) < 1e-13
    assert implemented.xlogy(0.0, 0.0) == 0.0 and implemented.xlog1py(0.0, -1.0) == 0.0


# ---- programs -------------------------------------------------------------------------------

def negative_binomial_loglik(log_r, logit_p, counts):
    """A Bayesian count model: the negative binomial log-likelihood, with
    log-gamma terms, in a loop over observations."""
    r = math.exp(log_r)
    total = 0.0
    for i in range(counts.shape[0]):
        k = counts[i]
        total += gammaln(k + r) - scipy.special.gammaln(r) - special.gammaln(k + 1.0)
        total += k * sc.log_ndtr(0.0) * 0.0 + r * math.log(expit(-logit_p)) \
            + k * math.log(sc.expit(logit_p))
    return total


def logistic_regression(w, b, X, y):
    """Mean cross-entropy of a logistic model, with xlogy / xlog1py."""
    p = expit(X @ w + b)
    loss = -np.sum(sc.xlogy(y, p) + sc.xlog1py(1.0 - y, -p)) / y.shape[0]
    return loss + 0.01 * np.sum(w * w)


def special_mix(x, y):
    return special.erf(x) * sc.digamma(y) + scipy.special.erfc(x * y) \
        + sc.logit(1.0 / (1.0 + y)) + sc.ndtr(x - y) + sc.log_ndtr(-x) + sc.psi(x + y)


def normal_model(a, mu, s):
    """Array x, scalar parameters, keywords, every norm function."""
    return np.sum(norm.logpdf(a, mu, s)) + np.sum(norm.logpdf(a, loc=mu, scale=s)) \
        + np.sum(norm.pdf(a, scale=s, loc=mu)) + np.sum(norm.cdf(a, mu, s)) \
        + norm.logcdf(mu, 0.5, s) + np.sum(scipy.stats.norm.logsf(a, mu)) \
        + norm.sf(mu) + norm.logpdf(mu)


def student_model(a, mu, s, nu):
    return np.sum(t.logpdf(a, nu, mu, s)) + t.logpdf(mu, df=nu) + np.sum(t.pdf(a, nu, loc=mu))


def gaussian_point(x, mean, cov):
    return multivariate_normal.logpdf(x, mean, cov)


def gaussian_rows(X, mean, cov):
    return np.sum(multivariate_normal.logpdf(X, mean, cov)) \
        + 0.1 * multivariate_normal.pdf(X[0], mean, cov)


def log_partition(z, W):
    return logsumexp(z) + np.sum(sc.logsumexp(W, axis=1)) + np.sum(logsumexp(W, axis=0)) \
        + np.sum(scipy.special.logsumexp(W, -1))


COUNTS = np.array([0.0, 3.0, 1.0, 7.0, 2.0])
_rng = np.random.default_rng(5)
X_DATA = _rng.normal(size=(6, 3))
Y_DATA = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
SAMPLES = np.array([0.3, -1.2, 2.0, 0.7])
COVARIANCE = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.5]])

PROGRAMS = {
    "negative_binomial": (negative_binomial_loglik, (0.4, -0.3, COUNTS), (0, 1)),
    "logistic_regression": (logistic_regression,
                            (np.array([0.2, -0.5, 0.1]), 0.3, X_DATA, Y_DATA), (0, 1)),
    "special_mix": (special_mix, (0.4, 1.3), (0, 1)),
    "normal_model": (normal_model, (SAMPLES, 0.2, 1.3), (0, 1, 2)),
    "student_model": (student_model, (SAMPLES, 0.2, 1.3, 3.5), (0, 1, 2, 3)),
    "gaussian_point": (gaussian_point, (np.array([0.3, -0.5, 1.0]), np.array([0.1, 0.2, -0.1]),
                                        COVARIANCE), (0, 1, 2)),
    "gaussian_rows": (gaussian_rows, (X_DATA, np.array([0.1, 0.2, -0.1]), COVARIANCE),
                      (0, 1, 2)),
    "log_partition": (log_partition, (np.array([0.3, 2.0, -1.0]), X_DATA), (0, 1)),
}
CPU_PROGRAMS = ("negative_binomial", "logistic_regression", "normal_model", "gaussian_rows",
                "log_partition")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_programs_against_finite_differences(name):
    fn, args, wrt = PROGRAMS[name]
    assert adjit.gradcheck(fn, args, wrt=wrt, target="python")


@pytest.mark.parametrize("name", CPU_PROGRAMS)
def test_programs_compiled(name):
    fn, args, wrt = PROGRAMS[name]
    assert adjit.gradcheck(fn, args, wrt=wrt, target="cpu")


def test_values_are_scipys():
    """The derivative's value is the function's, SciPy's own to rounding."""
    for name, (fn, args, wrt) in PROGRAMS.items():
        value, _ = jit.value_and_grad(fn, wrt=wrt, target="python")(*args)
        assert value == pytest.approx(fn(*args), rel=1e-12, abs=1e-12), name


def test_covariance_derivative_reads_the_lower_triangle_like_scipy():
    """SciPy reads only the lower triangle of `cov`: an entry above the
    diagonal has derivative 0, one below it the whole symmetric term."""
    _, args, _ = PROGRAMS["gaussian_point"]
    gradient = jit.grad(gaussian_point, wrt=2, target="python")(*args)
    assert np.all(gradient[np.triu_indices(3, 1)] == 0.0)
    assert np.all(gradient[np.tril_indices(3, -1)] != 0.0)


@pytest.mark.parametrize("target", TARGETS)
def test_second_order(target):
    fn, args, wrt = PROGRAMS["negative_binomial"]
    hessian = np.array(jit.hessian(fn, wrt=wrt, target=target)(*args))
    reference = second_differences(jit.grad(fn, wrt=wrt, target="python"), args, wrt)
    assert np.allclose(hessian, reference, rtol=1e-6, atol=1e-7)
    special_fn, special_args, special_wrt = PROGRAMS["special_mix"]
    hessian = np.array(jit.hessian(special_fn, wrt=special_wrt, target=target)(*special_args))
    reference = second_differences(jit.grad(special_fn, wrt=special_wrt, target="python"),
                                   special_args, special_wrt)
    assert np.allclose(hessian, reference, rtol=1e-6, atol=1e-7)


def test_second_order_of_distributions():
    fn, args, _ = PROGRAMS["student_model"]
    hessian = np.array(jit.hessian(fn, wrt=(1, 2, 3), target="python")(*args))
    reference = second_differences(jit.grad(fn, wrt=(1, 2, 3), target="python"), args,
                                   (1, 2, 3))
    assert np.allclose(hessian, reference, rtol=1e-6, atol=1e-7)
    fn, args, _ = PROGRAMS["logistic_regression"]
    v = np.array([0.3, -0.2, 0.5])
    product = jit.hvp(fn, wrt=0, target="python")(*args, v)
    gradient = jit.grad(fn, wrt=0, target="python")
    step = 1e-5
    plus, minus = list(args), list(args)
    plus[0], minus[0] = args[0] + step * v, args[0] - step * v
    assert np.allclose(product, (gradient(*plus) - gradient(*minus)) / (2 * step),
                       rtol=1e-6, atol=1e-8)


def only_gammaln(x):
    return gammaln(x)


def test_a_fourth_derivative_of_gammaln_is_refused():
    second = jit.grad(jit.grad(only_gammaln))
    assert second(2.5) == pytest.approx(sc.polygamma(1, 2.5), rel=1e-12)
    third = jit.grad(second)
    assert third(2.5) == pytest.approx(sc.polygamma(2, 2.5), rel=1e-12)
    with pytest.raises(UnsupportedSyntaxError, match="rt.special.tetragamma"):
        jit.grad(third)(2.5)


def logsumexp_with_weights(a, b):
    return logsumexp(a, b=b)


def logsumexp_by_a_variable(a, k):
    return np.sum(logsumexp(a, axis=k))


@pytest.mark.parametrize("fn, match", [(logsumexp_with_weights, "`b` of logsumexp"),
                                       (logsumexp_by_a_variable, "an int constant")])
def test_unsupported_arguments_are_located(fn, match):
    with pytest.raises(UnsupportedSyntaxError, match=match) as error:
        jit.grad(fn, target="python")(np.ones((2, 2)), np.ones(2) if "weights" in
                                      fn.__name__ else 1)
    assert "test_scipy_random.py" in str(error.value)


def too_many_arguments(x):
    return norm.logpdf(x, 0.0, 1.0, 5.0)


def missing_argument(x):
    return t.logpdf(x, loc=1.0)


@pytest.mark.parametrize("fn, match", [(too_many_arguments, "called with 4 arguments"),
                                       (missing_argument, "without its argument `df`")])
def test_calls_of_definitions_are_checked(fn, match):
    with pytest.raises(UnsupportedSyntaxError, match=match):
        jit.grad(fn, target="python")(0.5)


# ---- custom rules on any callable ----------------------------------------------------------

def erfinv_rule(g, ans, x):
    return g * 0.886226925452758 * np.exp(ans * ans)       # sqrt(pi) / 2 exp(erfinv(x)^2)


def erfinv_tangent(tangents, ans, x):
    return tangents[0] * 0.886226925452758 * np.exp(ans * ans)


adjit.defvjp(scipy.special.erfinv, erfinv_rule)
adjit.defjvp(scipy.special.erfinv, erfinv_tangent)


def with_erfinv(x, w):
    return np.sum(w * scipy.special.erfinv(x))


def my_logsumexp(v):
    largest = np.max(v)
    return largest + np.log(np.sum(np.exp(v - largest)))


def my_logsumexp_vjp(g, ans, v):
    return g * np.exp(v - ans)


def my_logsumexp_jvp(tangents, ans, v):
    return np.sum(tangents[0] * np.exp(v - ans))


adjit.defvjp(my_logsumexp, my_logsumexp_vjp)
adjit.defjvp(my_logsumexp, my_logsumexp_jvp)


def softmax_loss(w, X):
    return my_logsumexp(X @ w) - 0.5 * np.sum(w * w)


def scaled_erfcx(x):
    return math.exp(x * x) * scipy.special.erfc(x)


def scaled_erfcx_vjp(g, ans, x):
    return g * (2.0 * x * ans - 1.1283791670955126)


def scaled_erfcx_jvp(tangents, ans, x):
    return tangents[0] * (2.0 * x * ans - 1.1283791670955126)


adjit.defvjp(scaled_erfcx, scaled_erfcx_vjp)
adjit.defjvp(scaled_erfcx, scaled_erfcx_jvp)


def with_erfcx(x):
    return scaled_erfcx(x) * x


def test_a_ufunc_takes_custom_rules():
    """adjit.defvjp(scipy.special.erfinv, rule): a ufunc is a function like
    any other, on arrays too."""
    x, w = np.array([0.3, -0.6, 0.1]), np.array([1.0, 0.5, -2.0])
    assert adjit.gradcheck(with_erfinv, (x, w), wrt=0, target="python")


def test_a_function_numba_cannot_compile_is_refused_on_cpu_located():
    x, w = np.array([0.3, -0.6, 0.1]), np.array([1.0, 0.5, -2.0])
    with pytest.raises(DifferentiationError, match="Numba cannot compile it") as error:
        jit.grad(with_erfinv, target="cpu")(x, w)
    assert "test_scipy_random.py" in str(error.value) and "erfinv" in str(error.value)


def test_a_python_rule_calling_scipy_runs_on_python_and_is_located_on_cpu():
    """The function calls SciPy: target="python" runs it as written."""
    assert adjit.gradcheck(with_erfcx, (0.5,), target="python")
    with pytest.raises(DifferentiationError, match="Numba cannot compile `scaled_erfcx`") \
            as error:
        jit.grad(with_erfcx, target="cpu")(0.5)
    assert "test_scipy_random.py" in str(error.value)


@pytest.mark.parametrize("target", TARGETS)
def test_a_custom_rule_of_a_reduction(target):
    """A custom function from an array to a float: its result type is what
    Numba's typing says, not an array like its argument."""
    w = np.array([0.2, -0.4, 0.1])
    assert adjit.gradcheck(softmax_loss, (w, X_DATA), wrt=0, target=target)
    scores = X_DATA @ w
    softmax = np.exp(scores - np.max(scores)) / np.sum(np.exp(scores - np.max(scores)))
    gradient = jit.grad(softmax_loss, target=target)(w, X_DATA)
    assert np.allclose(gradient, X_DATA.T @ softmax - w, rtol=1e-13, atol=1e-15)


# ---- randomness ---------------------------------------------------------------------------

def reparameterised(mu, sigma, n):
    """A Monte Carlo estimate with a seed inside: draws in a loop whose
    values the reverse sweep needs (recorded, never drawn again)."""
    np.random.seed(3)
    total = 0.0
    for i in range(n):
        eps = np.random.standard_normal()
        z = mu + sigma * eps
        total += z * z * math.sin(z)
    return total / n


def vae_loss(mu, log_sigma, x):
    """A VAE-ish loss: a reparameterised latent, a random decoder, an
    unused draw between them (which must still be drawn), the KL term."""
    np.random.seed(7)
    eps = np.random.normal(0.0, 1.0, mu.shape[0])
    z = mu + np.exp(log_sigma) * eps
    np.random.random()
    skipped = np.random.uniform()
    decoder = np.random.uniform(-1.0, 1.0, (2, 3))
    reconstruction = np.sum((x - np.dot(decoder, z[:3])) ** 2)
    kl = 0.5 * np.sum(mu * mu + np.exp(2.0 * log_sigma) - 2.0 * log_sigma - 1.0)
    return reconstruction + kl


def draws_with_parameters(mu, sigma, low):
    """np.random.normal(mu, sigma, n) and np.random.uniform(low, high) are
    differentiated as mu + sigma * z and low + (high - low) * u."""
    np.random.seed(11)
    z = np.random.normal(mu, sigma, 4)
    u = np.random.uniform(low, 2.0)
    v = np.random.randn(2, 2)
    w = np.random.rand(3)
    return np.sum(np.sin(z)) * u + np.sum(v) * mu + np.sum(w) * sigma


def draw_in_a_dead_branch(x, flag):
    np.random.seed(2)
    if flag > 1:
        x = x + np.random.random_sample()
    return x * x + np.random.standard_normal()


RANDOM = {
    "reparameterised": (reparameterised, (0.3, 0.8, 6), (0, 1)),
    "vae_loss": (vae_loss, (np.array([0.1, -0.2, 0.3, 0.4]), np.array([-0.5, 0.1, 0.2, -0.3]),
                            np.array([0.5, -0.4])), (0, 1)),
    "draws_with_parameters": (draws_with_parameters, (0.3, 0.8, -0.5), (0, 1, 2)),
    "draw_in_a_dead_branch": (draw_in_a_dead_branch, (0.7, 0), (0,)),
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", sorted(RANDOM))
def test_seeded_draws_give_the_finite_difference_of_the_seeded_function(name, target):
    """With a seed inside, the gradient is the finite difference of the
    function itself (NumPy's stream in plain Python; Numba's stream, the
    same numbers for the same seed, when compiled)."""
    fn, args, wrt = RANDOM[name]
    assert adjit.gradcheck(fn, args, wrt=wrt, target=target)
    value, _ = jit.value_and_grad(fn, wrt=wrt, target=target)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-13)


@pytest.mark.parametrize("target", TARGETS)
def test_second_order_with_draws(target):
    """The gradient's own draws, differentiated again: forward over reverse,
    and reverse over reverse of the draws recorded in a loop."""
    fn, args, wrt = RANDOM["reparameterised"]
    reference = second_differences(jit.grad(fn, wrt=wrt, target="python"), args, wrt)
    hessian = np.array(jit.hessian(fn, wrt=wrt, target=target)(*args))
    assert np.allclose(hessian, reference, rtol=1e-6, atol=1e-8)
    row = jit.grad(jit.grad(fn, wrt=0, target=target), wrt=(0, 1), target=target)(*args)
    assert np.allclose(row, reference[0], rtol=1e-6, atol=1e-8)


def test_the_derivative_uses_its_own_forward_draws():
    """Without a seed inside, the value a derivative returns and its gradient
    come from the same draws: replayed here from NumPy's generator, seeded
    outside (target="python" draws from it)."""
    np.random.seed(21)
    value, (g_mu, g_sigma) = jit.value_and_grad(unseeded, wrt=(0, 1), target="python")(0.3, 0.8)
    np.random.seed(21)
    eps = np.random.standard_normal(5)
    z = 0.3 + 0.8 * eps
    assert value == pytest.approx(np.sum(z * z), rel=1e-14)
    assert g_mu == pytest.approx(2 * np.sum(z), rel=1e-14)
    assert g_sigma == pytest.approx(2 * np.sum(z * eps), rel=1e-14)


def unseeded(mu, sigma):
    eps = np.random.standard_normal(5)
    return np.sum((mu + sigma * eps) ** 2)


def test_draws_stay_in_the_generated_source():
    """An unused draw is kept (later draws keep their values) and a draw is
    never made again in the reverse sweep."""
    source = adjit.source(jit.grad(reparameterised, wrt=(0, 1), target="python"), 0.3, 0.8, 6)
    assert source.count("rt.draws.normal()") == 1
    assert "rt.draws.seed(3)" in source
    vae = adjit.source(jit.grad(vae_loss, wrt=(0, 1), target="python"),
                       *RANDOM["vae_loss"][1])
    assert vae.count("rt.draws.uniform()") == 2


def draw_of_a_shape(x):
    return np.sum(x * np.random.standard_normal(x.shape))


def draw_of_three_axes(x):
    return x * np.sum(np.random.random((2, 2, 2)))


def draws_in_a_parallel_loop(x):
    total = 0.0
    for i in numba.prange(x.shape[0]):
        total += x[i] * np.random.random()
    return total


def generator_draw(x):
    rng = np.random.default_rng(0)
    return x * rng.normal()


@pytest.mark.parametrize("fn, args, match", [
    (draw_of_a_shape, (np.ones(3),), "an array's shape"),
    (draw_of_three_axes, (0.5,), "3 dimensions"),
    (generator_draw, (0.5,), "default_rng"),
    (draws_in_a_parallel_loop, (np.ones(3),), "a random draw inside a parallel loop"),
])
def test_unsupported_draws_are_located(fn, args, match):
    with pytest.raises(UnsupportedSyntaxError, match=match) as error:
        jit.grad(fn, target="python")(*args)
    assert "test_scipy_random.py" in str(error.value)
