"""Shadow mode's cost (issue 8, item 3; issue 5's acceptance): the primary's p50 and
throughput with mirroring off, on, and on with the mirrored side made slow.

    .venv/bin/python -m benchmarks --only shadow [--quick] [--repeats 5]

Four real proxies (`proxy.main:app`, as `strangler proxy` serves it), the benchmark's
organization in `shadow` mode on every one, in front of benchmarks/backend.py apps:
- off:   STRANGLER_SHADOW_ENABLED=false: the same decision path, nothing mirrored;
- on:    every read mirrored to a second backend and compared (bytes equal: no parsing);
- slow:  the same, the mirrored backend answering 200 ms late (BENCH_BACKEND_DELAY_MS);
- slow, cap 8: the same with at most 8 mirrors in flight (STRANGLER_SHADOW_MAX_IN_FLIGHT),
         so that more are dropped and the shared backend CPU does less mirrored work.
The primary (legacy) backend is one instance shared by all three. Requests: wrk (one
thread, keep-alive) on the 5 ms route (`GET /api/tournaments/2/players`, ~1 KB JSON,
owner lookup cached). Pinned: the proxies on one CPU, wrk and the backends on the other,
so the proxy's own cost shows; the mirrored backend shares the primary's CPU, so with
mirroring on the app side does twice the work — the figures show what that costs.

Interleaved: each repeat runs the four back to back, in a rotating order; medians
(min–max); ratios run by run against the `off` run of the same repeat. CPU per request:
the proxy's utime + stime from /proc over a run ÷ the requests wrk completed. Mirrored %:
the share of requests the proxy compared (the rest dropped at its in-flight cap, 64).
Also the comparator's own cost per call (bytes equal vs parsed), in process.
"""

from __future__ import annotations

import re
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx
import orjson

from benchmarks import wrk
from benchmarks.backend import ORGANIZATION, PLAYERS, ROUTES
from benchmarks.processes import UNPINNED, Placement, Service, pinned_placement, run_app
from benchmarks.results import RunOptions, SuiteResult, Table, TargetCheck
from benchmarks.samples import Samples, differences, paired
from proxy.flags.document import FlagDocument
from proxy.modes import Mode, Surface
from proxy.shadow.comparison import Answer, compare

Log = Callable[[str], None]

ROUTE = "5 ms"
SLOW_MIRROR_MS = 200
MIRROR_CPU_LIMIT_US = 300.0  # issue 8: mirroring 100% costs the proxy at most +300 µs/request
P50_NOISE = 1.10  # "never adds to the primary's p50 beyond noise": within 10% of off
CONCURRENCIES = (1, 16)
_COUNTER = re.compile(r"^strangler_shadow_(compared|dropped|errors)_total\{[^}]*\} ([0-9.e+]+)$", re.M)


class Mirroring(StrEnum):
    OFF = "off"
    ON = "on"
    SLOW = "on, slow mirror"
    SLOW_CAPPED = "on, slow mirror, cap 8"

    @property
    def max_in_flight(self) -> int:
        return 8 if self is Mirroring.SLOW_CAPPED else 64

    @property
    def slow(self) -> bool:
        return self in (Mirroring.SLOW, Mirroring.SLOW_CAPPED)


@dataclass
class Cell:
    concurrency: int
    runs: dict[Mirroring, list[wrk.WrkRun]] = field(default_factory=dict)
    cpu_us: dict[Mirroring, list[float]] = field(default_factory=dict)
    mirrored: dict[Mirroring, list[float]] = field(default_factory=dict)  # % of requests compared

    def rps(self, how: Mirroring) -> list[float]:
        return [r.requests_per_s for r in self.runs.get(how, [])]

    def p50(self, how: Mirroring) -> list[float]:
        return [r.p50_ms for r in self.runs.get(how, [])]

    def p99(self, how: Mirroring) -> list[float]:
        return [r.p99_ms for r in self.runs.get(how, [])]


def _flags(path: Path) -> Path:
    document = FlagDocument({Surface.TOURNAMENT_API: {ORGANIZATION: Mode.SHADOW}})
    path.write_text(document.render())
    return path


@contextmanager
def services(placement: Placement, scratch: Path) -> Iterator[dict[Mirroring, Service]]:
    with ExitStack() as stack:

        def backend(name: str, delay_ms: int = 0) -> Service:
            env = {"BENCH_BACKEND_DELAY_MS": str(delay_ms)}
            return stack.enter_context(
                run_app(name, "benchmarks.backend:app", log_dir=scratch, env=env, cpus=placement.other_cpus)
            )

        legacy, plugin, slow_plugin = (
            backend("legacy"),
            backend("plugin"),
            backend("slow-plugin", SLOW_MIRROR_MS),
        )
        flags = _flags(scratch / "flags.json")
        proxies = {}
        for how in Mirroring:
            name = "proxy-" + how.value.replace(", ", "-").replace(" ", "-")
            env = {
                "STRANGLER_LEGACY_URL": legacy.url,
                "STRANGLER_PLUGIN_URL": slow_plugin.url if how.slow else plugin.url,
                "STRANGLER_FLAGS_PATH": str(flags),
                "STRANGLER_DATABASE_URL": f"sqlite://{scratch / (name + '.sqlite3')}",
                "STRANGLER_SHADOW_ENABLED": "false" if how is Mirroring.OFF else "true",
                "STRANGLER_SHADOW_MAX_IN_FLIGHT": str(how.max_in_flight),
            }
            proxies[how] = stack.enter_context(
                run_app(
                    name,
                    "proxy.main:app",
                    log_dir=scratch,
                    env=env,
                    cpus=placement.measured_cpus,
                    health_path="/_strangler/healthz",
                    edge=True,
                )
            )
        yield proxies


def _shadow_counts(proxy: Service) -> dict[str, float]:
    counts = {"compared": 0.0, "dropped": 0.0, "errors": 0.0}
    for name, value in _COUNTER.findall(httpx.get(proxy.url + "/metrics", timeout=10).text):
        counts[name] += float(value)
    return counts


def _check(proxies: dict[Mirroring, Service]) -> None:
    for how, proxy in proxies.items():
        response = httpx.get(proxy.url + ROUTES[ROUTE], timeout=5)
        if response.status_code != 200 or response.headers.get("x-strangler-mode") != Mode.SHADOW.value:
            raise RuntimeError(f"{how}: the benchmark organization is not served in shadow mode")


def measure_cell(
    concurrency: int, proxies: dict[Mirroring, Service], placement: Placement, options: RunOptions
) -> Cell:
    cell = Cell(concurrency)
    order = list(proxies)
    for repeat in range(options.repeats):
        for how in order[repeat % len(order) :] + order[: repeat % len(order)]:
            proxy = proxies[how]
            counts, cpu = _shadow_counts(proxy), proxy.cpu_seconds()
            run = wrk.run(proxy.url + ROUTES[ROUTE], concurrency, options.duration_s, placement.other_cpus)
            cell.cpu_us.setdefault(how, []).append((proxy.cpu_seconds() - cpu) / max(run.requests, 1) * 1e6)
            after = _shadow_counts(proxy)
            cell.mirrored.setdefault(how, []).append(
                100 * (after["compared"] - counts["compared"]) / max(run.requests, 1)
            )
            cell.runs.setdefault(how, []).append(run)
            # Let the last mirrors of this run end before the next run starts.
            wait_until_idle(proxy)
    return cell


def wait_until_idle(proxy: Service, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if httpx.get(proxy.url + "/_strangler/healthz", timeout=5).json().get("shadow_in_flight", 0) == 0:
            return
        time.sleep(0.05)


def tables(placement: Placement, cells: list[Cell]) -> list[Table]:
    off = Mirroring.OFF
    throughput = Table(
        f"Primary throughput and proxy CPU — {placement.label}",
        ["conc", "mirroring", "req/s", "÷ off", "proxy CPU µs/req", "added µs/req", "mirrored %", "errors"],
    )
    latency = Table(
        f"Primary latency (wrk, ms) — {placement.label}",
        ["conc", "mirroring", "p50", "p50 ÷ off", "p99"],
    )
    for cell in cells:
        for how in Mirroring:
            against_off = how is not off
            throughput.add(
                cell.concurrency,
                how.value,
                Samples.of(cell.rps(how)).format(),
                paired(cell.rps(how), cell.rps(off)).format(2, "×") if against_off else "",
                Samples.of(cell.cpu_us[how]).format(),
                differences(cell.cpu_us[how], cell.cpu_us[off]).format(0) if against_off else "",
                Samples.of(cell.mirrored[how]).format(0, "%") if against_off else "",
                sum(r.errors for r in cell.runs[how]),
            )
            latency.add(
                cell.concurrency,
                how.value,
                Samples.of(cell.p50(how)).format(2),
                paired(cell.p50(how), cell.p50(off)).format(2, "×") if against_off else "",
                Samples.of(cell.p99(how)).format(2),
            )
    return [throughput, latency]


def comparator_table(log: Log) -> Table:
    """What one comparison costs, in process: equal bytes, and equal JSON in another order."""
    body = orjson.dumps(PLAYERS)
    reordered = orjson.dumps([dict(reversed(list(player.items()))) for player in PLAYERS])
    same = Answer(200, "application/json", body)
    cases = {
        "equal bytes (~1 KB)": (same, Answer(200, "application/json", bytes(body))),
        "equal JSON, other key order (parsed with orjson)": (
            same,
            Answer(200, "application/json", reordered),
        ),
        "one value differs (parsed, diff located)": (
            same,
            Answer(200, "application/json", body.replace(b'"runner-007"', b'"runner-7"')),
        ),
    }
    table = Table("The comparator, µs per call (in process, best of 5)", ["case", "µs"])
    for name, (left, right) in cases.items():
        loops = 20_000
        best = min(timeit.repeat(lambda left=left, right=right: compare(left, right), number=loops, repeat=5))
        table.add(name, f"{best / loops * 1e6:.2f}")
        log(f"  comparator: {name}: {best / loops * 1e6:.2f} µs")
    return table


def target_checks(cells: list[Cell] | None) -> list[TargetCheck]:
    by_concurrency = {c.concurrency: c for c in cells or []}
    cell = by_concurrency.get(16)
    if cell is None:
        return [
            TargetCheck(
                "proxy CPU added by mirroring 100%", f"≤ +{MIRROR_CPU_LIMIT_US:.0f} µs", "not measured", None
            ),
            TargetCheck(
                "primary p50 with a slow mirrored side", f"≤ {P50_NOISE:.2f}× off", "not measured", None
            ),
        ]
    added = differences(cell.cpu_us[Mirroring.ON], cell.cpu_us[Mirroring.OFF]).median
    slow_p50 = paired(cell.p50(Mirroring.SLOW), cell.p50(Mirroring.OFF)).median
    on_p50 = paired(cell.p50(Mirroring.ON), cell.p50(Mirroring.OFF)).median
    capped_p50 = paired(cell.p50(Mirroring.SLOW_CAPPED), cell.p50(Mirroring.OFF)).median
    return [
        TargetCheck(
            "proxy CPU added by mirroring 100% (5 ms route, pinned, c=16)",
            f"≤ +{MIRROR_CPU_LIMIT_US:.0f} µs",
            f"{added:+,.0f} µs",
            added <= MIRROR_CPU_LIMIT_US,
        ),
        TargetCheck(
            f"primary p50 with the mirrored side {SLOW_MIRROR_MS} ms slow (pinned, c=16)",
            f"≤ {P50_NOISE:.2f}× off",
            f"{slow_p50:.2f}× (capped at 8: {capped_p50:.2f}×; mirror at full speed: {on_p50:.2f}×)",
            slow_p50 <= P50_NOISE,
        ),
    ]


def measure(options: RunOptions, log: Log = print) -> SuiteResult:
    result = SuiteResult(
        "shadow",
        "Shadow mode: mirroring off, on, and on with a slow mirrored side",
        f"Four proxies (shadow mode; off = STRANGLER_SHADOW_ENABLED=false) in front of "
        f"benchmarks/backend.py; the mirrored side fast, or {SLOW_MIRROR_MS} ms late. wrk (1 thread, "
        f"keep-alive) on the 5 ms route for {options.duration_s} s per run, {options.repeats} repeat(s), "
        "off / on / slow / slow capped at 8 in flight interleaved in a rotating order; medians "
        "(min–max); ratios and differences run by run against the `off` run of the same repeat. "
        "CPU per request: the proxy's utime+stime from /proc ÷ requests. Mirrored %: requests "
        "compared (the rest dropped at the in-flight cap).",
    )
    if not wrk.available():
        result.notes.append("wrk is not installed (apt-get install -y wrk): nothing measured.")
        result.targets = target_checks(None)
        return result
    placements: list[Placement] = []
    pinned = pinned_placement() if options.pinned else None
    if pinned is not None:
        placements.append(pinned)
    elif options.pinned:
        result.notes.append("fewer than two CPUs: no pinned run")
    if options.unpinned:
        placements.append(UNPINNED)
    pinned_cells: list[Cell] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-shadow-") as scratch_dir:
        for placement in placements:
            scratch = Path(scratch_dir) / placement.label.split()[0]
            scratch.mkdir()
            log(f"shadow cost, {placement.label}")
            with services(placement, scratch) as proxies:
                _check(proxies)
                for proxy in proxies.values():  # warm up: pools, owner cache, decision cache
                    wrk.run(proxy.url + ROUTES[ROUTE], 16, 1, placement.other_cpus)
                    wait_until_idle(proxy)
                concurrencies = CONCURRENCIES if placement.pinned else (16,)
                cells = []
                for concurrency in concurrencies:
                    cell = measure_cell(concurrency, proxies, placement, options)
                    cells.append(cell)
                    log(
                        f"  c={concurrency}: "
                        + ", ".join(
                            f"{how.value} {Samples.of(cell.rps(how)).median:,.0f} req/s "
                            f"p50 {Samples.of(cell.p50(how)).median:.2f} ms "
                            f"{Samples.of(cell.cpu_us[how]).median:,.0f} µs/req"
                            for how in proxies
                        )
                    )
                rss = {how.value: f"{proxy.resident_mb():.0f} MB" for how, proxy in proxies.items()}
            result.tables += tables(placement, cells)
            result.notes.append(f"{placement.label}: proxies' resident memory after the runs {rss}")
            if placement.pinned:
                pinned_cells = cells
    result.tables.append(comparator_table(log))
    result.targets = target_checks(pinned_cells)
    return result
