"""Scalar helpers that generated code and derivative rules call, as `rt.NAME`.

Each is `register_jitable`: plain Python when the generated code runs with
`target="python"`, specialised and inlined by Numba with `target="cpu"`.
"""

import math

from numba import vectorize
from numba.extending import register_jitable


@register_jitable
def sign(x):
    """-1, 0 or 1 as a float: the derivative of |x| (0 at x == 0)."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return 0.0


@register_jitable
def pow_base_partial(x, y):
    """d(x**y)/dx = y * x**(y - 1); exactly 0 for y == 0 (x**0 is constant),
    and the one-sided limit at x == 0 instead of Python's ZeroDivisionError."""
    if y == 0:
        return 0.0
    if x == 0:
        if y > 1:
            return 0.0
        if y == 1:
            return 1.0
        return y * math.inf
    return y * x ** (y - 1)


@register_jitable
def pow_exponent_partial(x, y):
    """d(x**y)/dy = x**y * log(x); 0 at x == 0 (where x**y is 0 for y > 0),
    NaN for x < 0 where the power is not differentiable in y."""
    if x > 0:
        return x ** y * math.log(x)
    if x == 0:
        return 0.0
    return math.nan


@register_jitable
def digamma(x):
    """The digamma function psi = d lgamma / dx (needed by gamma, lgamma)."""
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    result = 0.0
    if x < 0.0:
        # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        result -= math.pi / math.tan(math.pi * x)
        x = 1.0 - x
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    inverse_square = 1.0 / (x * x)
    series = inverse_square * (1.0 / 12 - inverse_square * (
        1.0 / 120 - inverse_square * (1.0 / 252 - inverse_square * (
            1.0 / 240 - inverse_square * (1.0 / 132)))))
    return result + math.log(x) - 0.5 / x - series


@register_jitable
def trip_count(start, stop, step):
    """len(range(start, stop, step)) for integer bounds."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // (-step))


@register_jitable
def clip_bound(length, bound):
    """A slice bound as Python normalises it for a positive step: counted
    from the end when negative, then clipped to [0, length]."""
    if bound < 0:
        bound += length
    return min(max(bound, 0), length)


@register_jitable
def common_extent(extent, other):
    """`extent`, after checking that an operand of an element loop made
    from a whole-array statement has that many elements along the dimension
    (NumPy would broadcast or raise; the loop must not read past an end)."""
    if extent != other:
        raise ValueError("operands of an elementwise statement have different shapes")
    return extent


@register_jitable
def inner_extent(extent, other):
    """The shared inner dimension of a matrix product made into an element
    loop (`A @ B`: columns of `A`, rows of `B`), checked to agree."""
    if extent != other:
        raise ValueError("matmul: the operands' inner dimensions differ")
    return extent


@register_jitable
def row_extent(extent, other):
    """`extent`, after checking that an array bound to a name that a loop
    or a branch rebinds has the extent of the name's first array."""
    if extent != other:
        raise ValueError("an array bound to a name that a loop or a branch rebinds has "
                         "another shape than the name's first array; adjit keeps one "
                         "shape for such names")
    return extent


@register_jitable
def slice_bounds(start, stop, step, length):
    """(first index, extent) of the slice `[start:stop:step]` of an array of
    length `length`, by Python's rules (`slice.indices`): negative bounds
    count from the end, bounds clip. An omitted bound is given as the one
    that means it: 0 and `length` for a positive step, `length - 1` and
    `-length - 1` for a negative one."""
    if step == 0:
        raise ValueError("slice step cannot be zero")
    lower, upper = (0, length) if step > 0 else (-1, length - 1)
    if start < 0:
        start = max(start + length, lower)
    else:
        start = min(start, upper)
    if stop < 0:
        stop = max(stop + length, lower)
    else:
        stop = min(stop, upper)
    if step > 0:
        extent = (stop - start + step - 1) // step if stop > start else 0
    else:
        extent = (start - stop - step - 1) // (-step) if start > stop else 0
    return start, extent


@register_jitable
def slice_extent(start, stop, step, length):
    """The length of the slice `[start:stop:step]` (see `slice_bounds`)."""
    return slice_bounds(start, stop, step, length)[1]


@register_jitable
def slice_element(index, start, stop, step, length):
    """The index into an array of length `length` of element `index` of its
    slice `[start:stop:step]` (see `slice_bounds`; a negative index counts
    from the slice's end); an index outside the slice raises IndexError."""
    first, extent = slice_bounds(start, stop, step, length)
    if index < 0:
        index += extent
    if index < 0 or index >= extent:
        raise IndexError("index out of bounds for the view written through")
    return first + index * step


# Tape growth lives with the tape, the steps of array rules in `arrays`;
# generated code reaches them as `rt.grow`, `rt.unbroadcast`, ...
from adjit.runtime.arrays import (broadcast_like, cotangent_like, product_of_others,  # noqa: E402,F401
                                  reshape_like, unbroadcast)
from adjit.runtime.axes import (axis_size, keep_dims, prod_along,  # noqa: E402,F401
                                product_of_others_along, product_of_others_along_jvp,
                                product_of_others_jvp)
from adjit.runtime.extrema import (extremum_along, spread_to_extremum,  # noqa: E402,F401
                                   spread_to_extremum_along, take_at_extremum,
                                   take_at_extremum_along)
from adjit.runtime.joins import (array_of, atleast_1d, atleast_2d,  # noqa: E402,F401
                                 concatenate_along, hstack, stack_along, vstack)
from adjit.runtime.scans import (cumprod_along, cumprod_jvp, cumprod_second,  # noqa: E402,F401
                                 cumprod_second_vjp, cumprod_vjp, cumsum_along, diff_along,
                                 diff_transpose)
from adjit.runtime.tape import grow  # noqa: E402,F401
from adjit.runtime.checkpoints import (checkpoint_stride, require_budget,  # noqa: E402,F401
                                       saved_states, segment_count)
from adjit.runtime.special import scalar_trigamma  # noqa: E402
from adjit.runtime import custom  # noqa: E402,F401  (rt.custom.NAME: user rules)
from adjit.runtime.parallel import (add_chunk_copies, chunk_count,  # noqa: E402,F401
                                    chunk_start)


# psi'(x), the derivative of digamma (second derivatives of lgamma): the
# scalar form of SciPy's polygamma(1, x) in `special`
trigamma = scalar_trigamma


@register_jitable
def stop_gradient(x):
    """The value of `x`, with derivative zero (adjit.stop_gradient)."""
    return x


# d(x ** y)/dx and d(x ** y)/dy element by element, for array operands (ufuncs:
# they broadcast like the power itself)
pow_base_partial_elementwise = vectorize(cache=True)(pow_base_partial)
pow_exponent_partial_elementwise = vectorize(cache=True)(pow_exponent_partial)

# SciPy's special functions, as Numba ufuncs (rt.special.NAME); last, as
# they build on digamma above
from adjit.runtime import special  # noqa: E402,F401
from adjit.runtime import draws  # noqa: E402,F401  (rt.draws.NAME: np.random)
