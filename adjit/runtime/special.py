"""SciPy's special functions as generated code calls them: `rt.special.NAME`.

Numba cannot call `scipy.special`'s ufuncs, so each function adjit knows is
written here from `math` and compiled as a Numba ufunc (`vectorize`): the
same object serves a float and an array, broadcasting like SciPy's, in
plain Python (`target="python"`) and inside Numba-compiled code
(`target="cpu"`). `adjit/rules/scipy.py` registers SciPy's functions and
these as the same primitives.

Accuracy against SciPy 1.17 (tests/test_scipy_random.py measures it over
thousands of points): `erf`, `erfc`, `expit`, `logit`, `xlogy`, `xlog1py`,
`ndtr`, `log_ndtr` agree to 1e-13 relative; `gammaln` (`math.lgamma`) to
1e-12 relative, 2e-13 at worst near its zeros; `digamma`, `trigamma` and
`tetragamma` (the derivatives of `gammaln`) to 1e-12 relative for x > 0
(within 1e-15 absolute around digamma's zero at 1.4616...), 2e-11 for
x < 0, where the reflection formula is ill-conditioned near the poles.
"""

import math

from numba import vectorize
from numba.extending import register_jitable


_SQRT_HALF = 0.7071067811865476          # 1 / sqrt(2)
_LOG_SQRT_2PI = 0.9189385332046728       # log(sqrt(2 pi))


@vectorize(cache=True)
def gammaln(x):
    """log |Gamma(x)|."""
    return math.lgamma(x)


# digamma's positive zero, as the float64 nearest to it plus the remainder,
# and the Taylor coefficients psi^(n)(root) / n! of digamma there
_ROOT, _ROOT_REMAINDER = 1.4616321449683622, 9.549995429965695e-17
_AT_ROOT = (0.9676722454476214, -0.44276316898359214, 0.2584997609556512,
            -0.16394270544240658, 0.10782405069126239, -0.07219956125645476,
            0.048804288164143145, -0.033161126474847376, 0.022597648232218125,
            -0.015424765904948968, 0.010538791616612182, -0.007204534386356875,
            0.004926781395729858)


@register_jitable
def _digamma_above(x):
    """digamma(x) for x > 0: the recurrence up to 10, then its asymptotic
    series (the first omitted term is below 1e-16 relative)."""
    offset = (x - _ROOT) - _ROOT_REMAINDER
    if abs(offset) < 0.1:
        # near its zero the recurrence loses relative accuracy: Taylor there
        total = 0.0
        for k in range(len(_AT_ROOT) - 1, -1, -1):
            total = total * offset + _AT_ROOT[k]
        return total * offset
    result = 0.0
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    square = 1.0 / (x * x)
    series = square * (1.0 / 12 - square * (1.0 / 120 - square * (1.0 / 252 - square * (
        1.0 / 240 - square * (1.0 / 132 - square * (691.0 / 32760))))))
    return result + math.log(x) - 0.5 / x - series


@register_jitable
def _digamma(x):
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    if x < 0.0:
        # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        return _digamma_above(1.0 - x) - math.pi / math.tan(math.pi * x)
    return _digamma_above(x)


@register_jitable
def _trigamma_above(x):
    """trigamma(x) for x > 0: the recurrence up to 20, then its asymptotic
    series (Bernoulli numbers; the first omitted term is below 1e-17)."""
    result = 0.0
    while x < 20.0:
        result += 1.0 / (x * x)
        x += 1.0
    inverse = 1.0 / x
    square = inverse * inverse
    series = inverse + 0.5 * square + inverse * square * (
        1.0 / 6 - square * (1.0 / 30 - square * (1.0 / 42 - square * (
            1.0 / 30 - square * (5.0 / 66 - square * (691.0 / 2730))))))
    return result + series


@register_jitable
def scalar_trigamma(x):
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    if x < 0.0:
        # reflection: psi'(1 - x) + psi'(x) = pi**2 / sin(pi x)**2
        sine = math.sin(math.pi * x)
        return math.pi * math.pi / (sine * sine) - _trigamma_above(1.0 - x)
    return _trigamma_above(x)


@register_jitable
def _tetragamma_above(x):
    """psi''(x) for x > 0: the recurrence up to 20, then the derivative of
    trigamma's series."""
    result = 0.0
    while x < 20.0:
        result -= 2.0 / (x * x * x)
        x += 1.0
    inverse = 1.0 / x
    square = inverse * inverse
    series = -square - inverse * square - 0.5 * square * square * (
        1.0 - square * (1.0 / 3 - square * (1.0 / 3 - square * (
            3.0 / 5 - square * (5.0 / 3 - square * (691.0 / 105))))))
    return result + series


@register_jitable
def _tetragamma(x):
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    if x < 0.0:
        # the reflection of trigamma, differentiated
        sine = math.sin(math.pi * x)
        return _tetragamma_above(1.0 - x) \
            - 2.0 * math.pi ** 3 * math.cos(math.pi * x) / (sine * sine * sine)
    return _tetragamma_above(x)


@vectorize(cache=True)
def digamma(x):
    """psi(x) = d gammaln(x) / dx."""
    return _digamma(x)


@vectorize(cache=True)
def trigamma(x):
    """psi'(x) = d2 gammaln(x) / dx2."""
    return scalar_trigamma(x)


@vectorize(cache=True)
def tetragamma(x):
    """psi''(x) = d3 gammaln(x) / dx3."""
    return _tetragamma(x)


@vectorize(cache=True)
def erf(x):
    return math.erf(x)


@vectorize(cache=True)
def erfc(x):
    return math.erfc(x)


@vectorize(cache=True)
def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), without overflow."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@vectorize(cache=True)
def logit(p):
    """log(p / (1 - p))."""
    return math.log(p) - math.log1p(-p)


@vectorize(cache=True)
def xlogy(x, y):
    """x * log(y), 0 where x == 0 (whatever y)."""
    if x == 0.0:
        return 0.0 * y
    return x * math.log(y)


@vectorize(cache=True)
def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0 (whatever y)."""
    if x == 0.0:
        return 0.0 * y
    return x * math.log1p(y)


@vectorize(cache=True)
def ndtr(x):
    """The standard normal distribution function."""
    return 0.5 * math.erfc(-x * _SQRT_HALF)


@vectorize(cache=True)
def log_ndtr(x):
    """log(ndtr(x)), accurate in both tails."""
    if x > 0.0:
        return math.log1p(-0.5 * math.erfc(x * _SQRT_HALF))
    if x > -20.0:
        return math.log(0.5 * math.erfc(-x * _SQRT_HALF))
    # the asymptotic series of the lower tail:
    # ndtr(x) = pdf(x) / -x * (1 - 1/x2 + 3/x4 - 15/x6 + 105/x8 - ...)
    inverse_square = 1.0 / (x * x)
    series = 1.0 - inverse_square * (1.0 - inverse_square * (
        3.0 - inverse_square * (15.0 - inverse_square * (105.0 - inverse_square * 945.0))))
    return -0.5 * x * x - _LOG_SQRT_2PI - math.log(-x) + math.log(series)
