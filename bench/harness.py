"""Run the workloads: one worker process per measurement, limits, checks, ratios.

Every (workload, size, system) is measured by `bench.worker` in a fresh
process with one thread (`ONE_THREAD_ENV`). The harness reads the worker's
events as they come and

* kills it when one call runs over `timeout` seconds ("timeout"; the first
  call, which compiles, gets `COMPILE_ALLOWANCE` more), or when its resident
  memory passes `memory_limit` ("oom", as is a MemoryError or a kill by the
  kernel), so one system's failure is a cell of the table, not a crash;
* runs adjit twice against one fresh cache directory: cold (transform and
  Numba compile), then from the cache in a new process;
* compares each gradient with the reference gradient (hand-written, else
  adjit's, else a peer's) and divides each time by the Numba primal's and
  the hand-written gradient's.
"""

from __future__ import annotations

import dataclasses
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench import systems, workloads
from bench.workloads import ADJIT, HAND, PRIMAL, is_adjit, is_primal

ROOT = Path(__file__).resolve().parent.parent
ONE_THREAD_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "JAX_PLATFORMS": "cpu",
    "JAX_ENABLE_X64": "1",
}
IMPORT_ALLOWANCE = 120.0        # seconds for the worker's imports and inputs
COMPILE_ALLOWANCE = 120.0       # added to the time limit of the first call
REFERENCES = (HAND, ADJIT, "jax", "torch", "autograd")   # the first that ran is the reference
MISMATCH = 1e-6                 # relative error above which a gradient is flagged


@dataclass
class Options:
    names: tuple[str, ...] = workloads.NAMES
    quick: bool = False
    peers: tuple[str, ...] = systems.PEERS
    sizes: tuple | None = None               # overrides the workload's sizes
    repeats: int = 5
    timeout: float = 60.0
    memory_limit: int = 8 << 30
    min_seconds: float = 0.2
    seed: int = 0


@dataclass
class Row:
    workload: str
    size: object
    size_label: str
    system: str
    status: str = "ok"      # ok, timeout, oom, unsupported, error, skipped, absent,
    message: str = ""       # not installed, not applicable
    form: str = ""
    median_s: float | None = None
    samples: list[float] = field(default_factory=list)
    first_call_s: float | None = None
    compile_s: float | None = None           # first call less the median call
    compile_cached_s: float | None = None    # adjit: the same, in a new process, warm cache
    cache_misses: int | None = None          # adjit: files the warm-cache run still had to write
    peak_bytes: int | None = None            # peak during the timed calls less memory before them
    peak_over_imports_bytes: int | None = None   # the same peak less memory after imports
    peak_includes_first_call: bool = False
    ratio_primal: float | None = None
    ratio_hand: float | None = None
    check_error: float | None = None
    check_against: str = ""

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


def default_memory_limit() -> int:
    """Half the memory available now: the machine is shared."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 // 2
    return 8 << 30


def _child_resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _worker_env(extra: dict) -> dict:
    env = {**os.environ, **ONE_THREAD_ENV, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    return env


def run_worker(task: dict, options: Options, extra_env: dict,
               scratch: Path) -> tuple[str, str, list]:
    """(status, message, events) of one worker run; status as in `Row.status`."""
    stderr_path = scratch / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", json.dumps(task)], cwd=ROOT,
            env=_worker_env(extra_env), stdout=subprocess.PIPE, stderr=stderr)
    events: list[dict] = []
    status, message = _follow(process, events, options)
    if status:
        process.kill()
    process.wait()
    process.stdout.close()
    if status:
        return status, message, events
    last = events[-1] if events else {}
    if last.get("event") == "error":
        return last["kind"], last["message"], events
    if process.returncode == -signal.SIGKILL:
        return "oom", "killed (SIGKILL, most likely the kernel's out-of-memory killer)", events
    if process.returncode != 0 or last.get("event") not in ("done", "first_call"):
        lines = stderr_path.read_text(errors="replace").strip().splitlines()
        return "error", (lines[-1] if lines else f"worker exited with {process.returncode}"), events
    return "ok", "", events


def _follow(process, events: list, options: Options) -> tuple[str, str]:
    """Read events until the worker ends; ("", "") or the reason it was stopped."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + IMPORT_ALLOWANCE
    limit = f"a call ran over {options.timeout:g} s"
    pending = b""
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", limit
            if selector.select(timeout=min(0.1, remaining)):
                chunk = os.read(process.stdout.fileno(), 1 << 16)
                if not chunk:
                    return "", ""
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    text = line.decode(errors="replace")
                    if not text.startswith("@bench "):
                        continue
                    events.append(json.loads(text[len("@bench "):]))
                    deadline = time.monotonic() + options.timeout
                    if events[-1]["event"] == "ready":
                        deadline += COMPILE_ALLOWANCE
                        first = options.timeout + COMPILE_ALLOWANCE
                        limit = (f"the first call ran over {first:g} s"
                                 " (time limit plus compile allowance)")
                    else:
                        limit = f"a call ran over {options.timeout:g} s"
            if _child_resident_bytes(process.pid) > options.memory_limit:
                limit_gib = options.memory_limit / 2**30
                return "oom", f"resident memory passed the limit of {limit_gib:.1f} GiB"
    finally:
        selector.close()


def _measure(row: Row, options: Options, scratch: Path, extra_env: dict) -> np.ndarray | None:
    """Fill `row` from one worker; the gradient it computed, or None."""
    result_path = scratch / "result.npz"
    result_path.unlink(missing_ok=True)
    task = {"workload": row.workload, "size": row.size, "system": row.system,
            "seed": options.seed, "repeats": options.repeats,
            "min_seconds": options.min_seconds, "mode": "measure",
            "result_path": str(result_path)}
    row.status, row.message, events = run_worker(task, options, extra_env, scratch)
    for event in events:
        if event["event"] == "first_call":
            row.first_call_s, row.form = event["seconds"], event["form"]
        elif event["event"] == "sample":
            row.samples.append(event["seconds"])
        elif event["event"] == "done":
            row.median_s, row.peak_bytes = event["median"], event["peak_growth"]
            row.peak_over_imports_bytes = event["peak_over_imports"]
            row.peak_includes_first_call = event["peak_includes_first_call"]
    if row.status != "ok":
        return None
    row.compile_s = max(0.0, row.first_call_s - row.median_s)
    with np.load(result_path) as saved:
        return [saved[key] for key in saved.files]


def _measure_adjit(row: Row, options: Options, scratch: Path, extra_env: dict):
    """Cold in a fresh cache directory, then from that cache in a new process."""
    with tempfile.TemporaryDirectory(prefix="adjit-cache-", dir=scratch) as cache:
        env = {"ADJIT_CACHE_DIR": cache, **extra_env}
        gradient = _measure(row, options, scratch, env)
        if row.status == "ok":
            task = {"workload": row.workload, "size": row.size, "system": row.system,
                    "seed": options.seed, "mode": "first_call"}
            cold_files = _files(Path(cache))
            status, message, events = run_worker(task, options, env, scratch)
            firsts = [event["seconds"] for event in events if event["event"] == "first_call"]
            if status == "ok" and firsts:
                row.compile_cached_s = max(0.0, firsts[0] - row.median_s)
            row.cache_misses = len(_files(Path(cache)) - cold_files)
    return gradient


def _files(directory: Path) -> set[Path]:
    return {path for path in directory.rglob("*") if path.is_file()}


def relative_error(mine: list, reference: list) -> float:
    if len(mine) != len(reference) or any(a.shape != b.shape for a, b in zip(mine, reference)):
        return float("inf")
    worst = 0.0
    for a, b in zip(mine, reference):
        scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
        error = float(np.max(np.abs(a - b), initial=0.0)) / scale
        worst = max(worst, error if error == error else float("inf"))    # NaN fails the check
    return worst


def _compare(rows: list[Row], gradients: dict) -> None:
    """Ratios and gradient checks among the rows of one (workload, size)."""
    by_system = {row.system: row for row in rows}
    primal, hand = by_system.get(PRIMAL), by_system.get(HAND)
    reference = next((name for name in REFERENCES if name in gradients), None)
    for row in rows:
        if row.status != "ok":
            continue
        if primal is not None and primal.status == "ok" and row is not primal:
            row.ratio_primal = row.median_s / primal.median_s
        if hand is not None and hand.status == "ok" and row.system in gradients and row is not hand:
            row.ratio_hand = row.median_s / hand.median_s
        if row.system in gradients and reference is not None:
            row.check_against = "reference" if row.system == reference else reference
            if row.system != reference:
                row.check_error = relative_error(gradients[row.system], gradients[reference])


def _sizes(module, options: Options) -> tuple:
    if options.sizes:
        return tuple(module.parse_size(text) for text in options.sizes)
    return module.QUICK_SIZES if options.quick else module.SIZES


def _progress(row: Row) -> None:
    if row.status == "ok":
        text = f"{row.median_s * 1e3:.3f} ms (first call {row.first_call_s:.2f} s)"
    else:
        text = f"{row.status}{': ' + row.message if row.message else ''}"
    print(f"  {row.workload} {row.size_label:<20} {row.system:<26} {text}",
          file=sys.stderr, flush=True)


def run(options: Options) -> list[Row]:
    """Every row of every workload; prints progress on stderr."""
    all_rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch_name:
        scratch = Path(scratch_name)
        for name in options.names:
            module = workloads.load(name)
            stopped: dict[str, tuple] = {}      # system -> (size, why larger ones are skipped)
            for size in _sizes(module, options):
                rows, gradients = [], {}
                for system in _system_names(module):
                    row = Row(name, list(size) if isinstance(size, tuple) else size,
                              module.size_label(size), system)
                    rows.append(row)
                    gradient = _run_one(row, module, size, options, scratch, stopped)
                    if gradient is not None and not is_primal(row.system):
                        gradients[system] = gradient
                    if row.status in ("timeout", "oom"):
                        stopped[system] = (size, f"{row.status} at {row.size_label}")
                    _progress(row)
                _compare(rows, gradients)
                all_rows.extend(rows)
    return all_rows


def _at_least(size, smaller) -> bool:
    """Whether `size` is at least `smaller` in every dimension (then a system
    that timed out or ran out of memory at `smaller` is not tried again)."""
    if isinstance(size, tuple):
        return all(a >= b for a, b in zip(size, smaller))
    return size >= smaller


def _system_names(module) -> list[str]:
    names = list(module.SYSTEMS)
    if HAND not in names:                     # say so in the table rather than leave a gap
        names.insert(names.index(ADJIT) if ADJIT in names else len(names), HAND)
    return names


def _run_one(row: Row, module, size, options: Options, scratch: Path, stopped: dict):
    if row.system not in module.SYSTEMS:
        row.status, row.message = "absent", "no hand-written gradient"
        return None
    if row.system in systems.PEERS:
        if row.system not in options.peers:
            row.status, row.message = "skipped", "not requested (--peers)"
            return None
        if not systems.installed(row.system):
            row.status, row.message = "not installed", ""
            return None
    reason = getattr(module, "not_applicable", lambda system, size: None)(row.system, size)
    if reason:
        row.status, row.message = "not applicable", reason
        return None
    if row.system in stopped and _at_least(size, stopped[row.system][0]):
        row.status, row.message = "skipped", stopped[row.system][1]
        return None
    threads = _thread_env(module, row.system)
    if is_adjit(row.system):
        return _measure_adjit(row, options, scratch, threads)
    return _measure(row, options, scratch, threads)


def _thread_env(module, system: str) -> dict:
    """Every core for the systems a workload runs in parallel (its
    `PARALLEL`); one thread for all others."""
    if system in getattr(module, "PARALLEL", ()):
        return {"NUMBA_NUM_THREADS": str(os.cpu_count() or 1)}
    return {}
