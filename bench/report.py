"""The results as a text table, Markdown, JSON and a plot.

Columns, one row per system and size:

    time      median of the timed calls (after the first call)
    ÷ primal  time / the Numba primal's time on the same input
    ÷ hand    time / the hand-written Numba gradient's time
    peak mem  peak resident memory during one call, less the memory just
              before it (see bench/worker.py)
    compile   first call less the median call (compile, JIT tracing, setup);
              for adjit, "cold" in a fresh cache directory and "cached" in a
              new process reading that directory
    check     largest |g - g_ref| / max |g_ref| over the gradient's parts,
              against the reference named under the table
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench import systems
from bench.harness import MISMATCH, ROOT, Options, Row

COLUMNS = ("size", "system", "form", "time", "÷ primal", "÷ hand", "peak mem", "compile", "check")


def metadata(options: Options) -> dict:
    versions = {name: systems.version(name) for name in ("numba", "numpy", "scipy") + systems.PEERS}
    try:
        import adjit
        versions["adjit"] = adjit.__version__
    except ImportError:
        versions["adjit"] = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{_cpu_model()}, {platform.machine()}, Linux {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "commit": _commit(),
        "quick": options.quick,
        "repeats": options.repeats,
        "timeout_s": options.timeout,
        "memory_limit_bytes": options.memory_limit,
        "threads": 1,
        "seed": options.seed,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + (" with uncommitted changes" if dirty else "")


# ----- cells -----

def seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    if value < 1.0:
        return f"{value * 1e3:.2f} ms"
    return f"{value:.2f} s"


def megabytes(value: int | None) -> str:
    if value is None:
        return ""
    value = max(value, 0)
    if value >= 2**30:
        return f"{value / 2**30:.2f} GB"
    return f"{value / 2**20:.1f} MB" if value >= 2**20 else f"{value // 1024} kB"


def _form(row: Row) -> tuple[str, str]:
    """(the form that ran, notes on forms that were refused)."""
    form, _, notes = row.form.partition("; ")
    return form, notes


def _compile(row: Row) -> str:
    if row.compile_s is None:
        return ""
    if row.system.startswith("adjit"):
        cached = "?" if row.compile_cached_s is None else seconds(row.compile_cached_s)
        miss = f" (cache MISS: {row.cache_misses} new files)" if row.cache_misses else ""
        return f"{seconds(row.compile_s)} cold, {cached} cached{miss}"
    return seconds(row.compile_s) if row.compile_s > 0 else "none"


def _check(row: Row) -> str:
    if row.check_against == "reference":
        return "reference"
    if row.check_error is None:
        return ""
    flag = " MISMATCH" if row.check_error > MISMATCH else ""
    return f"{row.check_error:.1e}{flag}"


def cells(row: Row) -> list[str]:
    """The row's cells in COLUMNS order; a row that did not run says why in `time`."""
    if row.status != "ok":
        text = row.status + (f": {row.message}" if row.message else "")
        return [row.size_label, row.system, "", text, "", "", "", "", ""]
    ratio = lambda value: "" if value is None else f"{value:.2f}×"      # noqa: E731
    return [row.size_label, row.system, _form(row)[0], seconds(row.median_s),
            ratio(row.ratio_primal), ratio(row.ratio_hand), megabytes(row.peak_bytes),
            _compile(row), _check(row)]


def _groups(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.workload, []).append(row)
    return groups


def _notes(rows: list[Row]) -> list[str]:
    notes = []
    references = sorted({row.check_against for row in rows} - {"", "reference"})
    if references:
        notes.append(f"check: against the {' / '.join(references)} gradient on the same input")
    for row in rows:
        refused = _form(row)[1]
        if refused:
            notes.append(f"{row.system} at {row.size_label} ran '{_form(row)[0]}'; {refused}")
    return notes


# ----- text -----

def text_table(rows: list[Row], titles: dict[str, str], width: int = 110) -> str:
    """One table per workload; a row that did not run says why across the columns."""
    lines = []
    for workload, group in _groups(rows).items():
        table = [(row.status == "ok", cells(row)) for row in group]
        widths = [max([len(name)] + [len(line[i]) for ok, line in table if ok or i < 2])
                  for i, name in enumerate(COLUMNS)]
        lines += ["", f"{workload}: {titles.get(workload, '')}",
                  "  ".join(name.ljust(w) for name, w in zip(COLUMNS, widths)).rstrip()]
        for ok, line in table:
            if ok:
                lines.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
            else:
                why = line[3] if len(line[3]) <= width else line[3][:width - 1] + "…"
                lines.append("  ".join(cell.ljust(w) for cell, w in zip(line[:3], widths)) + why)
        lines += [f"  {note}" for note in _notes(group)]
    return "\n".join(lines)


# ----- files -----

def markdown(rows: list[Row], titles: dict[str, str], meta: dict) -> str:
    versions = ", ".join(f"{name} {version or 'not installed'}"
                         for name, version in meta["versions"].items())
    lines = ["# Benchmark results", "",
             f"{meta['date']}, commit {meta['commit']}; {meta['machine']}; "
             f"Python {meta['python']}; "
             f"{versions}.", "",
             f"One thread, float64, median of at least {meta['repeats']} calls after a first "
             f"call; a call is stopped after {meta['timeout_s']:g} s, a process at "
             f"{megabytes(meta['memory_limit_bytes'])} resident. "
             "Columns: see `bench/README.md`."]
    for workload, group in _groups(rows).items():
        lines += ["", f"## {workload}", "", titles.get(workload, ""), "",
                  "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in cells(row)) + " |"
                  for row in group]
        notes = _notes(group)
        if notes:
            lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write(rows: list[Row], titles: dict[str, str], meta: dict, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "latest.json", directory / "latest.md"]
    written[0].write_text(json.dumps({"meta": meta, "titles": titles,
                                      "rows": [row.as_json() for row in rows]}, indent=1) + "\n")
    written[1].write_text(markdown(rows, titles, meta))
    picture = plot(rows, directory / "latest.png")
    return written + ([picture] if picture else [])


def plot(rows: list[Row], path: Path) -> Path | None:
    """Time per system per size, log scale, one panel per workload; None
    without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    groups = _groups(rows)
    columns = min(3, len(groups))
    lines = -(-len(groups) // columns)
    figure, axes = plt.subplots(lines, columns, figsize=(5 * columns, 4 * lines), squeeze=False)
    for axis in axes.flat[len(groups):]:
        axis.set_visible(False)
    everyone = list(dict.fromkeys(row.system for row in rows))     # one colour per system
    colours = plt.get_cmap("tab10")
    for axis, (workload, group) in zip(axes.flat, groups.items()):
        labels = list(dict.fromkeys(row.size_label for row in group))
        for system in dict.fromkeys(row.system for row in group):
            points = [(labels.index(row.size_label), row.median_s) for row in group
                      if row.system == system and row.status == "ok"]
            if points:
                axis.plot(*zip(*points), marker="o", label=system,
                          color=colours(everyone.index(system) % 10))
        axis.set_yscale("log")
        axis.set_xticks(range(len(labels)), labels, rotation=20, fontsize=7)
        axis.set_title(workload)
        axis.set_ylabel("seconds (median)")
        if axis.lines:
            axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


if __name__ == "__main__":          # re-render the tables of a saved run
    saved = json.loads(Path(sys.argv[1]).read_text())
    print(text_table([Row(**row) for row in saved["rows"]], saved["titles"]))
