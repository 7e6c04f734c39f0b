"""Programs for tests/test_regressions.py and tests/test_second_order.py
(adjit reads their source, so they live in a real file), and the whole-array
ones' example arguments."""

import math
import zlib

import numpy as np
from numba import prange


def normal(name, *shapes):
    """Standard normal arrays of the given shapes, seeded by `name`."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return tuple(rng.normal(size=shape) for shape in shapes)


# ---- an array read in a loop, then written by a slice after it ----------------------

def loop_reads_then_slice_write(x, n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = x * (i + 1.0)
    s = 0.0
    for i in range(n):
        s += math.sin(y[i]) * x
    y[0:2] = 0.5
    return s + y[2] * x


def whole_array_then_loop_then_slice_write(x, w):
    y = np.sin(w * x)
    s = 0.0
    for i in range(w.shape[0]):
        s += y[i] * y[i] * w[i]
    y[1:3] = -1.0
    return s * x + np.sum(y)


# ---- powers with a variable exponent --------------------------------------------------

def power(x, y):
    return x ** y


def power_times_sine(x, y):
    return x ** y * math.sin(x)


def constant_base_power(x, y):
    return 2.0 ** (x * y) + x ** 2.5 * y


def power_of_power(x, y):
    return (x ** y) ** (0.5 * x) + math.pow(x + 1.0, y)


# ---- broadcasting, summed back by the adjoint -----------------------------------------

def column_plus_row(a, b):
    """a (3, 1) + b (1, 4)"""
    return np.sum(np.sin(a + b))


def cube_times_column(t, m):
    """t (2, 3, 4) * m (3, 1)"""
    return np.sum(np.sin(t * m))


def row_into_matrix(r, m):
    """r (4,) against m (3, 4)"""
    return np.sum(np.sin(m - r))


def row_into_cube(r, t):
    """r (4,) against t (2, 3, 4)"""
    return np.sum(np.sin(t * r))


def unit_axes_into_cube(a, t):
    """a (1, 3, 1) against t (2, 3, 4)"""
    return np.sum(np.sin(a * t))


def scalar_into_cube(s, t):
    """a float s against t (2, 3, 4)"""
    return np.sum(np.sin(s * t))


# ---- matrix products in forward mode ---------------------------------------------------

def matrix_vector(A, x):
    return np.sum(np.tanh(np.dot(A, x)))


def vector_matrix(x, A):
    return np.sum(np.sin(x @ A) * x)


def matrix_matrix(A, B):
    C = A @ B
    return np.sum(np.tanh(C) * A)


def matrix_matrix_rectangular(A, B):
    C = np.dot(A, B)
    return np.sum(np.sin(C))


def vector_vector(x, y):
    return math.sin(np.dot(x, y)) + np.dot(x, x * y)


# ---- remainder by a variable -----------------------------------------------------------

def remainder(x, y):
    return x % y


def remainder_in_expression(x, y):
    r = x % y
    return math.sin(r) * y + r * r


def array_remainder(a, b):
    return np.sum(np.sin(a % b) * b)


def array_remainder_by_a_float(a, s):
    return np.sum(np.sin(a % s))


# ---- example arguments: (id, function, arguments) ---------------------------------------

BROADCASTS = [
    ("3x1+1x4", column_plus_row, normal("cr", (3, 1), (1, 4))),
    ("2x3x4*3x1", cube_times_column, normal("cc", (2, 3, 4), (3, 1))),
    ("4-into-3x4", row_into_matrix, normal("rm", (4,), (3, 4))),
    ("4-into-2x3x4", row_into_cube, normal("rc", (4,), (2, 3, 4))),
    ("1x3x1-into-2x3x4", unit_axes_into_cube, normal("uc", (1, 3, 1), (2, 3, 4))),
    ("float-into-2x3x4", scalar_into_cube, (0.7,) + normal("sc", (2, 3, 4))),
]

PRODUCTS = [
    ("matrix-vector", matrix_vector, normal("mv", (3, 3), (3,))),
    ("vector-matrix", vector_matrix, normal("vm", (3,), (3, 3))),
    ("matrix-matrix", matrix_matrix, normal("mm", (3, 3), (3, 3))),
    ("matrix-matrix-rectangular", matrix_matrix_rectangular, normal("mr", (2, 3), (3, 4))),
    ("vector-vector", vector_vector, normal("vv", (3,), (3,))),
]


# ---- forward mode: a result whose tangent would be its operand's tangent array ---------

def element_write_into_a_scaled_copy(y, s):
    c = y * 1.0
    c[0] = c[0] * s
    return np.sum(c) + np.sum(y)


def operand_written_after_a_shifted_copy(y, s):
    c = y + 0.5
    y[0] = y[0] * s
    return np.sum(c * c) + np.sum(y)


def element_write_into_a_copy_of_a_slice(y, s):
    c = y[1:] * 1.0
    c[0] = c[0] * s
    return np.sum(c) + np.sum(y * y)


# ---- parallel loops ---------------------------------------------------------------------

def array_created_in_a_prange_body(x, s):
    t = 0.0
    n = x.shape[0]
    for i in prange(n):
        tmp = np.zeros(3)
        for k in range(3):
            tmp[k] = x[i] * s + k
        t += tmp[0] * tmp[1] + s * tmp[2]
    return t


def own_element_written_then_augmented_in_a_prange(x, y, s):
    n = x.shape[0]
    out = np.zeros(n)
    for i in prange(n):
        v = x[i] * s
        out[i] = v * v
        out[i] += 0.3 * y[i] * s
    return np.sum(out * out)


def prange_with_a_branch(x, s):
    t = 0.0
    n = x.shape[0]
    for i in prange(n):
        if x[i] > 0.0:
            t += x[i] * x[i] * s
        else:
            t += s * math.sin(x[i])
    return t


def prange_reading_neighbours(x, s):
    t = 0.0
    n = x.shape[0]
    for i in prange(1, n):
        t += x[i - 1] * x[i] * s
    return t


def scaled_array_and_square(x, s):
    return x * 2.0, s * s


def prange_filling_an_array_a_later_loop_reads(x, y, s):
    n = x.shape[0]
    out = np.zeros(n)
    for i in prange(n):
        v = x[i] * y[i] + s
        out[i] = v * v + 0.14 * x[i]
        out[i] += 0.56 * y[i] * s
    t = 0.0
    for i in range(n):
        t += out[i] * out[i] * 0.58
    return t


def load_feeding_a_recomputed_value_then_overwritten(x, s):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i] * s
    t = 0.0
    for i in range(n):
        a = y[i]
        b = a * 2.0
        t += math.sin(b)
    for i in range(n):
        y[i] = 0.5 * x[i] + s
    for i in range(n):
        t += y[i] * y[i]
    return t


def prange_stencil_and_own_elements(x, y, s):
    n = x.shape[0]
    t = 0.0
    for i in prange(1, n - 1):
        t += 0.4 * (x[i - 1] - 2.0 * x[i] + x[i + 1]) ** 2 + math.tanh(y[i]) * s * x[i]
    return t


def filled_copy_then_sums(y, x, a):
    c = np.copy(y)
    for i in range(c.shape[0]):
        c[i] = c[i] * a
    s = 0.0
    for i in range(c.shape[0]):
        s += c[i] * math.sin(a * x[i])
    return s + np.sum(c * x) + 0.11 * np.sum(c)


def element_of_a_named_view_and_the_whole_array(x):
    w = x[1:]
    v = w
    return v[0] * v[0] + np.sum(np.sin(x)) + v[1] * x[0]


def gram_energy(A, s):
    S = A.transpose() @ A * 0.2
    return np.sum(S / (2.0 + S * S)) * s
