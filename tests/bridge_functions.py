"""Functions the bridge tests (PyTorch, JAX, Dask) differentiate, in a
file of their own: adjit reads their source, and Dask's workers import
them by name."""

import math

import numpy as np


def scaled_sine(x):
    """The custom-operation tutorial's example: an element-wise function."""
    return 2.0 * np.sin(x)


def scalar_model(a, b):
    return math.exp(-a * b) + a * a * math.sin(b)


def kernel_norm(q, p, s):
    n, d = q.shape
    total = 0.0
    for i in range(n):
        for j in range(n):
            d2 = 0.0
            for k in range(d):
                d2 += (q[i, k] - q[j, k]) ** 2
            dot = 0.0
            for k in range(d):
                dot += p[i, k] * p[j, k]
            total += math.exp(-d2 / (2.0 * s * s)) * dot
    return 0.5 * total


def weighted_rows(w, X):
    return np.tanh(X @ w)


def logistic_loss(w, X, y):
    """The loss of one chunk of a data set: the whole set's is the sum."""
    total = 0.0
    for i in range(X.shape[0]):
        z = 0.0
        for k in range(X.shape[1]):
            z += X[i, k] * w[k]
        total += math.log(1.0 + math.exp(-y[i] * z))
    return total
