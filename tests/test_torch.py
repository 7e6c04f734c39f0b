"""adjit.torch: a function adjit differentiates as a PyTorch operation,
checked by PyTorch's own gradcheck and gradgradcheck (finite differences
of the op and of its backward) in float64, inside a module that trains,
under torch.compile, and with inputs it must refuse."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import adjit  # noqa: E402
import adjit.torch  # noqa: E402
from bridge_functions import kernel_norm, scalar_model, scaled_sine, weighted_rows  # noqa: E402

SINE = adjit.torch.function(scaled_sine)
SCALAR = adjit.torch.function(scalar_model, wrt=(0, 1))
KERNEL = adjit.torch.function(kernel_norm, wrt=(0, 1))
ROWS = adjit.torch.function(weighted_rows, wrt=0)


def _tensor(*shape, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype).requires_grad_()


def test_an_elementwise_function_passes_gradcheck_and_gradgradcheck():
    x = _tensor(7)
    assert torch.allclose(SINE(x), 2.0 * torch.sin(x))
    assert torch.autograd.gradcheck(SINE, (x,))
    assert torch.autograd.gradgradcheck(SINE, (x,))


def test_a_function_of_numbers_takes_zero_dimensional_tensors():
    a, b = _tensor((), seed=1), _tensor((), seed=2)
    assert torch.autograd.gradcheck(SCALAR, (a, b))
    assert torch.autograd.gradgradcheck(SCALAR, (a, b))


def test_the_kernel_norm_and_its_hessian_vector_products():
    q, p = _tensor(6, 3, seed=3), _tensor(6, 3, seed=4)

    def energy(q, p):
        return KERNEL(q, p, 0.8)
    assert torch.autograd.gradcheck(energy, (q, p))
    assert torch.autograd.gradgradcheck(energy, (q, p))
    # a Hessian-vector product through double backward, against differences
    # of the gradient along the direction
    direction = (torch.randn(6, 3, dtype=torch.float64), torch.zeros(6, 3, dtype=torch.float64))
    gradient = torch.autograd.grad(energy(q, p), (q, p), create_graph=True)
    product = torch.autograd.grad(gradient, (q, p), grad_outputs=direction)
    step = 1e-6

    def gradient_at(shift):
        moved = (q + shift * direction[0]).detach().requires_grad_()
        return torch.autograd.grad(energy(moved, p), moved)[0]
    differences = (gradient_at(step) - gradient_at(-step)) / (2 * step)
    assert torch.allclose(product[0], differences, rtol=1e-5, atol=1e-6)


def test_only_the_wrt_arguments_receive_gradients():
    w = _tensor(3, seed=5)
    X = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    ROWS(w, X).sum().backward()
    assert w.grad is not None and X.grad is None
    assert torch.autograd.gradcheck(lambda w: ROWS(w, X.detach()), (w,))


def test_float32_tensors_give_float32_results_and_gradients():
    x = _tensor(5, dtype=torch.float32)
    y = SINE(x)
    assert y.dtype == torch.float32
    y.sum().backward()
    assert x.grad.dtype == torch.float32
    assert torch.allclose(x.grad, 2.0 * torch.cos(x.detach()), atol=1e-6)


def test_a_strided_tensor_is_read_where_it_lies():
    base = _tensor(4, 6, seed=6)
    column = base[:, 1]                         # a view with a stride of 6
    SINE(column).sum().backward()
    expected = torch.zeros(4, 6, dtype=torch.float64)
    expected[:, 1] = 2.0 * torch.cos(base.detach()[:, 1])
    assert torch.allclose(base.grad, expected)


class _Model(torch.nn.Module):
    """A linear map of the points, then their kernel norm."""

    def __init__(self):
        super().__init__()
        self.map = torch.nn.Linear(3, 3, dtype=torch.float64)

    def forward(self, q, p):
        return KERNEL(self.map(q), p, 0.8)


def test_a_module_using_the_op_trains():
    """The map is fitted so that the kernel norm reaches the value another
    map gives (a target it can reach)."""
    torch.manual_seed(0)
    model = _Model()
    q, p = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)
    with torch.no_grad():
        target = _Model()(q, p).item()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(40):
        optimiser.zero_grad()
        loss = (model(q, p) - target) ** 2
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0]


def test_torch_compile_of_a_module_using_the_op_matches_eager():
    torch.manual_seed(1)
    model = _Model()
    q, p = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    eager = model(q, p)
    eager.backward()
    eager_gradient = model.map.weight.grad.clone()
    model.zero_grad()
    compiled = torch.compile(model)(q, p)
    compiled.backward()
    assert torch.allclose(compiled, eager)
    assert torch.allclose(model.map.weight.grad, eager_gradient)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(adjit.AdjitError, match="on meta: adjit.torch runs on CPU tensors"):
        SINE(torch.ones(3, device="meta"))
    with pytest.raises(adjit.AdjitError, match="must be a float32 or float64 tensor"):
        SINE(torch.ones(3, dtype=torch.int64))
    with pytest.raises(adjit.AdjitError, match="takes 3 arguments"):
        KERNEL(torch.ones(3, 3))
    with pytest.raises(adjit.DifferentiationError, match="2 indices for an array of rank 1"):
        KERNEL(torch.ones(4, dtype=torch.float64), torch.ones(4, 3, dtype=torch.float64), 0.5)
    x = _tensor(3)
    # a third derivative would miss the op's part next to the x ** 4 one
    value = SINE(x).sum() + (x ** 4).sum()
    gradient = torch.autograd.grad(value, x, create_graph=True)[0]
    second = torch.autograd.grad(gradient.sum(), x, create_graph=True)[0]
    with pytest.raises(adjit.AdjitError, match="twice at most"):
        torch.autograd.grad(second.sum(), x)


def test_the_op_runs_adjit_and_numba_on_the_tensor_memory():
    """No copy on the way in: the array adjit receives is the tensor's memory."""
    x = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)
    seen = SINE._array(x)
    assert isinstance(seen, np.ndarray) and np.shares_memory(seen, x.numpy())
