"""adjit.torch: a function adjit differentiates, as a PyTorch operation.

    op = adjit.torch.function(kernel_norm, wrt=(0, 1))
    energy = op(q, p, 0.5)           # tensors (and Python numbers) in, a tensor out
    energy.backward()                # adjit's vjp
    torch.autograd.grad(..., create_graph=True)   # and its second derivatives

Forward runs the Numba-compiled function; backward runs adjit's reverse
mode (`jit.vjp`); the backward of the backward (double backward: a
gradient taken with `create_graph=True` and differentiated again, a
Hessian-vector product) runs one reverse-over-forward pass of adjit
(`jit.vjp(jit.jvp(f))`), which gives both of its parts: the tangent of f
for the cotangent and the second-order term for the arguments. A third
derivative raises an `AdjitError` when PyTorch asks for it.

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


def function(f, wrt=0) -> "TorchFunction":
    """`f` as an operation on tensors, differentiable (twice) with respect
    to the arguments `wrt` names (positions or names, one or a tuple)."""
    return TorchFunction(f, wrt)


class TorchFunction(Bridged):
    """A callable on tensors; see the module's docstring."""

    def __init__(self, f, wrt=0):
        super().__init__(f, wrt, "torch")

    def __repr__(self) -> str:
        return f"<adjit.torch.function {self.name} wrt {list(self.wrt_names)}>"

    def __call__(self, *args):
        if torch.compiler.is_compiling():
            return self._eager(*args)           # traced by torch.compile: a graph break
        return self._eager_call(*args)

    @torch.compiler.disable
    def _eager(self, *args):
        return self._eager_call(*args)

    def _eager_call(self, *args):
        if len(args) != len(self.parameters):
            raise AdjitError(f"{self.name} takes {len(self.parameters)} arguments "
                             f"{tuple(self.parameters)}, got {len(args)}")
        for position, value in enumerate(args):
            self._check(position, value)
        return _Primal.apply(self, *args)

    # -- conversions ----------------------------------------------------------------
    def _check(self, position: int, value) -> None:
        name = self.parameters[position]
        if not isinstance(value, torch.Tensor):
            if position in self.wrt_positions and not isinstance(value, (float, int)):
                raise AdjitError(f"the argument `{name}` of {self.name} is differentiated "
                                 f"(wrt), so it must be a tensor or a float, not "
                                 f"{type(value).__name__}")
            return
        if value.device.type != "cpu":
            raise AdjitError(f"the argument `{name}` of {self.name} is a tensor on "
                             f"{value.device}: adjit.torch runs on CPU tensors "
                             f"(move it with `.cpu()`)")
        if position in self.wrt_positions and value.dtype not in (torch.float32, torch.float64):
            raise AdjitError(f"the argument `{name}` of {self.name} is differentiated (wrt), "
                             f"so it must be a float32 or float64 tensor, not {value.dtype}")

    @staticmethod
    def _array(value):
        if not isinstance(value, torch.Tensor):
            return value
        value = value.detach()
        return value.item() if value.dim() == 0 else value.numpy()

    def _dtype(self, inputs) -> torch.dtype:
        for value in inputs:
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                return value.dtype
        return torch.get_default_dtype()

    @staticmethod
    def _tensor(value, dtype: torch.dtype, like=None) -> torch.Tensor:
        if isinstance(value, np.ndarray):
            tensor = torch.from_numpy(value)
            if tensor.dtype != dtype:
                tensor = tensor.to(dtype)
        else:
            tensor = torch.tensor(float(value), dtype=dtype)
        if like is not None and isinstance(like, torch.Tensor) and tensor.shape != like.shape:
            tensor = tensor.reshape(like.shape)
        return tensor


class _Primal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, op: TorchFunction, *inputs):
        arrays = [op._array(value) for value in inputs]
        ctx.op = op
        ctx.inputs = inputs
        ctx.save_for_backward(*[value for value in inputs if isinstance(value, torch.Tensor)])
        return op._tensor(op.primal(arrays), op._dtype(inputs))

    @staticmethod
    def backward(ctx, cotangent):
        op = ctx.op
        saved = iter(ctx.saved_tensors)
        inputs = [next(saved) if isinstance(value, torch.Tensor) else value
                  for value in ctx.inputs]
        if torch.is_grad_enabled():             # create_graph: differentiable gradients
            gradients = _Backward.apply(op, cotangent, *inputs)
        else:
            gradients = _Backward.forward(None, op, cotangent, *inputs)
        result = [None] * len(inputs)
        for position, gradient in zip(op.wrt_positions, gradients):
            if isinstance(inputs[position], torch.Tensor):
                result[position] = gradient
        return (None, *result)


class _Backward(torch.autograd.Function):
    """The gradients for `wrt`, as a function of the cotangent and the
    inputs, so that PyTorch can differentiate them once more."""

    @staticmethod
    def forward(ctx, op: TorchFunction, cotangent, *inputs):
        arrays = [op._array(value) for value in inputs]
        gradients = op.gradients(arrays, op._array(cotangent))
        if ctx is not None:
            ctx.op = op
            ctx.inputs = inputs
            ctx.save_for_backward(cotangent, *[value for value in inputs
                                               if isinstance(value, torch.Tensor)])
        return tuple(op._tensor(gradient, _dtype_of(inputs[position], cotangent),
                                like=inputs[position])
                     for gradient, position in zip(gradients, op.wrt_positions))

    @staticmethod
    def backward(ctx, *directions):
        op = ctx.op
        cotangent, *saved = ctx.saved_tensors
        saved = iter(saved)
        inputs = [next(saved) if isinstance(value, torch.Tensor) else value
                  for value in ctx.inputs]
        arrays = [op._array(value) for value in inputs]
        # a direction per wrt argument, shaped like it (a float for a number)
        tangents = [op._array(direction) if isinstance(inputs[position], torch.Tensor)
                    else float(direction) for direction, position
                    in zip(directions, op.wrt_positions)]
        along, second = op.second(arrays, tangents, op._array(cotangent))
        result = [None] * len(inputs)
        for term, position in zip(second, op.wrt_positions):
            if isinstance(inputs[position], torch.Tensor):
                result[position] = op._tensor(term, inputs[position].dtype,
                                              like=inputs[position])
        result = [op._tensor(along, cotangent.dtype, like=cotangent)] + result
        # differentiated once more (a third derivative), these results would
        # count as constants and give a wrong number without a word: they
        # are tied to what they depend on by a node that refuses instead
        sources = [t for t in [cotangent, *directions, *inputs]
                   if isinstance(t, torch.Tensor) and t.requires_grad]
        if torch.is_grad_enabled() and sources:
            computed = [t for t in result if t is not None]
            refused = iter(_NoThirdOrder.apply(len(computed), *computed, *sources))
            result = [None if t is None else next(refused) for t in result]
        return (None, *result)


class _NoThirdOrder(torch.autograd.Function):
    """The identity on its first `count` tensors, depending on the rest;
    its backward refuses: adjit.torch's derivatives stop at the second."""

    @staticmethod
    def forward(ctx, count: int, *tensors):
        ctx.name = "adjit.torch"
        return tuple(tensor.clone() for tensor in tensors[:count])

    @staticmethod
    def backward(ctx, *gradients):
        raise AdjitError("adjit.torch differentiates an operation twice at most (gradients "
                         "and Hessian-vector products); a third derivative is not supported")


def _dtype_of(value, fallback: torch.Tensor) -> torch.dtype:
    return value.dtype if isinstance(value, torch.Tensor) else fallback.dtype
