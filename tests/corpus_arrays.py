"""A corpus of array programs written element by element, for checking adjit's
array support against finite differences (tests/test_array_corpus.py).

Every function is plain module-level Python/NumPy of the kind one writes for
Numba's ``@njit``: recurrences that overwrite arrays, stencils with a time loop
and a copy-back loop, iterative solvers, loops of products into local arrays,
small networks, filters, ODE integrators, gathers and scatters with integer
index arrays.  They keep to the subset adjit supports (docs/supported.md):

* arrays are read and written one element at a time (``x[i]``, ``q[i, k]``,
  negative indices), never sliced and never combined as whole arrays;
* local arrays come from ``np.zeros``/``ones``/``empty``/``full`` and the
  ``*_like`` forms, ``np.copy``, ``np.arange``/``linspace``/``eye``;
* every array variable is bound once (write into it instead of rebinding);
  an array created in a loop has a shape the loop does not change.

Some functions write into their array arguments (in-place filters and
updates): run as plain Python they modify the caller's arrays, so the tests
always call them on copies; a derivative never may.

``CASES`` is a list of :class:`Case`.  A case records

* ``name``: a unique id,
* ``fn``: the function (plain, never wrapped),
* ``make_args(rng)``: the example arguments, drawn from a NumPy Generator the
  test seeds per case, in a region where the function is smooth (branches,
  ``max(0, .)`` kinks and sort orders are kept well away from switching under
  the finite-difference steps),
* ``wrt``: positions of the differentiated arguments (float arrays or floats;
  integer arrays and trip counts are never in it),
* ``tags``: the constructs exercised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable
    make_args: Callable
    wrt: tuple
    tags: tuple = ()

    def __repr__(self):
        return f"Case({self.name})"


CASES: list[Case] = []


def _add(name, fn, make_args, wrt, tags=()):
    CASES.append(Case(name, fn, make_args, tuple(wrt), tuple(tags)))


def _spd(rng, n, shift=None):
    """A well-conditioned symmetric positive definite matrix."""
    m = rng.normal(size=(n, n)) * 0.4
    return m @ m.T + (n * 0.3 + 1.0 if shift is None else shift) * np.eye(n)


def _diag_dominant(rng, n):
    a = rng.normal(size=(n, n)) * 0.3
    for i in range(n):
        a[i, i] = 2.0 + np.sum(np.abs(a[i])) + rng.uniform(0.0, 0.5)
    return a


def _spread(rng, n, lo=-1.0, hi=1.0):
    """n distinct values at least (hi - lo) / (2 (n - 1)) apart, shuffled."""
    return rng.permutation(np.linspace(lo, hi, n)) + rng.uniform(-0.2, 0.2, n) * (hi - lo) / (n - 1)


# --------------------------------------------------------------------------
# Recurrences that overwrite arrays
# --------------------------------------------------------------------------

def prefix_sum_weighted(x, w):
    n = x.shape[0]
    c = np.zeros(n)
    c[0] = x[0]
    for i in range(1, n):
        c[i] = c[i - 1] + x[i]
    s = 0.0
    for i in range(n):
        s += w[i] * math.sin(c[i])
    return s


_add("prefix_sum_weighted", prefix_sum_weighted,
     lambda rng: (rng.normal(size=9) * 0.5, rng.normal(size=9)), (0, 1),
     ("recurrence", "np.zeros", "shape[0]"))

_add("prefix_sum_weighted_f32", prefix_sum_weighted,
     lambda rng: ((rng.normal(size=9) * 0.5).astype(np.float32),
                  rng.normal(size=9).astype(np.float32)), (0, 1),
     ("recurrence", "float32"))


def prefix_sum_inplace(x, w):
    c = np.copy(x)
    for i in range(1, len(c)):
        c[i] += c[i - 1]
    s = 0.0
    for i in range(len(c)):
        s += w[i] * c[i] * c[i]
    return s


_add("prefix_sum_inplace", prefix_sum_inplace,
     lambda rng: (rng.normal(size=10), rng.normal(size=10)), (0, 1),
     ("recurrence", "np.copy", "augmented-write", "len"))


def cumulative_product(x, a):
    n = x.shape[0]
    p = np.ones(n)
    p[0] = a * x[0]
    for i in range(1, n):
        p[i] = p[i - 1] * x[i]
    s = 0.0
    for i in range(n):
        s += p[i]
    return s


_add("cumulative_product", cumulative_product,
     lambda rng: (rng.uniform(0.6, 1.4, size=8), 1.3), (0, 1),
     ("recurrence", "np.ones", "scalar-wrt"))


def cumulative_product_augmented(x):
    n = x.shape[0]
    p = np.ones_like(x)
    for i in range(n):
        p[i] *= x[i]
        if i > 0:
            p[i] *= p[i - 1]
    return p[-1] + p[n // 2]


_add("cumulative_product_augmented", cumulative_product_augmented,
     lambda rng: (rng.uniform(0.6, 1.4, size=7),), (0,),
     ("recurrence", "np.ones_like", "mul-write", "negative-index"))


def iir_filter(x, b0, b1, a1, a2):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        acc = b0 * x[i]
        if i >= 1:
            acc += b1 * x[i - 1] - a1 * y[i - 1]
        if i >= 2:
            acc -= a2 * y[i - 2]
        y[i] = acc
    e = 0.0
    for i in range(n):
        e += y[i] * y[i]
    return e


_add("iir_filter", iir_filter,
     lambda rng: (rng.normal(size=12), 0.7, 0.2, -0.5, 0.2), (0, 1, 2, 3, 4),
     ("recurrence", "iir", "branch"))


def exponential_smoothing_inplace(x, alpha):
    # An in-place filter: overwrites its argument.
    for i in range(1, x.shape[0]):
        x[i] = alpha * x[i] + (1.0 - alpha) * x[i - 1]
    s = 0.0
    for i in range(x.shape[0]):
        s += math.cos(x[i])
    return s


_add("exponential_smoothing_inplace", exponential_smoothing_inplace,
     lambda rng: (rng.normal(size=10), 0.35), (0, 1),
     ("recurrence", "iir", "argument-write"))


def kalman_filter_loglik(obs, q, r, m0, p0):
    t_count = obs.shape[0]
    means = np.zeros(t_count)
    m = m0
    p = p0
    ll = 0.0
    for t in range(t_count):
        pp = p + q
        s = pp + r
        k = pp / s
        innov = obs[t] - m
        ll -= 0.5 * (math.log(2.0 * math.pi * s) + innov * innov / s)
        m = m + k * innov
        p = (1.0 - k) * pp
        means[t] = m
    smooth = 0.0
    for t in range(1, t_count):
        smooth += (means[t] - means[t - 1]) ** 2
    return ll + smooth


_add("kalman_filter_loglik", kalman_filter_loglik,
     lambda rng: (np.cumsum(rng.normal(size=10)) * 0.3, 0.2, 0.5, 0.0, 1.0), (0, 1, 2, 3, 4),
     ("recurrence", "filter"))


def moving_average_sliding(x, width):
    n = x.shape[0]
    nout = n - width + 1
    ma = np.zeros(nout)
    acc = 0.0
    for i in range(width):
        acc += x[i]
    ma[0] = acc / width
    for i in range(1, nout):
        ma[i] = ma[i - 1] + (x[i + width - 1] - x[i - 1]) / width
    s = 0.0
    for i in range(nout):
        s += (ma[i] - x[i]) ** 2
    return s


_add("moving_average_sliding", moving_average_sliding,
     lambda rng: (rng.normal(size=12), 4), (0,),
     ("recurrence", "window"))


def welford_skewness(x):
    n = x.shape[0]
    mean = 0.0
    m2 = 0.0
    for i in range(n):
        delta = x[i] - mean
        mean += delta / (i + 1)
        m2 += delta * (x[i] - mean)
    sd = math.sqrt(m2 / (n - 1))
    z = np.empty(n)
    for i in range(n):
        z[i] = (x[i] - mean) / sd
    skew = 0.0
    for i in range(n):
        skew += z[i] ** 3
    return skew / n


_add("welford_skewness", welford_skewness,
     lambda rng: (rng.gamma(2.0, 1.0, size=11),), (0,),
     ("recurrence", "np.empty", "statistics"))


# --------------------------------------------------------------------------
# Stencils with a time loop and a copy-back loop
# --------------------------------------------------------------------------

def heat_1d(u0, kappa, steps):
    n = u0.shape[0]
    u = np.copy(u0)
    un = np.zeros_like(u0)
    for t in range(steps):
        for i in range(1, n - 1):
            un[i] = u[i] + kappa * (u[i + 1] - 2.0 * u[i] + u[i - 1])
        un[0] = u[0] + kappa * (u[1] - u[0])
        un[n - 1] = u[n - 1] + kappa * (u[n - 2] - u[n - 1])
        for i in range(n):
            u[i] = un[i]
    s = 0.0
    for i in range(n):
        s += u[i] * u[i] * (i + 1)
    return s


_add("heat_1d", heat_1d,
     lambda rng: (rng.normal(size=10), 0.2, 8), (0, 1),
     ("stencil", "time-loop", "copy-back", "np.zeros_like"))

_add("heat_1d_f32", heat_1d,
     lambda rng: (rng.normal(size=10).astype(np.float32), 0.2, 6), (0,),
     ("stencil", "time-loop", "copy-back", "float32"))


def periodic_advection_diffusion(u0, c, nu, steps):
    n = u0.shape[0]
    u = np.copy(u0)
    un = np.empty_like(u0)
    for t in range(steps):
        for i in range(n):
            un[i] = u[i] - c * (u[i] - u[i - 1]) + nu * (u[(i + 1) % n] - 2.0 * u[i] + u[i - 1])
        for i in range(n):
            u[i] = un[i]
    s = 0.0
    for i in range(n):
        s += math.sin(u[i]) * (1.0 + 0.1 * i)
    return s


_add("periodic_advection_diffusion", periodic_advection_diffusion,
     lambda rng: (rng.normal(size=9), 0.3, 0.15, 7), (0, 1, 2),
     ("stencil", "time-loop", "negative-index", "np.empty_like"))


def wave_1d(u0, v0, c, steps):
    n = u0.shape[0]
    dt = 0.1
    prev = np.copy(u0)
    cur = np.zeros(n)
    nxt = np.zeros(n)
    cfl = (c * dt) ** 2
    for i in range(1, n - 1):
        cur[i] = u0[i] + dt * v0[i] + 0.5 * cfl * (u0[i + 1] - 2.0 * u0[i] + u0[i - 1])
    for t in range(steps):
        for i in range(1, n - 1):
            nxt[i] = 2.0 * cur[i] - prev[i] + cfl * (cur[i + 1] - 2.0 * cur[i] + cur[i - 1])
        for i in range(n):
            prev[i] = cur[i]
            cur[i] = nxt[i]
    energy = 0.0
    for i in range(n):
        vel = (cur[i] - prev[i]) / dt
        energy += 0.5 * vel * vel + cur[i] * cur[i]
    return energy


_add("wave_1d", wave_1d,
     lambda rng: (rng.normal(size=10), rng.normal(size=10), 1.5, 8), (0, 1, 2),
     ("stencil", "time-loop", "copy-back", "three-arrays"))


def heat_2d(u0, alpha, steps):
    n = u0.shape[0]
    m = u0.shape[1]
    u = np.copy(u0)
    un = np.zeros((n, m))
    for t in range(steps):
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                un[i, j] = u[i, j] + alpha * (u[i + 1, j] + u[i - 1, j] + u[i, j + 1]
                                              + u[i, j - 1] - 4.0 * u[i, j])
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                u[i, j] = un[i, j]
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += u[i, j] ** 2 * (1.0 + 0.1 * j)
    return s


_add("heat_2d", heat_2d,
     lambda rng: (rng.normal(size=(6, 7)), 0.15, 5), (0, 1),
     ("stencil", "2d", "time-loop", "copy-back", "np.zeros-tuple"))


def laplacian_tanh_2d(u, w):
    n = u.shape[0]
    m = u.shape[1]
    lap = np.full((n, m), 0.5)
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            lap[i, j] = u[i + 1, j] + u[i - 1, j] + u[i, j + 1] + u[i, j - 1] - 4.0 * u[i, j]
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += w[i, j] * math.tanh(lap[i, j])
    return s


_add("laplacian_tanh_2d", laplacian_tanh_2d,
     lambda rng: (rng.normal(size=(5, 6)) * 0.4, rng.normal(size=(5, 6))), (0, 1),
     ("stencil", "2d", "np.full"))


def smoothed_total_variation(img, eps):
    n = img.shape[0]
    m = img.shape[1]
    grad_mag = np.zeros((n - 1, m - 1))
    for i in range(n - 1):
        for j in range(m - 1):
            dx = img[i + 1, j] - img[i, j]
            dy = img[i, j + 1] - img[i, j]
            grad_mag[i, j] = math.sqrt(dx * dx + dy * dy + eps)
    tv = 0.0
    for i in range(n - 1):
        for j in range(m - 1):
            tv += grad_mag[i, j]
    return tv


_add("smoothed_total_variation", smoothed_total_variation,
     lambda rng: (rng.normal(size=(6, 6)), 0.05), (0, 1),
     ("stencil", "2d"))


# --------------------------------------------------------------------------
# Iterative solvers
# --------------------------------------------------------------------------

def jacobi_solve(A, b, c, iters):
    n = b.shape[0]
    x = np.zeros(n)
    xn = np.zeros(n)
    for it in range(iters):
        for i in range(n):
            r = b[i]
            for j in range(n):
                if j != i:
                    r -= A[i, j] * x[j]
            xn[i] = r / A[i, i]
        for i in range(n):
            x[i] = xn[i]
    s = 0.0
    for i in range(n):
        s += c[i] * x[i]
    return s


_add("jacobi_solve", jacobi_solve,
     lambda rng: (_diag_dominant(rng, 6), rng.normal(size=6), rng.normal(size=6), 8), (0, 1, 2),
     ("solver", "jacobi", "copy-back", "branch"))


def gauss_seidel(A, b, iters):
    n = b.shape[0]
    x = np.zeros_like(b)
    for it in range(iters):
        for i in range(n):
            r = b[i]
            for j in range(i):
                r -= A[i, j] * x[j]
            for j in range(i + 1, n):
                r -= A[i, j] * x[j]
            x[i] = r / A[i, i]
    s = 0.0
    for i in range(n):
        s += x[i] * x[i]
    return s


_add("gauss_seidel", gauss_seidel,
     lambda rng: (_diag_dominant(rng, 7), rng.normal(size=7), 6), (0, 1),
     ("solver", "gauss-seidel", "in-place"))


def sor_poisson_1d(f, omega, iters):
    n = f.shape[0]
    u = np.zeros(n + 2)
    for it in range(iters):
        for i in range(1, n + 1):
            gs = 0.5 * (u[i - 1] + u[i + 1] + f[i - 1])
            u[i] = (1.0 - omega) * u[i] + omega * gs
    s = 0.0
    for i in range(1, n + 1):
        s += u[i] * f[i - 1]
    return s


_add("sor_poisson_1d", sor_poisson_1d,
     lambda rng: (rng.normal(size=8), 1.3, 10), (0, 1),
     ("solver", "sor", "in-place"))


def conjugate_gradient(A, b, iters):
    n = b.shape[0]
    x = np.zeros(n)
    r = np.copy(b)
    p = np.copy(b)
    ap = np.zeros(n)
    rs = 0.0
    for i in range(n):
        rs += r[i] * r[i]
    for it in range(iters):
        for i in range(n):
            ap[i] = 0.0
            for j in range(n):
                ap[i] += A[i, j] * p[j]
        pap = 0.0
        for i in range(n):
            pap += p[i] * ap[i]
        alpha = rs / pap
        for i in range(n):
            x[i] += alpha * p[i]
            r[i] -= alpha * ap[i]
        rs_new = 0.0
        for i in range(n):
            rs_new += r[i] * r[i]
        beta = rs_new / rs
        for i in range(n):
            p[i] = r[i] + beta * p[i]
        rs = rs_new
    s = 0.0
    for i in range(n):
        s += x[i] * b[i] + 0.5 * x[i] * x[i]
    return s


_add("conjugate_gradient", conjugate_gradient,
     lambda rng: (_spd(rng, 6), rng.normal(size=6), 3), (0, 1),
     ("solver", "cg", "np.copy", "sub-write"))


def power_iteration_rayleigh(A, iters):
    n = A.shape[0]
    v = np.ones(n)
    w = np.zeros(n)
    for it in range(iters):
        for i in range(n):
            w[i] = 0.0
            for j in range(n):
                w[i] += A[i, j] * v[j]
        norm = 0.0
        for i in range(n):
            norm += w[i] * w[i]
        norm = math.sqrt(norm)
        for i in range(n):
            v[i] = w[i] / norm
    rq = 0.0
    for i in range(n):
        for j in range(n):
            rq += v[i] * A[i, j] * v[j]
    return rq


_add("power_iteration_rayleigh", power_iteration_rayleigh,
     lambda rng: (_spd(rng, 5), 6), (0,),
     ("solver", "eigen"))


def ridge_gd_unrolled(X, y, lam, lr, iters):
    n = X.shape[0]
    d = X.shape[1]
    w = np.zeros(d)
    g = np.zeros(d)
    r = np.zeros(n)
    for it in range(iters):
        for i in range(n):
            r[i] = -y[i]
            for j in range(d):
                r[i] += X[i, j] * w[j]
        for j in range(d):
            g[j] = lam * w[j]
            for i in range(n):
                g[j] += X[i, j] * r[i] / n
        for j in range(d):
            w[j] -= lr * g[j]
    loss = 0.0
    for i in range(n):
        pred = 0.0
        for j in range(d):
            pred += X[i, j] * w[j]
        loss += (pred - y[i]) ** 2
    return loss / n


_add("ridge_gd_unrolled", ridge_gd_unrolled,
     lambda rng: (rng.normal(size=(8, 3)), rng.normal(size=8), 0.1, 0.3, 6), (0, 1, 2, 3),
     ("optimizer", "unrolled", "sub-write"))


def newton_cuberoots(c, w):
    n = c.shape[0]
    roots = np.zeros(n)
    for i in range(n):
        z = 1.0
        it = 0
        while abs(z * z * z - c[i]) > 1e-13 and it < 60:
            z = z - (z * z * z - c[i]) / (3.0 * z * z)
            it += 1
        roots[i] = z
    s = 0.0
    for i in range(n):
        s += w[i] * roots[i]
    return s


_add("newton_cuberoots", newton_cuberoots,
     lambda rng: (rng.uniform(0.5, 3.0, size=6), rng.normal(size=6)), (0, 1),
     ("while", "newton", "element-write"))


# --------------------------------------------------------------------------
# In-place updates of arguments
# --------------------------------------------------------------------------

def scale_argument_inplace(x, y):
    for i in range(x.shape[0]):
        x[i] = x[i] * y
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] ** 3
    return s


_add("scale_argument_inplace", scale_argument_inplace,
     lambda rng: (rng.normal(size=8), 1.2), (0, 1),
     ("argument-write",))


def update_argument_augmented(x, w, a):
    for i in range(x.shape[0]):
        x[i] += a * w[i]
        x[i] *= 1.5
        x[i] -= w[i] * w[i]
    s = 0.0
    for i in range(x.shape[0]):
        s += math.exp(0.3 * x[i])
    return s


_add("update_argument_augmented", update_argument_augmented,
     lambda rng: (rng.normal(size=9), rng.normal(size=9), 0.7), (0, 1, 2),
     ("argument-write", "augmented-write"))


def normalize_rows_inplace(A, w):
    n = A.shape[0]
    m = A.shape[1]
    for i in range(n):
        s = 0.0
        for j in range(m):
            s += A[i, j] * A[i, j]
        inv = 1.0 / math.sqrt(s)
        for j in range(m):
            A[i, j] *= inv
    out = 0.0
    for i in range(n):
        for j in range(m):
            out += w[j] * A[i, j] * (i + 1)
    return out


_add("normalize_rows_inplace", normalize_rows_inplace,
     lambda rng: (rng.normal(size=(5, 4)), rng.normal(size=4)), (0, 1),
     ("argument-write", "2d", "mul-write"))


def argument_write_unused_partially(x, y):
    # Writes an argument that is not differentiated, reads one that is.
    for i in range(y.shape[0]):
        y[i] = y[i] + x[i] * x[i]
    s = 0.0
    for i in range(y.shape[0]):
        s += math.sin(y[i])
    return s


_add("argument_write_nonwrt", argument_write_unused_partially,
     lambda rng: (rng.normal(size=7), rng.normal(size=7)), (0,),
     ("argument-write", "non-wrt-write"))


# --------------------------------------------------------------------------
# Linear algebra by loops
# --------------------------------------------------------------------------

def matvec_tanh(A, x):
    m = A.shape[0]
    n = A.shape[1]
    y = np.zeros(m)
    for i in range(m):
        for j in range(n):
            y[i] += A[i, j] * x[j]
    s = 0.0
    for i in range(m):
        s += math.tanh(y[i])
    return s


_add("matvec_tanh", matvec_tanh,
     lambda rng: (rng.normal(size=(6, 5)) * 0.5, rng.normal(size=5)), (0, 1),
     ("matvec", "add-write"))

_add("matvec_tanh_f32", matvec_tanh,
     lambda rng: ((rng.normal(size=(6, 5)) * 0.5).astype(np.float32),
                  rng.normal(size=5).astype(np.float32)), (0, 1),
     ("matvec", "float32"))


def matmat_frobenius(A, B):
    n = A.shape[0]
    k = A.shape[1]
    p = B.shape[1]
    C = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            for l in range(k):
                C[i, j] += A[i, l] * B[l, j]
    s = 0.0
    for i in range(n):
        for j in range(p):
            s += C[i, j] * C[i, j]
    return math.sqrt(s)


_add("matmat_frobenius", matmat_frobenius,
     lambda rng: (rng.normal(size=(4, 5)), rng.normal(size=(5, 3))), (0, 1),
     ("matmat", "2d", "add-write"))


def gram_quadratic(X, v):
    n = X.shape[0]
    d = X.shape[1]
    G = np.ones((d, d), dtype=np.float64)
    for a in range(d):
        for b in range(d):
            G[a, b] = 0.0
            for i in range(n):
                G[a, b] += X[i, a] * X[i, b]
    q = 0.0
    for a in range(d):
        for b in range(d):
            q += v[a] * G[a, b] * v[b]
    return q


_add("gram_quadratic", gram_quadratic,
     lambda rng: (rng.normal(size=(7, 4)), rng.normal(size=4)), (0, 1),
     ("matmat", "np.ones-dtype-keyword"))


def forward_substitution(L, b, c):
    n = b.shape[0]
    x = np.zeros(n)
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= L[i, j] * x[j]
        x[i] = s / L[i, i]
    out = 0.0
    for i in range(n):
        out += c[i] * x[i]
    return out


def _lower(rng, n):
    L = np.tril(rng.normal(size=(n, n)) * 0.4)
    for i in range(n):
        L[i, i] = rng.uniform(1.5, 2.5)
    return L


_add("forward_substitution", forward_substitution,
     lambda rng: (_lower(rng, 7), rng.normal(size=7), rng.normal(size=7)), (0, 1, 2),
     ("triangular-solve",))


def back_substitution_inplace(U, b):
    n = b.shape[0]
    x = np.copy(b)
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            x[i] -= U[i, j] * x[j]
        x[i] = x[i] / U[i, i]
    s = 0.0
    for i in range(n):
        s += x[i] ** 2
    return s


_add("back_substitution_inplace", back_substitution_inplace,
     lambda rng: (_lower(rng, 6).T.copy(), rng.normal(size=6)), (0, 1),
     ("triangular-solve", "negative-step", "sub-write"))


def cholesky_logdet_quad(A, b):
    n = A.shape[0]
    L = np.zeros((n, n))
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            t = A[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / L[j, j]
    logdet = 0.0
    for i in range(n):
        logdet += 2.0 * math.log(L[i, i])
    y = np.zeros(n)
    for i in range(n):
        t = b[i]
        for k in range(i):
            t -= L[i, k] * y[k]
        y[i] = t / L[i, i]
    quad = 0.0
    for i in range(n):
        quad += y[i] * y[i]
    return logdet + quad


_add("cholesky_logdet_quad", cholesky_logdet_quad,
     lambda rng: (_spd(rng, 5), rng.normal(size=5)), (0, 1),
     ("cholesky", "triangular-solve", "2d"))


def lu_logdet_inplace(A):
    n = A.shape[0]
    a = np.copy(A)
    for k in range(n):
        for i in range(k + 1, n):
            a[i, k] = a[i, k] / a[k, k]
            for j in range(k + 1, n):
                a[i, j] -= a[i, k] * a[k, j]
    s = 0.0
    for i in range(n):
        s += math.log(abs(a[i, i]))
    return s


_add("lu_logdet_inplace", lu_logdet_inplace,
     lambda rng: (_diag_dominant(rng, 5),), (0,),
     ("lu", "np.copy-2d", "in-place"))


def eye_shifted_trace(A, h):
    n = A.shape[0]
    eye = np.eye(n)
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            M[i, j] = eye[i, j] + h * A[i, j]
    tr = 0.0
    for i in range(n):
        for j in range(n):
            tr += M[i, j] * M[j, i]
    return tr + math.log(M[0, 0] * M[n - 1, n - 1])


_add("eye_shifted_trace", eye_shifted_trace,
     lambda rng: (rng.normal(size=(5, 5)), 0.2), (0, 1),
     ("np.eye",))


def tensor_contract_3d(T, u, v):
    a = T.shape[0]
    b = T.shape[1]
    c = T.shape[2]
    sq = np.zeros(T.shape)
    for i in range(a):
        for j in range(b):
            for k in range(c):
                sq[i, j, k] = T[i, j, k] * (1.0 + 0.5 * T[i, j, k])
    out = np.zeros(a)
    for i in range(a):
        for j in range(b):
            for k in range(c):
                out[i] += sq[i, j, k] * u[j] * v[k]
    s = 0.0
    for i in range(a):
        s += math.sin(out[i])
    return s


_add("tensor_contract_3d", tensor_contract_3d,
     lambda rng: (rng.normal(size=(3, 4, 2)) * 0.5, rng.normal(size=4), rng.normal(size=2)), (0, 1, 2),
     ("3d", "np.zeros-shape"))


# --------------------------------------------------------------------------
# Machine learning by loops
# --------------------------------------------------------------------------

def softmax_cross_entropy(z, target):
    n = z.shape[0]
    m = z[0]
    for i in range(1, n):
        if z[i] > m:
            m = z[i]
    e = np.empty(n)
    total = 0.0
    for i in range(n):
        e[i] = math.exp(z[i] - m)
        total += e[i]
    p = np.zeros(n)
    for i in range(n):
        p[i] = e[i] / total
    loss = 0.0
    for i in range(n):
        loss -= target[i] * math.log(p[i])
    return loss


def _probabilities(rng, n):
    t = rng.uniform(0.1, 1.0, size=n)
    return t / t.sum()


_add("softmax_cross_entropy", softmax_cross_entropy,
     lambda rng: (rng.normal(size=8), _probabilities(rng, 8)), (0, 1),
     ("softmax", "branch", "np.empty"))


def row_logsumexp(X, w):
    n = X.shape[0]
    m = X.shape[1]
    out = np.zeros(n, np.float64)
    for i in range(n):
        mx = X[i, 0]
        for j in range(1, m):
            mx = max(mx, X[i, j])
        s = 0.0
        for j in range(m):
            s += math.exp(X[i, j] - mx)
        out[i] = mx + math.log(s)
    total = 0.0
    for i in range(n):
        total += w[i] * out[i]
    return total


_add("row_logsumexp", row_logsumexp,
     lambda rng: (rng.normal(size=(5, 6)), rng.normal(size=5)), (0, 1),
     ("logsumexp", "max", "dtype-positional"))


def mlp_relu_tanh(x, W1, b1, W2, b2, v):
    d = x.shape[0]
    h = W1.shape[0]
    o = W2.shape[0]
    a1 = np.zeros(h)
    for j in range(h):
        z = b1[j]
        for k in range(d):
            z += W1[j, k] * x[k]
        a1[j] = max(0.0, z)
    a2 = np.zeros(o)
    for j in range(o):
        z = b2[j]
        for k in range(h):
            z += W2[j, k] * a1[k]
        a2[j] = math.tanh(z)
    out = 0.0
    for j in range(o):
        out += v[j] * a2[j]
    return out


def _mlp_args(rng):
    d, h, o = 4, 6, 3
    x = rng.normal(size=d)
    W1 = rng.normal(size=(h, d)) * 0.5
    b1 = rng.normal(size=h) * 0.1
    z = W1 @ x + b1
    b1 = b1 + np.where(z >= 0.0, 0.3, -0.3)       # pre-activations away from the kink
    W2 = rng.normal(size=(o, h)) * 0.5
    b2 = rng.normal(size=o) * 0.1
    v = rng.normal(size=o)
    return x, W1, b1, W2, b2, v


_add("mlp_relu_tanh", mlp_relu_tanh, _mlp_args, (0, 1, 2, 3, 4, 5),
     ("mlp", "relu", "max", "tanh"))


def mlp_batch_loss(X, y, W1, b1, w2):
    n = X.shape[0]
    d = X.shape[1]
    h = W1.shape[0]
    loss = 0.0
    for s in range(n):
        hidden = np.zeros(h)          # a scratch buffer created in the loop
        for j in range(h):
            z = b1[j]
            for k in range(d):
                z += W1[j, k] * X[s, k]
            hidden[j] = math.tanh(z)
        pred = 0.0
        for j in range(h):
            pred += w2[j] * hidden[j]
        r = pred - y[s]
        loss += r * r
    return loss / n


_add("mlp_batch_loss", mlp_batch_loss,
     lambda rng: (rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=(5, 3)) * 0.5,
                  rng.normal(size=5) * 0.1, rng.normal(size=5)), (0, 2, 3, 4),
     ("mlp", "scratch-in-loop", "tanh"))


def logistic_loss(X, labels, w, b, lam):
    n = X.shape[0]
    d = X.shape[1]
    loss = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += X[i, j] * w[j]
        sgn = 2.0 * labels[i] - 1.0
        loss += math.log1p(math.exp(-sgn * z))
    reg = 0.0
    for j in range(d):
        reg += w[j] * w[j]
    return loss / n + 0.5 * lam * reg


_add("logistic_loss", logistic_loss,
     lambda rng: (rng.normal(size=(10, 3)), rng.integers(0, 2, size=10), rng.normal(size=3),
                  0.1, 0.05), (0, 2, 3, 4),
     ("logistic", "int-array"))


def layer_norm_loss(x, gamma, beta, target):
    n = x.shape[0]
    mean = 0.0
    for i in range(n):
        mean += x[i]
    mean /= n
    var = 0.0
    for i in range(n):
        var += (x[i] - mean) ** 2
    var /= n
    inv = 1.0 / math.sqrt(var + 1e-5)
    y = np.empty(n, np.float64)
    for i in range(n):
        y[i] = gamma[i] * (x[i] - mean) * inv + beta[i]
    loss = 0.0
    for i in range(n):
        loss += (y[i] - target[i]) ** 2
    return loss


_add("layer_norm_loss", layer_norm_loss,
     lambda rng: (rng.normal(size=8), rng.uniform(0.5, 1.5, 8), rng.normal(size=8) * 0.1,
                  rng.normal(size=8)), (0, 1, 2),
     ("normalization", "np.empty-dtype-positional"))


def attention_head(Q, K, V, u):
    n = Q.shape[0]
    d = Q.shape[1]
    scores = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(d):
                s += Q[i, k] * K[j, k]
            scores[i, j] = s / math.sqrt(d)
    for i in range(n):
        mx = scores[i, 0]
        for j in range(1, n):
            if scores[i, j] > mx:
                mx = scores[i, j]
        total = 0.0
        for j in range(n):
            scores[i, j] = math.exp(scores[i, j] - mx)
            total += scores[i, j]
        for j in range(n):
            scores[i, j] = scores[i, j] / total
    out = np.zeros((n, d))
    for i in range(n):
        for j in range(n):
            for k in range(d):
                out[i, k] += scores[i, j] * V[j, k]
    r = 0.0
    for i in range(n):
        for k in range(d):
            r += u[k] * out[i, k] * out[i, k]
    return r


_add("attention_head", attention_head,
     lambda rng: (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3)),
                  rng.normal(size=3)), (0, 1, 2, 3),
     ("attention", "softmax", "in-place-2d"))


def gaussian_kernel_norm(q, p, sigma):
    n = q.shape[0]
    d = q.shape[1]
    sq = np.zeros(n)
    for i in range(n):
        for k in range(d):
            sq[i] += q[i, k] * q[i, k]
    total = 0.0
    for i in range(n):
        for j in range(n):
            cross = 0.0
            for k in range(d):
                cross += q[i, k] * q[j, k]
            d2 = sq[i] + sq[j] - 2.0 * cross
            dot = 0.0
            for k in range(p.shape[1]):
                dot += p[i, k] * p[j, k]
            total += math.exp(-d2 / (2.0 * sigma * sigma)) * dot
    return total


_add("gaussian_kernel_norm", gaussian_kernel_norm,
     lambda rng: (rng.normal(size=(6, 3)), rng.normal(size=(6, 2)), 1.5), (0, 1, 2),
     ("kernel", "local-array"))


def kernel_matrix_quadratic(X, alpha, ell):
    n = X.shape[0]
    d = X.shape[1]
    K = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            d2 = 0.0
            for k in range(d):
                d2 += (X[i, k] - X[j, k]) ** 2
            K[i, j] = math.exp(-0.5 * d2 / (ell * ell))
    q = 0.0
    for i in range(n):
        for j in range(n):
            q += alpha[i] * K[i, j] * alpha[j]
    return q


_add("kernel_matrix_quadratic", kernel_matrix_quadratic,
     lambda rng: (rng.normal(size=(6, 2)), rng.normal(size=6), 0.8), (0, 1, 2),
     ("kernel", "np.empty-2d"))


def gmm_loglik(X, alphas, means, log_prec):
    n = X.shape[0]
    d = X.shape[1]
    kc = alphas.shape[0]
    amax = alphas[0]
    for k in range(1, kc):
        amax = max(amax, alphas[k])
    asum = 0.0
    for k in range(kc):
        asum += math.exp(alphas[k] - amax)
    log_norm = amax + math.log(asum)
    comp = np.zeros(kc)
    total = 0.0
    for i in range(n):
        for k in range(kc):
            q = 0.0
            logdet = 0.0
            for j in range(d):
                diff = (X[i, j] - means[k, j]) * math.exp(log_prec[k, j])
                q += diff * diff
                logdet += log_prec[k, j]
            comp[k] = alphas[k] - log_norm + logdet - 0.5 * q
        cmax = comp[0]
        for k in range(1, kc):
            if comp[k] > cmax:
                cmax = comp[k]
        s = 0.0
        for k in range(kc):
            s += math.exp(comp[k] - cmax)
        total += cmax + math.log(s)
    return total - 0.5 * n * d * math.log(2.0 * math.pi)


_add("gmm_loglik", gmm_loglik,
     lambda rng: (rng.normal(size=(7, 2)), rng.normal(size=3), rng.normal(size=(3, 2)),
                  rng.normal(size=(3, 2)) * 0.3), (0, 1, 2, 3),
     ("gmm", "logsumexp", "overwritten-in-loop"))


def hmm_forward_loglik(log_pi, log_A, log_B, obs):
    kc = log_pi.shape[0]
    t_count = obs.shape[0]
    alpha = np.zeros(kc)
    new = np.zeros(kc)
    for k in range(kc):
        alpha[k] = log_pi[k] + log_B[k, obs[0]]
    for t in range(1, t_count):
        for j in range(kc):
            m = alpha[0] + log_A[0, j]
            for i in range(1, kc):
                m = max(m, alpha[i] + log_A[i, j])
            s = 0.0
            for i in range(kc):
                s += math.exp(alpha[i] + log_A[i, j] - m)
            new[j] = m + math.log(s) + log_B[j, obs[t]]
        for j in range(kc):
            alpha[j] = new[j]
    m = alpha[0]
    for k in range(1, kc):
        m = max(m, alpha[k])
    s = 0.0
    for k in range(kc):
        s += math.exp(alpha[k] - m)
    return m + math.log(s)


_add("hmm_forward_loglik", hmm_forward_loglik,
     lambda rng: (rng.normal(size=3) * 0.5, rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(3, 4)) * 0.5,
                  rng.integers(0, 4, size=9)), (0, 1, 2),
     ("hmm", "logsumexp", "int-array", "copy-back"))


def soft_dtw(x, y, gamma):
    n = x.shape[0]
    m = y.shape[0]
    R = np.full((n + 1, m + 1), 1e10)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = (x[i - 1] - y[j - 1]) ** 2
            r0 = R[i - 1, j - 1]
            r1 = R[i - 1, j]
            r2 = R[i, j - 1]
            rmin = min(r0, min(r1, r2))
            s = (math.exp(-(r0 - rmin) / gamma) + math.exp(-(r1 - rmin) / gamma)
                 + math.exp(-(r2 - rmin) / gamma))
            R[i, j] = cost + rmin - gamma * math.log(s)
    return R[n, m]


_add("soft_dtw", soft_dtw,
     lambda rng: (rng.normal(size=6), rng.normal(size=5), 0.5), (0, 1, 2),
     ("dynamic-programming", "min", "np.full-2d"))


def conv1d_valid(x, k):
    n = x.shape[0]
    m = k.shape[0]
    out = np.zeros(n - m + 1)
    for i in range(n - m + 1):
        for j in range(m):
            out[i] += k[j] * x[i + j]
    s = 0.0
    for i in range(n - m + 1):
        s += math.tanh(out[i])
    return s


_add("conv1d_valid", conv1d_valid,
     lambda rng: (rng.normal(size=11), rng.normal(size=3) * 0.5), (0, 1),
     ("convolution",))


def max_pool_1d(x, w, width):
    nout = x.shape[0] // width
    out = np.empty(nout)
    for i in range(nout):
        best = x[i * width]
        for j in range(1, width):
            if x[i * width + j] > best:
                best = x[i * width + j]
        out[i] = best
    s = 0.0
    for i in range(nout):
        s += w[i] * out[i] ** 2
    return s


_add("max_pool_1d", max_pool_1d,
     lambda rng: (_spread(rng, 12), rng.normal(size=4), 3), (0, 1),
     ("pooling", "branch"))


# --------------------------------------------------------------------------
# Polynomials with coefficient arrays
# --------------------------------------------------------------------------

def polyval_points(c, x):
    deg = c.shape[0]
    s = 0.0
    for i in range(x.shape[0]):
        acc = c[-1]
        for k in range(deg - 2, -1, -1):
            acc = acc * x[i] + c[k]
        s += acc * acc
    return s


_add("polyval_points", polyval_points,
     lambda rng: (rng.normal(size=5), rng.uniform(-1.0, 1.0, size=7)), (0, 1),
     ("polynomial", "horner", "negative-index"))


def poly_derivative_values(c, x):
    deg = c.shape[0]
    dc = np.zeros(deg - 1)
    for k in range(deg - 1):
        dc[k] = (k + 1) * c[k + 1]
    vals = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        acc = dc[deg - 2]
        for k in range(deg - 3, -1, -1):
            acc = acc * x[i] + dc[k]
        vals[i] = acc
    s = 0.0
    for i in range(x.shape[0]):
        s += vals[i] * math.cos(x[i])
    return s


_add("poly_derivative_values", poly_derivative_values,
     lambda rng: (rng.normal(size=6), rng.uniform(-1.0, 1.0, size=6)), (0, 1),
     ("polynomial", "local-coefficients"))


# --------------------------------------------------------------------------
# Cumulative max/min, sorting
# --------------------------------------------------------------------------

def cumulative_max(x, w):
    n = x.shape[0]
    m = np.zeros(n)
    m[0] = x[0]
    for i in range(1, n):
        if x[i] > m[i - 1]:
            m[i] = x[i]
        else:
            m[i] = m[i - 1]
    s = 0.0
    for i in range(n):
        s += w[i] * m[i]
    return s


_add("cumulative_max", cumulative_max,
     lambda rng: (_spread(rng, 10), rng.normal(size=10)), (0, 1),
     ("cummax", "branch"))


def cumulative_min_inplace(x, w):
    m = np.copy(x)
    for i in range(1, m.shape[0]):
        m[i] = min(m[i], m[i - 1])
    s = 0.0
    for i in range(m.shape[0]):
        s += w[i] * m[i] * m[i]
    return s


_add("cumulative_min_inplace", cumulative_min_inplace,
     lambda rng: (_spread(rng, 9), rng.normal(size=9)), (0, 1),
     ("cummin", "min", "np.copy"))


def insertion_sort_weighted(x, w):
    y = np.copy(x)
    n = y.shape[0]
    for i in range(1, n):
        j = i
        while j > 0 and y[j - 1] > y[j]:
            tmp = y[j]
            y[j] = y[j - 1]
            y[j - 1] = tmp
            j -= 1
    s = 0.0
    for i in range(n):
        s += w[i] * y[i]
    return s


_add("insertion_sort_weighted", insertion_sort_weighted,
     lambda rng: (_spread(rng, 8), rng.normal(size=8)), (0, 1),
     ("sort", "while", "swap"))


# --------------------------------------------------------------------------
# Gather / scatter with integer index arrays
# --------------------------------------------------------------------------

def gather_into_local(x, idx, w):
    g = np.zeros(idx.shape[0])
    for k in range(idx.shape[0]):
        g[k] = x[idx[k]]
    s = 0.0
    for k in range(idx.shape[0]):
        s += w[k] * g[k] * g[k]
    return s


_add("gather_into_local", gather_into_local,
     lambda rng: (rng.normal(size=6), rng.integers(0, 6, size=9), rng.normal(size=9)), (0, 2),
     ("gather", "int-array"))


def scatter_permute(x, perm):
    y = np.zeros_like(x)
    for k in range(perm.shape[0]):
        y[perm[k]] = x[k]
    s = 0.0
    for i in range(y.shape[0]):
        s += (i + 1) * y[i] * y[i - 1]
    return s


_add("scatter_permute", scatter_permute,
     lambda rng: (rng.normal(size=8), rng.permutation(8)), (0,),
     ("scatter", "int-array", "negative-index"))


def histogram_scatter_add(x, w, idx, nbins):
    out = np.zeros(nbins)
    for k in range(x.shape[0]):
        out[idx[k]] += w[k] * x[k]
    s = 0.0
    for j in range(nbins):
        s += math.sin(out[j])
    return s


_add("histogram_scatter_add", histogram_scatter_add,
     lambda rng: (rng.normal(size=10), rng.normal(size=10), rng.integers(0, 4, size=10), 4), (0, 1),
     ("scatter-add", "int-array"))


def segment_mean(x, seg, nseg):
    sums = np.zeros(nseg)
    counts = np.zeros(nseg, dtype=np.int64)
    for k in range(x.shape[0]):
        sums[seg[k]] += x[k]
        counts[seg[k]] += 1
    s = 0.0
    for j in range(nseg):
        if counts[j] > 0:
            mean = sums[j] / counts[j]
            s += mean * mean
    return s


_add("segment_mean", segment_mean,
     lambda rng: (rng.normal(size=11), rng.integers(0, 5, size=11), 5), (0,),
     ("scatter-add", "int-local-array", "dtype-keyword"))


def csr_matvec_norm(data, indptr, indices, x):
    nrows = indptr.shape[0] - 1
    y = np.zeros(nrows)
    for r in range(nrows):
        for k in range(indptr[r], indptr[r + 1]):
            y[r] += data[k] * x[indices[k]]
    s = 0.0
    for r in range(nrows):
        s += y[r] * y[r]
    return s


def _csr_args(rng):
    nrows, ncols = 5, 6
    indptr = np.concatenate([[0], np.cumsum(rng.integers(1, 4, size=nrows))]).astype(np.int64)
    indices = rng.integers(0, ncols, size=indptr[-1]).astype(np.int64)
    return rng.normal(size=indptr[-1]), indptr, indices, rng.normal(size=ncols)


_add("csr_matvec_norm", csr_matvec_norm, _csr_args, (0, 3),
     ("sparse", "int-array", "data-dependent-range"))


def embedding_bag(E, tokens, offsets, v):
    nb = offsets.shape[0] - 1
    dim = E.shape[1]
    out = np.zeros((nb, dim))
    for b in range(nb):
        for t in range(offsets[b], offsets[b + 1]):
            for k in range(dim):
                out[b, k] += E[tokens[t], k]
    s = 0.0
    for b in range(nb):
        for k in range(dim):
            s += math.tanh(out[b, k]) * v[k]
    return s


_add("embedding_bag", embedding_bag,
     lambda rng: (rng.normal(size=(7, 3)) * 0.5, rng.integers(0, 7, size=10),
                  np.array([0, 3, 4, 8, 10]), rng.normal(size=3)), (0, 3),
     ("gather", "scatter-add-2d", "int-array"))


def bilinear_sample(grid, px, py):
    s = 0.0
    vals = np.zeros(px.shape[0])
    for k in range(px.shape[0]):
        i0 = int(math.floor(px[k]))
        j0 = int(math.floor(py[k]))
        fx = px[k] - i0
        fy = py[k] - j0
        vals[k] = ((1.0 - fx) * (1.0 - fy) * grid[i0, j0] + fx * (1.0 - fy) * grid[i0 + 1, j0]
                   + (1.0 - fx) * fy * grid[i0, j0 + 1] + fx * fy * grid[i0 + 1, j0 + 1])
    for k in range(px.shape[0]):
        s += vals[k] * vals[k]
    return s


_add("bilinear_sample", bilinear_sample,
     lambda rng: (rng.normal(size=(5, 5)), rng.integers(0, 4, size=6) + rng.uniform(0.2, 0.8, 6),
                  rng.integers(0, 4, size=6) + rng.uniform(0.2, 0.8, 6)), (0, 1, 2),
     ("interpolation", "computed-index"))


def reverse_and_pair(x):
    n = x.shape[0]
    r = np.empty_like(x)
    for i in range(n):
        r[-1 - i] = x[i]
    s = 0.0
    for i in range(n):
        s += r[i] * x[i] + 0.1 * r[-1] * x[i] * x[i]
    return s


_add("reverse_and_pair", reverse_and_pair,
     lambda rng: (rng.normal(size=7),), (0,),
     ("negative-index-write",))


# --------------------------------------------------------------------------
# ODE integrators
# --------------------------------------------------------------------------

def rk4_lotka_volterra(y0, r, A, dt, steps):
    n = y0.shape[0]
    y = np.copy(y0)
    k1 = np.zeros(n)
    k2 = np.zeros(n)
    k3 = np.zeros(n)
    k4 = np.zeros(n)
    tmp = np.zeros(n)
    for s in range(steps):
        for i in range(n):
            inter = 0.0
            for j in range(n):
                inter += A[i, j] * y[j]
            k1[i] = y[i] * (r[i] - inter)
        for i in range(n):
            tmp[i] = y[i] + 0.5 * dt * k1[i]
        for i in range(n):
            inter = 0.0
            for j in range(n):
                inter += A[i, j] * tmp[j]
            k2[i] = tmp[i] * (r[i] - inter)
        for i in range(n):
            tmp[i] = y[i] + 0.5 * dt * k2[i]
        for i in range(n):
            inter = 0.0
            for j in range(n):
                inter += A[i, j] * tmp[j]
            k3[i] = tmp[i] * (r[i] - inter)
        for i in range(n):
            tmp[i] = y[i] + dt * k3[i]
        for i in range(n):
            inter = 0.0
            for j in range(n):
                inter += A[i, j] * tmp[j]
            k4[i] = tmp[i] * (r[i] - inter)
        for i in range(n):
            y[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
    total = 0.0
    for i in range(n):
        total += math.log(y[i])
    return total


_add("rk4_lotka_volterra", rk4_lotka_volterra,
     lambda rng: (rng.uniform(0.5, 1.5, 4), rng.uniform(0.5, 1.0, 4),
                  rng.uniform(0.1, 0.5, (4, 4)), 0.1, 8), (0, 1, 2, 3),
     ("ode", "rk4", "arrays-before-loop"))


def rk4_pendulum_scratch(theta0, omega0, params, dt, steps):
    state = np.zeros(2)
    state[0] = theta0
    state[1] = omega0
    for s in range(steps):
        k = np.zeros((4, 2))          # scratch buffers created in the loop
        stage = np.zeros(2)
        for q in range(4):
            if q == 0:
                c = 0.0
            elif q == 3:
                c = 1.0
            else:
                c = 0.5
            if q == 0:
                stage[0] = state[0]
                stage[1] = state[1]
            else:
                stage[0] = state[0] + c * dt * k[q - 1, 0]
                stage[1] = state[1] + c * dt * k[q - 1, 1]
            k[q, 0] = stage[1]
            k[q, 1] = -params[0] * math.sin(stage[0]) - params[1] * stage[1]
        state[0] += dt / 6.0 * (k[0, 0] + 2.0 * k[1, 0] + 2.0 * k[2, 0] + k[3, 0])
        state[1] += dt / 6.0 * (k[0, 1] + 2.0 * k[1, 1] + 2.0 * k[2, 1] + k[3, 1])
    return state[0] ** 2 + state[1]


_add("rk4_pendulum_scratch", rk4_pendulum_scratch,
     lambda rng: (0.8, -0.3, np.array([9.81, 0.4]), 0.05, 10), (0, 1, 2, 3),
     ("ode", "rk4", "scratch-in-loop", "elif"))


def euler_nbody(pos0, vel0, mass, dt, steps):
    n = pos0.shape[0]
    pos = np.copy(pos0)
    vel = np.copy(vel0)
    acc = np.zeros((n, 2))
    for s in range(steps):
        for i in range(n):
            acc[i, 0] = 0.0
            acc[i, 1] = 0.0
        for i in range(n):
            for j in range(n):
                if i != j:
                    dx = pos[j, 0] - pos[i, 0]
                    dy = pos[j, 1] - pos[i, 1]
                    r2 = dx * dx + dy * dy + 0.1
                    inv = mass[j] / (r2 * math.sqrt(r2))
                    acc[i, 0] += inv * dx
                    acc[i, 1] += inv * dy
        for i in range(n):
            vel[i, 0] += dt * acc[i, 0]
            vel[i, 1] += dt * acc[i, 1]
            pos[i, 0] += dt * vel[i, 0]
            pos[i, 1] += dt * vel[i, 1]
    kinetic = 0.0
    for i in range(n):
        kinetic += 0.5 * mass[i] * (vel[i, 0] ** 2 + vel[i, 1] ** 2)
    return kinetic


_add("euler_nbody", euler_nbody,
     lambda rng: (rng.normal(size=(4, 2)), rng.normal(size=(4, 2)) * 0.1,
                  rng.uniform(0.5, 1.5, 4), 0.05, 6), (0, 1, 2, 3),
     ("ode", "euler", "2d", "branch"))


def euler_logistic_growth(r, k, y0, dt, steps):
    n = r.shape[0]
    y = np.full(n, 0.0)
    for i in range(n):
        y[i] = y0
    for s in range(steps):
        for i in range(n):
            y[i] += dt * r[i] * y[i] * (1.0 - y[i] / k[i])
    total = 0.0
    for i in range(n):
        total += y[i]
    return total


_add("euler_logistic_growth", euler_logistic_growth,
     lambda rng: (rng.uniform(0.5, 1.5, 6), rng.uniform(1.0, 3.0, 6), 0.2, 0.2, 10), (0, 1, 2),
     ("ode", "euler", "np.full"))


def euler_maruyama_path(s0, mu, sigma, z, dt):
    n = z.shape[0]
    path = np.zeros(n + 1)
    path[0] = s0
    for t in range(n):
        path[t + 1] = path[t] + mu * path[t] * dt + sigma * path[t] * math.sqrt(dt) * z[t]
    avg = 0.0
    for t in range(n + 1):
        avg += path[t]
    return avg / (n + 1)


_add("euler_maruyama_path", euler_maruyama_path,
     lambda rng: (1.0, 0.05, 0.2, rng.normal(size=10), 0.1), (0, 1, 2, 3),
     ("sde", "recurrence"))


def binomial_tree_call(s0, strike, sigma, rate, steps):
    dt = 1.0 / steps
    u = math.exp(sigma * math.sqrt(dt))
    d = 1.0 / u
    p = (math.exp(rate * dt) - d) / (u - d)
    disc = math.exp(-rate * dt)
    v = np.zeros(steps + 1)
    for j in range(steps + 1):
        v[j] = max(s0 * u ** j * d ** (steps - j) - strike, 0.0)
    for t in range(steps - 1, -1, -1):
        for j in range(t + 1):
            v[j] = disc * (p * v[j + 1] + (1.0 - p) * v[j])
    return v[0]


def _binomial_args(rng):
    s0, sigma, rate, steps = 1.0, 0.25, 0.03, 8
    u = math.exp(sigma * math.sqrt(1.0 / steps))
    nodes = np.sort([s0 * u ** j * u ** (-(steps - j)) for j in range(steps + 1)])
    strike = 0.5 * (nodes[4] + nodes[5])     # midway between two leaves: away from the kink
    return s0, strike, sigma, rate, steps


_add("binomial_tree_call", binomial_tree_call, _binomial_args, (0, 1, 2, 3),
     ("finance", "backward-induction", "max", "scalar-wrt"))


# --------------------------------------------------------------------------
# Creation routines that are not differentiated, float32, misc
# --------------------------------------------------------------------------

def arange_weights(x):
    n = len(x)
    t = np.arange(n)
    s = 0.0
    for i in range(n):
        s += math.exp(-0.1 * t[i]) * x[i] ** 2
    return s


_add("arange_weights", arange_weights,
     lambda rng: (rng.normal(size=9),), (0,),
     ("np.arange",))


def trapezoid_mixture(mu, amp, sigma, n):
    grid = np.linspace(-2.0, 2.0, n)
    vals = np.zeros(n)
    for i in range(n):
        v = 0.0
        for k in range(mu.shape[0]):
            v += amp[k] * math.exp(-0.5 * ((grid[i] - mu[k]) / sigma) ** 2)
        vals[i] = v
    h = grid[1] - grid[0]
    s = 0.5 * (vals[0] + vals[n - 1])
    for i in range(1, n - 1):
        s += vals[i]
    return s * h


_add("trapezoid_mixture", trapezoid_mixture,
     lambda rng: (rng.uniform(-1.0, 1.0, 3), rng.uniform(0.5, 1.5, 3), 0.7, 12), (0, 1, 2),
     ("np.linspace", "quadrature"))


def simpson_integral(y, h):
    n = y.shape[0]
    vals = np.empty(n)
    for i in range(n):
        vals[i] = math.exp(y[i]) * (1.0 + y[i] * y[i])
    s = vals[0] + vals[n - 1]
    for i in range(1, n - 1):
        if i % 2 == 1:
            s += 4.0 * vals[i]
        else:
            s += 2.0 * vals[i]
    return s * h / 3.0


_add("simpson_integral", simpson_integral,
     lambda rng: (rng.normal(size=9) * 0.5, 0.125), (0, 1),
     ("quadrature", "branch"))


def float32_smoothing(x, w):
    n = x.shape[0]
    y = np.empty_like(x)
    y[0] = x[0]
    for i in range(1, n):
        y[i] = 0.6 * y[i - 1] + 0.4 * x[i]
    s = 0.0
    for i in range(n):
        s += w[i] * math.tanh(y[i])
    return s


_add("float32_smoothing", float32_smoothing,
     lambda rng: (rng.normal(size=10).astype(np.float32), rng.normal(size=10).astype(np.float32)),
     (0, 1), ("float32", "np.empty_like"))


def scalar_fill_2d(x, n, m):
    a = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            a[i, j] = x * (i + 1) + math.sin(x * j)
    b = np.ones_like(a)
    for i in range(n):
        for j in range(m):
            b[i, j] -= a[i, j] * a[i, j] * 0.1
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += b[i, j]
    return s


_add("scalar_fill_2d", scalar_fill_2d,
     lambda rng: (0.7, 4, 5), (0,),
     ("scalar-into-array", "np.ones_like-2d", "sub-write"))


def int_array_weights(x, counts):
    s = 0.0
    buf = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        buf[i] = x[i] * counts[i]
    for i in range(x.shape[0]):
        s += buf[i] * x[i - 1]
    return s


_add("int_array_weights", int_array_weights,
     lambda rng: (rng.normal(size=7), rng.integers(1, 5, size=7)), (0,),
     ("int-array", "mixed-arithmetic"))


def alias_local_array(x):
    a = np.zeros(x.shape[0])
    b = a
    for i in range(x.shape[0]):
        b[i] = x[i] * x[i]
    s = 0.0
    for i in range(x.shape[0]):
        s += a[i] * x[i]
    return s


_add("alias_local_array", alias_local_array,
     lambda rng: (rng.normal(size=6),), (0,),
     ("alias",))


# --------------------------------------------------------------------------
# Control flow around array writes: break, continue, early return, while
# --------------------------------------------------------------------------

def fir_delay_line(x, h):
    m = h.shape[0]
    n = x.shape[0]
    buf = np.zeros(m)
    out = np.zeros(n)
    for t in range(n):
        for k in range(m - 1, 0, -1):
            buf[k] = buf[k - 1]
        buf[0] = x[t]
        y = 0.0
        for k in range(m):
            y += h[k] * buf[k]
        out[t] = y
    s = 0.0
    for t in range(n):
        s += out[t] * out[t] * (1.0 + 0.1 * t)
    return s


_add("fir_delay_line", fir_delay_line,
     lambda rng: (rng.normal(size=10), rng.normal(size=4)), (0, 1),
     ("fir", "shift-register", "negative-step"))


def threshold_crossing_break(x, thr):
    n = x.shape[0]
    c = np.zeros(n)
    acc = 0.0
    hit = n - 1
    for i in range(n):
        acc += x[i] * x[i]
        c[i] = acc
        if c[i] > thr:
            hit = i
            break
    return c[hit] * math.sqrt(c[hit]) + c[0]


def _threshold_args(rng):
    x = rng.uniform(0.5, 1.0, 9)
    c = np.cumsum(x * x)
    thr = 0.5 * (c[4] + c[5])          # crossed at i = 5, far from either sum
    return x, float(thr)


_add("threshold_crossing_break", threshold_crossing_break, _threshold_args, (0, 1),
     ("break", "read-after-loop"))


def early_return_in_loop(x, bound):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        y[i] = math.exp(x[i])
        if i > 0:
            y[i] += y[i - 1]
        if y[i] > bound:
            return y[i] * 2.0 + y[0]
    s = 0.0
    for i in range(n):
        s += y[i]
    return s


def _early_return_args(rng):
    x = rng.uniform(-0.5, 0.5, 8)
    c = np.cumsum(np.exp(x))
    return x, float(0.5 * (c[3] + c[4]))


_add("early_return_in_loop", early_return_in_loop, _early_return_args, (0, 1),
     ("return-in-loop", "recurrence"))


def continue_skips_entries(x, w):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        if x[i] < 0.0:
            continue
        y[i] = x[i] * w[i]
    s = 0.0
    for i in range(n):
        s += math.sin(y[i]) + y[i] * y[i]
    return s


def _continue_args(rng):
    x = rng.uniform(0.2, 1.0, 9) * rng.choice([-1.0, 1.0], 9)
    return x, rng.normal(size=9)


_add("continue_skips_entries", continue_skips_entries, _continue_args, (0, 1),
     ("continue", "conditional-write"))


def while_refine_buffer(x, tol):
    n = x.shape[0]
    y = np.copy(x)
    sweeps = 0
    change = 1.0
    while change > tol and sweeps < 300:
        scratch = np.zeros(n)          # created in a while loop, fixed shape
        change = 0.0
        for i in range(1, n - 1):
            scratch[i] = 0.5 * y[i] + 0.25 * (y[i - 1] + y[i + 1])
        for i in range(1, n - 1):
            change += abs(scratch[i] - y[i])
            y[i] = scratch[i]
        sweeps += 1
    s = 0.0
    for i in range(n):
        s += y[i] * x[i]
    return s


_add("while_refine_buffer", while_refine_buffer,
     lambda rng: (rng.normal(size=5), 1e-10), (0,),
     ("while", "scratch-in-loop", "abs", "convergence"))


# --------------------------------------------------------------------------
# More index arithmetic: int local arrays, scatter-max, scatter into arguments
# --------------------------------------------------------------------------

def argsort_selection(x, w):
    n = x.shape[0]
    perm = np.arange(n)
    for i in range(n):
        best = i
        for j in range(i + 1, n):
            if x[perm[j]] < x[perm[best]]:
                best = j
        tmp = perm[i]
        perm[i] = perm[best]
        perm[best] = tmp
    s = 0.0
    for i in range(n):
        s += w[i] * x[perm[i]] ** 2
    return s


_add("argsort_selection", argsort_selection,
     lambda rng: (_spread(rng, 8), rng.normal(size=8)), (0, 1),
     ("sort", "int-local-array", "np.arange-written"))


def segment_max(x, seg, nseg, w):
    best = np.full(nseg, -100.0)
    for k in range(x.shape[0]):
        if x[k] > best[seg[k]]:
            best[seg[k]] = x[k]
    s = 0.0
    for j in range(nseg):
        s += w[j] * best[j] * best[j]
    return s


_add("segment_max", segment_max,
     lambda rng: (_spread(rng, 11), np.array([0, 1, 2, 0, 1, 2, 3, 3, 0, 1, 2]), 4,
                  rng.normal(size=4)), (0, 3),
     ("scatter-max", "branch", "int-array", "np.full"))


def scatter_scale_argument(x, idx, factor):
    for k in range(idx.shape[0]):
        x[idx[k]] *= factor
    s = 0.0
    for i in range(x.shape[0]):
        s += math.sin(x[i]) * (i + 1)
    return s


_add("scatter_scale_argument", scatter_scale_argument,
     lambda rng: (rng.normal(size=6), np.array([0, 2, 2, 5, 0, 2]), 1.1), (0, 2),
     ("argument-write", "scatter", "mul-write", "repeated-index"))


def rank_one_update_inplace(C, x, a):
    n = C.shape[0]
    for i in range(n):
        for j in range(n):
            C[i, j] += a * x[i] * x[j]
    for i in range(n):
        C[i, i] -= 0.1 * x[i]
    s = 0.0
    for i in range(n):
        for j in range(n):
            s += C[i, j] * C[j, i]
    return s


_add("rank_one_update_inplace", rank_one_update_inplace,
     lambda rng: (rng.normal(size=(5, 5)), rng.normal(size=5), 0.3), (0, 1, 2),
     ("argument-write", "2d", "add-write", "sub-write"))


def counts_as_trip_counts(x, seg, nseg):
    counts = np.zeros(nseg, np.int64)
    for k in range(seg.shape[0]):
        counts[seg[k]] += 1
    s = 0.0
    for j in range(nseg):
        for r in range(counts[j]):
            s += x[j] ** (r + 1)
    return s


_add("counts_as_trip_counts", counts_as_trip_counts,
     lambda rng: (rng.uniform(0.5, 1.2, 4), np.array([0, 1, 1, 3, 3, 3, 2, 0]), 4), (0,),
     ("int-local-array", "data-dependent-range"))


def tensor_local_3d(x, n, m):
    t = np.zeros((n, m, 2))
    for i in range(n):
        for j in range(m):
            t[i, j, 0] = x[i] * x[j % x.shape[0]]
            t[i, j, 1] = math.cos(x[i] - x[j % x.shape[0]])
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += t[i, j, 0] * t[i, j, 1] + t[i, j, -1]
    return s


_add("tensor_local_3d", tensor_local_3d,
     lambda rng: (rng.normal(size=5), 4, 3), (0,),
     ("3d", "local-3d", "negative-index"))


def one_tuple_shapes(x):
    n = x.shape[0]
    a = np.zeros((n,))
    b = np.full((n,), 2.0)
    for i in range(n):
        a[i] = b[i] * x[i] + x[i - 1]
    s = 0.0
    for i in range(n):
        s += a[i] * a[i]
    return s


_add("one_tuple_shapes", one_tuple_shapes,
     lambda rng: (rng.normal(size=6),), (0,),
     ("shape-1-tuple",))


def len_of_argument(x, w):
    s = 0.0
    for i in range(len(x)):
        s += w[i] * x[i] * x[i]
    return s


_add("len_of_argument", len_of_argument,
     lambda rng: (rng.normal(size=5), rng.normal(size=5)), (0, 1),
     ("len",))


def spring_chain_scratch(x0, k, dt, steps):
    # the force buffer is created in the time loop with the state's length
    x = np.copy(x0)
    v = np.zeros(x0.shape[0])
    for s in range(steps):
        force = np.zeros(x0.shape[0])
        for i in range(1, x0.shape[0] - 1):
            force[i] = k * (x[i + 1] - 2.0 * x[i] + x[i - 1])
        for i in range(x0.shape[0]):
            v[i] += dt * force[i]
            x[i] += dt * v[i]
    e = 0.0
    for i in range(x0.shape[0]):
        e += x[i] * x[i] + v[i] * v[i]
    return e


_add("spring_chain_scratch", spring_chain_scratch,
     lambda rng: (rng.normal(size=6), 1.3, 0.1, 6), (0, 1),
     ("ode", "scratch-in-loop", "shape-from-argument"))


# --------------------------------------------------------------------------
# Elements read again in the reverse sweep without a record: a recurrence
# whose element i - 1 no later iteration writes, and its near misses, which
# must record (an element read ahead, read then written in one iteration, a
# time loop around the recurrence, a later pass rescaling in place).
# --------------------------------------------------------------------------

def exponential_smoothing(x, a):
    n = x.shape[0]
    s = np.empty(n)
    s[0] = x[0]
    for i in range(1, n):
        s[i] = a * x[i] + (1.0 - a) * s[i - 1]
    total = 0.0
    for i in range(n):
        total += s[i] * s[i]
    return total


_add("exponential_smoothing", exponential_smoothing,
     lambda rng: (rng.normal(size=7), 0.3), (0, 1), ("recurrence", "no-record"))


def nonlinear_recurrence_descending(x, c):
    n = x.shape[0]
    s = np.zeros(n)
    s[n - 1] = x[n - 1]
    for i in range(n - 2, -1, -1):
        s[i] = x[i] + c * math.sin(s[i + 1]) * s[i + 1]
    return np.sum(s * s)


_add("nonlinear_recurrence_descending", nonlinear_recurrence_descending,
     lambda rng: (rng.normal(size=6), 0.7), (0, 1), ("recurrence", "descending", "no-record"))


def recurrence_reading_ahead(x, c):
    s = np.copy(x)
    n = s.shape[0]
    for i in range(n - 1):
        s[i] = 0.5 * s[i] * s[i] + c * s[i + 1] * s[i + 1]
    return np.sum(s * s)


_add("recurrence_reading_ahead", recurrence_reading_ahead,
     lambda rng: (rng.normal(size=6) * 0.5, 0.4), (0, 1), ("recurrence", "near-miss"))


def recurrence_in_a_time_loop(x, c, steps):
    s = np.copy(x)
    n = s.shape[0]
    for t in range(steps):
        for i in range(1, n):
            s[i] = c * math.tanh(s[i - 1]) + 0.5 * s[i]
    return np.sum(s * s)


_add("recurrence_in_a_time_loop", recurrence_in_a_time_loop,
     lambda rng: (rng.normal(size=5), 0.8, 3), (0, 1), ("recurrence", "time-loop", "near-miss"))


def recurrence_then_rescaled_in_place(x, w, a):
    n = x.shape[0]
    s = np.empty(n)
    s[0] = x[0]
    for i in range(1, n):
        s[i] = a * x[i] + (1.0 - a) * s[i - 1] * s[i - 1]
    for i in range(n):
        s[i] = s[i] * w[i]
    return np.sum(s * s)


_add("recurrence_then_rescaled_in_place", recurrence_then_rescaled_in_place,
     lambda rng: (rng.normal(size=6) * 0.5, rng.normal(size=6), 0.6), (0, 1, 2),
     ("recurrence", "near-miss"))


def grid_recurrence(a, c):
    n = a.shape[0]
    m = a.shape[1]
    r = np.zeros((n, m))
    for j in range(m):
        r[0, j] = a[0, j]
    for i in range(1, n):
        r[i, 0] = a[i, 0]
        for j in range(1, m):
            r[i, j] = a[i, j] + c * math.tanh(r[i - 1, j] + r[i, j - 1]) * r[i - 1, j - 1]
    return np.sum(r * r)


_add("grid_recurrence", grid_recurrence,
     lambda rng: (rng.normal(size=(4, 5)) * 0.5, 0.7), (0, 1), ("recurrence", "2-D", "no-record"))


def index_set_in_a_branch(x, c):
    s = np.copy(x)
    for i in range(s.shape[0] - 1):
        if i % 2 == 0:
            j = i + 1
        t = s[i]
        s[j] = c * math.sin(t) * t
    return np.sum(s * s)


_add("index_set_in_a_branch", index_set_in_a_branch,
     lambda rng: (rng.normal(size=7), 0.8), (0, 1), ("recurrence", "branch", "near-miss"))


def priced_through_short_names(spot, strike, rate):
    S = spot
    K = strike
    value = np.empty(len(S))
    for i in range(len(S)):
        d = math.log(S[i] / K[i]) + rate
        value[i] = S[i] * math.tanh(d) - K[i] * math.exp(-rate) * math.tanh(d - 0.5)
    return np.sum(value)


_add("priced_through_short_names", priced_through_short_names,
     lambda rng: (rng.uniform(1.0, 2.0, 6), rng.uniform(1.0, 2.0, 6), 0.05), (0, 1, 2),
     ("alias", "independent-iterations", "no-record"))


def copy_of_the_state_per_step(x, c, steps):
    u = np.copy(x)
    for t in range(steps):
        previous = np.copy(u)
        for i in range(1, u.shape[0] - 1):
            u[i] = previous[i] + c * math.sin(previous[i - 1] - previous[i + 1]) * previous[i]
    return np.sum(u * u)


# Cases whose second derivative is refused as documented
# (limitations.md#higher-order): case name -> why.
SECOND_ORDER_REFUSED = {
    "copy_of_the_state_per_step": "a copy made in a loop: its gradient accumulates the "
                                  "whole-array adjoint `_b_u += _b_previous` in the loop",
}

_add("copy_of_the_state_per_step", copy_of_the_state_per_step,
     lambda rng: (rng.normal(size=6), 0.4, 3), (0, 1), ("copy-in-loop", "time-loop", "near-miss"))


def short_name_of_an_argument_written_later(x, c):
    X = x
    total = 0.0
    for i in range(x.shape[0]):
        total += math.sin(X[i] * c) * X[i]
    x[0] = c * total
    for i in range(x.shape[0]):
        total += X[i] * X[i]
    return total


_add("short_name_of_an_argument_written_later", short_name_of_an_argument_written_later,
     lambda rng: (rng.normal(size=5), 0.9), (0, 1), ("alias", "near-miss"))


# --------------------------------------------------------------------------
# Size sweep: a few functions at every size / trip count 0..SWEEP_MAX_N
# (tapes and adjoint buffers sized at run time, loops that run zero times).
# Each entry: (fn, make_args(rng, n), wrt, smallest n).
# --------------------------------------------------------------------------

SWEEP_MAX_N = 8

SWEEP = [
    (prefix_sum_weighted, lambda rng, n: (rng.normal(size=n), rng.normal(size=n)), (0, 1), 1),
    (iir_filter, lambda rng, n: (rng.normal(size=n), 0.7, 0.2, -0.5, 0.2), (0, 1, 2, 3, 4), 0),
    (heat_1d, lambda rng, n: (rng.normal(size=max(n, 2)), 0.2, n), (0, 1), 0),
    (gauss_seidel, lambda rng, n: (_diag_dominant(rng, max(n, 1)), rng.normal(size=max(n, 1)), n),
     (0, 1), 0),
    (cholesky_logdet_quad, lambda rng, n: (_spd(rng, n), rng.normal(size=n)), (0, 1), 0),
    (insertion_sort_weighted, lambda rng, n: (_spread(rng, n) if n > 1 else rng.normal(size=n),
                                              rng.normal(size=n)), (0, 1), 0),
    (histogram_scatter_add, lambda rng, n: (rng.normal(size=n), rng.normal(size=n),
                                            rng.integers(0, 3, size=n), 3), (0, 1), 0),
    (mlp_batch_loss, lambda rng, n: (rng.normal(size=(max(n, 1), 3)), rng.normal(size=max(n, 1)),
                                     rng.normal(size=(n, 3)) * 0.5, rng.normal(size=n) * 0.1,
                                     rng.normal(size=n)), (0, 2, 3, 4), 0),
    (rk4_lotka_volterra, lambda rng, n: (rng.uniform(0.5, 1.5, 3), rng.uniform(0.5, 1.0, 3),
                                         rng.uniform(0.1, 0.5, (3, 3)), 0.1, n), (0, 1, 2, 3), 0),
    (fir_delay_line, lambda rng, n: (rng.normal(size=n), rng.normal(size=3)), (0, 1), 0),
    (soft_dtw, lambda rng, n: (rng.normal(size=n), rng.normal(size=3), 0.5), (0, 1, 2), 1),
    (threshold_crossing_break, lambda rng, n: _threshold_sweep_args(rng, n), (0, 1), 1),
]


def _threshold_sweep_args(rng, n):
    """Crossed after k = n // 2 terms (or never, for n = 1), far from either sum."""
    x = rng.uniform(0.5, 1.0, n)
    c = np.cumsum(x * x)
    k = n // 2
    thr = c[-1] + 1.0 if k == 0 else 0.5 * (c[k - 1] + c[k])
    return x, float(thr)
