"""The proxy's cost: the same requests straight to the app, through the proxy and through
nginx, side by side in one run (issue 8, item 1).

    .venv/bin/python -m benchmarks --only proxy [--quick] [--granian] [--concurrency 16 64]

The app is benchmarks.backend (FastAPI on uvicorn, uvloop + httptools). The proxy is the
real one (`proxy.main:app`, served as `strangler proxy` serves it) and takes its full path:
route map, organization from the entity the path names (the owner lookup, cached after the
first), flag decision (the organization is in `plugin` mode), forwarding, metrics. nginx
has one worker and keep-alive upstream connections. Load comes from wrk in its own process.

Pinned: the proxy (and nginx) on one CPU, the app and wrk on the other, so the proxy's own
cost shows; then the same unpinned. Each cell runs direct, proxy and nginx back to back in
a rotating order, `repeats` times; figures are medians (min–max), ratios are taken run by
run against the direct run of the same repeat.

CPU per request is utime + stime of the proxy (nginx: master and worker) from /proc over a
run, divided by the requests wrk completed: the steadiest figure on a noisy machine, and
the one to gate regressions on.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx

from benchmarks import nginx, wrk
from benchmarks.backend import ORGANIZATION, ROUTES
from benchmarks.processes import (
    UNPINNED,
    AsgiServer,
    Placement,
    Service,
    pinned_placement,
    run_app,
)
from benchmarks.results import RunOptions, SuiteResult, Table, TargetCheck
from benchmarks.samples import Samples, differences, paired
from proxy.flags.document import FlagDocument
from proxy.modes import Mode, Surface

Log = Callable[[str], None]

CPU_LIMIT_US = 500.0
CPU_LIMIT_VS_NGINX = 4.0
THROUGHPUT_FLOOR = 0.80
ADDED_P50_LIMIT_MS = 1.5
TARGET_ROUTE = "5 ms"  # the targets were set on the 5 ms route, proxy pinned


class Via(StrEnum):
    """The way a request takes to the app."""

    DIRECT = "direct"
    PROXY = "proxy"
    NGINX = "nginx"
    GRANIAN = "proxy on granian"


@dataclass
class Cell:
    route: str
    concurrency: int
    runs: dict[Via, list[wrk.WrkRun]] = field(default_factory=dict)
    cpu_us: dict[Via, list[float]] = field(default_factory=dict)

    def rps(self, way: Via) -> list[float]:
        return [r.requests_per_s for r in self.runs.get(way, [])]

    def p50(self, way: Via) -> list[float]:
        return [r.p50_ms for r in self.runs.get(way, [])]

    def p99(self, way: Via) -> list[float]:
        return [r.p99_ms for r in self.runs.get(way, [])]

    def share_of_direct(self, way: Via) -> Samples:
        return paired(self.rps(way), self.rps(Via.DIRECT), 100.0)

    def added_p50(self, way: Via) -> Samples:
        return differences(self.p50(way), self.p50(Via.DIRECT))

    def cpu(self, way: Via) -> Samples:
        return Samples.of(self.cpu_us.get(way, []))

    def busy(self, way: Via) -> Samples:
        """How much of one CPU the server used: near 100% it was the bottleneck; well
        below, it was waiting (on the app, or for a CPU the machine's other work held)."""
        return Samples.of(
            r.requests_per_s * cpu / 1e4 for r, cpu in zip(self.runs[way], self.cpu_us[way], strict=True)
        )

    def errors(self) -> int:
        return sum(r.errors for runs in self.runs.values() for r in runs)


def write_flag_document(path: Path) -> None:
    """The benchmark's organization in `plugin` mode: the full decision path is taken."""
    document = FlagDocument({Surface.TOURNAMENT_API: {ORGANIZATION: Mode.PLUGIN}})
    temporary = path.with_suffix(".tmp")
    temporary.write_text(document.render())
    os.replace(temporary, path)


def proxy_env(backend_url: str, scratch: Path) -> dict[str, str]:
    flags = scratch / "flags.json"
    if not flags.exists():
        write_flag_document(flags)
    return {
        "STRANGLER_LEGACY_URL": backend_url,
        "STRANGLER_PLUGIN_URL": backend_url,
        "STRANGLER_FLAGS_PATH": str(flags),
        "STRANGLER_DATABASE_URL": f"sqlite://{scratch / 'proxy.sqlite3'}",
    }


@contextmanager
def services(
    placement: Placement, scratch: Path, ways: list[Via]
) -> Iterator[tuple[Service, dict[Via, Service]]]:
    """The backend, and one running server per way (the proxy, nginx, ...)."""
    with ExitStack() as stack:
        backend = stack.enter_context(
            run_app("backend", "benchmarks.backend:app", log_dir=scratch, cpus=placement.other_cpus)
        )
        started: dict[Via, Service] = {Via.DIRECT: backend}
        env = proxy_env(backend.url, scratch)
        for way in ways:
            if way is Via.PROXY or way is Via.GRANIAN:
                server = AsgiServer.GRANIAN if way is Via.GRANIAN else AsgiServer.UVICORN
                started[way] = stack.enter_context(
                    run_app(
                        way.value.replace(" ", "-"),
                        "proxy.main:app",
                        log_dir=scratch,
                        env=env,
                        cpus=placement.measured_cpus,
                        health_path="/_strangler/healthz",
                        server=server,
                        edge=True,
                    )
                )
            elif way is Via.NGINX:
                started[way] = stack.enter_context(
                    nginx.run_nginx(backend.url, scratch / "nginx", placement.measured_cpus)
                )
        yield backend, started


def check_routing(proxy: Service) -> None:
    """The proxy must take the full path: routed by the flags to the plugin side."""
    response = httpx.get(proxy.url + ROUTES[TARGET_ROUTE], timeout=5)
    backend = response.headers.get("x-strangler-backend")
    if response.status_code != 200 or backend != Mode.PLUGIN.value:
        raise RuntimeError(f"the proxy did not route the benchmark organization to plugin: {backend!r}")


def measure_cell(
    route: str,
    concurrency: int,
    servers: dict[Via, Service],
    placement: Placement,
    options: RunOptions,
) -> Cell:
    cell = Cell(route, concurrency)
    order = list(servers)
    for repeat in range(options.repeats):
        rotated = order[repeat % len(order) :] + order[: repeat % len(order)]
        for way in rotated:
            server = servers[way]
            before = server.cpu_seconds()
            run = wrk.run(server.url + ROUTES[route], concurrency, options.duration_s, placement.other_cpus)
            cpu = (server.cpu_seconds() - before) / max(run.requests, 1) * 1e6
            cell.runs.setdefault(way, []).append(run)
            cell.cpu_us.setdefault(way, []).append(cpu)
    return cell


def measure_placement(
    placement: Placement, concurrencies: tuple[int, ...], options: RunOptions, scratch: Path, log: Log
) -> tuple[list[Cell], list[Via], float]:
    ways = [Via.PROXY]
    if nginx.binary() is not None:
        ways.append(Via.NGINX)
    if options.granian:
        ways.append(Via.GRANIAN)
    directory = scratch / placement.label.split()[0]
    directory.mkdir()
    with services(placement, directory, ways) as (_, servers):
        check_routing(servers[Via.PROXY])
        for route in options.routes:  # warm up: pools, owner cache, decision cache
            for server in servers.values():
                wrk.run(server.url + ROUTES[route], 16, 1, placement.other_cpus)
        cells = []
        for route in options.routes:
            for concurrency in concurrencies:
                cell = measure_cell(route, concurrency, servers, placement, options)
                cells.append(cell)
                log(
                    f"  {placement.label.split()[0]} {route} c={concurrency}: "
                    + ", ".join(
                        f"{way.value} {Samples.of(cell.rps(way)).median:,.0f} req/s"
                        + (f" {cell.cpu(way).median:,.0f} µs/req" if way is not Via.DIRECT else "")
                        for way in servers
                    )
                )
        proxy_rss = servers[Via.PROXY].resident_mb()
    return cells, [p for p in servers if p is not Via.DIRECT], proxy_rss


def throughput_table(placement: Placement, cells: list[Cell], ways: list[Via]) -> Table:
    header = ["route", "conc", "direct req/s"]
    for way in ways:
        header += [f"{way.value} req/s", f"{way.value} % of direct"]
    header += [f"{way.value} CPU µs/req" for way in ways]
    header += ["proxy busy % of a CPU"]
    if Via.NGINX in ways:
        header += ["proxy CPU ÷ nginx CPU"]
    header += ["errors"]
    table = Table(f"Throughput and CPU per request — {placement.label}", header)
    for cell in cells:
        row: list[object] = [cell.route, cell.concurrency, Samples.of(cell.rps(Via.DIRECT)).format()]
        for way in ways:
            row += [Samples.of(cell.rps(way)).format(), cell.share_of_direct(way).format(0, "%")]
        row += [cell.cpu(way).format() for way in ways]
        row += [cell.busy(Via.PROXY).format(0, "%")]
        if Via.NGINX in ways:
            row += [paired(cell.cpu_us[Via.PROXY], cell.cpu_us[Via.NGINX]).format(1, "×")]
        row += [cell.errors()]
        table.add(*row)
    return table


def latency_table(placement: Placement, cells: list[Cell], ways: list[Via]) -> Table:
    header = ["route", "conc", "direct p50 ms"]
    for way in ways:
        header += [f"{way.value} p50 ms", f"{way.value} added p50 ms"]
    header += ["direct p99 ms"] + [f"{way.value} p99 ms" for way in ways]
    table = Table(f"Latency (wrk, ms) — {placement.label}", header)
    for cell in cells:
        row: list[object] = [cell.route, cell.concurrency, Samples.of(cell.p50(Via.DIRECT)).format(2)]
        for way in ways:
            row += [Samples.of(cell.p50(way)).format(2), cell.added_p50(way).format(2)]
        row += [Samples.of(cell.p99(Via.DIRECT)).format(2)]
        row += [Samples.of(cell.p99(way)).format(2) for way in ways]
        table.add(*row)
    return table


def target_checks(cells: list[Cell] | None) -> list[TargetCheck]:
    """The targets of issue 8 on the 5 ms route, proxy pinned, at concurrency 16 and 64."""
    by_concurrency = {c.concurrency: c for c in cells or [] if c.route == TARGET_ROUTE}
    gated = [by_concurrency[c] for c in (16, 64) if c in by_concurrency]
    where = "5 ms route, pinned, c=" + "/".join(str(c.concurrency) for c in gated)
    if not gated:
        return [
            TargetCheck("proxy CPU per request", f"≤ {CPU_LIMIT_US:.0f} µs", "not measured", None),
            TargetCheck("proxy throughput", f"≥ {THROUGHPUT_FLOOR:.0%} of direct", "not measured", None),
        ]
    cpu = [c.cpu(Via.PROXY).median for c in gated]
    share = [c.share_of_direct(Via.PROXY).median for c in gated]
    checks = [
        TargetCheck(
            f"proxy CPU per request ({where})",
            f"≤ {CPU_LIMIT_US:.0f} µs",
            " / ".join(f"{v:,.0f} µs" for v in cpu) + f" (one CPU serves ≈ {1e6 / max(cpu):,.0f} req/s)",
            all(v <= CPU_LIMIT_US for v in cpu),
        ),
    ]
    if all(Via.NGINX in c.cpu_us for c in gated):
        ratio = [paired(c.cpu_us[Via.PROXY], c.cpu_us[Via.NGINX]).median for c in gated]
        nginx_cpu = [c.cpu(Via.NGINX).median for c in gated]
        checks.append(
            TargetCheck(
                f"proxy CPU ÷ nginx CPU ({where})",
                f"≤ {CPU_LIMIT_VS_NGINX:.0f}×",
                " / ".join(f"{r:.1f}× (nginx {n:,.0f} µs)" for r, n in zip(ratio, nginx_cpu, strict=True)),
                all(r <= CPU_LIMIT_VS_NGINX for r in ratio),
            )
        )
    checks.append(
        TargetCheck(
            f"proxy throughput ({where})",
            f"≥ {THROUGHPUT_FLOOR:.0%} of direct",
            " / ".join(f"{v:.0f}%" for v in share),
            all(v >= 100 * THROUGHPUT_FLOOR for v in share),
        )
    )
    if 16 in by_concurrency:
        added = by_concurrency[16].added_p50(Via.PROXY).median
        checks.append(
            TargetCheck(
                "added p50 through the proxy (5 ms route, pinned, c=16)",
                f"≤ {ADDED_P50_LIMIT_MS} ms",
                f"{added:+.2f} ms",
                added <= ADDED_P50_LIMIT_MS,
            )
        )
    return checks


def measure(options: RunOptions, log: Log = print) -> SuiteResult:
    result = SuiteResult(
        "proxy",
        "Proxy cost: direct vs proxy vs nginx",
        f"wrk (1 thread, keep-alive) for {options.duration_s} s per run, {options.repeats} repeat(s) per "
        "cell, direct / proxy / nginx interleaved in a rotating order; medians (min–max); ratios "
        "run by run against the direct run of the same repeat. Proxy: `proxy.main:app` on uvicorn "
        "(uvloop, httptools), full path (route map, owner lookup, flag decision → plugin, metrics). "
        "nginx: one worker, `keepalive 64` upstream, HTTP/1.1. App: benchmarks/backend.py (FastAPI). "
        "CPU per request: utime+stime from /proc ÷ requests; busy % = req/s × CPU per request "
        "(near 100%: the proxy's CPU was the limit; well below: it waited, on the app or on the "
        "machine's other work).",
    )
    if not wrk.available():
        result.notes.append("wrk is not installed (apt-get install -y wrk): nothing measured.")
        result.targets = target_checks(None)
        return result
    if nginx.binary() is None:
        result.notes.append("nginx is not installed (apt-get install -y nginx): no nginx column.")
    placements: list[tuple[Placement, tuple[int, ...]]] = []
    pinned = pinned_placement() if options.pinned else None
    if pinned is not None:
        placements.append((pinned, options.concurrencies))
    elif options.pinned:
        result.notes.append("fewer than two CPUs: no pinned run")
    if options.unpinned:
        placements.append((UNPINNED, options.unpinned_concurrencies))
    pinned_cells: list[Cell] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as scratch_dir:
        scratch = Path(scratch_dir)
        for placement, concurrencies in placements:
            log(f"proxy cost, {placement.label}")
            cells, ways, proxy_rss = measure_placement(placement, concurrencies, options, scratch, log)
            result.tables.append(throughput_table(placement, cells, ways))
            result.tables.append(latency_table(placement, cells, ways))
            result.notes.append(f"{placement.label}: proxy resident memory after the runs {proxy_rss:.0f} MB")
            if placement.pinned:
                pinned_cells = cells
    result.targets = target_checks(pinned_cells)
    return result
