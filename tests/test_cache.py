"""The compilation cache: a new process reuses generated files and machine code;
a damaged cache file is rebuilt, never trusted."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

USER_MODULE = textwrap.dedent("""
    import math

    def loop(a, b, n):
        for i in range(n):
            a = a * 0.9 + math.sin(a) * b
        return a
""")

# Runs in a fresh interpreter: computes the gradient and reports whether the
# pipeline ran and what Numba's dispatcher says about its cache.
PROBE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import adjit.passes.pipeline as pipeline
    from adjit import jit
    import user_module

    transformed = []
    original = pipeline.reverse_mode
    def counting(*args, **kwargs):
        transformed.append(1)
        return original(*args, **kwargs)
    pipeline.reverse_mode = counting

    g = jit.grad(user_module.loop, wrt=(0, 1))
    gradient = g(0.5, 1.2, 100)
    dispatcher = next(iter(g._compiled.values()))
    print(json.dumps({
        "gradient": gradient,
        "transformed": len(transformed),
        "cache_hits": sum(dispatcher.stats.cache_hits.values()),
        "cache_misses": sum(dispatcher.stats.cache_misses.values()),
    }))
""")


def run_probe(tmp_path: Path, cache: Path) -> dict:
    environment = dict(os.environ, ADJIT_CACHE_DIR=str(cache))
    output = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], env=environment,
                            capture_output=True, text=True, timeout=300)
    assert output.returncode == 0, output.stderr
    return json.loads(output.stdout.strip().splitlines()[-1])


@pytest.fixture
def project(tmp_path):
    (tmp_path / "user_module.py").write_text(USER_MODULE)
    return tmp_path, tmp_path / "cache"


def test_second_process_neither_transforms_nor_compiles(project):
    directory, cache = project
    first = run_probe(directory, cache)
    assert first["transformed"] == 1 and first["cache_misses"] == 1
    second = run_probe(directory, cache)
    assert second["transformed"] == 0
    assert second["cache_hits"] == 1 and second["cache_misses"] == 0
    assert second["gradient"] == first["gradient"]


def test_damaged_cache_file_is_rebuilt(project):
    directory, cache = project
    first = run_probe(directory, cache)
    (generated,) = cache.glob("adjit_loop_*.py")
    generated.write_text(generated.read_text()[:200])       # truncated
    rebuilt = run_probe(directory, cache)
    assert rebuilt["transformed"] == 1
    assert rebuilt["gradient"] == first["gradient"]
    generated.write_text(generated.read_text().replace("0.9", "0.8"))   # edited
    assert run_probe(directory, cache)["gradient"] == first["gradient"]


PARALLEL_PROBE = textwrap.dedent("""
    import json
    import numpy as np
    from adjit import jit
    from adjit.demo import kernel_norm_parallel
    rng = np.random.default_rng(1)
    q, p = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    gq, gp = jit.grad(kernel_norm_parallel, wrt=(0, 1))(q, p, 2.5)
    print(json.dumps([gq.tolist(), gp.tolist()]))
""")


def test_a_thread_count_never_reuses_code_compiled_for_another(tmp_path):
    """Compiled prange gradients split their iterations into one chunk per
    thread, a constant of the machine code; Numba's cache would hand a
    process with 2 threads the code compiled for 1 (it ran serially)."""
    results = []
    for threads in ("1", "2"):
        environment = dict(os.environ, ADJIT_CACHE_DIR=str(tmp_path), NUMBA_NUM_THREADS=threads)
        output = subprocess.run([sys.executable, "-c", PARALLEL_PROBE], env=environment,
                                capture_output=True, text=True, timeout=300)
        assert output.returncode == 0, output.stderr
        results.append(json.loads(output.stdout.strip().splitlines()[-1]))
    assert len(list(tmp_path.glob("adjit_kernel_norm_parallel_*.py"))) == 2
    for one, two in zip(*results):
        np.testing.assert_allclose(one, two, rtol=1e-12)


def _probe_with_log(directory: Path, cache: Path, **environment) -> tuple[dict, str]:
    env = dict(os.environ, ADJIT_CACHE_DIR=str(cache), **environment)
    output = subprocess.run([sys.executable, "-c", PROBE, str(directory)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert output.returncode == 0, output.stderr
    return json.loads(output.stdout.strip().splitlines()[-1]), output.stderr


@pytest.mark.parametrize("kind, damage", [("nbi", b"garbage\n"), ("nbc", b""),
                                          ("nbi", b"\0" * 10)])
def test_unreadable_machine_code_is_removed_and_compiled_again(project, kind, damage):
    """Numba raised a raw UnpicklingError, EOFError or ValueError, in every
    later process, for a truncated or overwritten index or data file."""
    directory, cache = project
    first = run_probe(directory, cache)
    (damaged,) = (cache / "__pycache__").glob(f"adjit_loop_*.{kind}")
    damaged.write_bytes(damage)
    healed, log = _probe_with_log(directory, cache)
    assert healed["gradient"] == first["gradient"]
    assert "cannot be read" in log and "compiled again" in log
    again, log = _probe_with_log(directory, cache)        # and the cache works again
    assert again["gradient"] == first["gradient"] and again["cache_hits"] == 1 and not log


def test_a_cache_path_that_cannot_be_a_directory_falls_back_to_a_temporary_one(project):
    directory, _ = project
    blocker = directory / "a_file"
    blocker.write_text("not a directory")
    result, log = _probe_with_log(directory, blocker / "cache")
    assert result["gradient"] == run_probe(directory, directory / "cache")["gradient"]
    assert "cannot be used" in log and "NotADirectoryError" in log


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into a read-only directory")
def test_a_read_only_cache_directory_falls_back_to_a_temporary_one(project):
    directory, cache = project
    cache.mkdir()
    cache.chmod(0o555)
    try:
        result, log = _probe_with_log(directory, cache)
    finally:
        cache.chmod(0o755)
    assert "cannot be used" in log and result["transformed"] == 1


def test_a_slow_compile_is_logged_with_adjit_verbose(project):
    directory, cache = project
    _, log = _probe_with_log(directory, cache, ADJIT_VERBOSE="2")     # every compile
    assert "adjit: compiling loop_grad(float64, float64, int64)" in log
    assert "adjit: compiled loop_grad" in log and str(cache) in log
    _, quiet = _probe_with_log(directory, cache / "other")    # not verbose: silent
    assert "compiling" not in quiet and "compiled" not in quiet


def test_the_cache_command_shows_and_clears_the_cache(project):
    directory, cache = project
    run_probe(directory, cache)
    environment = dict(os.environ, ADJIT_CACHE_DIR=str(cache))
    shown = subprocess.run([sys.executable, "-m", "adjit", "cache"], env=environment,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and str(cache) in shown.stdout
    assert "generated modules: 1," in shown.stdout
    cleared = subprocess.run([sys.executable, "-m", "adjit", "cache", "--clear"],
                             env=environment, capture_output=True, text=True, timeout=120)
    assert "cleared" in cleared.stdout
    assert not list(cache.glob("adjit_*")) and not list(cache.glob("__pycache__/adjit_*"))


def test_a_function_whose_file_changed_since_it_was_defined_is_refused(tmp_path, monkeypatch):
    """The derivative was generated from the edited file while the function
    object still ran the old code: a derivative of other code."""
    import importlib

    import adjit
    from adjit import jit
    (tmp_path / "edited_module.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)   # reload reads the file
    module = importlib.import_module("edited_module")
    assert module.loop(0.5, 1.2, 10) == pytest.approx(module.loop(0.5, 1.2, 10))
    (tmp_path / "edited_module.py").write_text(USER_MODULE.replace("0.9", "0.8"))
    with pytest.raises(adjit.DifferentiationError, match="has changed since the "
                                                         "function was defined"):
        jit.grad(module.loop, target="python")(0.5, 1.2, 10)
    module = importlib.reload(module)                   # the remedy the hint gives
    assert jit.grad(module.loop, target="python")(0.5, 1.2, 10) == pytest.approx(
        jit.grad(module.loop, target="python")(0.5, 1.2, 10))


def test_an_unreadable_cache_of_a_runtime_helper_is_removed_and_compiled_again(project):
    """The tape's growth is compiled once into Numba's cache for every
    derivative; a damaged entry of it raised inside every later compile of
    a derivative with a tape (with NUMBA_CACHE_DIR set, the derivatives'
    own machine code lives there too)."""
    directory, cache = project
    numba_cache = directory / "numba-cache"
    first, _ = _probe_with_log(directory, cache, NUMBA_CACHE_DIR=str(numba_cache))
    (damaged,) = numba_cache.rglob("tape._grow-*.nbi")
    damaged.write_bytes(b"garbage\n")
    for path in numba_cache.rglob("adjit_loop_*"):       # the derivative compiles again
        path.unlink()
    healed, log = _probe_with_log(directory, cache, NUMBA_CACHE_DIR=str(numba_cache))
    assert healed["gradient"] == first["gradient"]
    assert "cannot be read" in log and "compiled again" in log
    again, log = _probe_with_log(directory, cache, NUMBA_CACHE_DIR=str(numba_cache))
    assert again["gradient"] == first["gradient"] and not log


def test_processes_compiling_one_derivative_into_one_cache_at_once(project):
    """Three processes start with the same empty cache and generate, write
    and compile the same derivative at the same time (writes are renamed
    into place): each gets the gradient, and a fourth reads the cache."""
    directory, cache = project
    environment = dict(os.environ, ADJIT_CACHE_DIR=str(cache))
    running = [subprocess.Popen([sys.executable, "-c", PROBE, str(directory)], env=environment,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    results = []
    for process in running:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert all(result["gradient"] == results[0]["gradient"] for result in results)
    later = run_probe(directory, cache)
    assert later["gradient"] == results[0]["gradient"]
    assert later["transformed"] == 0 and later["cache_hits"] == 1
    assert len(list(cache.glob("adjit_loop_*.py"))) == 1


def _threaded_model(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        total += np.sin(x[i] * y) ** 2 + x[i] * np.cos(y)
    return total


def test_threads_making_one_derivative_at_once(tmp_path, monkeypatch):
    """Dask workers in threads (processes=False) called one derivative at
    once: a thread found the generated module in sys.modules while another
    was still executing it, and failed with "module has no attribute
    `..._grad`"."""
    import threading

    from adjit import jit
    x = np.linspace(0.1, 1.0, 5)
    expected = None
    for attempt in range(4):
        monkeypatch.setenv("ADJIT_CACHE_DIR", str(tmp_path / f"cache{attempt}"))
        for name in [name for name in sys.modules if name.startswith("adjit__threaded_model")]:
            del sys.modules[name]
        start = threading.Barrier(6)
        results, errors = [], []

        def run():
            gradient = jit.grad(_threaded_model, wrt=(0, 1), target="python")
            start.wait()
            try:
                results.append(gradient(x, 0.7))
            except Exception as error:          # what the race raised
                errors.append(error)
        threads = [threading.Thread(target=run) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        expected = expected or results[0]
        for gradient_x, gradient_y in results:
            np.testing.assert_allclose(gradient_x, expected[0], rtol=1e-14)
            assert gradient_y == pytest.approx(expected[1], rel=1e-14)
