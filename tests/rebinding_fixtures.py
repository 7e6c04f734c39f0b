"""Programs that bind array names more than once: aliases, rebinding to new
arrays, straight-line and loop-carried swaps, rotations and conditional
swaps (tests/test_rebinding.py)."""

import numba
import numpy as np


def alias_then_rebind(x, y):
    u = x
    u = y
    return np.sum(u * x)


def swap_straight(x, y):
    u = x * 1.0
    v = y * 2.0
    u, v = v, u
    u[0] = u[0] * v[1]
    return np.sum(u * u) + np.sum(v)


def copy_of_itself(x):
    u = x * 1.0
    u = u.copy()
    u[1] = u[1] * u[0]
    return np.sum(u * x)


def parameter_rebound(x):
    x = x * 2
    return np.sum(np.sin(x))


def created_twice(x):
    n = x.shape[0]
    a = np.zeros(n)
    for i in range(n):
        a[i] = x[i] * x[i]
    s = np.sum(a)
    a = np.ones(n)
    for i in range(n):
        a[i] = a[i] * s * x[i]
    return np.sum(a)


def changes_type(x):
    x = np.sum(x * x)
    return x * 2.0


def diffuse(u0, c, steps):
    u = np.copy(u0)
    u_new = np.zeros_like(u0)
    for t in range(steps):
        for i in range(1, len(u) - 1):
            u_new[i] = u[i] + c * (u[i + 1] - 2.0 * u[i] + u[i - 1])
        u_new[0] = u[0]
        u_new[-1] = u[-1]
        u, u_new = u_new, u
    return np.sum(u * u)


def diffuse_copying(u0, c, steps):
    """`diffuse` with the new values copied back instead of swapped."""
    u = np.copy(u0)
    u_new = np.zeros_like(u0)
    for t in range(steps):
        for i in range(1, len(u) - 1):
            u_new[i] = u[i] + c * (u[i + 1] - 2.0 * u[i] + u[i - 1])
        u_new[0] = u[0]
        u_new[-1] = u[-1]
        for i in range(len(u)):
            u[i] = u_new[i]
    return np.sum(u * u)


def nonlinear_swaps(x, c):
    n = x.shape[0]
    u = np.copy(x)
    v = np.empty(n)
    for t in range(3):
        for i in range(n):
            v[i] = np.sin(u[i]) * c + u[(i + 1) % n] * u[i]
        u, v = v, u
    return np.sum(u * u) + v[0]


def rotates_three(x, y):
    n = x.shape[0]
    a = np.copy(x)
    b = x * 0.5
    c = np.zeros(n)
    for t in range(4):
        for i in range(n):
            c[i] = a[i] * b[i] + 0.5 * c[i] + y[i]
        a, b, c = b, c, a
    return np.sum(a) + 2.0 * np.sum(b * b) + c[1]


def swaps_when(x, flags):
    n = x.shape[0]
    u = np.copy(x)
    v = x * 0.5
    for t in range(flags.shape[0]):
        for i in range(n):
            u[i] = u[i] * v[i] + 0.1
        if flags[t] > 0.0:
            u, v = v, u
    return np.sum(u) + 3.0 * np.sum(v)


def swaps_once_when(x, w):
    u = x * 1.0
    v = x * w[1]
    if w[0] > 0.0:
        u, v = v, u
    u[0] = u[0] * v[0]
    return np.sum(u * v) + u[1]


def rebinds_parameter_in_loop(x, c):
    n = x.shape[0]
    y = np.zeros(n)
    for t in range(3):
        for i in range(n):
            y[i] = x[i] * c + x[(i + 2) % n]
        x, y = y, x
    return np.sum(x * x)


def sums_before_swapping(x, c):
    n = x.shape[0]
    u = np.copy(x)
    v = np.zeros(n)
    s = u[1] * c
    for t in range(3):
        for i in range(n):
            v[i] = u[i] * u[i] * c
        u, v = v, u
    return s + np.sum(u) + 2.0 * v[0]


def returns_a_swapped_array(x, c):
    u = np.copy(x)
    v = np.zeros_like(x)
    for t in range(2):
        for i in range(x.shape[0]):
            v[i] = np.cos(u[i]) * c
        u, v = v, u
    return u


def creates_in_the_loop(x):
    u = np.copy(x)
    for t in range(2):
        v = np.zeros_like(x)
        v[0] = u[0] * x[0]
        u = v
    return u[0]


def _step(u, c):
    v = np.empty_like(u)
    n = u.shape[0]
    for i in range(n):
        v[i] = u[i] + c * np.sin(u[i - 1])
    return v


def steps_through_a_helper(x, c):
    u = np.copy(x)
    for t in range(3):
        u = _step(u, c)
    return np.sum(u * u)


def two_pairs_of_buffers(x, y):
    a = np.copy(x)
    b = np.zeros_like(x)
    p = np.copy(y)
    q = np.zeros_like(y)
    for t in range(3):
        for i in range(x.shape[0]):
            b[i] = a[i] * a[i] * 0.5 + p[0]
        for j in range(y.shape[0]):
            q[j] = np.cos(p[j]) + a[1]
        a, b = b, a
        p, q = q, p
    return np.sum(a) + np.sum(p * q)


def swaps_an_alias_of_the_argument(x, c):
    u = x
    v = np.zeros_like(x)
    for t in range(3):
        for i in range(x.shape[0]):
            v[i] = u[i] * c + x[i]
        u, v = v, u
    return np.sum(u * u) + x[0]


def copies_itself_in_a_loop(x, c):
    u = np.copy(x)
    for t in range(3):
        u = u.copy()
        for i in range(x.shape[0]):
            u[i] = np.sin(u[i]) * c + u[i - 1]
    return np.sum(u * u)


def views_a_buffer_then_swaps(x):
    """`w` keeps viewing the array `u` named when `w` was bound."""
    u = np.copy(x)
    v = np.zeros_like(x)
    w = u[1:]
    for t in range(2):
        for i in range(x.shape[0]):
            v[i] = u[i] * u[i - 1] * 2.0
        u, v = v, u
    return np.sum(w * w) + u[0] + 3.0 * v[2]


def rotates_buffers_shaped_like_a_result(x, Q, s):
    v = np.sum(Q.T * x[:, None], axis=1)
    p = np.copy(v)
    q = v * s
    r = np.ones_like(v)
    for t in range(4):
        for i in range(v.shape[0]):
            q[i] = p[i] * v[i] - 0.7 * p[i - 1]
        p, q, r = q, r, p
    return np.sum(p * p) * 0.4 + q[1]


# refused: each a located DifferentiationError


def swaps_different_shapes(x):
    u = np.copy(x)
    v = np.zeros(x.shape[0] + 1)
    for t in range(2):
        u[0] = v[0] + x[0]
        u, v = v, u
    return u[0]


def swaps_a_view_with_its_base(x):
    u = np.copy(x)
    v = u[1:]
    for t in range(2):
        u[0] = v[0] * x[1]
        u, v = v, u
    return u[0]


def swaps_int_arrays(x):
    a = np.zeros(x.shape[0], np.int64)
    b = np.ones(x.shape[0], np.int64)
    s = 0.0
    for t in range(2):
        s += x[a[0]] * x[b[0]]
        a, b = b, a
    return s


def fresh_buffer_each_step(u0, c):
    u = np.copy(u0)
    n = u0.shape[0]
    for t in range(3):
        u_new = np.empty_like(u0)
        for i in range(n):
            u_new[i] = u[i] + c * np.sin(u[i - 1] - u[i])
        u = u_new
    return np.sum(u * u)


def swaps_after_a_prange(u0):
    u = np.copy(u0)
    u_new = np.zeros_like(u0)
    n = u0.shape[0]
    for t in range(3):
        for i in numba.prange(1, n - 1):
            u_new[i] = u[i] + 0.2 * (u[i + 1] - 2.0 * u[i] + u[i - 1])
        u, u_new = u_new, u
    return np.sum(u * u)


def swaps_buffers_shaped_like_a_branch_result(x):
    s = 0.0
    if x[0] > 0.0:
        v = np.copy(x[1:])
        a = np.zeros_like(v)
        b = np.ones_like(v)
        for t in range(2):
            for i in range(v.shape[0]):
                b[i] = a[i] * x[0] + v[i]
            a, b = b, a
        s = np.sum(a)
    return s
