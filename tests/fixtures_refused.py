"""Functions that use one construct outside adjit's subset each.

tests/test_fence.py differentiates each of them and checks that adjit refuses
it with an ``UnsupportedSyntaxError`` located at the line carrying the
``# REFUSED`` marker (several markers on one function: any of those lines is
an acceptable location; used where the construct spans lines, such as
``while ... else``).  Apart from the marked construct, every function stays
inside the supported subset, so the refusal cannot come from something else.
Keep this a real file: the line numbers are the point.
"""

import math

import numpy as np

COUNTER = 0.0


def helper(t):
    return 2.0 * t


def uses_with(x):
    with np.errstate():  # REFUSED
        y = x * 2.0
    return y


def uses_try(x):
    try:  # REFUSED
        y = math.sqrt(x)
    except ValueError:
        y = 0.0
    return y


def uses_lambda(x):
    y = (lambda t: t * t)(x)  # REFUSED
    return y * 2.0


def uses_nested_def(x):
    y = x + 1.0
    if y > 0.0:
        def inner(t):  # REFUSED
            return t * t
    return y * 2.0


def uses_nested_class(x):
    y = x + 1.0
    class Box:  # REFUSED
        size = 1.0
    return y * 2.0


def uses_yield(x):
    y = x * 2.0
    z = yield y  # REFUSED
    return y


def uses_global(x):
    global COUNTER  # REFUSED
    y = x * COUNTER
    return y


def make_uses_nonlocal():
    scale = 2.0

    def uses_nonlocal(x):
        nonlocal scale  # REFUSED
        y = x * 3.0
        return y

    return uses_nonlocal


uses_nonlocal = make_uses_nonlocal()


async def uses_async(x):  # REFUSED
    y = x * 2.0
    return y


def uses_varargs(x, *rest):  # REFUSED
    y = x * 2.0
    return y


def uses_kwargs(x, **options):  # REFUSED
    y = x * 2.0
    return y


def uses_list_comprehension(x):
    y = x * 2.0
    values = [y * k for k in range(3)]  # REFUSED
    return y


def uses_generator_expression(x):
    y = x * 2.0
    values = (y * k for k in range(3))  # REFUSED
    return y


def uses_set_comprehension(x):
    y = x * 2.0
    values = {y * k for k in range(3)}  # REFUSED
    return y


def uses_dict_comprehension(x):
    y = x * 2.0
    values = {k: y * k for k in range(3)}  # REFUSED
    return y


def assigns_loop_variable(x, n):
    s = 0.0
    for i in range(n):
        s += x * i
        i = i + 1  # REFUSED
    return s


def calls_unknown_function(x):
    y = x * 2.0
    z = math.frexp(y)[0]  # REFUSED
    return z


def _square(x):
    return x * x


def _derivative_of_square():
    from adjit import jit
    return jit.grad(_square)


DERIVATIVE_OF_SQUARE = _derivative_of_square()


def calls_a_derivative(x):
    y = DERIVATIVE_OF_SQUARE(x) * 2.0  # REFUSED
    return y


def calls_builtin_sum(x):
    y = sum((x, 2.0 * x))  # REFUSED
    return y


def uses_list_literal(x):
    y = x * 2.0
    values = [x, y] + [y]  # REFUSED
    return y


def assigns_attribute(x):
    y = x * 2.0
    x.y = 1.0  # REFUSED
    return y


def uses_del(x):
    y = x * 2.0
    z = y + 1.0
    del z  # REFUSED
    return y


def uses_import(x):
    import os  # REFUSED
    y = x * 2.0
    return y


def uses_import_from(x):
    from math import sin  # REFUSED
    y = x * 2.0
    return y


def iterates_over_reversed(x):
    s = 0.0
    for v in reversed(x):  # REFUSED
        s += v
    return s


def uses_while_else(x):
    k = 0
    y = x
    while k < 3:  # REFUSED
        y = y * x
        k += 1
    else:  # REFUSED
        y = y + 1.0  # REFUSED
    return y


def uses_for_else(x, n):
    y = x
    for i in range(n):  # REFUSED
        y = y * x
    else:  # REFUSED
        y = y + 1.0  # REFUSED
    return y


# ---- further refusals listed in docs/limitations.md ----


class SolverError(Exception):
    pass


def uses_raise(x):
    y = x * 2.0
    if y > 100.0:
        raise SolverError("diverged")  # REFUSED
    return y


def uses_assert(x):
    y = x * 2.0
    assert y > -100.0, y  # REFUSED
    return y


def uses_walrus(x):
    y = (z := x * 2.0) + 1.0  # REFUSED
    return y


def uses_match(x, n):
    y = x
    match n:  # REFUSED
        case 1:
            y = x * 2.0
        case _:
            y = x * 3.0
    return y


def uses_bitwise_operator(x, n):
    k = n << 1  # REFUSED
    y = x * 2.0
    return y


def uses_string_constant(x):
    label = "energy"  # REFUSED
    y = x * 2.0
    return y


def uses_keyword_argument(x):
    y = round(x, ndigits=2)  # REFUSED
    return x * 2.0


def uses_max_of_one_iterable(x):
    y = max(x)  # REFUSED
    return y


def uses_expression_statement(x):
    y = x * 2.0
    math.sin(y)  # REFUSED
    return y


def uses_subscript(x):
    y = (x, 2.0 * x)[0]  # REFUSED
    return y


def uses_starred_unpacking(x):
    a, *rest = x, 2.0 * x, 3.0 * x  # REFUSED
    return a


def uses_keyword_only_parameter(x, *, scale):  # REFUSED
    y = x * 2.0
    return y


def uses_nested_loop_variable_reuse(x, n):
    s = 0.0
    for i in range(n):
        for i in range(n):  # REFUSED
            s += x
    return s


def mixes_bare_return(x):
    if x > 0.0:
        return  # REFUSED
    return x * 2.0
