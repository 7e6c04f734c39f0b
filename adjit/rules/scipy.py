"""SciPy: the special functions as primitives, the distributions and
`logsumexp` as definitions `resolve` inlines.

Each special function is registered twice with one template: keyed by
SciPy's ufunc (what user code names, however imported) and by the Numba
ufunc of `adjit.runtime.special` that generated code calls instead
(`rt.special.gammaln`), so that a derivative's source is differentiated
again. Both apply element by element, like `np.exp`.

`DEFINITIONS` maps SciPy functions that are not primitives to the Python
functions of `scipy_definitions` that compute them; `definition_for` picks
one for a call (by its `axis`, for `logsumexp`).
"""

from __future__ import annotations

import ast
import inspect

import numpy as np  # noqa: F401  (templates call np)
import scipy.special
import scipy.stats

from adjit.rules import scipy_definitions as defined
from adjit.rules.arrays import ELEMENTWISE_HELPERS, ELEMENTWISE_SPELLINGS
from adjit.rules.registry import REGISTRY, DefinitionError  # noqa: F401  (raised below)
from adjit.runtime import helpers as rt  # noqa: F401  (templates call rt.special)
from adjit.runtime import special

# ----- special functions: partials over `np` and `rt.special` ------------------
# (math functions have no array form; `rt.special.*` apply to floats and arrays)


def gammaln(x):
    return rt.special.digamma(x)


def digamma(x):
    return rt.special.trigamma(x)


def trigamma(x):
    # tetragamma has no rule: a fourth derivative of gammaln is refused
    return rt.special.tetragamma(x)


def erf(x):
    return 1.1283791670955126 * np.exp(-x * x)        # 2 / sqrt(pi)


def erfc(x):
    return -1.1283791670955126 * np.exp(-x * x)


def expit(x, ans):
    return ans * (1.0 - ans)


def logit(p):
    return 1.0 / (p * (1.0 - p))


def xlogy(x, y):
    # at x == 0 the value is 0 for every y: the y partial x / y is 0 there
    return np.log(y), x / y


def xlog1py(x, y):
    return np.log1p(y), x / (1.0 + y)


def ndtr(x):
    return 0.3989422804014327 * np.exp(-0.5 * x * x)  # the normal density


def log_ndtr(x, ans):
    # density / distribution, computed in logs so that neither underflows
    return 0.3989422804014327 * np.exp(-0.5 * x * x - ans)


_SPECIAL = {
    scipy.special.gammaln: (special.gammaln, gammaln),
    scipy.special.digamma: (special.digamma, digamma),     # also scipy.special.psi
    scipy.special.erf: (special.erf, erf),
    scipy.special.erfc: (special.erfc, erfc),
    scipy.special.expit: (special.expit, expit),
    scipy.special.logit: (special.logit, logit),
    scipy.special.xlogy: (special.xlogy, xlogy),
    scipy.special.xlog1py: (special.xlog1py, xlog1py),
    scipy.special.ndtr: (special.ndtr, ndtr),
    scipy.special.log_ndtr: (special.log_ndtr, log_ndtr),
}


def _register_special() -> None:
    for scipy_function, (helper, template) in _SPECIAL.items():
        spelling = f"rt.special.{helper.__name__}"
        arity = (len([p for p in inspect.signature(template).parameters if p != "ans"]),)
        for key in (scipy_function, helper):
            REGISTRY.register(key, spelling, template, arity)
        ELEMENTWISE_HELPERS.add(helper)
        ELEMENTWISE_SPELLINGS.add(spelling)
    # trigamma: a partial of digamma, in generated code only (SciPy spells it
    # polygamma(1, x))
    REGISTRY.register(special.trigamma, "rt.special.trigamma", trigamma, (1,))
    ELEMENTWISE_HELPERS.add(special.trigamma)
    ELEMENTWISE_SPELLINGS.update(("rt.special.trigamma", "rt.special.tetragamma"))


_register_special()

# ----- distributions and logsumexp: inlined definitions ----------------------------

DEFINITIONS = {
    scipy.stats.norm.logpdf: defined.norm_logpdf,
    scipy.stats.norm.pdf: defined.norm_pdf,
    scipy.stats.norm.cdf: defined.norm_cdf,
    scipy.stats.norm.logcdf: defined.norm_logcdf,
    scipy.stats.norm.sf: defined.norm_sf,
    scipy.stats.norm.logsf: defined.norm_logsf,
    scipy.stats.t.logpdf: defined.t_logpdf,
    scipy.stats.t.pdf: defined.t_pdf,
    scipy.stats.multivariate_normal.logpdf: defined.multivariate_normal_logpdf,
    scipy.stats.multivariate_normal.pdf: defined.multivariate_normal_pdf,
    scipy.special.logsumexp: defined.logsumexp,
}

_ALONG: dict[int, object] = {}


def definition_for(callee, call: ast.Call):
    """The Python function to inline for a call of the SciPy function
    `callee` (None when it has no definition); the call's keywords then
    name that function's parameters. `logsumexp(a, axis=k)` becomes
    `logsumexp_along(k)(a)`, so `call` loses its `axis`."""
    try:
        function = DEFINITIONS.get(callee)
    except TypeError:                      # an unhashable callee
        return None
    if function is not defined.logsumexp:
        return function
    axis = [k.value for k in call.keywords if k.arg == "axis"] + call.args[1:2]
    others = [k.arg for k in call.keywords if k.arg != "axis"] + \
        (["b"] if len(call.args) > 2 else [])
    if others:
        raise DefinitionError(f"`{others[0]}` of logsumexp (adjit supports `a` and `axis`)")
    call.keywords = [k for k in call.keywords if k.arg != "axis"]
    del call.args[1:]
    if not axis or (isinstance(axis[0], ast.Constant) and axis[0].value is None):
        return function
    number = axis[0]
    negative = isinstance(number, ast.UnaryOp) and isinstance(number.op, ast.USub)
    number = number.operand if negative else number
    if not (isinstance(number, ast.Constant) and type(number.value) is int):
        raise DefinitionError("`axis` of logsumexp must be an int constant")
    value = -number.value if negative else number.value
    if value not in _ALONG:
        _ALONG[value] = defined.logsumexp_along(value)
    return _ALONG[value]
