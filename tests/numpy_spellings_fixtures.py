"""Programs that spell NumPy and math the ways people do: `import numpy`,
`import numpy as npy`, `from numpy import ...`, `import math as m`,
`from math import sqrt` - and no module named `np` anywhere (adjit's own
spellings must not need one). tests/test_numpy_functions.py differentiates
them."""

import math as m
from math import sqrt

import numpy
import numpy as npy
from numpy import cumsum, exp, sin

import adjit


def imported_plainly(x, s):
    return numpy.sum(numpy.exp(x) * s) + (x * x).sum() + x.mean() + m.sin(s) + sqrt(s)


def imported_by_name(x, y):
    return npy.sum(exp(x) * sin(y)) + npy.dot(x, y)


def operator_functions(x, y, s):
    z = npy.multiply(x, y) + npy.add(x, s) - npy.subtract(y, x) + npy.divide(x, y)
    w = z + npy.true_divide(y, 2.0) + npy.negative(x) * npy.power(y, 2.0)
    return npy.sum(npy.sin(w)) + npy.multiply(s, s) + npy.negative(s)


def two_argument_functions(x, y, s):
    return npy.sum(npy.arctan2(x, y) * npy.hypot(x, s)) + m.atan2(s, 2.0)


def at_least(s, x, X):
    return npy.sum(npy.atleast_1d(s) * 2.0) + npy.sum(npy.atleast_2d(x) ** 2) \
        + npy.sum(npy.atleast_1d(x) * x) + npy.sum(npy.atleast_2d(X) * X)


def running_sums(x, X):
    return npy.sum(sin(cumsum(x))) + npy.sum(npy.cumsum(X, axis=1) ** 2) \
        + npy.sum(npy.cumsum(X, axis=0) * X) + npy.sum(npy.cos(npy.cumsum(X)))


def running_products(x, X):
    return npy.sum(npy.cumprod(x)) + npy.sum(npy.cumprod(X, axis=1) * X) \
        + npy.sum(npy.cumprod(X, axis=-2) ** 2) + npy.sum(npy.cumprod(X))


def cumprod_of_a_scalar(s):
    return npy.sum(npy.cumprod(npy.linspace(0.5, 1.5, 4) * s))


def differences(x, X):
    return npy.sum(npy.diff(x) ** 2) + npy.sum(npy.sin(npy.diff(X, 2, axis=0))) \
        + npy.sum(npy.diff(X) * X[:, 1:]) + npy.sum(npy.diff(x, 2) ** 3)


def joined(x, y, X):
    a = npy.concatenate((x, y))
    b = npy.stack([x, y], axis=1)
    c = npy.concatenate([X, X * 2.0], axis=-1)
    d = npy.hstack((x, y)) + npy.vstack((x, y))[1, 0]
    e = npy.vstack([X, npy.sin(X)])
    f = npy.hstack([X, X[:, :2]])
    return npy.sum(npy.sin(a)) + npy.sum(b * b) + npy.sum(npy.cos(c)) + npy.sum(d ** 3) \
        + npy.sum(e * e * e) + npy.sum(npy.stack((x, y)) ** 3) + npy.sum(f * f)


def weights_in_a_list(x):
    w = [0.25, 0.5, 0.25]
    total = 0.0
    for i in range(1, x.shape[0] - 1):
        for k in range(3):
            total += w[k] * x[i + k - 1] ** 2
    return total + w[1] * npy.dot(w, x[:3]) + len(w)


def arrays_of_values(a, b, x):
    v = npy.array([a, b, a * b])
    M = npy.array([[a, b], [b * b, 1.0]])
    y = npy.asarray(x)
    z = npy.array(x)
    z[0] = 2.0
    rows = npy.array([x, x * a])
    return npy.sum(v * v) + npy.sum(M @ M) + npy.sum(z * y) + npy.sum(rows ** 2) \
        + npy.sum(npy.asarray([a, b]) * 3.0)


def mesh(x, y):
    X, Y = npy.meshgrid(x, y)
    return npy.sum(npy.sin(X * Y) + X * X)


def normalise(X, keep, axis):
    return X / npy.sum(X, axis=axis, keepdims=keep)


def softmax(z, keepdims):
    e = npy.exp(z - npy.max(z, axis=-1, keepdims=keepdims))
    return e / npy.sum(e, axis=-1, keepdims=keepdims)


def keepdims_through_parameters(X):
    return npy.sum(npy.sin(normalise(X, True, 1))) + npy.sum(softmax(X, True) ** 2) \
        + npy.sum(normalise(X, False, 0) ** 2)


@adjit.differentiable
def summed(x):
    return x.sum()


def calls_a_method_user(x):
    return summed(x * x) + numpy.sum(x)


def writes_into_joined_values(x, a, b):
    v = npy.array([a, b, a * b])
    v[0] = v[1] * 3.0
    c = npy.cumsum(x)
    c[1] = c[0] * v[2]
    d = npy.concatenate((x, v))
    d[-1] += a
    order = [0, 2, 1]
    total = 0.0
    for k in range(3):
        total += x[order[k]] * (k + 1.0)
    return npy.sum(v * v) + npy.sum(c * c) + total + npy.sum(d ** 3)


# -- refused ------------------------------------------------------------------

def flips_its_keepdims(X, keep):
    keep = not keep
    return X / npy.sum(X, axis=0, keepdims=keep)


def calls_a_flipping_callee(X):
    return npy.sum(flips_its_keepdims(X, True))


def writes_into_at_least(x):
    y = npy.atleast_1d(x)
    y[0] = 2.0
    return npy.sum(x * y)


def writes_into_a_list(x):
    w = [0.5, 0.25]
    w[0] = x[0]
    return npy.sum(x) * w[0]


def list_used_as_a_list(x):
    w = [0.5, 0.25]
    return npy.sum(x) * len(w * 2)


def concatenate_of_a_name(x, pair):
    return npy.sum(npy.concatenate(pair))


def axis_of_a_variable(x, k):
    return npy.sum(npy.cumsum(x, axis=k))


def meshgrid_not_unpacked(x, y):
    grid = npy.meshgrid(x, y)
    return npy.sum(grid[0])


def list_returned(x):
    return [x, x]
