"""ADBench's Gaussian mixture model objective, gradient wrt (alphas, means, icf).

`gmm_objective` follows ADBench's C++ reference (`gmm_objective` in
`ADBench/tools/cpp-common/gmm.h`) line by line: local arrays for the
exponentiated diagonals and their sums, a centred point, Q times it (Q lower
triangular: diagonal exp(icf[k, :d]), below it icf[k, d:] column by column),
a log-sum-exp over the components per point, minus n log-sum-exp(alphas),
plus the Wishart prior. `gmm_objective_no_local_arrays` computes the same
number without creating an array: the entries of Q come from icf by index
arithmetic and the log-sum-exp is streamed; adjit runs it when it refuses
the first form. The peers run the whole-array form of ADBench's PyTorch
module (with a vectorised centring instead of its loop over points).
Inputs as ADBench's generator makes them; Wishart gamma = 1, m = 0.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from bench import systems

TITLE = "ADBench GMM objective, gradient wrt (alphas, means, icf)"
SIZES = tuple((d, k, n) for d, k in ((2, 5), (10, 25), (64, 50)) for n in (1000, 10000))
QUICK_SIZES = ((10, 25, 1000),)
WRT = (0, 1, 2)
FORM = "loops, local arrays"
FORM_NO_ARRAYS = "loops, no local arrays"


def size_label(size) -> str:
    d, k, n = size
    return f"d={d} K={k} n={n}"


def parse_size(text: str):
    d, k, n = (int(part) for part in text.split(","))
    return d, k, n


def make_inputs(size, seed: int):
    d, k, n = size
    rng = np.random.default_rng(seed)
    alphas = rng.normal(size=k)
    means = rng.uniform(size=(k, d))
    icf = rng.normal(size=(k, d * (d + 1) // 2))
    x = rng.normal(size=(n, d))
    return alphas, means, icf, x, 1.0, 0


def gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    constant = -n * d * 0.5 * math.log(2 * math.pi)
    qdiags = np.empty((k, d))
    sum_qs = np.empty(k)
    for ik in range(k):
        sum_q = 0.0
        for j in range(d):
            sum_q += icf[ik, j]
            qdiags[ik, j] = math.exp(icf[ik, j])
        sum_qs[ik] = sum_q
    xcentered = np.empty(d)
    qxcentered = np.empty(d)
    main_term = np.empty(k)
    slse = 0.0
    for ix in range(n):
        for ik in range(k):
            for j in range(d):
                xcentered[j] = x[ix, j] - means[ik, j]
            for j in range(d):
                qxcentered[j] = qdiags[ik, j] * xcentered[j]
            index = d
            for i in range(d):
                for j in range(i + 1, d):
                    qxcentered[j] = qxcentered[j] + icf[ik, index] * xcentered[i]
                    index += 1
            sqnorm = 0.0
            for j in range(d):
                sqnorm += qxcentered[j] * qxcentered[j]
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm
        top = main_term[0]
        for ik in range(1, k):
            top = max(top, main_term[ik])
        sum_exp = 0.0
        for ik in range(k):
            sum_exp += math.exp(main_term[ik] - top)
        slse += math.log(sum_exp) + top
    top = alphas[0]
    for ik in range(1, k):
        top = max(top, alphas[ik])
    sum_exp = 0.0
    for ik in range(k):
        sum_exp += math.exp(alphas[ik] - top)
    lse_alphas = math.log(sum_exp) + top
    # log_wishart_prior
    dof = d + wishart_m + 1
    log_gamma = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        log_gamma += math.lgamma(0.5 * dof + 0.5 * (1 - j))
    c = dof * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - log_gamma
    prior = 0.0
    for ik in range(k):
        frobenius = 0.0
        for j in range(d):
            frobenius += qdiags[ik, j] * qdiags[ik, j]
        for j in range(d, icf.shape[1]):
            frobenius += icf[ik, j] * icf[ik, j]
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_qs[ik]
    return constant + slse - n * lse_alphas + prior - k * c


def gmm_objective_no_local_arrays(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    constant = -n * d * 0.5 * math.log(2 * math.pi)
    slse = 0.0
    for ix in range(n):
        top = 0.0
        sum_exp = 0.0
        for ik in range(k):
            sum_q = 0.0
            sqnorm = 0.0
            for j in range(d):
                sum_q += icf[ik, j]
                # row j of Q (x - mean): Q[j, j] = exp(icf[ik, j]), and Q[j, i]
                # for i < j is icf[ik, d + (column i's offset) + (j - i - 1)]
                row = math.exp(icf[ik, j]) * (x[ix, j] - means[ik, j])
                for i in range(j):
                    lower = icf[ik, d + i * (2 * d - i - 1) // 2 + j - i - 1]
                    row += lower * (x[ix, i] - means[ik, i])
                sqnorm += row * row
            term = alphas[ik] + sum_q - 0.5 * sqnorm
            if ik == 0:                     # a streamed log-sum-exp over the components
                top = term
                sum_exp = 1.0
            elif term > top:
                sum_exp = sum_exp * math.exp(top - term) + 1.0
                top = term
            else:
                sum_exp += math.exp(term - top)
        slse += math.log(sum_exp) + top
    top = alphas[0]
    for ik in range(1, k):
        top = max(top, alphas[ik])
    sum_exp = 0.0
    for ik in range(k):
        sum_exp += math.exp(alphas[ik] - top)
    lse_alphas = math.log(sum_exp) + top
    dof = d + wishart_m + 1
    log_gamma = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        log_gamma += math.lgamma(0.5 * dof + 0.5 * (1 - j))
    c = dof * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - log_gamma
    prior = 0.0
    for ik in range(k):
        frobenius = 0.0
        sum_q = 0.0
        for j in range(d):
            sum_q += icf[ik, j]
            frobenius += math.exp(2.0 * icf[ik, j])
        for j in range(d, icf.shape[1]):
            frobenius += icf[ik, j] * icf[ik, j]
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_q
    return constant + slse - n * lse_alphas + prior - k * c


@numba.njit
def gmm_gradient_by_hand(alphas, means, icf, x, wishart_gamma, wishart_m):
    """(d/d alphas, d/d means, d/d icf): per point, the forward pass keeps the
    centred points and Q times them for every component (K x d each), the
    softmax of the main terms weighs them, and one sweep over the triangle
    accumulates into icf and the means."""
    n, d = x.shape
    k = alphas.shape[0]
    gradient_alphas = np.zeros(k)
    gradient_means = np.zeros((k, d))
    gradient_icf = np.zeros_like(icf)
    qdiags = np.exp(icf[:, :d])
    sum_qs = np.zeros(k)
    for ik in range(k):
        for j in range(d):
            sum_qs[ik] += icf[ik, j]
    xcentered = np.empty((k, d))
    qxcentered = np.empty((k, d))
    main_term = np.empty(k)
    for ix in range(n):
        for ik in range(k):
            for j in range(d):
                xcentered[ik, j] = x[ix, j] - means[ik, j]
                qxcentered[ik, j] = qdiags[ik, j] * xcentered[ik, j]
            index = d
            for i in range(d):
                for j in range(i + 1, d):
                    qxcentered[ik, j] += icf[ik, index] * xcentered[ik, i]
                    index += 1
            sqnorm = 0.0
            for j in range(d):
                sqnorm += qxcentered[ik, j] * qxcentered[ik, j]
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm
        top = main_term[0]
        for ik in range(1, k):
            top = max(top, main_term[ik])
        sum_exp = 0.0
        for ik in range(k):
            sum_exp += math.exp(main_term[ik] - top)
        for ik in range(k):
            weight = math.exp(main_term[ik] - top) / sum_exp   # d slse / d main_term[ik]
            gradient_alphas[ik] += weight
            index = d
            for i in range(d):
                adjoint_i = -weight * qxcentered[ik, i]          # d slse / d qxcentered[ik, i]
                gradient_icf[ik, i] += weight + adjoint_i * xcentered[ik, i] * qdiags[ik, i]
                adjoint_x = qdiags[ik, i] * adjoint_i            # d slse / d xcentered[ik, i]
                for j in range(i + 1, d):
                    adjoint_j = -weight * qxcentered[ik, j]
                    gradient_icf[ik, index] += adjoint_j * xcentered[ik, i]
                    adjoint_x += icf[ik, index] * adjoint_j
                    index += 1
                gradient_means[ik, i] -= adjoint_x
    top = np.max(alphas)
    softmax = np.exp(alphas - top)
    softmax /= np.sum(softmax)
    gamma2 = wishart_gamma * wishart_gamma
    for ik in range(k):
        gradient_alphas[ik] -= n * softmax[ik]
        for j in range(d):
            gradient_icf[ik, j] += gamma2 * qdiags[ik, j] * qdiags[ik, j] - wishart_m
        for j in range(d, icf.shape[1]):
            gradient_icf[ik, j] += gamma2 * icf[ik, j]
    return gradient_alphas, gradient_means, gradient_icf


def _lower_triangle(d: int):
    """(gather, mask): L[k] = (icf[k, gather] * mask).reshape(d, d) is the
    strictly lower triangle, filled column by column from icf[k, d:]."""
    gather = np.zeros(d * d, dtype=np.int64)
    mask = np.zeros(d * d)
    index = d
    for column in range(d):
        for row in range(column + 1, d):
            gather[row * d + column] = index
            mask[row * d + column] = 1.0
            index += 1
    return gather, mask


def gmm_objective_vectorised(xp, logsumexp, constant_array,
                             alphas, means, icf, x, wishart_gamma, wishart_m):
    """Whole-array form on the namespace `xp`; `logsumexp(a, axis)` is the
    library's own; `constant_array` turns a NumPy array into the library's."""
    n, d = x.shape
    k = alphas.shape[0]
    gather, mask = (constant_array(array) for array in _lower_triangle(d))
    qdiags = xp.exp(icf[:, :d])
    sum_qs = xp.sum(icf[:, :d], 1)
    lower = xp.reshape(icf[:, gather] * mask, (k, d, d))
    xcentered = x[:, None, :] - means[None, :, :]                          # (n, k, d)
    qxcentered = qdiags * xcentered + xp.einsum("krc,nkc->nkr", lower, xcentered)
    main_term = alphas + sum_qs - 0.5 * xp.sum(qxcentered ** 2, 2)
    slse = xp.sum(logsumexp(main_term, 1))
    dof = d + wishart_m + 1
    log_gamma = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * dof + 0.5 * (1 - j)) for j in range(1, d + 1))
    c = dof * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - log_gamma
    frobenius = xp.sum(qdiags ** 2, 1) + xp.sum(icf[:, d:] ** 2, 1)
    prior = xp.sum(0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_qs)
    constant = -n * d * 0.5 * math.log(2 * math.pi)
    return constant + slse - n * logsumexp(alphas, 0) + prior - k * c


def _torch(args):
    torch = systems.torch()
    return systems.torch_grad_run(
        lambda *a: gmm_objective_vectorised(torch, torch.logsumexp, torch.from_numpy, *a),
        args, WRT)


def _jax(args):
    _, jnp = systems.jax()
    from jax.scipy.special import logsumexp
    return systems.jax_grad_run(
        lambda *a: gmm_objective_vectorised(jnp, logsumexp, jnp.asarray, *a), args, WRT)


def _autograd(args):
    _, anp = systems.autograd()
    from autograd.scipy.special import logsumexp
    return systems.autograd_grad_run(
        lambda *a: gmm_objective_vectorised(anp, logsumexp, np.asarray, *a), args, WRT)


SYSTEMS = {
    "numba primal": lambda args: systems.numba_run(gmm_objective, args, FORM),
    "numba primal (no arrays)": lambda args: systems.numba_run(
        gmm_objective_no_local_arrays, args, FORM_NO_ARRAYS),
    "numba hand": lambda args: systems.compiled_run(gmm_gradient_by_hand, args, FORM),
    "adjit": lambda args: systems.adjit_run(
        [(gmm_objective, FORM), (gmm_objective_no_local_arrays, FORM_NO_ARRAYS)], args, WRT),
    "adjit (no arrays)": lambda args: systems.adjit_run(
        [(gmm_objective_no_local_arrays, FORM_NO_ARRAYS)], args, WRT),
    "torch": _torch,
    "jax": _jax,
    "autograd": _autograd,
}
