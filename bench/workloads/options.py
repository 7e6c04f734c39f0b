"""European options priced one by one, gradient wrt every input.

A loop over `n` options, as a quant writes it for Numba: each iteration
calls a cumulative-normal helper (a rational approximation with a branch,
itself `@numba.njit`) twice, writes the option's call and put prices into arrays created for
them, and reads its inputs through short local names for the argument
arrays. The objective is the book's value, sum(call) + 0.5 sum(put).
Nothing carries from one option to the next: the iterations are
independent, and a reverse sweep can redo each one from its index. The
hand-written gradient is one loop differentiating each option by hand. The
peers price the whole book as arrays.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from bench import systems

TITLE = "Option book: a pricing loop calling a helper, gradient wrt all five inputs"
SIZES = (200000,)
QUICK_SIZES = (20000,)
WRT = (0, 1, 2, 3, 4)
SCALE = 0.3989422804014327          # 1 / sqrt(2 pi)
GAIN = 0.2316419


def size_label(n: int) -> str:
    return f"n={n}"


def parse_size(text: str) -> int:
    return int(text)


def make_inputs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return (rng.uniform(5.0, 30.0, n), rng.uniform(1.0, 100.0, n), rng.uniform(0.25, 10.0, n),
            0.02, 0.30)


@numba.njit
def normal_cdf(d):
    k = 1.0 / (1.0 + GAIN * math.fabs(d))
    series = k * (0.31938153 + k * (-0.356563782 + k * (1.781477937
                                                         + k * (-1.821255978 + k * 1.330274429))))
    value = SCALE * math.exp(-0.5 * d * d) * series
    if d > 0:
        value = 1.0 - value
    return value


def book_value(spot, strike, years, rate, volatility):
    S = spot
    X = strike
    T = years
    n = len(S)
    call = np.empty(n)
    put = np.empty(n)
    for i in range(n):
        root = math.sqrt(T[i])
        d1 = (math.log(S[i] / X[i]) + (rate + 0.5 * volatility * volatility) * T[i]) \
            / (volatility * root)
        d2 = d1 - volatility * root
        cnd1 = normal_cdf(d1)
        cnd2 = normal_cdf(d2)
        discount = math.exp(-rate * T[i])
        call[i] = S[i] * cnd1 - X[i] * discount * cnd2
        put[i] = X[i] * discount * (1.0 - cnd2) - S[i] * (1.0 - cnd1)
    return np.sum(call) + 0.5 * np.sum(put)


@numba.njit
def _cdf_and_slope(d):
    k = 1.0 / (1.0 + GAIN * abs(d))
    series = k * (0.31938153 + k * (-0.356563782 + k * (1.781477937
                                                         + k * (-1.821255978 + k * 1.330274429))))
    slope_k = 0.31938153 + k * (2.0 * -0.356563782 + k * (3.0 * 1.781477937 + k * (
        4.0 * -1.821255978 + k * 5.0 * 1.330274429)))
    gauss = SCALE * math.exp(-0.5 * d * d)
    dk = -GAIN * k * k * (1.0 if d > 0 else -1.0)
    value = gauss * series
    slope = gauss * (slope_k * dk - d * series)
    if d > 0:
        return 1.0 - value, -slope
    return value, slope


@numba.njit
def book_value_gradient_by_hand(spot, strike, years, rate, volatility):
    """The five gradients, each option differentiated by hand in one loop."""
    n = spot.shape[0]
    g_spot = np.empty(n)
    g_strike = np.empty(n)
    g_years = np.empty(n)
    g_rate = 0.0
    g_volatility = 0.0
    half = rate + 0.5 * volatility * volatility
    for i in range(n):
        s, x, t = spot[i], strike[i], years[i]
        root = math.sqrt(t)
        spread = volatility * root
        d1 = (math.log(s / x) + half * t) / spread
        d2 = d1 - spread
        c1, slope1 = _cdf_and_slope(d1)
        c2, slope2 = _cdf_and_slope(d2)
        discount = math.exp(-rate * t)
        # sum(call) + 0.5 sum(put), by its pieces
        to_c1 = 1.5 * s
        to_c2 = -1.5 * x * discount
        to_discount = -x * c2 + 0.5 * x * (1.0 - c2)
        to_d2 = to_c2 * slope2
        to_d1 = to_c1 * slope1 + to_d2
        to_spread = -to_d2 - to_d1 * d1 / spread
        numerator = to_d1 / spread
        g_spot[i] = c1 - 0.5 * (1.0 - c1) + numerator / s
        g_strike[i] = -discount * c2 + 0.5 * discount * (1.0 - c2) - numerator / x
        g_years[i] = numerator * half + to_spread * volatility * 0.5 / root \
            - to_discount * rate * discount
        g_rate += numerator * t - to_discount * t * discount
        g_volatility += numerator * volatility * t + to_spread * root
    return g_spot, g_strike, g_years, g_rate, g_volatility


def _normal_cdf_arrays(xp, d):
    k = 1.0 / (1.0 + GAIN * xp.abs(d))
    series = k * (0.31938153 + k * (-0.356563782 + k * (1.781477937
                                                         + k * (-1.821255978 + k * 1.330274429))))
    value = SCALE * xp.exp(-0.5 * d * d) * series
    return xp.where(d > 0, 1.0 - value, value)


def book_value_arrays(xp, spot, strike, years, rate, volatility):
    root = xp.sqrt(years)
    d1 = (xp.log(spot / strike) + (rate + 0.5 * volatility * volatility) * years) \
        / (volatility * root)
    d2 = d1 - volatility * root
    cnd1, cnd2 = _normal_cdf_arrays(xp, d1), _normal_cdf_arrays(xp, d2)
    discount = xp.exp(-rate * years)
    call = spot * cnd1 - strike * discount * cnd2
    put = strike * discount * (1.0 - cnd2) - spot * (1.0 - cnd1)
    return xp.sum(call) + 0.5 * xp.sum(put)


def _torch(args):
    torch = systems.torch()
    return systems.torch_grad_run(lambda *a: book_value_arrays(torch, *a), args, WRT)


def _jax(args):
    systems.jax()
    import jax.numpy as jnp
    return systems.jax_grad_run(lambda *a: book_value_arrays(jnp, *a), args, WRT)


def _autograd(args):
    _, anp = systems.autograd()
    return systems.autograd_grad_run(lambda *a: book_value_arrays(anp, *a), args, WRT)


SYSTEMS = {
    "numba primal": lambda args: systems.numba_run(book_value, args,
                                                   "loop calling a helper"),
    "numba hand": lambda args: systems.compiled_run(book_value_gradient_by_hand, args,
                                                    "one loop, each option by hand"),
    "adjit": lambda args: systems.adjit_run([(book_value, "loop calling a helper")], args,
                                            WRT),
    "torch": _torch,
    "jax": _jax,
    "autograd": _autograd,
}
