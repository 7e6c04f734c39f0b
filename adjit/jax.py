"""adjit.jax: a function adjit differentiates, as a JAX function.

    energy = adjit.jax.function(kernel_norm, wrt=(0, 1))
    jax.jit(jax.grad(lambda q, p: energy(q, p, 0.5)))(q, p)

The function runs on the host through `jax.pure_callback` (Numba-compiled
`f`), so it works inside `jax.jit` and under `jax.vmap` (the callback is
called once per batch element: `vmap_method="sequential"`). Its reverse
mode is a `jax.custom_vjp` whose backward is adjit's `jit.vjp`; that
backward is itself a `custom_vjp` whose backward is adjit's
`jit.vjp(jit.jvp(f))`, so `jax.grad` of a `jax.grad` (reverse over
reverse: Hessian-vector products, `jax.jacrev(jax.jacrev(...))`) works.
Forward mode (`jax.jvp`, `jax.jacfwd`, and `jax.hessian`, which is
`jacfwd(jacrev)`) is not defined for a `custom_vjp` function: JAX says so
with its own error; use `jax.jacrev(jax.jacrev(f))` for a Hessian. A third
derivative reaches a callback JAX cannot differentiate and raises.

Arguments at `wrt` positions are differentiated: float arrays or numbers.
Other arguments are passed through: Python numbers as they are (static),
arrays (traced ones included) as data without gradients. Within
`jax.jit`, every argument becomes an array; a 0-d one is given to `f` as a
number. The result's shape is found once per shape of the arguments by
running `f` on arrays of ones (or given as `result_shape=`, a
`jax.ShapeDtypeStruct`, where `f` must not run on ones).
"""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp

from adjit.bridge import Bridged
from adjit.errors import AdjitError

__all__ = ["function", "JaxFunction"]


def function(f, wrt=0, result_shape=None) -> "JaxFunction":
    """`f` as a JAX function, differentiable by `jax.grad` (twice) with
    respect to the arguments `wrt` names (positions or names)."""
    return JaxFunction(f, wrt, result_shape)


def _host(value):
    """A callback's argument as adjit takes it: a 0-d array as a number."""
    value = np.asarray(value)
    if value.ndim == 0:
        return value.item()
    return value


class JaxFunction(Bridged):
    """A callable on JAX arrays; see the module's docstring."""

    def __init__(self, f, wrt=0, result_shape=None):
        super().__init__(f, wrt, "jax")
        self.result_shape = result_shape
        self._shapes: dict[tuple, jax.ShapeDtypeStruct] = {}

    def __repr__(self) -> str:
        return f"<adjit.jax.function {self.name} wrt {list(self.wrt_names)}>"

    # -- host computations (numpy in, numpy out; a 0-d array as a number) ----------------
    def _primal_host(self, *arrays):
        return self.primal([_host(a) for a in arrays])

    def _gradients_host(self, *arrays_and_cotangent):
        *arrays, cotangent = arrays_and_cotangent
        return self.gradients([_host(a) for a in arrays], _host(cotangent))

    def _second_host(self, *values):
        """(arrays..., directions per wrt..., cotangent) -> (J @ directions,
        the second-order terms per wrt)."""
        values = [_host(v) for v in values]
        count = len(self.parameters)
        return self.second(values[:count], values[count:-1], values[-1])

    # -- shapes -----------------------------------------------------------------------
    def _result_struct(self, args) -> jax.ShapeDtypeStruct:
        if self.result_shape is not None:
            return self.result_shape
        key = tuple(a if isinstance(a, (bool, int, float))
                    else (np.shape(a), str(jnp.result_type(a))) for a in args)
        if key not in self._shapes:
            probe = [a if isinstance(a, (bool, int, float))
                     else np.ones(np.shape(a), dtype=jnp.result_type(a)) for a in args]
            value = np.asarray(self._primal_host(*probe))
            dtype = _float_dtype(args)
            self._shapes[key] = jax.ShapeDtypeStruct(value.shape, dtype)
        return self._shapes[key]

    # -- the call -----------------------------------------------------------------------
    def __call__(self, *args):
        if len(args) != len(self.parameters):
            raise AdjitError(f"{self.name} takes {len(self.parameters)} arguments "
                             f"{tuple(self.parameters)}, got {len(args)}")
        static = {}
        dynamic = []
        for position, value in enumerate(args):
            name = self.parameters[position]
            if position in self.wrt_positions:
                dtype = jnp.result_type(value)
                if not jnp.issubdtype(dtype, jnp.floating):
                    raise AdjitError(f"the argument `{name}` of {self.name} is differentiated "
                                     f"(wrt), so it must be a float or an array of floats, "
                                     f"not {dtype}")
                dynamic.append(position)
            elif isinstance(value, (bool, int, float)):
                static[position] = value
            else:
                dynamic.append(position)
        return self._operation(tuple(sorted(static.items())), tuple(dynamic))(
            *[args[position] for position in dynamic])

    def _operation(self, static: tuple, dynamic: tuple):
        """The custom_vjp function of the dynamic arguments, the static
        ones fixed."""
        fixed = dict(static)
        count = len(self.parameters)
        wrt_slots = [dynamic.index(position) for position in self.wrt_positions]

        def full(values):
            given = dict(zip(dynamic, values))
            return [given[k] if k in given else fixed[k] for k in range(count)]

        def callback(host, shapes, *values):
            return jax.pure_callback(host, shapes, *values, vmap_method="sequential")

        @jax.custom_vjp
        def primal(*values):
            arguments = full(values)
            shape = self._result_struct(arguments)
            return callback(lambda *a: np.asarray(self._primal_host(*a), dtype=shape.dtype),
                            shape, *arguments)

        @jax.custom_vjp
        def gradients(values, cotangent):
            arguments = full(values)
            shapes = tuple(jax.ShapeDtypeStruct(np.shape(arguments[p]),
                                                _float_dtype([arguments[p]]))
                           for p in self.wrt_positions)

            def host(*a):
                found = self._gradients_host(*a)
                return tuple(np.asarray(g, dtype=s.dtype).reshape(s.shape)
                             for g, s in zip(found, shapes))
            return callback(host, shapes, *arguments, cotangent)

        def gradients_forward(values, cotangent):
            return gradients(values, cotangent), (values, cotangent)

        def gradients_backward(saved, directions):
            values, cotangent = saved
            arguments = full(values)
            wrt_shapes = tuple(jax.ShapeDtypeStruct(np.shape(arguments[p]),
                                                    _float_dtype([arguments[p]]))
                               for p in self.wrt_positions)
            along = jax.ShapeDtypeStruct(np.shape(cotangent), _float_dtype([cotangent]))

            def host(*a):
                tangent, terms = self._second_host(*a)
                return (np.asarray(tangent, dtype=along.dtype).reshape(along.shape),
                        tuple(np.asarray(t, dtype=s.dtype).reshape(s.shape)
                              for t, s in zip(terms, wrt_shapes)))
            tangent, terms = callback(host, (along, wrt_shapes), *arguments, *directions,
                                      cotangent)
            return _cotangents(values, wrt_slots, terms), tangent

        gradients.defvjp(gradients_forward, gradients_backward)

        def primal_forward(*values):
            return primal(*values), values

        def primal_backward(values, cotangent):
            return _cotangents(values, wrt_slots, gradients(values, cotangent))

        primal.defvjp(primal_forward, primal_backward)
        return primal


def _cotangents(values, wrt_slots, found) -> tuple:
    """One cotangent per dynamic value: `found` at the wrt slots, zeros for
    the others (float0 for integer arrays, as JAX wants)."""
    result = []
    found = list(found)
    for slot, value in enumerate(values):
        if slot in wrt_slots:
            result.append(found[wrt_slots.index(slot)])
        elif jnp.issubdtype(jnp.result_type(value), jnp.floating):
            result.append(jnp.zeros(jnp.shape(value), jnp.result_type(value)))
        else:
            result.append(np.zeros(np.shape(value), dtype=jax.dtypes.float0))
    return tuple(result)


def _float_dtype(values) -> np.dtype:
    """The floating-point dtype results take: that of the float arguments
    (float32 stays float32), else JAX's default float."""
    for value in values:
        dtype = np.dtype(jnp.result_type(value))
        if np.issubdtype(dtype, np.floating):
            return dtype
    return np.dtype(jnp.zeros(()).dtype)
