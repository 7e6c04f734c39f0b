"""Programs that write into arrays through views: named rows and slices,
aliases of views, views of views, views given to helpers that fill them,
in-place operators on views (tests/test_view_writes.py)."""

import numpy as np


def scales_rows_through_a_named_row(A):
    B = A.copy()
    for i in range(B.shape[0]):
        row = B[i]
        for j in range(B.shape[1]):
            row[j] += row[j] * row[j] * 0.5
    return np.sum(B * B)


def writes_through_a_slice(x):
    y = x * 1.0
    v = y[1:]
    v[0] = v[1] * v[2]
    v[-1] = 2.0 * v[0]
    return np.sum(y * np.sin(y))


def writes_through_a_bounded_slice_in_a_loop(x):
    y = x * 1.0
    v = y[1:-1]
    for k in range(v.shape[0]):
        v[k] = v[k] * y[k] + 0.25
    return np.sum(y * y)


def writes_through_an_alias_of_a_view(x):
    y = np.copy(x)
    w = y[2:]
    u = w
    u[0] = u[1] * u[0]
    return np.sum(y * y) + y[2]


def writes_through_a_view_of_a_view(A):
    B = A * 2.0
    row = B[1]
    tail = row[1:]
    tail[0] = tail[1] * tail[0]
    tail[-1] = np.sin(tail[0])
    return np.sum(B * B)


def in_place_operators_on_views(A, s):
    B = A.copy()
    for i in range(B.shape[0]):
        row = B[i]
        row *= s
        row[1:] += row[:-1] * 0.5
    first = B[0]
    first /= 1.0 + s * s
    return np.sum(B * np.cos(B))


def slice_write_through_a_view(A, x):
    B = A.copy()
    row = B[1]
    row[1:3] = x[:2] * x[1:3]
    col = B[:, 0]
    col[:] = np.tanh(col)
    return np.sum(B * B)


def _fill(source, out):
    for k in range(out.shape[0]):
        out[k] = source[k] * source[k] + 0.1 * k


def _accumulate(source, out):
    for k in range(out.shape[0]):
        out[k] += np.sin(source[k])


def fills_rows_through_a_helper(A):
    B = np.zeros_like(A)
    for i in range(A.shape[0]):
        _fill(A[i], B[i])
        _accumulate(A[i], B[i])
    return np.sum(B * A)


def fills_a_slice_through_a_helper(x):
    y = np.zeros_like(x)
    _fill(x[1:], y[:-1])
    _accumulate(x, y)
    return np.sum(y * y)


def negative_index_through_a_column(A):
    B = A.copy()
    col = B[:, 1]
    col[-1] = col[0] * col[-1]
    col[0] = np.exp(col[1])
    return np.sum(B * B)


def view_of_a_rebound_buffer(x, c):
    u = np.copy(x)
    u_new = np.copy(x)
    for t in range(3):
        inner = u_new[1:-1]
        for k in range(inner.shape[0]):
            inner[k] = u[k + 1] + c * (u[k + 2] - 2.0 * u[k + 1] + u[k])
        u, u_new = u_new, u
    return np.sum(u * u)


def writes_through_a_view_after_its_base_is_swapped(x):
    u = x * 1.0
    w = x * 2.0
    v = u[1:]
    for k in range(2):
        v[0] = v[1] * 2.0
        u, w = w, u
    return np.sum(u * w)


def writes_through_reversed_and_strided_views(x):
    y = x * 1.0
    r = y[::-1]
    r[0] = r[1] * r[-1]
    e = y[1::2]
    for k in range(e.shape[0]):
        e[k] = e[k] * 3.0 + r[k]
    return np.sum(y * np.sin(y))


# ---- refused -----------------------------------------------------------------------------
def writes_after_the_index_changes(A):
    B = A.copy()
    i = 0
    row = B[i]
    i = 1
    row[0] = 2.0
    return np.sum(B)


def writes_through_a_view_bound_in_a_branch(x, flag):
    y = x * 1.0
    v = y
    if flag > 0:
        v = y[1:]
    v[0] = 5.0
    return np.sum(y)


def writes_through_a_view_bound_in_a_branch_of_a_loop(A):
    B = A * 1.0
    for i in range(B.shape[0]):
        if i % 2 == 0:
            row = B[i]
        row[1] = row[1] * 2.0
    return np.sum(B * B)


def writes_a_slice_of_a_slice(x):
    y = x * 1.0
    v = y[1:]
    w = v[1:]
    w[0] = 2.0
    return np.sum(y)


def reads_past_the_end_of_a_view(x):
    y = x * 1.0
    v = y[1:3]
    v[2] = 1.0
    return np.sum(y)
