"""Derivative operators, each a thin layer over the two transformations.

* reverse mode: `grad`, `value_and_grad`;
* forward mode: `jvp`;
* built from them: `jacobian` (rows by reverse mode or columns by forward
  mode), `hessian` and `hvp` (forward over reverse: `jvp(grad(f))`).

Every operator accepts a plain function, an `adjit.differentiable` one, or
a `jit.grad` result, which is differentiated again by transforming its
generated source.
"""

from __future__ import annotations

import numpy as np

from adjit.dispatch import JVP, TARGETS, VERSION, VJP, Derivative, _resolve_wrt  # noqa: F401
from adjit.errors import AdjitError
from adjit.function import as_differentiable


def grad(f, wrt=0, target: str = "cpu") -> Derivative:
    """Reverse-mode gradient of the scalar function `f` w.r.t. `wrt`.

    `wrt` is a parameter index or name, or a tuple of them (then the
    gradient is a tuple). `target="cpu"` compiles with Numba;
    `target="python"` runs the same generated source uncompiled;
    `target="cuda"` runs on the GPU: a function with an outer prange loop
    as kernels (one thread per iteration, arrays in and out), a function of
    scalars as `.device`, a CUDA device function, also run element-wise on
    1-D arrays, and one without a prange using parameters as arrays once
    per row of its 2-D arguments (the gradient with respect to a 1-D array,
    shared by all rows, is then the sum over rows; docs/parallel.md#gpus)."""
    return Derivative(f, wrt, target, returns_value=False, operator="grad")


def value_and_grad(f, wrt=0, target: str = "cpu") -> Derivative:
    """Like `grad`, but calls return `(f(*args), gradient)` from one pass."""
    return Derivative(f, wrt, target, returns_value=True, operator="value_and_grad")


def vjp(f, wrt=0, target: str = "cpu", outputs=None) -> VJP:
    """Reverse mode with a given output cotangent: `h(*args, cotangent) ->
    (value, cotangent of each wrt)`; `f` may return a float or an array of
    floats, and `cotangent` has the shape of what it returns.

    A function that returns nothing and fills array arguments (Numba's
    output arguments) has those arrays as results: `outputs` names them
    (an index or name, or a tuple), by default every parameter `f` writes
    into (a tuple if several). `cotangent` then has the shape of the output
    argument (a tuple, one each, for a tuple), and `value` is the contents
    of the output arguments after `f`; the caller's arrays are not modified
    (docs/calls.md#output-arguments).

    With `target="cuda"`, `f` returns a float: for a function of scalars
    run on 1-D arrays, the cotangent is a float or a 1-D array (one per
    element), and `.device` takes it after f's arguments; for a function
    with an outer prange loop (kernels), it is a float."""
    return VJP(f, wrt, target, returns_value=True, operator="vjp", outputs=outputs)


def jvp(f, wrt=0, target: str = "cpu", outputs=None) -> JVP:
    """Forward-mode derivative: `h(*args, tangents) -> (f(*args), J @ tangents)`.

    `tangents` is a tuple matching a tuple `wrt`, a single number (or an
    array, for an array argument) otherwise. For `f` returning a tuple, the
    tangent of the result is a tuple too. For `f` returning nothing, the
    value and tangent are those of its output arguments (`outputs`, as for
    `vjp`). With `target="cuda"`, called on
    arrays, it returns one value and one tangent per element or row
    (docs/parallel.md#gpus)."""
    return JVP(f, wrt, target, returns_value=True, operator="jvp", outputs=outputs)


class Composite:
    """An operator built from others (`hvp`, `hessian`, `jacobian`): calling
    it runs them; its source is the source of the derivative it runs."""

    def __init__(self, name: str, run, shown, example_arity: int, recipe: tuple = ()):
        self.name = name
        self._run = run
        self._shown = shown                 # the Derivative whose source we show
        self._example_arity = example_arity  # arguments of f in the examples
        self._recipe = recipe               # (operator, its arguments): how to make it again

    def __reduce__(self):
        # pickled (to a Dask worker, a process pool) as the call that makes
        # it: the receiving process compiles (or reads its cache) at first use
        operator, arguments = self._recipe
        return operator, arguments

    def __dask_tokenize__(self):
        from adjit.pickling import identity
        operator, (function, *rest) = self._recipe
        return (operator.__name__, identity(function), repr(rest))

    def __call__(self, *args, **kwargs):
        return self._run(*args, **kwargs)

    def source_for(self, *example_args, **example_kwargs) -> str:
        return self._shown.source_for(*example_args[:self._example_arity], **example_kwargs)

    @property
    def source(self) -> str:
        return self._shown.source

    def __repr__(self) -> str:
        return f"<adjit.jit.{self.name} via {self._shown!r}>"


def _no_cuda(operator: str, target: str) -> None:
    if target == "cuda":
        raise AdjitError(f"jit.{operator} has no target='cuda' yet; the GPU target "
                         "offers jit.grad, jit.value_and_grad, jit.vjp and jit.jvp")


def _basis(count: int, index: int) -> tuple:
    return tuple(1.0 if k == index else 0.0 for k in range(count))


def _scalar_wrt_only(operator: str, function, names: list[str], args) -> None:
    """hessian and jacobian build their results from scalar basis directions."""
    bound = function.signature.bind(*args)
    for name in names:
        if isinstance(bound.arguments.get(name), np.ndarray):
            raise AdjitError(
                f"jit.{operator} with respect to the array `{name}` is not supported "
                "yet; use jit.hvp (Hessian-vector products) or jit.grad / jit.jvp")


def hvp(f, wrt=0, target: str = "cpu") -> Composite:
    """Hessian-vector product `h(*args, v) -> H(args) @ v`, without forming H.

    Forward over reverse: the tangent of the gradient in direction `v`."""
    _no_cuda("hvp", target)
    tangent_of_gradient = jvp(grad(f, wrt, target), wrt, target)

    def run(*args_and_vector):
        return tangent_of_gradient(*args_and_vector)[1]
    arity = len(tangent_of_gradient.function.parameters)
    return Composite("hvp", run, tangent_of_gradient, arity, (hvp, (f, wrt, target)))


def hessian(f, wrt=0, target: str = "cpu") -> Composite:
    """Second derivatives of the scalar `f`, one forward-over-reverse pass
    per element of `wrt` (a column of H). For one scalar `wrt` a number; for
    one array `x` of shape S an array of shape S + S (`H[i, j] = d2f /
    dx[i] dx[j]`; for a vector, the matrix `scipy.optimize.minimize(hess=)`
    takes); for a tuple `wrt`, a tuple of rows of blocks, `H[a][b]` of shape
    S_a + S_b (a number where both are scalars)."""
    _no_cuda("hessian", target)
    tangent_of_gradient = jvp(grad(f, wrt, target), wrt, target)
    names, is_tuple = _resolve_wrt(as_differentiable(f), wrt)
    function = as_differentiable(f)

    def run(*args):
        bound = function.signature.bind(*args)
        bound.apply_defaults()
        points = [bound.arguments[name] for name in names]
        shapes = [np.shape(point) for point in points]
        blocks = [[np.zeros(shapes[a] + shapes[b]) for b in range(len(names))]
                  for a in range(len(names))]
        for b, point in enumerate(points):
            for element in np.ndindex(*shapes[b]):
                tangents = [np.zeros_like(p, dtype=float) if isinstance(p, np.ndarray)
                            else 0.0 for p in points]
                if isinstance(point, np.ndarray):
                    tangents[b][element] = 1.0
                else:
                    tangents[b] = 1.0
                column = tangent_of_gradient(
                    *args, tuple(tangents) if is_tuple else tangents[0])[1]
                for a, part in enumerate(column if is_tuple else (column,)):
                    # d(grad_a)/d(point_b[element]): the trailing index is `element`
                    blocks[a][b][(Ellipsis,) + element] = part
        blocks = [[block if block.shape else float(block) for block in row]
                  for row in blocks]
        return tuple(tuple(row) for row in blocks) if is_tuple else blocks[0][0]
    arity = len(tangent_of_gradient.function.parameters)
    return Composite("hessian", run, tangent_of_gradient, arity, (hessian, (f, wrt, target)))


def jacobian(f, wrt=0, mode: str = "rev", target: str = "cpu") -> Composite:
    """The Jacobian of `f` w.r.t. `wrt`.

    For a scalar `f` it has the shape of the gradient; for `f` returning a
    tuple of m values, it is a tuple of m rows, each shaped like the
    gradient. `mode="rev"` builds it row by row (one reverse pass per
    output), `mode="fwd"` column by column (one forward pass per input)."""
    _no_cuda("jacobian", target)
    if mode not in ("rev", "fwd"):
        raise AdjitError(f"mode must be 'rev' or 'fwd', not {mode!r}")
    function = as_differentiable(f)
    names, is_tuple = _resolve_wrt(function, wrt)
    arity = len(function.parameters)
    if mode == "fwd":
        forward = jvp(f, wrt, target)

        def run(*args):
            _scalar_wrt_only("jacobian", function, names, args)
            if not is_tuple:
                return forward(*args, 1.0)[1]
            columns = [forward(*args, _basis(len(names), k))[1] for k in range(len(names))]
            if not isinstance(columns[0], tuple):          # scalar f: a gradient
                return tuple(columns)
            return tuple(tuple(column[i] for column in columns)
                         for i in range(len(columns[0])))
        return Composite("jacobian", run, forward, arity, (jacobian, (f, wrt, mode, target)))

    rows: dict[int | None, Derivative] = {}

    def row(output):
        if output not in rows:
            rows[output] = Derivative(f, wrt, target, returns_value=False,
                                      operator="grad", output=output)
        return rows[output]

    def run(*args):
        outputs = row(None).output_count(*args)
        if outputs is None:
            return row(None)(*args)
        return tuple(row(k)(*args) for k in range(outputs))
    return Composite("jacobian", run, row(None), arity, (jacobian, (f, wrt, mode, target)))


def source(derivative, *example_args, **example_kwargs) -> str:
    """The generated source of `derivative` for the example arguments' types,
    or, without examples, for the signature it was last called with."""
    if not isinstance(derivative, (Derivative, Composite)):
        raise AdjitError(f"{derivative!r} is not an adjit derivative "
                         "(make one with adjit.jit.grad)")
    if example_args or example_kwargs:
        return derivative.source_for(*example_args, **example_kwargs)
    return derivative.source
