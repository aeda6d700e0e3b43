"""`strangler loadtest`: locust headless against the proxy (loadtests/locustfile.py), each
process's resident memory sampled from its /metrics every second, then a report of each
side's latency and memory against the cutover gate's budgets (strangler/loadtest/)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from proxy.settings import VAR_DIR, ProxySettings
from strangler.commands.seed import DEMO_TOKENS_FILE
from strangler.errors import CliError, cli_errors
from strangler.loadtest.locust import read_stats, run_locust
from strangler.loadtest.plan import LoadTestPlan, check_plan, default_out_dir, parse_duration
from strangler.loadtest.sampling import MemorySamples, Process

if TYPE_CHECKING:
    from strangler.loadtest.report import LoadTestReport

app = typer.Typer()
console = Console(highlight=False)
SIGNING_KEY_VARIABLE = "STRANGLER_LOADTEST_SIGNING_KEY"
READ_TIMEOUT_S = 10.0


@app.command()
@cli_errors
def loadtest(
    host: str | None = typer.Option(None, "--host", help="The proxy [default: STRANGLER_PROXY_URL]"),
    users: int = typer.Option(10, "--users", "-u", help="Concurrent simulated users"),
    spawn_rate: float = typer.Option(10.0, "--spawn-rate", "-r", help="Users started per second"),
    duration: str = typer.Option("1m", "--duration", "-t", help="How long, e.g. 30s, 5m, 1h30m"),
    tokens_file: Path = typer.Option(
        DEMO_TOKENS_FILE, "--tokens-file", help="Written by `strangler up`, or `strangler seed --tokens-file`"
    ),
    out: Path | None = typer.Option(None, "--out", help="Report folder [default: var/loadtests/<time>]"),
    legacy_url: str | None = typer.Option(
        None, help="legacy_app, for its /metrics [default: STRANGLER_LEGACY_URL]"
    ),
    plugin_url: str | None = typer.Option(
        None, help="plugin_app, for its /metrics [default: STRANGLER_PLUGIN_URL]"
    ),
) -> None:
    """Load the proxy with a realistic mix (HTTP and signed Discord interactions) and report
    latency and memory per side against the budgets. Discord interactions need
    STRANGLER_LOADTEST_SIGNING_KEY (a hex Ed25519 seed whose public key the proxy trusts)."""
    settings = ProxySettings()
    plan = LoadTestPlan(
        host=(host or settings.proxy_url).rstrip("/"),
        apps={
            Process.LEGACY_APP: (legacy_url or settings.legacy_url).rstrip("/"),
            Process.PLUGIN_APP: (plugin_url or settings.plugin_url).rstrip("/"),
        },
        admin_token=settings.admin_token,
        users=users,
        spawn_rate=spawn_rate,
        duration_s=parse_duration(duration),
        tokens_file=tokens_file,
        signing_key=os.environ.get(SIGNING_KEY_VARIABLE, "").strip(),
        out_dir=out or default_out_dir(VAR_DIR),
    )
    check_plan(plan)
    # numpy (the gate's statistics) loads for a run only, not for every `strangler` command.
    from proxy.gate.budgets import Budgets
    from strangler.loadtest.figures import latency_figures, memory_figures, paired_latencies
    from strangler.loadtest.report import LoadTestReport

    if not plan.discord:
        console.print(f"[yellow]no {SIGNING_KEY_VARIABLE}: HTTP traffic only, no Discord interactions[/]")

    samples = MemorySamples()
    started_at = time.time()
    sampled = {**plan.apps, Process.PROXY: plan.host}
    columns = (
        TextColumn("[bold]load test[/]"),
        BarColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[memory]}"),
    )
    with httpx.Client(timeout=READ_TIMEOUT_S) as client, Progress(*columns, console=console) as progress:
        task = progress.add_task("run", total=plan.duration_s, memory="")

        def tick(elapsed: float) -> None:
            samples.take(client, sampled, elapsed)
            progress.update(task, completed=min(elapsed, plan.duration_s), memory=_memory_line(samples))

        run_locust(plan, tick)
        progress.update(task, completed=plan.duration_s)
        try:
            pairs = paired_latencies(client, plan.host, plan.admin_token, since=started_at)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise CliError(f"cannot read the proxy's paired latencies: {exc}") from None

    total, routes = read_stats(plan.out_dir)
    budgets = Budgets.from_settings(settings)
    report = LoadTestReport(
        started_at=started_at,
        duration_s=plan.duration_s,
        host=plan.host,
        users=plan.users,
        spawn_rate=plan.spawn_rate,
        discord=plan.discord,
        total=total,
        routes=routes,
        latency=latency_figures(pairs, budgets),
        memory=memory_figures(samples, budgets),
        memory_samples=samples,
        latency_limit=budgets.latency_ratio,
        memory_limit=budgets.memory_ratio,
    )
    paths = report.write(plan.out_dir)
    _print_summary(report)
    console.print(f"report: {paths[0]}  (also {paths[1].name}, {paths[2].name}, locust_*.csv)")


def _memory_line(samples: MemorySamples) -> str:
    parts = []
    for process in (Process.LEGACY_APP, Process.PLUGIN_APP):
        value = samples.latest(process)
        if value is not None:
            parts.append(f"{process.value} {value / 2**20:.0f} MiB")
    return "  ".join(parts)


def _print_summary(report: LoadTestReport) -> None:
    if report.total is not None:
        t = report.total
        console.print(
            f"{t.requests} requests, {t.failures} failed, {t.per_second:.1f}/s, "
            f"p50 {t.p50_ms:.0f} ms, p95 {t.p95_ms:.0f} ms (client side)"
        )
    table = Table("budget", "where", "verdict", "why", title="against the gate's budgets")
    for figures in report.latency:
        for result in figures.budgets:
            where = f"{figures.flag} org {figures.organization}"
            table.add_row(result.budget.value, where, result.verdict.value, result.reason)
    if not report.latency:
        table.add_row("latency", "-", "-", "no paired samples: no organization was in shadow or live")
    memory = report.memory.budget
    table.add_row(memory.budget.value, "legacy_app vs plugin_app", memory.verdict.value, memory.reason)
    console.print(table)
