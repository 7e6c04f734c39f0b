"""adjit.torch: a function adjit differentiates as a PyTorch operation,
checked by PyTorch's own gradcheck and gradgradcheck (finite differences
of the op and of its backward) in float64, inside a module that trains,
under torch.compile, under torch.func's transforms (against closed forms,
differences and Python loops), and with inputs it must refuse."""

from __future__ import annotations

import math

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


# -- torch.func -----------------------------------------------------------------------

def _scalar_model_derivatives(a, b):
    """scalar_model's gradient and Hessian, by hand: f = exp(-ab) + a² sin b."""
    e = math.exp(-a * b)
    gradient = (-b * e + 2 * a * math.sin(b), -a * e + a * a * math.cos(b))
    hessian = ((b * b * e + 2 * math.sin(b), (a * b - 1) * e + 2 * a * math.cos(b)),
               ((a * b - 1) * e + 2 * a * math.cos(b), a * a * e - a * a * math.sin(b)))
    return gradient, hessian


def test_torch_func_grad_gives_the_closed_form_gradient():
    a, b = torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.7, dtype=torch.float64)
    expected, _ = _scalar_model_derivatives(0.3, 0.7)
    gradient = torch.func.grad(SCALAR, argnums=(0, 1))(a, b)
    assert [g.item() for g in gradient] == pytest.approx(expected, rel=1e-12)
    x = torch.randn(7, dtype=torch.float64)
    gradient = torch.func.grad(lambda x: SINE(x).sum())(x)
    assert torch.allclose(gradient, 2.0 * torch.cos(x))
    # a float32 input keeps its dtype
    assert torch.func.grad(lambda x: SINE(x).sum())(x.float()).dtype == torch.float32


def test_torch_func_vjp_and_jacrev_match_the_closed_forms():
    generator = torch.Generator().manual_seed(7)
    w = torch.randn(3, generator=generator, dtype=torch.float64)
    X = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    value, pullback = torch.func.vjp(lambda w: ROWS(w, X), w)
    assert torch.allclose(value, torch.tanh(X @ w))
    cotangent = torch.randn(5, generator=generator, dtype=torch.float64)
    jacobian = (1.0 - torch.tanh(X @ w) ** 2)[:, None] * X       # d tanh(Xw) / dw
    gradient, = pullback(cotangent)
    assert torch.allclose(gradient, cotangent @ jacobian)
    assert torch.allclose(torch.func.jacrev(ROWS)(w, X), jacobian)
    x = torch.randn(6, generator=generator, dtype=torch.float64)
    assert torch.allclose(torch.func.jacrev(SINE)(x), torch.diag(2.0 * torch.cos(x)))


def test_torch_func_vmap_matches_a_python_loop():
    generator = torch.Generator().manual_seed(8)
    qs = torch.randn(4, 6, 3, generator=generator, dtype=torch.float64)
    p = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    batched = torch.func.vmap(KERNEL, in_dims=(0, None, None))(qs, p, 0.8)
    assert torch.allclose(batched, torch.stack([KERNEL(q, p, 0.8) for q in qs]))
    # the batch along another dimension, on two arguments
    ps = torch.randn(6, 4, 3, generator=generator, dtype=torch.float64)
    batched = torch.func.vmap(KERNEL, in_dims=(0, 1, None))(qs, ps, 0.5)
    assert torch.allclose(batched, torch.stack([KERNEL(qs[i], ps[:, i], 0.5)
                                                for i in range(4)]))
    # a function of numbers over vectors of them: 0-d tensors per element
    a, b = (torch.randn(5, generator=generator, dtype=torch.float64) for _ in range(2))
    assert torch.allclose(torch.func.vmap(SCALAR)(a, b),
                          torch.stack([SCALAR(a[i], b[i]) for i in range(5)]))
    # per-sample gradients: vmap of grad
    gradients = torch.func.vmap(torch.func.grad(lambda q: KERNEL(q, p, 0.8)))(qs)
    expected = torch.stack([torch.func.grad(lambda q: KERNEL(q, p, 0.8))(q) for q in qs])
    assert torch.allclose(gradients, expected)


def test_torch_func_second_order_grad_of_grad_and_a_hessian():
    a, b = torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.7, dtype=torch.float64)
    _, hessian = _scalar_model_derivatives(0.3, 0.7)
    grad = torch.func.grad
    assert grad(grad(SCALAR))(a, b).item() == pytest.approx(hessian[0][0], rel=1e-12)
    assert grad(grad(SCALAR, argnums=1))(a, b).item() == pytest.approx(hessian[0][1],
                                                                       rel=1e-12)
    assert grad(grad(SCALAR, argnums=1), argnums=1)(a, b).item() == \
        pytest.approx(hessian[1][1], rel=1e-12)
    # the kernel norm's Hessian in q by jacrev of jacrev, against differences
    # of the gradient, and against double backward's Hessian-vector product
    generator = torch.Generator().manual_seed(9)
    q = torch.randn(5, 2, generator=generator, dtype=torch.float64)
    p = torch.randn(5, 2, generator=generator, dtype=torch.float64)

    def energy(q):
        return KERNEL(q, p, 0.8)
    full = torch.func.jacrev(torch.func.jacrev(energy))(q).reshape(10, 10)
    step = 1e-6
    differences = torch.stack([
        ((grad(energy)(q + step * e.reshape(5, 2)) - grad(energy)(q - step * e.reshape(5, 2)))
         / (2 * step)).reshape(10) for e in torch.eye(10, dtype=torch.float64)], dim=1)
    assert torch.allclose(full, differences, rtol=1e-5, atol=1e-6)
    direction = torch.randn(5, 2, generator=generator, dtype=torch.float64)
    leaf = q.clone().requires_grad_()
    gradient, = torch.autograd.grad(energy(leaf), leaf, create_graph=True)
    product, = torch.autograd.grad(gradient, leaf, direction)
    assert torch.allclose(full @ direction.reshape(10), product.reshape(10))


def test_torch_func_beyond_the_second_order_and_forward_mode_are_clear_errors():
    a, b = torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.7, dtype=torch.float64)
    grad = torch.func.grad
    with pytest.raises(adjit.AdjitError, match="twice at most"):
        grad(grad(grad(SCALAR)))(a, b)
    x = torch.randn(4, dtype=torch.float64)
    with pytest.raises(adjit.AdjitError, match="reverse mode only"):
        torch.func.jacfwd(SINE)(x)
    with pytest.raises(adjit.AdjitError, match="reverse mode only"):
        torch.func.hessian(lambda x: SINE(x).sum())(x)
    with pytest.raises(adjit.AdjitError, match="empty batch"):
        torch.func.vmap(SINE)(torch.ones(0, 4, dtype=torch.float64))
    # autograd's own batched gradients cannot reach adjit: the error names vmap
    leaf = x.clone().requires_grad_()
    with pytest.raises(adjit.AdjitError, match="is_grads_batched"):
        torch.autograd.grad(SINE(leaf), leaf, torch.eye(4, dtype=torch.float64),
                            is_grads_batched=True)
