"""adjit.torch: a function adjit differentiates, as a PyTorch operation.

    op = adjit.torch.function(kernel_norm, wrt=(0, 1))
    energy = op(q, p, 0.5)           # tensors (and Python numbers) in, a tensor out
    energy.backward()                # adjit's vjp
    torch.autograd.grad(..., create_graph=True)   # and its second derivatives
    torch.func.grad(lambda q: op(q, p, 0.5))(q)   # torch.func: grad, vjp, jacrev, vmap

Forward runs the Numba-compiled function; backward runs adjit's reverse
mode (`jit.vjp`); the backward of the backward (double backward: a
gradient taken with `create_graph=True` and differentiated again, a
Hessian-vector product) runs one reverse-over-forward pass of adjit
(`jit.vjp(jit.jvp(f))`), which gives both of its parts: the tangent of f
for the cotangent and the second-order term for the arguments. A third
derivative raises an `AdjitError` when PyTorch asks for it.

The same three steps serve `torch.func`: `grad`, `vjp`, `jacrev`, `grad`
of `grad` and `jacrev` of `jacrev` (a Hessian), and `vmap`, which calls
the operation once per batch element (a Python loop, one call of adjit's
compiled code per element) and stacks the results. Forward mode
(`torch.func.jvp`, `jacfwd`, `hessian`, `torch.autograd.forward_ad`) is
not offered and raises an `AdjitError`.

Why a `torch.autograd.Function` and not `torch.library.custom_op`: a
custom op's backward must be made of operations PyTorch can differentiate
to have a double backward, so adjit's backward would need an op of its own
per order, each with a fixed schema, while f's arguments are any mix of
tensors and Python numbers known only at the call. Under `torch.compile`
the call is left to eager mode (`torch.compiler.disable`): the compiled
graph stops before it and resumes after it, and the results are eager's.

Tensors are passed to Numba without copies (`Tensor.numpy()` shares
memory, strides included); 0-d tensors become Python floats. Results are
tensors of the dtype of the floating-point tensor arguments (float32 or
float64) on the CPU. Only `wrt` arguments receive gradients. CUDA tensors
are refused with an error saying so.
"""

from __future__ import annotations

import numpy as np
import torch

from adjit.bridge import Bridged
from adjit.errors import AdjitError

__all__ = ["function", "TorchFunction"]

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}

try:        # what `torch.autograd.Function.apply` itself consults
    from torch._functorch.utils import unwrap_dead_wrappers as _unwrap_dead_wrappers
    _transforms_active = torch._C._are_functorch_transforms_active
    _is_wrapped = torch._C._functorch.is_functorch_wrapped_tensor
except (ImportError, AttributeError):           # pragma: no cover - other PyTorch layouts
    def _transforms_active() -> bool:           # PyTorch's own `apply` for every call
        return True

    def _is_wrapped(tensor) -> bool:
        return False


def function(f, wrt=0) -> "TorchFunction":
    """`f` as an operation on tensors, differentiable (twice) with respect
    to the arguments `wrt` names (positions or names, one or a tuple)."""
    return TorchFunction(f, wrt)


def _array(value):
    """What adjit receives for an argument: the tensor's memory as an array
    (no copy), a 0-d tensor as a number, anything else as it is."""
    if not isinstance(value, torch.Tensor):
        return value
    if value.dim() == 0:
        return value.item()
    # detached; a copy only where NumPy cannot show the memory as it is (a
    # tensor with a lazy negation or conjugation)
    return value.numpy(force=True)


def _tensor(value, dtype: torch.dtype) -> torch.Tensor:
    """adjit's result as a tensor of `dtype`, sharing the array's memory
    where its dtype is already `dtype`."""
    if isinstance(value, np.ndarray):
        tensor = torch.from_numpy(value)
        return tensor if tensor.dtype == dtype else tensor.to(dtype)
    numpy_dtype = _NUMPY_DTYPES.get(dtype)
    if numpy_dtype is None:
        return torch.tensor(float(value), dtype=dtype)
    return torch.from_numpy(np.array(float(value), dtype=numpy_dtype))


def _result_dtype(inputs) -> torch.dtype:
    """The dtype of f's value: its first floating-point tensor argument's."""
    for value in inputs:
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.dtype
    return torch.get_default_dtype()


def _dtype_of(value, fallback: torch.Tensor) -> torch.dtype:
    return value.dtype if isinstance(value, torch.Tensor) else fallback.dtype


class TorchFunction(Bridged):
    """A callable on tensors; see the module's docstring."""

    _array = staticmethod(_array)

    def __init__(self, f, wrt=0):
        super().__init__(f, wrt, "torch")
        self._arity = len(self.parameters)
        self._is_wrt = tuple(position in self.wrt_positions for position in range(self._arity))

    def __repr__(self) -> str:
        return f"<adjit.torch.function {self.name} wrt {list(self.wrt_names)}>"

    def __call__(self, *args):
        if torch.compiler.is_compiling():
            return self._eager(*args)           # traced by torch.compile: a graph break
        if len(args) != self._arity:
            self._refuse_count(args)
        is_wrt = self._is_wrt
        wrapped = False
        for position, value in enumerate(args):
            if isinstance(value, torch.Tensor):
                if not value.is_cpu or (is_wrt[position] and value.dtype not in _NUMPY_DTYPES):
                    self._refuse(position, value)
                wrapped = wrapped or _is_wrapped(value)
            elif is_wrt[position] and not isinstance(value, (float, int)):
                self._refuse(position, value)
        if wrapped:     # a torch.func tensor, or one left over from a transform that ended
            args = _unwrap_dead_wrappers(args)
        return _Primal.apply(self, *args)

    @torch.compiler.disable
    def _eager(self, *args):
        return self(*args)

    # -- errors -----------------------------------------------------------------------
    def _refuse_count(self, args) -> None:
        raise AdjitError(f"{self.name} takes {self._arity} arguments "
                         f"{tuple(self.parameters)}, got {len(args)}")

    def _refuse(self, position: int, value) -> None:
        name = self.parameters[position]
        if not isinstance(value, torch.Tensor):
            raise AdjitError(f"the argument `{name}` of {self.name} is differentiated "
                             f"(wrt), so it must be a tensor or a float, not "
                             f"{type(value).__name__}")
        if value.device.type != "cpu":
            raise AdjitError(f"the argument `{name}` of {self.name} is a tensor on "
                             f"{value.device}: adjit.torch runs on CPU tensors "
                             f"(move it with `.cpu()`)")
        raise AdjitError(f"the argument `{name}` of {self.name} is differentiated (wrt), "
                         f"so it must be a float32 or float64 tensor, not {value.dtype}")

    # -- the three steps, tensors in and out ------------------------------------------
    def _value_tensor(self, inputs) -> torch.Tensor:
        return _tensor(self.primal([_array(value) for value in inputs]),
                       _result_dtype(inputs))

    def _gradient_tensors(self, cotangent, inputs) -> tuple:
        """The cotangent of each `wrt` argument, a tensor of its dtype (of
        the cotangent's for a number)."""
        gradients = self.gradients([_array(value) for value in inputs], _array(cotangent))
        return tuple([_tensor(gradient, _dtype_of(inputs[position], cotangent))
                      for gradient, position in zip(gradients, self.wrt_positions)])

    def _input_gradients(self, cotangent, inputs) -> tuple:
        """The backward's result: a gradient for each tensor argument in
        `wrt`, None for the others (and for the op before them)."""
        gradients = self.gradients([_array(value) for value in inputs], _array(cotangent))
        result = [None] * (len(inputs) + 1)
        for gradient, position in zip(gradients, self.wrt_positions):
            value = inputs[position]
            if isinstance(value, torch.Tensor):
                result[position + 1] = _tensor(gradient, value.dtype)
        return tuple(result)

    def _second_tensors(self, cotangent, directions, inputs) -> tuple:
        """(the tangent of f along `directions`, the second-order term of
        each `wrt` argument), as tensors."""
        along, terms = self.second([_array(value) for value in inputs],
                                   [_array(direction) for direction in directions],
                                   _array(cotangent))
        return (_tensor(along, cotangent.dtype),
                *[_tensor(term, _dtype_of(inputs[position], cotangent))
                  for term, position in zip(terms, self.wrt_positions)])


class _Function(torch.autograd.Function):
    """What the three functions share: their context (the tensor inputs
    saved for backward, the others kept on the context), a `vmap` rule
    (a loop over the batch) and the refusal of forward mode.

    Their first input is the `TorchFunction`, then come tensors and
    numbers."""

    @classmethod
    def apply(cls, *args):
        if _transforms_active():
            return super().apply(*args)         # torch.func's route
        # PyTorch's own `apply` without its binding of the arguments to
        # `forward`'s signature (a fixed `*args` here) and its unwrapping of
        # tensors left over from torch.func transforms (done by the op's
        # call where there are any): the same call, for less time than the
        # binding takes
        return super(torch.autograd.Function, cls).apply(*args)

    @staticmethod
    def _keep(ctx, op, inputs) -> None:
        ctx.op = op
        for value in inputs:
            if not isinstance(value, torch.Tensor):
                ctx.constants = tuple([None if isinstance(value, torch.Tensor) else value
                                       for value in inputs])
                ctx.save_for_backward(*[value for value in inputs
                                        if isinstance(value, torch.Tensor)])
                return
        ctx.constants = None
        ctx.save_for_backward(*inputs)

    @staticmethod
    def _kept(ctx) -> tuple:
        saved = ctx.saved_tensors
        if ctx.constants is None:
            return saved
        saved = iter(saved)
        return tuple(next(saved) if value is None else value for value in ctx.constants)

    @classmethod
    def vmap(cls, info, in_dims, *args):
        """One call per batch element, the results stacked along dimension 0."""
        if info.batch_size == 0:
            raise AdjitError("adjit.torch cannot vmap over an empty batch: the operation "
                             "runs once per batch element")
        outputs = [cls.apply(*[value if dim is None else value.select(dim, index)
                               for value, dim in zip(args, in_dims)])
                   for index in range(info.batch_size)]
        if isinstance(outputs[0], tuple):
            return (tuple(torch.stack(column) for column in zip(*outputs)),
                    (0,) * len(outputs[0]))
        return torch.stack(outputs), 0

    @staticmethod
    def jvp(ctx, *tangents):
        raise AdjitError("adjit.torch differentiates in reverse mode only: forward mode "
                         "(torch.func.jvp, jacfwd, hessian, torch.autograd.forward_ad) is "
                         "not supported; for a Hessian use torch.func.jacrev(torch.func."
                         "jacrev(f)) or a double backward")


def _plain() -> bool:
    """Whether a backward may run adjit on the tensors it holds: no
    graph to record (no `create_graph`) and no torch.func transform, whose
    tensors are wrappers without memory of their own."""
    return not torch.is_grad_enabled() and not _transforms_active()


class _Primal(_Function):
    @staticmethod
    def forward(op: TorchFunction, *inputs):
        return op._value_tensor(inputs)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _Function._keep(ctx, inputs[0], inputs[1:])

    @staticmethod
    def backward(ctx, cotangent):
        op = ctx.op
        inputs = _Function._kept(ctx)
        if _plain():
            try:
                return op._input_gradients(cotangent, inputs)
            except RuntimeError:
                _refuse_legacy_batched(cotangent)
                raise
        # create_graph or torch.func: gradients PyTorch can differentiate
        gradients = _Backward.apply(op, cotangent, *inputs)
        result = [None] * len(inputs)
        for position, gradient in zip(op.wrt_positions, gradients):
            if isinstance(inputs[position], torch.Tensor):
                result[position] = gradient
        return (None, *result)


class _Backward(_Function):
    """The gradients for `wrt`, as a function of the cotangent and the
    inputs, so that PyTorch can differentiate them once more."""

    @staticmethod
    def forward(op: TorchFunction, cotangent, *inputs):
        return op._gradient_tensors(cotangent, inputs)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _Function._keep(ctx, inputs[0], inputs[1:])

    @staticmethod
    def backward(ctx, *directions):
        op = ctx.op
        cotangent, *inputs = _Function._kept(ctx)
        # a direction per wrt argument, shaped like it (0-d for a number)
        if _plain():
            try:
                along, *terms = op._second_tensors(cotangent, directions, inputs)
            except RuntimeError:
                _refuse_legacy_batched(*directions)
                raise
        else:
            # differentiated once more (a third derivative), these results
            # reach `_Second`'s backward, which refuses
            along, *terms = _Second.apply(op, len(directions), cotangent,
                                          *directions, *inputs)
        result = [None] * len(inputs)
        for term, position in zip(terms, op.wrt_positions):
            if isinstance(inputs[position], torch.Tensor):
                result[position] = term
        return (None, along, *result)


class _Second(_Function):
    """The backward of `_Backward`: (the tangent of f along the directions,
    the second-order term of each wrt argument) from the cotangent, the
    directions and the inputs. Its own backward refuses: adjit.torch's
    derivatives stop at the second."""

    @staticmethod
    def forward(op: TorchFunction, count: int, cotangent, *rest):
        return op._second_tensors(cotangent, rest[:count], rest[count:])

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, *gradients):
        raise AdjitError("adjit.torch differentiates an operation twice at most (gradients "
                         "and Hessian-vector products); a third derivative is not supported")


def _refuse_legacy_batched(*gradients) -> None:
    """An error saying what to use instead, for gradients batched by
    `torch.autograd.grad(..., is_grads_batched=True)` (the batching of
    `gradcheck(..., check_batched_grad=True)`), which a computation outside
    PyTorch cannot take apart."""
    is_batched = getattr(getattr(torch._C, "_functorch", None), "is_legacy_batchedtensor",
                         None)
    if is_batched is not None and any(is_batched(gradient) for gradient in gradients):
        raise AdjitError("adjit.torch cannot take gradients batched by torch.autograd.grad"
                         "(..., is_grads_batched=True): use torch.func.vmap or "
                         "torch.func.jacrev, which call the operation once per batch "
                         "element") from None

