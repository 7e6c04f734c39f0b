"""python -m bench.latency: what the first call of a derivative costs.

    python -m bench.latency [--only CASE[,CASE]] [--repeats N]

For every case (each workload's function, a 50-line function of the kind a
user brings first, and `jit.hessian` of a 10-line function) it measures, in
fresh processes, one thread each:

    primal cold     the Numba primal's first call less a later call, no cache
    primal cached   the first call with `cache=True`, in a new process reading
                    the cache a first process wrote
    adjit cold      `jit.grad`'s first call less a later call, in an empty
                    `ADJIT_CACHE_DIR`; split into adjit's own transformation
                    (everything before Numba) and the rest (Numba)
    adjit cached    making the derivative and its first call, in a new process
                    reading that cache
    lines           the function's lines, and the generated derivative's

A first call includes Numba's set-up of its compiler in the process
(a few tenths of a second, on both sides); the imports (`import numba`,
`import adjit`) are reported apart. Each figure is the median of
`--repeats` processes (default 3). The ratios divide adjit's time by the
primal's in the same state. Writes
bench/results/latency.md and latency.json.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_THREAD = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    module: str            # where the function and its inputs live
    function: str
    inputs: str            # "workload" (the workload's quick size) or a function's name
    wrt: tuple
    operator: str = "grad"


CASES = (
    Case("kernel_norm", "Gaussian kernel norm", "bench.workloads.kernel_norm", "kernel_norm",
         "workload", (0, 1)),
    Case("gmm", "ADBench GMM, local arrays", "bench.workloads.gmm", "gmm_objective",
         "workload", (0, 1, 2)),
    Case("lstm", "ADBench LSTM", "bench.workloads.lstm", "lstm_objective", "workload", (0, 1)),
    Case("heat", "heat stencil", "bench.workloads.heat", "heat", "workload", (0, 1)),
    Case("scalar_loop", "scalar loop", "bench.workloads.scalar_loop", "loop", "workload",
         (0, 1)),
    Case("particles", "particle energy (50 lines)", "bench.latency.functions",
         "particle_energy", "particle_inputs", (0, 1)),
    Case("hessian", "jit.hessian of a 10-line function", "bench.latency.functions",
         "scalar_model", "", (0, 1, 2), "hessian"),
)
NAMES = tuple(case.name for case in CASES)


def _case(name: str) -> Case:
    return next(case for case in CASES if case.name == name)


def _function_and_inputs(case: Case):
    import importlib
    module = importlib.import_module(case.module)
    function = getattr(module, case.function)
    if case.inputs == "workload":
        args = module.make_inputs(module.QUICK_SIZES[0], 0)
    elif case.inputs:
        args = getattr(module, case.inputs)()
    else:
        args = (0.3, 0.7, 1.1)
    return function, args


# ---- one measurement, in its own process ----------------------------------------

def measure(kind: str, name: str) -> dict:
    """Runs in a fresh process (`--worker`): times one first call."""
    case = _case(name)
    started = time.perf_counter()
    if kind.startswith("primal"):
        import numba
    else:
        from adjit import jit
    imported = time.perf_counter() - started
    function, args = _function_and_inputs(case)
    result = {"import_s": imported}
    made = time.perf_counter()
    if kind.startswith("primal"):
        compiled = numba.njit(cache=kind == "primal-cached")(function)
        call = lambda: compiled(*args)              # noqa: E731
    else:
        derivative = (jit.hessian if case.operator == "hessian" else jit.grad)(
            function, wrt=case.wrt)
        call = lambda: derivative(*args)            # noqa: E731
    made = time.perf_counter() - made
    if kind == "adjit-cold":
        before = time.perf_counter()
        source = derivative.source_for(*args)
        result["transform_s"] = time.perf_counter() - before
        result["generated_lines"] = len(source.splitlines())
        result["function_lines"] = len(inspect.getsource(function).splitlines())
    before = time.perf_counter()
    call()
    first = time.perf_counter() - before
    later = []
    for _ in range(3):
        before = time.perf_counter()
        call()
        later.append(time.perf_counter() - before)
    result["first_call_s"] = made + first + result.get("transform_s", 0.0) - min(later)
    return result


def _worker(kind: str, name: str, cache: str) -> dict:
    variable = "NUMBA_CACHE_DIR" if kind.startswith("primal") else "ADJIT_CACHE_DIR"
    env = dict(os.environ, **ONE_THREAD, **{variable: cache})
    # as a user's Python does: modules imported from their cached bytecode
    # (installed packages have theirs; adjit, installed from its sources,
    # gets it at its first import, `_compile_bytecode`)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "bench.latency", "--worker", kind, name],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} {name}: {completed.stderr.strip().splitlines()[-1:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _compile_bytecode() -> None:
    """Writes the bytecode of adjit and the bench, which a first import
    would write: the measured processes then import as a user's do."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "adjit"),
                    str(ROOT / "bench")], cwd=ROOT, check=True, capture_output=True)


def run_case(name: str, repeats: int) -> dict:
    samples: dict[str, list[dict]] = {"primal-cold": [], "primal-cached": [],
                                      "adjit-cold": [], "adjit-cached": []}
    for _ in range(repeats):
        for system in ("primal", "adjit"):
            with tempfile.TemporaryDirectory(prefix="adjit-latency-") as cache:
                cold_kind = "primal-cached" if system == "primal" else "adjit-cold"
                cold = _worker(cold_kind, name, cache)      # fills the cache
                cached = _worker(f"{system}-cached", name, cache)
            if system == "primal":
                samples["primal-cold"].append(_worker("primal-cold", name, tempfile.gettempdir()))
                samples["primal-cached"].append(cached)
            else:
                samples["adjit-cold"].append(cold)
                samples["adjit-cached"].append(cached)

    def median(kind, field):
        return statistics.median(sample[field] for sample in samples[kind])
    cold = samples["adjit-cold"][0]
    return {
        "case": name, "title": _case(name).title,
        "function_lines": cold["function_lines"], "generated_lines": cold["generated_lines"],
        "primal_cold_s": median("primal-cold", "first_call_s"),
        "primal_cached_s": median("primal-cached", "first_call_s"),
        "adjit_cold_s": median("adjit-cold", "first_call_s"),
        "transform_s": median("adjit-cold", "transform_s"),
        "adjit_cached_s": median("adjit-cached", "first_call_s"),
        "import_numba_s": median("primal-cold", "import_s"),
        "import_adjit_s": median("adjit-cold", "import_s"),
    }


# ---- the table ------------------------------------------------------------------

HEADER = ("| case | lines (generated) | primal cold | adjit cold (transform) | ÷ primal "
          "| primal cached | adjit cached | ÷ primal |\n| --- | --- | --- | --- | --- | --- "
          "| --- | --- |")


def row(result: dict) -> str:
    return (f"| {result['title']} | {result['function_lines']} "
            f"({result['generated_lines']}) | {result['primal_cold_s']:.2f} s "
            f"| {result['adjit_cold_s']:.2f} s ({result['transform_s']:.2f} s) "
            f"| {result['adjit_cold_s'] / result['primal_cold_s']:.1f}× "
            f"| {result['primal_cached_s'] * 1e3:.0f} ms | {result['adjit_cached_s'] * 1e3:.0f} ms "
            f"| {result['adjit_cached_s'] / result['primal_cached_s']:.1f}× |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="CASE[,CASE]", help=f"of: {', '.join(NAMES)}")
    parser.add_argument("--repeats", type=int, default=3, help="processes per figure")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "CASE"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        print(json.dumps(measure(*options.worker)))
        return 0
    names = options.only.split(",") if options.only else NAMES
    for name in names:
        if name not in NAMES:
            parser.error(f"no case {name!r}; the cases are {', '.join(NAMES)}")
    _compile_bytecode()
    print(HEADER, flush=True)
    results = []
    for name in names:
        results.append(run_case(name, options.repeats))
        print(row(results[-1]), flush=True)
    imports = (f"Imports, paid once per process and not in the table: numba "
               f"{statistics.median(r['import_numba_s'] for r in results):.2f} s, adjit "
               f"{statistics.median(r['import_adjit_s'] for r in results):.2f} s.")
    print(imports)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "latency.json").write_text(json.dumps(
        {"commit": commit, "repeats": options.repeats, "results": results}, indent=1) + "\n")
    (options.out / "latency.md").write_text(
        f"# First-call latency\n\n`python -m bench.latency --repeats {options.repeats}`, "
        f"commit {commit}, one thread, medians of {options.repeats} processes each.\n\n"
        + HEADER + "\n" + "\n".join(row(r) for r in results) + "\n\n" + imports + "\n")
    return 0
