"""One system on one input, timed in a process of its own.

    python -m bench.worker '{"workload": ..., "size": ..., "system": ..., ...}'

The harness starts one worker per (workload, size, system), so every system
starts from the same imports, its peak memory is its own, and a crash, an
out-of-memory kill or a hung call takes down only the worker. The worker
reports on stdout, one `@bench {json}` line per event, so the harness can
apply its per-call time limit between events:

    ready       imports done and inputs made; `rss` is the memory baseline
    first_call  the factory plus the first call (compiles, JIT traces) took `seconds`
    sample      one timed call took `seconds`
    done        `median` call time; `peak_growth`: peak resident memory during
                one more call, after the timed ones, less the memory just
                before it (the peak mark is reset, and glibc made to return
                freed memory, before that call: see `return_freed_memory`;
                what compilers and lazily loaded kernels took and still hold
                is not the call's); `peak_over_imports`: the same peak less the
                memory after imports and inputs
    error       `kind` ("oom", "unsupported" for adjit, "error") and `message`

The task's `mode` is "measure" (first call, then the timed calls) or
"first_call" (only the first call: adjit's compile time from a warm cache).
"""

from __future__ import annotations

import ctypes
import gc
import json
import resource
import statistics
import sys
import time

import numpy as np

from bench.workloads import is_adjit

PREFIX = "@bench "
MAX_SAMPLES = 100
OOM_WORDS = ("out of memory", "unable to allocate", "can't allocate", "cannot allocate",
             "not enough memory", "resource_exhausted", "bad_alloc")


def emit(event: str, **fields) -> None:
    print(PREFIX + json.dumps({"event": event, **fields}), flush=True)


def resident_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where it can't."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def return_freed_memory() -> bool:
    """Make glibc give freed memory back to the system, now and from now on.

    By default glibc raises its mmap threshold after a large block is freed
    and keeps later blocks of that size in the heap: the memory of a call
    would then be resident before the next call starts and not be seen as
    growth. A fixed threshold (128 KiB) and a trim turn that off. Set only
    after the timed calls, which run with the allocator as it comes.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    fixed = (libc.mallopt(m_mmap_threshold, 128 * 1024)
             and libc.mallopt(m_trim_threshold, 128 * 1024))
    libc.malloc_trim(0)
    return bool(fixed)


def peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux


def as_arrays(value) -> list[np.ndarray]:
    """A gradient (tuple of arrays or scalars, from any library) as NumPy arrays."""
    if isinstance(value, (tuple, list)):
        return [array for part in value for array in as_arrays(part)]
    if hasattr(value, "detach"):                        # torch.Tensor
        value = value.detach().cpu().numpy()
    return [np.asarray(value, dtype=np.float64)]


def timed_samples(call, repeats: int, min_seconds: float) -> list[float]:
    """At least `repeats` calls, more (up to MAX_SAMPLES) while they add up
    to less than `min_seconds`, so microsecond calls get a stable median."""
    samples: list[float] = []
    while len(samples) < repeats or (sum(samples) < min_seconds and len(samples) < MAX_SAMPLES):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
        emit("sample", seconds=samples[-1])
    return samples


def classify(error: BaseException, system: str) -> str:
    text = f"{type(error).__name__}: {error}".lower()
    if isinstance(error, MemoryError) or any(word in text for word in OOM_WORDS):
        return "oom"
    return "unsupported" if is_adjit(system) else "error"


def measure(task: dict) -> None:
    from bench import workloads
    from bench.systems import first_line, prepare

    module = workloads.load(task["workload"])
    size = tuple(task["size"]) if isinstance(task["size"], list) else task["size"]
    try:
        prepare(task["system"])
        args = module.make_inputs(size, task["seed"])
        after_imports = resident_bytes()
        emit("ready", rss=after_imports)
        start = time.perf_counter()
        run = module.SYSTEMS[task["system"]](args)
        result = run.call()
        emit("first_call", seconds=time.perf_counter() - start, form=run.form)
        if task["mode"] == "first_call":
            return
        samples = timed_samples(run.call, task["repeats"], task["min_seconds"])
        returns_memory = return_freed_memory()
        gc.collect()
        before_call = resident_bytes()
        peak_was_reset = reset_peak()
        run.call()
        peak = peak_bytes()
    except BaseException as error:      # noqa: B036 - MemoryError and KeyboardInterrupt too
        emit("error", kind=classify(error, task["system"]), message=first_line(error),
             type=type(error).__name__)
        return
    if task.get("result_path"):
        np.savez(task["result_path"], *as_arrays(result))
    emit("done", median=statistics.median(samples),
         peak_growth=peak - (before_call if peak_was_reset else after_imports),
         peak_over_imports=peak - after_imports, peak_includes_first_call=not peak_was_reset,
         heap_returned=returns_memory)


if __name__ == "__main__":
    measure(json.loads(sys.argv[1]))
