"""ADBench's LSTM objective (the diagonal LSTM), gradient wrt (main, extra) parameters.

`l` layers of a diagonal LSTM (every gate is an element-wise product: no
matrix products) over a sequence of `c` steps of `b` = 14 symbols; the
loss is minus the mean log-likelihood of the next symbol under a softmax
with an extra 2 in its denominator, as in ADBench's C++ reference
(`lstm_objective` in `ADBench/tools/cpp-common/lstm.h`) and its PyTorch
module. main_params is (2l, 4b): per layer a row of weights and a row of
biases for the forget, input, output gates and the change; extra_params is
(3, b): input weights, output weights, output biases; state is (2l, b):
hidden and cell per layer.

The loop form copies the state into a local array and runs each symbol
through the layers (every operation is element-wise, so this is the same
computation as ADBench's layer-by-layer order). The peers run ADBench's
vectorised form, a Python loop over the steps for torch and autograd and
`lax.scan` for JAX (a Python loop of c steps would be unrolled by jax.jit).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from bench import systems

TITLE = "ADBench LSTM objective (diagonal), b = 14, gradient wrt (main, extra params)"
SIZES = ((2, 1024), (2, 4096), (4, 1024), (4, 4096))
QUICK_SIZES = ((2, 1024),)
SYMBOLS = 14
WRT = (0, 1)


def size_label(size) -> str:
    layers, steps = size
    return f"l={layers} c={steps}"


def parse_size(text: str):
    layers, steps = (int(part) for part in text.split(","))
    return layers, steps


def make_inputs(size, seed: int):
    layers, steps = size
    rng = np.random.default_rng(seed)
    main_params = rng.normal(size=(2 * layers, 4 * SYMBOLS))
    extra_params = rng.normal(size=(3, SYMBOLS))
    state = rng.normal(size=(2 * layers, SYMBOLS))
    sequence = rng.normal(size=(steps, SYMBOLS))
    return main_params, extra_params, state, sequence


def lstm_objective(main_params, extra_params, state, sequence):
    layers = state.shape[0] // 2
    b = state.shape[1]
    s = np.empty((2 * layers, b))
    for i in range(2 * layers):
        for j in range(b):
            s[i, j] = state[i, j]
    ypred = np.empty(b)
    total = 0.0
    count = 0
    for t in range(sequence.shape[0] - 1):
        for j in range(b):
            value = sequence[t, j] * extra_params[0, j]
            for layer in range(layers):
                hidden = s[2 * layer, j]
                forget = 1.0 / (1.0 + math.exp(-(value * main_params[2 * layer, j]
                                                 + main_params[2 * layer + 1, j])))
                ingate = 1.0 / (1.0 + math.exp(-(hidden * main_params[2 * layer, b + j]
                                                 + main_params[2 * layer + 1, b + j])))
                outgate = 1.0 / (1.0 + math.exp(-(value * main_params[2 * layer, 2 * b + j]
                                                  + main_params[2 * layer + 1, 2 * b + j])))
                change = math.tanh(hidden * main_params[2 * layer, 3 * b + j]
                                   + main_params[2 * layer + 1, 3 * b + j])
                cell = s[2 * layer + 1, j] * forget + ingate * change
                s[2 * layer + 1, j] = cell
                value = outgate * math.tanh(cell)
                s[2 * layer, j] = value
            ypred[j] = value * extra_params[1, j] + extra_params[2, j]
        sum_exp = 0.0
        for j in range(b):
            sum_exp += math.exp(ypred[j])
        lse = math.log(sum_exp + 2.0)
        for j in range(b):
            total += sequence[t + 1, j] * (ypred[j] - lse)
        count += b
    return -total / count


@numba.njit
def lstm_gradient_by_hand(main_params, extra_params, state, sequence):
    """(d/d main_params, d/d extra_params): the forward sweep records, per
    step, layer and symbol, the layer's inputs, its gates and tanh of its new
    cell (8 floats); the reverse sweep reads them back and carries the
    adjoints of the state from one step to the one before."""
    layers = state.shape[0] // 2
    b = state.shape[1]
    steps = sequence.shape[0] - 1
    tape = np.empty((steps, layers, b, 8))
    outputs = np.empty((steps, b))
    s = state.copy()
    for t in range(steps):
        for j in range(b):
            value = sequence[t, j] * extra_params[0, j]
            for layer in range(layers):
                w, c = 2 * layer, 2 * layer + 1
                hidden = s[w, j]
                cell = s[c, j]
                forget = 1.0 / (1.0 + math.exp(-(value * main_params[w, j] + main_params[c, j])))
                ingate = 1.0 / (1.0 + math.exp(-(hidden * main_params[w, b + j]
                                                 + main_params[c, b + j])))
                outgate = 1.0 / (1.0 + math.exp(-(value * main_params[w, 2 * b + j]
                                                  + main_params[c, 2 * b + j])))
                change = math.tanh(hidden * main_params[w, 3 * b + j] + main_params[c, 3 * b + j])
                new_cell = cell * forget + ingate * change
                squashed = math.tanh(new_cell)
                record = tape[t, layer, j]
                record[0], record[1], record[2], record[3] = value, hidden, cell, forget
                record[4], record[5], record[6], record[7] = ingate, outgate, change, squashed
                s[c, j] = new_cell
                value = outgate * squashed
                s[w, j] = value
            outputs[t, j] = value
    gradient_main = np.zeros_like(main_params)
    gradient_extra = np.zeros_like(extra_params)
    adjoint_hidden = np.zeros((layers, b))
    adjoint_cell = np.zeros((layers, b))
    seed = -1.0 / (steps * b)
    for t in range(steps - 1, -1, -1):
        sum_exp = 2.0
        gold = 0.0
        for j in range(b):
            sum_exp += math.exp(outputs[t, j] * extra_params[1, j] + extra_params[2, j])
            gold += sequence[t + 1, j]
        for j in range(b):
            ypred = outputs[t, j] * extra_params[1, j] + extra_params[2, j]
            adjoint_ypred = seed * (sequence[t + 1, j] - gold * math.exp(ypred) / sum_exp)
            gradient_extra[1, j] += adjoint_ypred * outputs[t, j]
            gradient_extra[2, j] += adjoint_ypred
            adjoint_value = adjoint_ypred * extra_params[1, j]
            for layer in range(layers - 1, -1, -1):
                w, c = 2 * layer, 2 * layer + 1
                record = tape[t, layer, j]
                value, hidden, cell = record[0], record[1], record[2]
                forget, ingate, outgate = record[3], record[4], record[5]
                change, squashed = record[6], record[7]
                adjoint_out = adjoint_value + adjoint_hidden[layer, j]
                adjoint_new_cell = (adjoint_cell[layer, j]
                                    + adjoint_out * outgate * (1.0 - squashed * squashed))
                a_forget = adjoint_new_cell * cell * forget * (1.0 - forget)
                a_ingate = adjoint_new_cell * change * ingate * (1.0 - ingate)
                a_outgate = adjoint_out * squashed * outgate * (1.0 - outgate)
                a_change = adjoint_new_cell * ingate * (1.0 - change * change)
                gradient_main[w, j] += a_forget * value
                gradient_main[c, j] += a_forget
                gradient_main[w, b + j] += a_ingate * hidden
                gradient_main[c, b + j] += a_ingate
                gradient_main[w, 2 * b + j] += a_outgate * value
                gradient_main[c, 2 * b + j] += a_outgate
                gradient_main[w, 3 * b + j] += a_change * hidden
                gradient_main[c, 3 * b + j] += a_change
                adjoint_hidden[layer, j] = (a_ingate * main_params[w, b + j]
                                            + a_change * main_params[w, 3 * b + j])
                adjoint_cell[layer, j] = adjoint_new_cell * forget
                adjoint_value = a_forget * main_params[w, j] + a_outgate * main_params[w, 2 * b + j]
            gradient_extra[0, j] += adjoint_value * sequence[t, j]
    return gradient_main, gradient_extra


# ----- whole arrays, on the namespace xp -----

def _sigmoid(xp, z):
    return 1.0 / (1.0 + xp.exp(-z))


def _layer(xp, weight, bias, value, hidden, cell):
    """One diagonal LSTM layer: (new hidden, new cell)."""
    b = hidden.shape[0]
    forget = _sigmoid(xp, value * weight[:b] + bias[:b])
    ingate = _sigmoid(xp, hidden * weight[b:2 * b] + bias[b:2 * b])
    outgate = _sigmoid(xp, value * weight[2 * b:3 * b] + bias[2 * b:3 * b])
    change = xp.tanh(hidden * weight[3 * b:] + bias[3 * b:])
    cell = cell * forget + ingate * change
    return outgate * xp.tanh(cell), cell


def _step(xp, main_params, extra_params, hiddens, cells, current, following):
    """One step through every layer: (new hiddens, new cells, log-likelihood)."""
    value = current * extra_params[0]
    new_hiddens, new_cells = [], []
    for layer in range(len(hiddens)):
        value, cell = _layer(xp, main_params[2 * layer], main_params[2 * layer + 1],
                             value, hiddens[layer], cells[layer])
        new_hiddens.append(value)
        new_cells.append(cell)
    ypred = value * extra_params[1] + extra_params[2]
    ynorm = ypred - xp.log(xp.sum(xp.exp(ypred)) + 2.0)
    return new_hiddens, new_cells, xp.sum(following * ynorm)


def lstm_objective_vectorised(xp, main_params, extra_params, state, sequence):
    layers = state.shape[0] // 2
    hiddens = [state[2 * layer] for layer in range(layers)]
    cells = [state[2 * layer + 1] for layer in range(layers)]
    total = 0.0
    for t in range(sequence.shape[0] - 1):
        hiddens, cells, likelihood = _step(xp, main_params, extra_params, hiddens, cells,
                                           sequence[t], sequence[t + 1])
        total = total + likelihood
    return -total / ((sequence.shape[0] - 1) * state.shape[1])


def lstm_objective_scan(main_params, extra_params, state, sequence):
    import jax.numpy as jnp
    from jax import lax

    def step(carry, pair):
        hiddens, cells = carry
        hiddens, cells, likelihood = _step(jnp, main_params, extra_params,
                                           list(hiddens), list(cells), *pair)
        return (jnp.stack(hiddens), jnp.stack(cells)), likelihood

    start = (state[0::2], state[1::2])
    _, likelihoods = lax.scan(step, start, (sequence[:-1], sequence[1:]))
    return -jnp.sum(likelihoods) / ((sequence.shape[0] - 1) * state.shape[1])


def _torch(args):
    torch = systems.torch()
    return systems.torch_grad_run(
        lambda *a: lstm_objective_vectorised(torch, *a), args, WRT, "whole arrays, loop over steps")


def _jax(args):
    systems.jax()
    return systems.jax_grad_run(lstm_objective_scan, args, WRT,
                                "whole arrays, lax.scan, jax.jit(jax.grad)")


def _autograd(args):
    _, anp = systems.autograd()
    return systems.autograd_grad_run(
        lambda *a: lstm_objective_vectorised(anp, *a), args, WRT, "whole arrays, loop over steps")


SYSTEMS = {
    "numba primal": lambda args: systems.numba_run(lstm_objective, args, "loops, local arrays"),
    "numba hand": lambda args: systems.compiled_run(lstm_gradient_by_hand, args,
                                                    "loops, gates stored"),
    "adjit": lambda args: systems.adjit_run([(lstm_objective, "loops, local arrays")], args, WRT),
    "torch": _torch,
    "jax": _jax,
    "autograd": _autograd,
}
