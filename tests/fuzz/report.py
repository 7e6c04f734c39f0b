"""Differential testing at scale: statistics over many random programs.

    python tests/fuzz/report.py --examples 5000
    python tests/fuzz/report.py --examples 5000 --cpu-every 50 --jobs 2
    python tests/fuzz/report.py --only 1234          # one program, verbose
    python tests/fuzz/report.py --families all --examples 300 --jobs 2   # every family
    python tests/fuzz/report.py --coverage [--write] # the coverage table (docs/fuzzing.md)

Program i of seed s is `generator.random_program(s * 10**7 + i)`, checked at
`--points` input points drawn from `random.Random(f"inputs:{s}:{i}")`, always
on target="python" and, for every `--cpu-every`-th program, on target="cpu"
too (a cpu compile costs seconds). The checks are those of test_fuzz.py
(tests/fuzz/fuzz_harness.py). Prints the number of programs, mismatches,
crashes, points skipped as non-smooth or unstable, programs the generator got
wrong (`invalid`, expected 0), the timing, and a table of constructs with the
number of programs containing each. `--reduce` shrinks every failing
program (tests/fuzz/reducer.py) and prints the reduced source.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
try:
    import adjit  # noqa: F401
except ImportError:           # run from a checkout without `pip install -e .`
    sys.path.insert(1, ROOT)
os.environ.setdefault("ADJIT_CACHE_DIR", tempfile.mkdtemp(prefix="adjit-fuzz-cache-"))

import fuzz_harness as harness  # noqa: E402
import generator  # noqa: E402

FAILED = ("mismatch", "crash")
SKIPPED = ("nonsmooth", "unstable")


def program_seed(seed: int, index: int) -> int:
    return seed * 10**7 + index


def points(seed: int, index: int, count: int):
    rng = random.Random(f"inputs:{seed}:{index}")
    for _ in range(count):
        args = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0), rng.randint(0, 6))
        direction = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0))
        yield args, direction


def run_one(job):
    """Check program `index`; a small picklable summary."""
    seed, index, n_points, cpu = job
    program = generator.random_program(program_seed(seed, index))
    targets = ("python", "cpu") if cpu else ("python",)
    started = time.perf_counter()
    statuses, failures = [], []
    try:
        fn = harness.load(program.source)
    except Exception as error:
        return dict(index=index, tags=program.tags, statuses=["invalid"], cpu=cpu,
                    seconds=0.0, failures=[f"import failed: {error}"], source=program.source)
    cache: dict = {}
    for args, direction in points(seed, index, n_points):
        outcome = harness.check(program.source, args, direction, targets, fn=fn, cache=cache)
        statuses.append(outcome.status)
        if outcome.status in FAILED or outcome.status == "invalid":
            failures.append(dict(status=outcome.status, args=args, direction=direction,
                                 targets=targets, messages=outcome.messages))
        if outcome.status == "crash":
            break
    return dict(index=index, tags=program.tags, statuses=statuses, cpu=cpu,
                seconds=time.perf_counter() - started, failures=failures,
                source=program.source if failures else None)


def program_status(statuses) -> str:
    for status in ("crash", "mismatch", "invalid"):
        if status in statuses:
            return status
    if "ok" in statuses:
        return "ok"
    return "skipped"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a == "--families" or a.startswith("--families=") for a in argv):
        # campaigns over the families of families.py (campaign.py)
        import campaign
        return campaign.main(argv)
    if "--coverage" in argv:
        # which family draws each documented construct (constructs.py)
        import constructs
        if "--write" in argv:
            constructs.write_table()
            print("docs/fuzzing.md: coverage table written")
        print(constructs.report())
        missing = constructs.unmapped_rows() + constructs.stale_constructs()
        for line in missing:
            print("not mapped: " + line)
        return 1 if missing else 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="number of programs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first program index")
    parser.add_argument("--points", type=int, default=1, help="input points per program")
    parser.add_argument("--cpu-every", type=int, default=50,
                        help="also check target=cpu for every k-th program (0: never)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--show", type=int, default=10, help="failures printed in full")
    parser.add_argument("--reduce", action="store_true", help="reduce each failing program")
    parser.add_argument("--only", type=int, default=None, help="check one program, verbosely")
    options = parser.parse_args(argv)

    if options.only is not None:
        program = generator.random_program(program_seed(options.seed, options.only))
        print(program.source)
        print("tags:", ", ".join(sorted(program.tags)))
        targets = ("python", "cpu") if options.cpu_every else ("python",)
        for args, direction in points(options.seed, options.only, options.points):
            print(harness.check(program.source, args, direction, targets).report())
        return 0

    cpu_every = options.cpu_every
    jobs = [(options.seed, i, options.points, bool(cpu_every) and i % cpu_every == 0)
            for i in range(options.start, options.start + options.examples)]
    started = time.perf_counter()
    results = []
    if options.jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(options.jobs) as pool:
            for k, result in enumerate(pool.imap_unordered(run_one, jobs, chunksize=4)):
                results.append(result)
                _progress(k + 1, len(jobs), started, results)
    else:
        for k, job in enumerate(jobs):
            results.append(run_one(job))
            _progress(k + 1, len(jobs), started, results)
    elapsed = time.perf_counter() - started
    results.sort(key=lambda r: r["index"])
    print(file=sys.stderr)
    return summarize(results, elapsed, options)


def _progress(done, total, started, results):
    if done % 100 == 0 or done == total:
        failed = sum(program_status(r["statuses"]) in FAILED for r in results)
        print(f"\r{done}/{total} programs, {failed} failing, "
              f"{time.perf_counter() - started:.0f} s", end="", file=sys.stderr, flush=True)


def summarize(results, elapsed, options) -> int:
    by_program = collections.Counter(program_status(r["statuses"]) for r in results)
    by_point = collections.Counter(s for r in results for s in r["statuses"])
    n_cpu = sum(r["cpu"] for r in results)
    cpu_seconds = sum(r["seconds"] for r in results if r["cpu"])
    py_seconds = sum(r["seconds"] for r in results if not r["cpu"])
    n_points = sum(by_point.values())

    print("adjit differential fuzzing report")
    print(f"  seed {options.seed}, programs {options.start}..{options.start + len(results) - 1}, "
          f"{options.points} point(s) each; target=python for all, target=cpu for "
          f"{n_cpu} (every {options.cpu_every}th)" if options.cpu_every else
          f"  seed {options.seed}, {len(results)} programs, python target only")
    print(f"  programs:             {len(results)}")
    print(f"  mismatches:           {by_program['mismatch']}")
    print(f"  crashes:              {by_program['crash']}")
    print(f"  ok:                   {by_program['ok']}")
    print(f"  skipped (all points non-smooth or unstable): {by_program['skipped']}")
    print(f"  invalid (generator):  {by_program['invalid']}")
    print(f"  points checked:       {n_points}: " + ", ".join(
        f"{status} {by_point[status]}" for status in
        ("ok", "mismatch", "crash", "nonsmooth", "unstable", "invalid")))
    print(f"  time: {elapsed:.1f} s wall; python-only programs {py_seconds:.1f} s "
          f"({py_seconds / max(1, len(results) - n_cpu) * 1000:.0f} ms each), "
          f"cpu programs {cpu_seconds:.1f} s ({cpu_seconds / max(1, n_cpu):.2f} s each)")

    tag_total = collections.Counter()
    tag_failed = collections.Counter()
    tag_skipped = collections.Counter()
    for r in results:
        status = program_status(r["statuses"])
        for tag in r["tags"]:
            tag_total[tag] += 1
            tag_failed[tag] += status in FAILED
            tag_skipped[tag] += status == "skipped"
    print()
    print(f"  {'construct':<30} {'programs':>9} {'failing':>8} {'skipped':>8}")
    for tag in generator.ALL_TAGS:
        print(f"  {tag:<30} {tag_total[tag]:>9} {tag_failed[tag]:>8} {tag_skipped[tag]:>8}")
    extra = sorted(set(tag_total) - set(generator.ALL_TAGS))
    for tag in extra:
        print(f"  {tag:<30} {tag_total[tag]:>9} {tag_failed[tag]:>8} {tag_skipped[tag]:>8}")

    failing = [r for r in results if program_status(r["statuses"]) in FAILED + ("invalid",)]
    if failing:
        print()
        print(f"failing programs (first {options.show} in full):")
    for r in failing[:options.show]:
        first = r["failures"][0]
        print(f"--- program {r['index']} (seed {program_seed(options.seed, r['index'])}): "
              f"{first['status']} at f{first['args']}, direction {first['direction']}")
        for message in first["messages"]:
            print("    " + message.replace("\n", "\n    "))
        print(r["source"])
        if options.reduce and first["status"] in FAILED:
            # reduce on the python target (fast); a failure only the cpu
            # target shows is left to reduce by hand (each try compiles)
            import reducer
            python_only = harness.check(r["source"], first["args"], first["direction"])
            if python_only.status in FAILED:
                source, outcome = reducer.reduce_program(r["source"], first["args"],
                                                         first["direction"])
                print(f"  reduced ({outcome.status}):")
                print(outcome.report())
            else:
                print("  (fails on target=cpu only: not reduced automatically)")
    for r in failing[options.show:]:
        first = r["failures"][0]
        print(f"--- program {r['index']}: {first['status']}: {first['messages'][0]}")
    return 1 if by_program["mismatch"] or by_program["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
