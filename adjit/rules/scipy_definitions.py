"""SciPy's distributions and `logsumexp`, written as the Python adjit
differentiates.

`resolve` replaces a call of `scipy.stats.norm.logpdf`, `scipy.special.logsumexp`,
... by a call of the function here that computes the same value (the table
is `adjit.rules.scipy.DEFINITIONS`), and `inline` splices its body into the
caller like one of the user's own functions: the derivative, of any order,
in both modes and on every target, follows from the primitives it uses.
Parameters are SciPy's, with SciPy's defaults. One definition reaches
another by SciPy's name, as user code does.
"""

import numpy as np
import scipy.special
import scipy.stats

from adjit.runtime import helpers as rt

_LOG_SQRT_2PI = 0.9189385332046728       # log(sqrt(2 pi))
_LOG_2PI = 1.8378770664093453            # log(2 pi)
_LOG_PI = 1.1447298858494002             # log(pi)
_INVERSE_SQRT_2PI = 0.3989422804014327   # 1 / sqrt(2 pi)


def norm_logpdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return -0.5 * z * z - np.log(scale) - _LOG_SQRT_2PI


def norm_pdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return np.exp(-0.5 * z * z) * _INVERSE_SQRT_2PI / scale


def norm_cdf(x, loc=0.0, scale=1.0):
    return scipy.special.ndtr((x - loc) / scale)


def norm_logcdf(x, loc=0.0, scale=1.0):
    return scipy.special.log_ndtr((x - loc) / scale)


def norm_sf(x, loc=0.0, scale=1.0):
    return scipy.special.ndtr((loc - x) / scale)


def norm_logsf(x, loc=0.0, scale=1.0):
    return scipy.special.log_ndtr((loc - x) / scale)


def t_logpdf(x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return scipy.special.gammaln(0.5 * (df + 1.0)) - scipy.special.gammaln(0.5 * df) \
        - 0.5 * (np.log(df) + _LOG_PI) - np.log(scale) \
        - 0.5 * (df + 1.0) * np.log1p(z * z / df)


def t_pdf(x, df, loc=0.0, scale=1.0):
    return np.exp(scipy.stats.t.logpdf(x, df, loc, scale))


def multivariate_normal_logpdf(x, mean, cov):
    # like SciPy, only the lower triangle of `cov` is read: the derivative
    # with respect to an entry above the diagonal is 0
    rows = np.arange(cov.shape[0])
    symmetric = np.where(rows[:, None] >= rows[None, :], cov, np.transpose(cov))
    residual = x - mean                  # one point, or one per row
    whitened = np.transpose(np.linalg.solve(symmetric, np.transpose(residual)))
    quadratic = np.sum(residual * whitened, axis=-1)
    return -0.5 * (cov.shape[0] * _LOG_2PI + np.log(np.linalg.det(symmetric)) + quadratic)


def multivariate_normal_pdf(x, mean, cov):
    return np.exp(scipy.stats.multivariate_normal.logpdf(x, mean, cov))


def logsumexp(a):
    # the largest element, shifted out for range; its derivative cancels
    largest = rt.stop_gradient(np.max(a))
    return largest + np.log(np.sum(np.exp(a - largest)))


def logsumexp_along(axis):
    """logsumexp(a, axis=axis) for one constant axis (a closure number is a
    constant of the derivative). The derivatives through the two maxima
    cancel (to rounding)."""
    def logsumexp_along_axis(a):
        largest = np.max(a, axis=axis, keepdims=True)
        return np.log(np.sum(np.exp(a - largest), axis=axis)) + np.max(a, axis=axis)
    return logsumexp_along_axis
