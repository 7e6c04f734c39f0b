"""Fuzzing campaigns over the program families of families.py.

    python tests/fuzz/campaign.py --examples 300 --jobs 2
    python tests/fuzz/campaign.py --families views,calls --examples 1000 --cpu-every 10
    python tests/fuzz/campaign.py --families prange --only 17        # one program, verbose
    python tests/fuzz/report.py --families all --examples 300 --jobs 2   # the same

Program i of family F in campaign seed S is `F.draw(S * 10**7 + i)`, checked
on target="python" and, for every `--cpu-every`-th program, on target="cpu"
too. Each program runs in a worker process under a time limit
(`--timeout`): a program that runs past it is a `timeout` (the worker is
killed and replaced), one of the failures.

The report gives, per family, the programs drawn, how many were checked
against finite differences (first order; second order apart), refused as
documented, skipped (finite differences unusable at every point tried),
failed on a construct of families.KNOWN_WRONG (`known`), and the failures:
mismatches, crashes, refusals of documented constructs, timeouts; then, per
construct, how often it was drawn, checked and failed. It exits non-zero when
a program failed (outside KNOWN_WRONG), when a family skipped more than 5%
of its programs, or when a family checked nothing. `--reduce` shrinks each
failure (reducer.py) and prints the minimal program.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("ADJIT_CACHE_DIR", tempfile.mkdtemp(prefix="adjit-fuzz-cache-"))
# every loop that can be checkpointed is: the small programs drawn would
# otherwise always fit the budget and be recorded whole
os.environ.setdefault("ADJIT_CHECKPOINT_MB", "0")

import case_harness  # noqa: E402
import families  # noqa: E402

SKIP_LIMIT = 0.05


def program_seed(seed: int, index: int) -> int:
    return seed * 10**7 + index


# --------------------------------------------------------------------------
# workers with a time limit


def _worker(connection, timeout):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        job = connection.recv()
        if job is None:
            return
        name, seed, cpu = job
        try:
            result = families.run(families.FAMILIES[name], seed, cpu, timeout)
        except BaseException as error:        # noqa: BLE001 - reported, never lost
            result = families.Result(name, seed, cpu, frozenset(), "crash", None, None, False,
                                     [], messages=[f"worker raised {type(error).__name__}: "
                                                   f"{error}"])
        connection.send(result)


class _Pool:
    RECYCLE = 150           # programs per worker process

    def __init__(self, size: int, timeout: float):
        self.context = multiprocessing.get_context("fork")
        self.timeout = timeout
        self.workers = [self._spawn() for _ in range(size)]

    def _spawn(self):
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(child, self.timeout), daemon=True)
        process.start()
        child.close()
        return {"process": process, "connection": parent, "job": None, "since": 0.0, "done": 0}

    def run(self, jobs, on_result):
        pending = collections.deque(jobs)
        limit = self.timeout + 120          # the in-process alarm fires first, normally
        while pending or any(w["job"] for w in self.workers):
            for worker in self.workers:
                if worker["job"] is None and pending:
                    worker["job"], worker["since"] = pending.popleft(), time.monotonic()
                    worker["connection"].send(worker["job"])
            busy = [w for w in self.workers if w["job"] is not None]
            ready = multiprocessing.connection.wait([w["connection"] for w in busy], timeout=5)
            for worker in busy:
                if worker["connection"] in ready:
                    try:
                        result = worker["connection"].recv()
                    except EOFError:            # the worker died (memory, a signal)
                        result = self._lost(worker, "the worker process died")
                        self._replace(worker)
                    worker["job"] = None
                    worker["done"] += 1
                    on_result(result)
                    if worker["done"] >= self.RECYCLE:
                        # a fresh process now and then: compiled code piles up
                        worker["connection"].send(None)
                        worker["process"].join(30)
                        self._replace(worker)
                elif time.monotonic() - worker["since"] > limit:
                    result = self._lost(worker, f"no answer after {limit:.0f} s: killed")
                    self._replace(worker)
                    on_result(result)

    def _lost(self, worker, why):
        name, seed, cpu = worker["job"]
        family = families.FAMILIES[name]
        program = family.draw(seed)
        return families.Result(name, seed, cpu, family.tags(program), "timeout", None, None,
                               False, [], messages=[why], source=family.render(program),
                               seconds=time.monotonic() - worker["since"])

    def _replace(self, worker):
        process = worker["process"]
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join(5)
        worker.update(self._spawn())

    def close(self):
        for worker in self.workers:
            try:
                worker["connection"].send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self.workers:
            worker["process"].join(10)


# --------------------------------------------------------------------------
# the report


def summarize(results, options, elapsed, out=sys.stdout) -> int:
    """Print the report; return the exit status (0: no failure, skip rates
    within the limit, every family checked something)."""
    def say(line=""):
        print(line, file=out)

    by_family = collections.defaultdict(list)
    for r in results:
        by_family[r.family].append(r)
    say("adjit fuzzing campaign")
    say(f"  command: {options.command}")
    say(f"  target=python for every program, target=cpu (NUMBA_OPT={options.numba_opt}) for "
        f"every {options.cpu_every}th; {elapsed:.0f} s wall with {options.jobs} worker(s)")
    say()
    columns = ("programs", "checked", "2nd ok", "2nd refused", "refused", "skipped", "known",
               "mismatch", "crash", "wrong-refusal", "timeout", "invalid")
    say(f"  {'family':<11}" + "".join(f"{c:>14}" for c in columns) + f"{'s/program':>11}")
    status = 0
    problems = []
    for name in options.families:
        rs = by_family.get(name, [])
        count = collections.Counter(r.status for r in rs)
        second = collections.Counter(r.second_status for r in rs)
        row = (len(rs), sum(r.checked for r in rs), second["ok"], second["refused"],
               count["refused"], count["unstable"] + count["nonsmooth"], count["known"],
               count["mismatch"], count["crash"], count["wrong-refusal"], count["timeout"],
               count["invalid"])
        seconds = sum(r.seconds for r in rs) / max(1, len(rs))
        say(f"  {name:<11}" + "".join(f"{v:>14}" for v in row) + f"{seconds:>11.2f}")
        skipped = row[5]
        if rs and skipped > SKIP_LIMIT * len(rs):
            problems.append(f"family {name}: {skipped} of {len(rs)} programs skipped "
                            f"(more than {SKIP_LIMIT:.0%})")
        if rs and row[1] == 0:
            problems.append(f"family {name}: no program checked")
        if any(r.failed for r in rs) or count["invalid"]:
            status = 1
    say()
    say("  checked: first order compared with finite differences; 2nd ok: second order "
        "compared too; refused: a located refusal the docs list (near misses drawn on "
        "purpose); 2nd refused: a second-order refusal docs/limitations.md#higher-order "
        "lists; skipped: finite differences unusable at every point tried; known: failed on "
        "a construct of families.KNOWN_WRONG, passing without it")

    # per construct
    say()
    say(f"  {'family':<11} {'construct':<62} {'drawn':>7} {'checked':>8} {'failing':>8} "
        f"{'known':>6} {'skipped':>8}")
    for name in options.families:
        rs = by_family.get(name, [])
        drawn, checked, failing, known, skipped = (collections.Counter() for _ in range(5))
        for r in rs:
            for tag in r.tags:
                drawn[tag] += 1
                checked[tag] += r.checked
                failing[tag] += r.failed
                known[tag] += r.status == "known" and tag in r.known
                skipped[tag] += r.status in case_harness.SKIPPED
        for tag in sorted(drawn):
            say(f"  {name:<11} {tag[:62]:<62} {drawn[tag]:>7} {checked[tag]:>8} "
                f"{failing[tag]:>8} {known[tag]:>6} {skipped[tag]:>8}")

    # per documented construct (constructs.py)
    say()
    say(f"  {'documented construct (constructs.py)':<78} {'programs':>9} {'checked':>8} "
        f"{'failing':>8} {'known':>6}")
    for construct, drawn, checked, failing, known in construct_rows(results):
        if drawn:
            say(f"  {construct.name[:78]:<78} {drawn:>9} {checked:>8} {failing:>8} {known:>6}")

    # known-wrong constructs
    attributed = collections.Counter((r.family, k) for r in results if r.status == "known"
                                     for k in r.known)
    if attributed:
        say()
        say("  failures put on known-wrong constructs (families.KNOWN_WRONG):")
        for (name, construct), n in sorted(attributed.items()):
            say(f"    {name}: {construct}: {n} program(s): "
                f"{families.KNOWN_WRONG[name][construct]}")

    notes = collections.Counter((r.family, note) for r in results for note in r.notes)
    if notes:
        say()
        say("  notes (not failures):")
        for (name, note), n in sorted(notes.items()):
            say(f"    {name}: {n} program(s): {note}")

    failing = [r for r in results if r.failed or r.status == "invalid"]
    if failing:
        say()
        say(f"  failing programs ({len(failing)}; the first {options.show} in full):")
    for r in failing[:options.show]:
        say(f"--- {r.family} program {r.seed} ({'python, cpu' if r.cpu else 'python'}): "
            f"{r.status}" + (f", second order {r.second}: {r.second_status}" if r.second
                             else ""))
        for message in r.messages:
            say("    " + message.replace("\n", "\n    "))
        say(r.source or "")
        if options.reduce and r.failed and r.status != "timeout":
            say("  reduced:")
            say("    " + _reduce(r).replace("\n", "\n    "))
    for r in failing[options.show:]:
        say(f"--- {r.family} program {r.seed}: {r.status}: "
            f"{(r.messages or ['?'])[0].splitlines()[0]}")
    for problem in problems:
        say("FAIL: " + problem)
        status = 1
    return status


def _reduce(result) -> str:
    family = families.FAMILIES[result.family]
    targets = ("python", "cpu") if result.cpu else ("python",)
    program = family.draw(result.seed)
    import reducer
    if isinstance(program, case_harness.Case):
        first = case_harness.check_case(program, ("python",), timeout=120)
        targets = ("python",) if first.status in case_harness.FAILED else targets
        reduced, outcome = reducer.reduce_case(program, targets)
        return outcome.report(reduced)
    # the scalar family: reducer.reduce_program at the failing point
    import fuzz_harness
    for args, direction in _scalar_points(result.seed):
        outcome = fuzz_harness.check(program.source, args, direction, ("python",))
        if outcome.status in ("mismatch", "crash"):
            source, reduced = reducer.reduce_program(program.source, args, direction)
            return reduced.report()
    return "(fails only with second order or on target=cpu: not reduced automatically)"


def _scalar_points(seed):
    points = families._scalar_points(seed)
    return [next(points) for _ in range(3)]


# --------------------------------------------------------------------------


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default="all",
                        help="comma-separated names, 'all', or 'new' (" +
                        ", ".join(families.FAMILIES) + ")")
    parser.add_argument("--examples", type=int, default=100, help="programs per family")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first program index")
    parser.add_argument("--cpu-every", type=int, default=10,
                        help="also check target=cpu for every k-th program (0: never)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per program")
    parser.add_argument("--show", type=int, default=20, help="failures printed in full")
    parser.add_argument("--reduce", action="store_true", help="reduce each failure")
    parser.add_argument("--json", default=None,
                        help="append every result to this file (one JSON object a line), "
                             "as it comes")
    parser.add_argument("--resume", action="store_true",
                        help="with --json: keep the results already in the file, check only "
                             "the programs missing there")
    parser.add_argument("--numba-opt", default=os.environ.get("NUMBA_OPT", "0"),
                        help="NUMBA_OPT for target=cpu (default 0: compiles in seconds, not "
                             "minutes; 3 is Numba's default)")
    parser.add_argument("--from-json", default=None,
                        help="summarize the results a campaign wrote with --json, run nothing")
    parser.add_argument("--markdown", action="store_true",
                        help="print the per-family and per-construct tables as markdown "
                             "(for docs/fuzzing.md)")
    parser.add_argument("--only", type=int, default=None,
                        help="check one program (its index) of the first family, verbosely")
    options = parser.parse_args(argv)
    if options.families == "all":
        options.families = list(families.FAMILIES)
    elif options.families == "new":
        options.families = list(families.NEW_FAMILIES)
    else:
        options.families = options.families.split(",")
        unknown = set(options.families) - set(families.FAMILIES)
        if unknown:
            parser.error(f"unknown families: {', '.join(sorted(unknown))}")
    options.command = "python tests/fuzz/campaign.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    return options


def main(argv=None) -> int:
    options = parse(argv)
    if "numba" in sys.modules and os.environ.get("NUMBA_OPT") != str(options.numba_opt):
        print("numba is already imported: --numba-opt has no effect", file=sys.stderr)
    os.environ["NUMBA_OPT"] = str(options.numba_opt)
    if options.only is not None:
        family = families.FAMILIES[options.families[0]]
        seed = program_seed(options.seed, options.only)
        program = family.draw(seed)
        print(family.render(program))
        print("tags:", ", ".join(sorted(family.tags(program))))
        result = families.run(family, seed, bool(options.cpu_every), options.timeout)
        print(json.dumps(_as_dict(result), indent=1, default=str))
        return int(result.failed)
    if options.from_json:
        results = _load(options.from_json)
        present = {r.family for r in results}
        options.families = [name for name in options.families if name in present]
        if options.markdown:
            print(markdown(results, options))
            return 0
        return summarize(results, options, sum(r.seconds for r in results) / options.jobs)
    jobs = [(name, program_seed(options.seed, i),
             bool(options.cpu_every) and i % options.cpu_every == 0)
            for i in range(options.start, options.start + options.examples)
            for name in options.families]
    results = []
    if options.json and options.resume and os.path.exists(options.json):
        wanted = set(jobs)
        results = [r for r in _load(options.json) if (r.family, r.seed, r.cpu) in wanted]
        done = {(r.family, r.seed, r.cpu) for r in results}
        jobs = [job for job in jobs if job not in done]
        print(f"resuming: {len(results)} results kept, {len(jobs)} programs to check",
              file=sys.stderr)
    elif options.json:
        open(options.json, "w").close()
    total = len(results) + len(jobs)
    started = time.perf_counter()

    def on_result(result):
        results.append(result)
        if options.json:
            with open(options.json, "a") as handle:
                handle.write(json.dumps(_as_dict(result), default=str) + "\n")
        if len(results) % 25 == 0 or len(results) == total:
            failed = sum(r.failed for r in results)
            print(f"\r{len(results)}/{total} programs, {failed} failing, "
                  f"{time.perf_counter() - started:.0f} s", end="", file=sys.stderr, flush=True)

    if options.jobs > 1:
        pool = _Pool(options.jobs, options.timeout)
        try:
            pool.run(jobs, on_result)
        finally:
            pool.close()
    else:
        for name, seed, cpu in jobs:
            on_result(families.run(families.FAMILIES[name], seed, cpu, options.timeout))
    print(file=sys.stderr)
    results.sort(key=lambda r: (options.families.index(r.family), r.seed))
    return summarize(results, options, time.perf_counter() - started)


def _load(path):
    """The results of a --json file (one object a line; a list also read)."""
    with open(path) as handle:
        text = handle.read()
    if text.lstrip().startswith("["):
        return [_from_dict(d) for d in json.loads(text)]
    return [_from_dict(json.loads(line)) for line in text.splitlines() if line.strip()]


def _from_dict(data):
    data = dict(data)
    data["tags"] = frozenset(data["tags"])
    data["known"] = tuple(data["known"])
    return families.Result(**data)


def construct_rows(results):
    """Per construct of constructs.CONSTRUCTS: (construct, programs drawing
    one of its tags, checked, failing, known)."""
    import constructs
    rows = []
    for construct in constructs.CONSTRUCTS:
        wanted = collections.defaultdict(set)
        for draw in construct.draws:
            family, tag = draw.split(": ", 1)
            wanted[family].add(tag)
        drawing = [r for r in results if wanted.get(r.family, set()) & r.tags]
        rows.append((construct, len(drawing), sum(r.checked for r in drawing),
                     sum(r.failed for r in drawing), sum(r.status == "known" for r in drawing)))
    return rows


def markdown(results, options) -> str:
    """The campaign's figures as markdown tables."""
    lines = ["| family | programs | checked (1st order) | 2nd order checked | refused | "
             "2nd order refused | skipped | known | mismatch | crash | wrong refusal | "
             "timeout | invalid |", "| --- |" + " ---: |" * 12]
    for name in options.families:
        rs = [r for r in results if r.family == name]
        count = collections.Counter(r.status for r in rs)
        second = collections.Counter(r.second_status for r in rs)
        cells = (len(rs), sum(r.checked for r in rs), second["ok"], count["refused"],
                 second["refused"], count["unstable"] + count["nonsmooth"], count["known"],
                 count["mismatch"], count["crash"], count["wrong-refusal"], count["timeout"],
                 count["invalid"])
        lines.append(f"| `{name}` | " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", "| construct | programs drawing it | checked | failing | known |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for construct, drawn, checked, failing, known in construct_rows(results):
        if drawn:
            lines.append(f"| {construct.name.replace('|', chr(92) + '|')} | {drawn} | {checked} | "
                         f"{failing} | {known} |")
    return "\n".join(lines)


def _as_dict(result):
    out = dataclasses.asdict(result)
    out["tags"] = sorted(result.tags)
    out["known"] = list(result.known)
    return out


if __name__ == "__main__":
    sys.exit(main())
