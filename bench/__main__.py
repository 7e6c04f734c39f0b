"""python -m bench: time adjit's gradients against Numba and the peers.

    python -m bench [--quick] [--only NAME[,NAME]] [--peers jax,torch,autograd]
                    [--sizes SIZE ...] [--repeats N] [--timeout S] [--memory-limit GIB]

Prints one table per workload and writes bench/results/latest.json,
latest.md and (with matplotlib) latest.png. See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import harness, report, systems, workloads


def parse_options(argv=None) -> tuple[harness.Options, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the smallest sizes and 3 timed calls (a few minutes)")
    parser.add_argument("--only", metavar="NAME[,NAME]",
                        help=f"workloads to run, of: {', '.join(workloads.NAMES)}")
    parser.add_argument("--peers", default=",".join(systems.PEERS), metavar="LIST",
                        help="peers to run, of: torch, jax, autograd ('none' for none); "
                             "a peer that is not installed is a column that says so")
    parser.add_argument("--sizes", nargs="+", metavar="SIZE",
                        help="sizes for the one workload given with --only, as the table "
                             "labels them without names: kernel_norm 1000; gmm d,K,n; "
                             "lstm l,c; heat n; scalar_loop n")
    parser.add_argument("--repeats", type=int,
                        help="timed calls, at least (default 5; 3 with --quick)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one call may run")
    parser.add_argument("--memory-limit", type=float, metavar="GIB",
                        help="resident memory at which a worker is stopped as 'oom' "
                             "(default: half the memory available at start)")
    parser.add_argument("--out", type=Path, default=harness.ROOT / "bench" / "results",
                        help="directory for latest.json, latest.md, latest.png")
    args = parser.parse_args(argv)

    names = tuple(args.only.split(",")) if args.only else workloads.NAMES
    for name in names:
        if name not in workloads.NAMES:
            parser.error(f"no workload {name!r}; the workloads are {', '.join(workloads.NAMES)}")
    if args.sizes and len(names) != 1:
        parser.error("--sizes needs --only with one workload")
    peers = () if args.peers.strip() in ("", "none") else tuple(args.peers.split(","))
    for peer in peers:
        if peer not in systems.PEERS:
            parser.error(f"no peer {peer!r}; the peers are {', '.join(systems.PEERS)}")
    repeats = args.repeats or (3 if args.quick else 5)
    memory_limit = (int(args.memory_limit * 2**30) if args.memory_limit
                    else harness.default_memory_limit())
    options = harness.Options(names=names, quick=args.quick, peers=peers,
                              sizes=tuple(args.sizes) if args.sizes else None,
                              repeats=repeats, timeout=args.timeout, memory_limit=memory_limit)
    return options, args.out


def main(argv=None) -> int:
    options, out = parse_options(argv)
    missing = [peer for peer in options.peers if not systems.installed(peer)]
    if missing:
        print(f"not installed, shown as such: {', '.join(missing)}", file=sys.stderr)
    rows = harness.run(options)
    titles = {name: workloads.load(name).TITLE for name in options.names}
    print(report.text_table(rows, titles))
    written = report.write(rows, titles, report.metadata(options), out)
    print("\nwrote " + ", ".join(str(path) for path in written))
    mismatched = [row for row in rows if row.check_error is not None
                  and row.check_error > harness.MISMATCH]
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
