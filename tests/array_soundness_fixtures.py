"""Functions that reach arrays by other paths than their own name: aliases,
views, views of views, copies, helpers returning views, names that change
type, arrays of rank 4 and 5.

tests/test_array_soundness.py differentiates each one. Those in the
first part must give right derivatives; each refused one carries a
``# REFUSED`` marker on the line its located error must name. Keep this a
real file: the line numbers are the point.
"""

import math

import numba
import numpy as np


# ---- aliases and views -------------------------------------------------------------

def alias_of_view(x):
    w = x[1:]
    v = w
    return v[0] * v[0]


def alias_of_alias_of_view(x):
    w = x[1:]
    v = w
    u = v
    return u[1] * u[0] + np.sum(u * v)


def view_of_view(x):
    w = x[1:]
    v = w[1:]
    return v[0] * v[1] + np.sum(v * w[1:])


def view_of_alias(x):
    a = x
    w = a[1:]
    return w[0] * np.sum(w)


def alias_of_view_in_loop(x):
    w = x[1:]
    s = 0.0
    for i in range(3):
        v = w
        s += v[i] * v[i]
    return s


def elements_of_alias_of_view_in_loop(x):
    w = x[1:]
    v = w
    s = 0.0
    for i in range(v.shape[0]):
        s += math.sin(v[i]) * w[i]
    return s


def column_and_its_alias(q):
    c = q[:, 1]
    d = c
    return np.sum(d * d) + c[0]


def view_with_new_axis_and_alias(q):
    w = q[:, None, :]
    v = w
    return np.sum(v * v) + v[1, 0, 2]


def view_of_transpose(q):
    t = q.T
    r = t[1]
    return np.sum(r * r) + r[0]


def transpose_and_its_alias(q):
    t = q.T
    u = t
    return u[1, 0] * np.sum(t)


def base_written_after_alias_of_view(x):
    w = x[1:]
    v = w
    x[2] = 5.0 * x[0]
    return v[0] * v[1]


# ---- helpers returning views ----------------------------------------------------------

def tail(p):
    return p[2:]


def row(p, i):
    return p[i]


def transposed(p):
    return p.T


def same(p):
    return p


def helper_returning_a_slice(p):
    t = tail(p)
    return np.sum(t * t)


def helper_returning_a_row(q):
    r = row(q, 1)
    return np.sum(r * r) + r[0]


def helper_returning_a_row_in_a_loop(q):
    s = 0.0
    for i in range(q.shape[0]):
        r = row(q, i)
        s += r[0] * r[1]
    return s


def helper_returning_the_next_row_in_a_loop(q):
    s = 0.0
    for i in range(q.shape[0] - 1):
        r = row(q, i + 1)
        s += r[0] * q[i, 2] + r[2]
    return s


def helper_returning_a_transpose(q):
    t = transposed(q)
    return t[0, 1] * np.sum(t * t)


def helper_returning_its_argument(x):
    y = same(x)
    return np.sum(y * y) + y[0]


def helper_slice_of_helper_slice(p):
    t = tail(tail(p))
    return np.sum(t * p[:2])


# ---- views named in loops -----------------------------------------------------------

def row_named_in_a_loop(q):
    s = 0.0
    for i in range(q.shape[0]):
        r = q[i]
        v = r
        s += v[0] * r[1] + np.dot(r, q[0])
    return s


def row_named_in_a_recorded_loop(q):
    s = 1.0
    for i in range(q.shape[0]):
        r = q[i]
        s = s * r[0] + math.sin(r[1] * s)
    return s


def rows_in_nested_loops(q):
    s = 0.0
    for i in range(q.shape[0]):
        r = q[i]
        for j in range(r.shape[0]):
            s += r[j] * math.sin(r[0])
    return s


def view_of_an_indexed_value_in_a_loop(q):
    s = 0.0
    for i in range(q.shape[0]):
        s += q[i][0] * q[i][2]
    return s


# ---- copies ------------------------------------------------------------------------

def copy_of_slice(x):
    v = np.copy(x[1:])
    return np.sum(v * v)


def method_copy_of_slice(x):
    v = x[1:].copy()
    return np.sum(v * v)


def copy_of_whole(x):
    v = np.copy(x)
    return np.sum(v * v) + v[0]


def method_copy_of_whole(x):
    v = x.copy()
    return np.sum(v * v) + v[1]


def copy_of_named_view(x):
    w = x[1:]
    v = np.copy(w)
    return np.sum(v * v) + v[0]


def copy_of_alias_of_view(x):
    w = x[1:]
    u = w
    v = u.copy()
    return np.sum(v * x[:-1])


def copy_of_row(q):
    r = np.copy(q[1])
    return np.sum(r * r)


def copy_of_view_with_new_axis(q):
    w = np.copy(q[:, None, :])
    return np.sum(w * w)


def copy_of_copy(x):
    v = np.copy(x[1:])
    u = np.copy(v)
    return np.sum(u * v)


def copy_of_slice_then_written(x):
    v = np.copy(x[1:])
    v[0] = 2.0 * v[1]
    return np.sum(v * v)


def copy_of_slice_in_a_loop(x):
    s = 0.0
    for i in range(3):
        v = np.copy(x[1:])
        s += v[i] * v[i]
    return s


# ---- a name that changes type ------------------------------------------------------

def float_then_array(x):
    s = 0.0
    s = s + np.sin(x)
    return np.sum(s)


def array_parameter_becomes_its_sum(x):
    x = np.sum(x)
    return x * x


def array_parameter_becomes_a_float_after_use(x):
    y = x * 2.0
    x = np.sum(y * y)
    return x + y[0]


def float_in_one_loop_int_index_in_the_next(x):
    s = 0.0
    t = 0.0
    for k in range(3):
        t = x[k] * 2.0
        s += t * t
    m = 0
    for j in range(3):
        t = m
        if x[j] > -10.0:
            m = m + 1
        s = s * x[t] + 1.0
    return s


def int_index_then_float(x):
    k = 2
    s = x[k]
    k = x[0] * 3.0
    return s * k


# ---- rank 4 and 5 ------------------------------------------------------------------

def elementwise_rank4(q):
    return np.sum(np.sin(q) * q + q * 2.0)


def broadcast_rank4(q, w, m, b):
    return np.sum(q * w) + np.sum(np.exp(q + m)) + np.sum(q * b)


def broadcast_rank5(q, w):
    return np.sum(q * w)


def reductions_rank4(q):
    a = np.sum(q, axis=2)
    b = np.mean(q, axis=-1)
    c = np.max(q, axis=1)
    d = np.prod(q, axis=3)
    s = np.sum(q, axis=1, keepdims=True)
    return np.sum(a * a) + np.sum(b) + np.sum(c) + np.sum(d) + np.sum(q * s)


def shapes_rank4(q):
    t = np.transpose(q)
    r = np.reshape(q, (6, 20))
    e = np.expand_dims(q, 0)
    return np.sum(t * t) + np.sum(r[1] * r[2]) + np.sum(e * e) + np.sum(np.ravel(q) ** 3)


def views_and_elements_rank4(q):
    r = q[1]
    c = q[:, 1:, :, 0]
    a = np.zeros_like(q)
    a[1, 2] = q[0, 1] * 2.0
    a[0, 0, 0, 0] = q[1, 1, 1, 1] ** 2
    s = 0.0
    for i in range(q.shape[0]):
        for j in range(q.shape[1]):
            s += q[i, j, 0, 1] * q[i, j, 1, 0]
    return np.sum(r * r) + np.sum(c * c) + q[1, 2, 3, 4] * r[0, 0, 0] + np.sum(a * a) + s


# ---- refused -----------------------------------------------------------------------

def writes_through_an_alias_of_a_view(x):
    w = x[1:]
    v = w
    v[0] = 3.0 * x[0]
    return np.sum(x * x)


def slice_write_through_an_alias_of_a_view(x):
    w = x[1:]
    v = w
    v[1:3] = 2.0 * x[0]
    return np.sum(x * x)


def writes_through_a_helper_view(x):
    t = tail(x)
    t[0] = 2.0 * x[0]
    return np.sum(x * x)


def writes_through_a_transpose(q):
    t = q.T
    t[0, 1] = 2.0 * q[0, 0]  # REFUSED
    return np.sum(q * q)


def writes_base_after_a_transpose(q):
    t = q.T
    q[0, 1] = 5.0  # REFUSED
    return t[1, 0] * q[0, 0]


def writes_base_after_a_reshape(q):
    r = np.reshape(q, (12,))
    q[0, 1] = 5.0  # REFUSED
    return r[1] * r[2]


def writes_base_after_ravel(q):
    r = np.ravel(q)
    q[0, 1] = 5.0 * q[1, 1]  # REFUSED
    return r[1] * r[2]


def writes_base_after_expand_dims(x):
    a = np.copy(x)
    e = np.expand_dims(a, 0)
    a[0] = 2.0 * x[1]  # REFUSED
    return np.sum(e * e)


def copy_in_a_loop_with_a_changing_shape(x):
    s = 0.0
    for i in range(3):
        v = np.copy(x[i:])  # REFUSED
        s += v[0] * v[1]
    return s


def loop_view_used_after_the_loop(q):
    s = 0.0
    for i in range(q.shape[0]):
        r = q[i]
        s += r[0]
    return s + r[1]  # REFUSED


def loop_view_named_in_a_branch(q):
    s = 0.0
    for i in range(q.shape[0]):
        if i > 0:
            r = q[i]  # REFUSED
            s += r[0] * r[1]
    return s


def loop_view_with_a_moving_index(q):
    s = 0.0
    k = 0
    for i in range(q.shape[0]):
        r = q[k]  # REFUSED
        s += r[0] * r[1]
        k += 1
    return s


def loop_view_in_a_prange(q):
    s = 0.0
    for i in numba.prange(q.shape[0]):
        r = q[i]  # REFUSED
        s += r[0] * r[1]
    return s


def float_then_array_in_a_loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.sin(x)  # REFUSED
    return np.sum(s)


def loop_indexes_rows_into_a_float(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i]  # REFUSED
    return s


def array_parameter_rebound_to_a_float_in_a_loop(x):
    for i in range(2):
        x = np.sum(x)  # REFUSED
    return x


def copies_with_np_array(x):
    v = np.array(x[1:])
    return np.sum(v * v)
