"""The load test's report, in the run's folder:

report.html    latency per side against the latency budget, memory per side against the
               memory budget (inline SVG), the gate-style verdicts, locust's statistics
summary.json   the same figures, for scripts
summary.csv    one row per figure: figure, flag, organization, side, value, limit, verdict
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from proxy.gate.verdict import BudgetResult, Verdict
from strangler.loadtest.charts import (
    BUDGET_COLOR,
    LEGACY_COLOR,
    PLUGIN_COLOR,
    PROXY_COLOR,
    Bar,
    BarGroup,
    Series,
    bar_chart,
    line_chart,
)
from strangler.loadtest.figures import LatencyFigures, MemoryFigures
from strangler.loadtest.locust import RequestStats
from strangler.loadtest.sampling import MemorySamples, Process

HTML_NAME, JSON_NAME, CSV_NAME = "report.html", "summary.json", "summary.csv"
MIB = 1024 * 1024
VERDICT_COLORS = {Verdict.PASS: "#2e7d32", Verdict.FAIL: "#c62828", Verdict.INCONCLUSIVE: "#8d6e00"}


@dataclass(frozen=True)
class LoadTestReport:
    started_at: float  # unix seconds
    duration_s: int
    host: str
    users: int
    spawn_rate: float
    discord: bool
    total: RequestStats | None
    routes: list[RequestStats]
    latency: list[LatencyFigures]
    memory: MemoryFigures
    memory_samples: MemorySamples
    latency_limit: float
    memory_limit: float

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": datetime.fromtimestamp(self.started_at, UTC).isoformat(),
            "duration_s": self.duration_s,
            "host": self.host,
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "discord_interactions": self.discord,
            "requests": _stats_json(self.total) if self.total else None,
            "routes": [_stats_json(route) for route in self.routes],
            "latency": [figures.to_json() for figures in self.latency],
            "memory": self.memory.to_json(),
            "memory_samples": {
                process.value: [[round(t, 3), value] for t, value in points]
                for process, points in self.memory_samples.points.items()
            },
        }

    def write(self, out_dir: Path) -> list[Path]:
        paths = [out_dir / HTML_NAME, out_dir / JSON_NAME, out_dir / CSV_NAME]
        paths[0].write_text(render_html(self), encoding="utf-8")
        paths[1].write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        with paths[2].open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["figure", "flag", "organization", "side", "value", "limit", "verdict"])
            writer.writerows(summary_rows(self))
        return paths


def summary_rows(report: LoadTestReport) -> list[list[object]]:
    rows: list[list[object]] = []
    for f in report.latency:
        for side, latency in (("legacy", f.legacy), ("plugin", f.plugin)):
            rows.append(["latency_p50_seconds", f.flag, f.organization, side, latency.p50_s, "", ""])
            rows.append(["latency_p95_seconds", f.flag, f.organization, side, latency.p95_s, "", ""])
        for result in f.budgets:
            rows.append(
                [
                    f"{result.budget.value}_ratio",
                    f.flag,
                    f.organization,
                    "plugin/legacy",
                    result.measured,
                    result.limit,
                    result.verdict.value,
                ]
            )
    for process, value in report.memory.median_bytes.items():
        rows.append(["resident_memory_median_bytes", "", "", process.value, value, "", ""])
    for process, value in report.memory.peak_bytes.items():
        rows.append(["resident_memory_peak_bytes", "", "", process.value, value, "", ""])
    budget = report.memory.budget
    rows.append(
        ["memory_ratio", "", "", "plugin/legacy", budget.measured, budget.limit, budget.verdict.value]
    )
    if report.total is not None:
        rows.append(["requests", "", "", "client", report.total.requests, "", ""])
        rows.append(["failures", "", "", "client", report.total.failures, "", ""])
    return [["" if value is None else value for value in row] for row in rows]


# -- HTML -------------------------------------------------------------------------------


def render_html(report: LoadTestReport) -> str:
    when = datetime.fromtimestamp(report.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    total = report.total
    overview = (
        f"{total.requests} requests, {total.failures} failed ({total.failure_rate:.2%}), "
        f"{total.per_second:.1f}/s; client-side p50 {total.p50_ms:.0f} ms, p95 {total.p95_ms:.0f} ms"
        if total
        else "locust reported no requests"
    )
    sections = [
        f"<h1>Load test of {escape(report.host)}</h1>",
        f"<p>{escape(when)}, {report.duration_s} s, {report.users} users "
        f"(spawn rate {report.spawn_rate:g}/s); Discord interactions "
        f"{'on' if report.discord else 'off (no STRANGLER_LOADTEST_SIGNING_KEY)'}.</p>",
        f"<p>{escape(overview)}</p>",
        "<h2>Latency per side</h2>",
        _latency_section(report),
        "<h2>Memory per side</h2>",
        _memory_section(report),
        "<h2>Requests (as locust saw them, through the proxy)</h2>",
        _routes_table(report.routes),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Load test {escape(when)}</title><style>{_STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )


_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1000px;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}"
    "th{background:#f4f4f4}td.n{text-align:right}.verdict{font-weight:bold}"
)


def _latency_section(report: LoadTestReport) -> str:
    if not report.latency:
        return (
            "<p>No paired samples during the run: only organizations in shadow or live mode give "
            "them (the same request served by both sides). Put one in shadow and run again.</p>"
        )
    groups = []
    for f in report.latency:
        for quantile, legacy, plugin in (
            ("p50", f.legacy.p50_s, f.plugin.p50_s),
            ("p95", f.legacy.p95_s, f.plugin.p95_s),
        ):
            groups.append(
                BarGroup(
                    f"{quantile}\n{f.flag}\norg {f.organization}",
                    [Bar("legacy", legacy * 1000, LEGACY_COLOR), Bar("plugin", plugin * 1000, PLUGIN_COLOR)],
                    limit=legacy * 1000 * report.latency_limit,
                    limit_label=f"budget: legacy × {report.latency_limit:g}",
                )
            )
    chart = bar_chart("Paired latency, ms (plugin must stay under the dashed budget)", groups, _ms)
    rows = "".join(
        f"<tr><td>{escape(f.flag)}</td><td class=n>{f.organization}</td><td class=n>{f.pairs}</td>"
        f"<td class=n>{f.legacy.p50_s * 1000:.1f}</td><td class=n>{f.plugin.p50_s * 1000:.1f}</td>"
        f"<td class=n>{f.legacy.p95_s * 1000:.1f}</td><td class=n>{f.plugin.p95_s * 1000:.1f}</td>"
        f"<td>{''.join(_verdict(result) for result in f.budgets)}</td></tr>"
        for f in report.latency
    )
    table = (
        "<table><tr><th>flag</th><th>org</th><th>pairs</th><th>legacy p50 ms</th><th>plugin p50 ms</th>"
        f"<th>legacy p95 ms</th><th>plugin p95 ms</th><th>gate budgets</th></tr>{rows}</table>"
    )
    return f"<figure>{chart}</figure>{table}"


def _memory_section(report: LoadTestReport) -> str:
    points = report.memory_samples.points
    colors = {Process.LEGACY_APP: LEGACY_COLOR, Process.PLUGIN_APP: PLUGIN_COLOR, Process.PROXY: PROXY_COLOR}
    series = [
        Series(process.value, [(t, value / MIB) for t, value in points[process]], colors[process])
        for process in Process
        if process in points
    ]
    legacy = points.get(Process.LEGACY_APP, [])
    if legacy:
        limit = report.memory_limit
        series.append(
            Series(
                f"budget: legacy_app × {limit:g}",
                [(t, v * limit / MIB) for t, v in legacy],
                BUDGET_COLOR,
                dashed=True,
            )
        )
    chart = line_chart("Resident memory, MiB", series, "seconds since the start", _mib)
    rows = "".join(
        f"<tr><td>{process.value}</td><td class=n>{report.memory.median_bytes[process] / MIB:.1f}</td>"
        f"<td class=n>{report.memory.peak_bytes[process] / MIB:.1f}</td></tr>"
        for process in Process
        if process in report.memory.median_bytes
    )
    table = f"<table><tr><th>process</th><th>median MiB</th><th>peak MiB</th></tr>{rows}</table>"
    return f"<figure>{chart}</figure>{table}<p>{_verdict(report.memory.budget)}</p>"


def _routes_table(routes: list[RequestStats]) -> str:
    rows = "".join(
        f"<tr><td>{escape(r.method)}</td><td>{escape(r.name)}</td><td class=n>{r.requests}</td>"
        f"<td class=n>{r.failures}</td><td class=n>{r.p50_ms:.0f}</td><td class=n>{r.p95_ms:.0f}</td>"
        f"<td class=n>{r.max_ms:.0f}</td></tr>"
        for r in routes
    )
    return (
        "<table><tr><th>method</th><th>route</th><th>requests</th><th>failures</th><th>p50 ms</th>"
        f"<th>p95 ms</th><th>max ms</th></tr>{rows}</table>"
    )


def _verdict(result: BudgetResult) -> str:
    color = VERDICT_COLORS[result.verdict]
    return (
        f"<div><span class=verdict style='color:{color}'>{escape(result.budget.value)}: "
        f"{escape(result.verdict.value)}</span> — {escape(result.reason)}</div>"
    )


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _mib(value: float) -> str:
    return f"{value:.0f}"


def _stats_json(stats: RequestStats) -> dict[str, Any]:
    return {
        "method": stats.method,
        "name": stats.name,
        "requests": stats.requests,
        "failures": stats.failures,
        "per_second": stats.per_second,
        "p50_ms": stats.p50_ms,
        "p95_ms": stats.p95_ms,
        "max_ms": stats.max_ms,
    }
