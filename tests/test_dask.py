"""Gradients over a data set split into chunks, computed on a Dask cluster
of two worker processes: derivative objects travel to the workers (as the
call that makes them), each worker compiles once or reads the shared
cache, and the chunks' gradients sum to the single-process gradient."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")

from adjit import jit  # noqa: E402
from bridge_functions import logistic_loss, scalar_model  # noqa: E402


def _data(rows=400, features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    y = np.where(X @ np.array([1.0, -2.0, 0.5]) > 0, 1.0, -1.0)
    return X, y


def test_derivatives_pickle_as_the_call_that_makes_them():
    """After a call, a derivative holds compiled functions, which do not
    pickle: it travels as the call that made it."""
    w = np.array([0.1, -0.3, 0.2])
    X, y = _data(20)
    made = [jit.value_and_grad(logistic_loss), jit.vjp(logistic_loss, wrt=(0, 1)),
            jit.hessian(logistic_loss), jit.grad(jit.grad(scalar_model))]
    for derivative in made:
        args = (0.3, 0.7) if "scalar_model" in repr(derivative) else (w, X, y)
        if "vjp" in repr(derivative):
            args += (1.0,)
        before = derivative(*args)
        after = pickle.loads(pickle.dumps(derivative))(*args)
        _assert_same(before, after)


def _assert_same(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, z in zip(a, b):
            _assert_same(x, z)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_a_gradient_summed_over_chunks_on_a_local_cluster(tmp_path):
    X, y = _data()
    w = np.array([0.1, -0.3, 0.2])
    value_and_grad = jit.value_and_grad(logistic_loss)
    whole_value, whole_gradient = value_and_grad(w, X, y)
    chunks = [(X[k:k + 100], y[k:k + 100]) for k in range(0, len(X), 100)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        features = client.scatter([X_chunk for X_chunk, _ in chunks])   # data on the workers
        labels = client.scatter([y_chunk for _, y_chunk in chunks])
        results = client.gather(client.map(value_and_grad, [w] * len(chunks), features, labels))
        processes = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(processes) == 2
    value = sum(v for v, _ in results)
    gradient = sum(g for _, g in results)
    assert value == pytest.approx(whole_value, rel=1e-12)
    np.testing.assert_allclose(gradient, whole_gradient, rtol=1e-12)


SCRIPT = '''
import math
import sys
import cloudpickle
from adjit import jit

def helper(x):
    return math.sin(x) * x

def loss(x, y):
    return helper(x) * y + x * x

with open(sys.argv[1], "wb") as file:
    cloudpickle.dump(jit.grad(loss, wrt=(0, 1)), file)
'''


def test_a_derivative_of_a_script_function_travels_with_its_source(tmp_path):
    """A function of a `__main__` script is pickled by value and arrives in
    another process without a file: adjit could not read its source there
    ("could not get source code") until the derivative carried it."""
    import math
    import subprocess
    import sys
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    pickled = tmp_path / "gradient.pickle"
    subprocess.run([sys.executable, str(script), str(pickled)], check=True, timeout=300)
    script.unlink()                                    # the receiving side has no file
    probe = ("import pickle, sys; g = pickle.load(open(sys.argv[1], 'rb')); "
             "print(repr(g(0.7, 1.3)))")
    completed = subprocess.run([sys.executable, "-c", probe, str(pickled)], capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    gx, gy = eval(completed.stdout.strip())
    x, y = 0.7, 1.3
    assert gx == pytest.approx((math.cos(x) * x + math.sin(x)) * y + 2 * x, rel=1e-12)
    assert gy == pytest.approx(math.sin(x) * x, rel=1e-12)
