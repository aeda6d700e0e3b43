"""Run the benchmarks of issue 8 and write their tables to docs/performance.md.

    .venv/bin/python -m benchmarks              # everything, ~8-10 minutes; writes the docs
    .venv/bin/python -m benchmarks --quick      # everything, shorter, ~2 minutes; prints only
    .venv/bin/python -m benchmarks --only proxy,flip
    .venv/bin/python -m benchmarks --soak 600   # adds the 10-minute memory soak

Suites: proxy (direct vs proxy vs nginx), client (the proxy's HTTP client vs the
alternatives), decision (flagd provider vs cached decision),
shadow (mirroring on/off/slow mirror), flip (flip-to-effect), footprint (start-up, plugin
load, resident memory), soak (only with --soak). Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.machine import describe_machine, now
from benchmarks.report import DOCUMENT, RunInfo, render_run, render_suite, update_document
from benchmarks.results import RunOptions, Stopwatch, SuiteResult, load_average

Measure = Callable[[RunOptions, Callable[[str], None]], SuiteResult]

SUITES: dict[str, str] = {
    "proxy": "benchmarks.proxy_overhead",
    "client": "benchmarks.client_cost",
    "decision": "benchmarks.decision_cost",
    "shadow": "benchmarks.shadow_overhead",
    "flip": "benchmarks.flip_to_effect",
    "footprint": "benchmarks.footprint",
    "soak": "benchmarks.soak",
}
DEFAULT_SUITES = [name for name in SUITES if name != "soak"]
PINNING = (
    "proxy: pinned (proxy or nginx on one CPU, wrk and the app on the other) and unpinned; "
    "shadow: the same (proxies on one CPU, wrk and backends on the other) and unpinned; soak: pinned; "
    "client: each client on one CPU, nginx on the other; decision, flip, footprint: unpinned"
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (~2 minutes); docs not written")
    parser.add_argument("--only", help=f"comma-separated suites of: {', '.join(SUITES)}")
    parser.add_argument("--skip", default="", help="comma-separated suites to leave out")
    parser.add_argument(
        "--soak", type=int, default=0, metavar="SECONDS", help="add the memory soak (issue: 600)"
    )
    parser.add_argument("--duration", type=int, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, help="repeats of every comparison")
    parser.add_argument("--concurrency", type=int, nargs="+", help="wrk connections (pinned run)")
    parser.add_argument("--flips", type=int, help="flips each way per method")
    parser.add_argument("--no-unpinned", action="store_true", help="leave out the unpinned proxy run")
    parser.add_argument("--granian", action="store_true", help="also measure the proxy served by granian")
    parser.add_argument(
        "--nice",
        type=int,
        default=-10,
        help="scheduling priority of the benchmark and every process it starts (default -10, ahead of "
        "the machine's other work, when allowed; 0 leaves it)",
    )
    parser.add_argument("--output", type=Path, default=DOCUMENT, help="the markdown file to update")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument(
        "--write", action="store_true", default=None, help="update the docs (quick runs too)"
    )
    writing.add_argument("--no-write", dest="write", action="store_false", help="print only")
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> RunOptions:
    overrides: dict[str, object] = {"granian": args.granian, "soak_s": args.soak}
    for name, key in (("duration", "duration_s"), ("repeats", "repeats"), ("flips", "flips")):
        if getattr(args, name):
            overrides[key] = getattr(args, name)
    if args.concurrency:
        overrides["concurrencies"] = tuple(args.concurrency)
    if args.no_unpinned:
        overrides["unpinned"] = False
    return RunOptions.quick_preset(**overrides) if args.quick else RunOptions.full(**overrides)


def chosen_suites(args: argparse.Namespace) -> list[str]:
    names = [n.strip() for n in args.only.split(",")] if args.only else list(DEFAULT_SUITES)
    if args.soak and "soak" not in names:
        names.append("soak")
    unknown = [n for n in names + args.skip.split(",") if n and n not in SUITES]
    if unknown:
        raise SystemExit(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(SUITES)}")
    return [n for n in names if n not in args.skip.split(",")]


def raise_priority(nice: int) -> int:
    """Run ahead of other work on a shared machine (a negative `nice` needs root); every
    process started inherits it. Returns the priority in force."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice == current:
        return current
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:
        return current
    return nice


def run_suite(name: str, options: RunOptions) -> SuiteResult:
    module = importlib.import_module(SUITES[name])
    measure: Measure = module.measure
    before, watch = load_average(), Stopwatch()
    result = measure(options, lambda line: print(line, flush=True))
    return replace(result, load_before=before, load_after=load_average(), seconds=watch.seconds)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = options_from(args)
    names = chosen_suites(args)
    nice = raise_priority(args.nice)
    started, load_start, watch = now(), load_average(), Stopwatch()
    print(
        f"benchmarks ({'quick' if options.quick else 'full'}): {', '.join(names)}; load average {load_start}"
    )
    results: list[SuiteResult] = []
    failed: list[str] = []
    for name in names:
        print(f"\n== {name}", flush=True)
        try:
            result = run_suite(name, options)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        results.append(result)
        print(render_suite(result), flush=True)
    info = RunInfo(
        machine=describe_machine(),
        started=started,
        mode="quick" if options.quick else "full",
        command="python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        load_start=load_start,
        load_end=load_average(),
        seconds=watch.seconds,
        pinning=PINNING,
        nice=nice,
    )
    print(render_run(info, results))
    write = args.write if args.write is not None else not options.quick
    if write and results:
        update_document(info, results, args.output)
        print(f"wrote {args.output}")
    if failed:
        print(f"FAILED: {', '.join(failed)} (their sections were left as they were)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
