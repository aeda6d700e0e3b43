"""Start-up and resident memory of the three processes (issue 8, item 5).

    .venv/bin/python -m benchmarks --only footprint

Start-up: legacy_app and plugin_app started alternately, `startup_runs` times each (after
one unrecorded start that applies the example plugin's migrations), wall time from spawning
uvicorn to the first 200 from /healthz; plugin load time is the sum of plugin_app's
`strangler_plugin_load_seconds` (benchmarks/plugin_startup.py's `start_once`). The
database is a migrated SQLite file with the demo data (`strangler seed`); the example
plugin (examples/plugins/hello) is loaded too.

Memory: legacy_app, plugin_app and the proxy in front of both (as `strangler up` runs
them), VmRSS from /proc: idle (median of samples over a second), under load (the peak of
samples every 0.25 s while wrk sends a tournament's players list through the proxy for an
organization in `plugin` mode and one in `legacy` mode at once, 8 connections each), and
after the load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks import wrk
from benchmarks.plugin_startup import PLAN_LIMIT_S, start_once
from benchmarks.processes import ROOT, Service, free_port, run_app, stop
from benchmarks.results import RunOptions, SuiteResult, Table, TargetCheck
from benchmarks.samples import Samples, paired
from proxy.flags.document import FlagDocument
from proxy.modes import Mode, Surface

PLUGIN_LOAD_LIMIT_S = 0.5
PROXY_RSS_LIMIT_MB = 80.0
HELLO_PLUGIN = ROOT / "examples" / "plugins" / "hello"
PLUGIN_ORG, LEGACY_ORG = 1, 2
SEED_SCRIPT = """
import json
from strangler.commands.servers import run_migrations
from strangler.commands.seed import run_seed
run_migrations()
print("TOKENS " + json.dumps(run_seed()))
"""

Log = Callable[[str], None]


@dataclass(frozen=True)
class DemoDatabase:
    url: str
    operator_token: str


def seed_database(scratch: Path) -> DemoDatabase:
    """A migrated SQLite file with the demo data; the superadmin's fresh token."""
    url = f"sqlite://{scratch / 'apps.sqlite3'}"
    completed = subprocess.run(
        [sys.executable, "-c", SEED_SCRIPT],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("TOKENS ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"seeding the demo data failed:\n{completed.stdout}\n{completed.stderr}")
    tokens = json.loads(lines[-1].removeprefix("TOKENS "))
    operator = next(token for user, _, token in tokens if user == "operator")
    return DemoDatabase(url, operator)


def app_env(database: DemoDatabase) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database.url, "STRANGLER_PLUGIN_DIRS": str(HELLO_PLUGIN)}


def start_legacy_once(env: dict[str, str]) -> float:
    """Seconds from spawning legacy_app to its first 200 from /healthz (as start_once)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "legacy_app.main:app",
            "--log-level",
            "warning",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError("legacy_app exited during start-up")
            if time.perf_counter() - started > 60:
                raise RuntimeError("legacy_app did not start in 60 s")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.01)
    finally:
        stop(process)


@dataclass
class Startups:
    legacy_s: list[float]
    plugin_s: list[float]
    load_s: list[float]  # all plugins of plugin_app
    per_plugin_s: dict[str, list[float]]


def measure_startups(env: dict[str, str], runs: int, log: Log) -> Startups:
    start_once(env)  # applies the example plugin's migrations; steady starts are measured
    startups = Startups([], [], [], {})
    for run in range(runs):
        startups.legacy_s.append(start_legacy_once(env))
        startup, loads = start_once(env)
        startups.plugin_s.append(startup)
        startups.load_s.append(sum(loads.values()))
        for plugin, seconds in loads.items():
            startups.per_plugin_s.setdefault(plugin, []).append(seconds)
        log(
            f"  start-up {run + 1}/{runs}: legacy_app {startups.legacy_s[-1]:.2f} s, "
            f"plugin_app {startup:.2f} s"
        )
    return startups


@contextmanager
def running_apps(database: DemoDatabase, scratch: Path) -> Iterator[dict[str, Service]]:
    """legacy_app, plugin_app and the proxy, as `strangler up` runs them."""
    flags = scratch / "flags.json"
    flags.write_text(FlagDocument({Surface.TOURNAMENT_API: {PLUGIN_ORG: Mode.PLUGIN}}).render())
    with ExitStack() as stack:
        env = {"DATABASE_URL": database.url, "STRANGLER_PLUGIN_DIRS": str(HELLO_PLUGIN)}
        legacy = stack.enter_context(run_app("legacy_app", "legacy_app.main:app", log_dir=scratch, env=env))
        plugin = stack.enter_context(run_app("plugin_app", "plugin_app.main:app", log_dir=scratch, env=env))
        proxy_env = {
            "STRANGLER_LEGACY_URL": legacy.url,
            "STRANGLER_PLUGIN_URL": plugin.url,
            "STRANGLER_FLAGS_PATH": str(flags),
            "STRANGLER_DATABASE_URL": f"sqlite://{scratch / 'proxy.sqlite3'}",
        }
        proxy = stack.enter_context(
            run_app(
                "proxy",
                "proxy.main:app",
                log_dir=scratch,
                env=proxy_env,
                health_path="/_strangler/healthz",
                edge=True,
            )
        )
        yield {"proxy": proxy, "legacy_app": legacy, "plugin_app": plugin}


def players_path(proxy: Service, token: str, organization: int, expected: Mode) -> str:
    """The players list of one of the organization's tournaments, checked to be routed as expected."""
    headers = {"Authorization": f"Bearer {token}"}
    tournaments = httpx.get(
        f"{proxy.url}/api/tournaments/organizations/{organization}", headers=headers, timeout=10
    ).json()
    path = f"/api/tournaments/{tournaments[0]['id']}/players"
    response = httpx.get(proxy.url + path, headers=headers, timeout=10)
    if response.status_code != 200 or response.headers.get("x-strangler-backend") != expected.primary.value:
        raise RuntimeError(
            f"{path} answered {response.status_code} from {response.headers.get('x-strangler-backend')}"
        )
    return path


@dataclass
class Memory:
    idle: dict[str, Samples]
    peak: dict[str, float]
    after: dict[str, Samples]
    load: list[wrk.WrkRun]


def sample_rss(services: dict[str, Service], seconds: float, every_s: float) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in services}
    deadline = time.monotonic() + seconds
    while True:
        for name, service in services.items():
            samples[name].append(service.resident_mb())
        if time.monotonic() >= deadline:
            return samples
        time.sleep(every_s)


def measure_memory(database: DemoDatabase, scratch: Path, load_s: int, log: Log) -> Memory:
    with running_apps(database, scratch) as services:
        proxy = services["proxy"]
        headers = {"Authorization": f"Bearer {database.operator_token}"}
        paths = [
            players_path(proxy, database.operator_token, PLUGIN_ORG, Mode.PLUGIN),
            players_path(proxy, database.operator_token, LEGACY_ORG, Mode.LEGACY),
        ]
        time.sleep(1.0)
        idle = sample_rss(services, 1.0, 0.2)
        with (
            wrk.background(proxy.url + paths[0], 8, load_s, headers=headers) as plugin_load,
            wrk.background(proxy.url + paths[1], 8, load_s, headers=headers) as legacy_load,
        ):
            during = sample_rss(services, load_s, 0.25)
            load = [wrk.finish(plugin_load), wrk.finish(legacy_load)]
        after = sample_rss(services, 1.0, 0.2)
        log(
            "  memory: "
            + ", ".join(
                f"{name} {Samples.of(idle[name]).median:.0f} → {max(during[name]):.0f} MB"
                for name in services
            )
        )
        return Memory(
            idle={name: Samples.of(values) for name, values in idle.items()},
            peak={name: max(values) for name, values in during.items()},
            after={name: Samples.of(values) for name, values in after.items()},
            load=load,
        )


def startup_table(startups: Startups) -> Table:
    table = Table(
        "Start-up (spawn → first 200 from /healthz) and plugin load, seconds",
        ["figure", "seconds", "÷ legacy_app start-up"],
    )
    legacy = startups.legacy_s
    table.add("legacy_app start-up (baseline)", Samples.of(legacy).format(2), "1.00×")
    table.add(
        "plugin_app start-up",
        Samples.of(startups.plugin_s).format(2),
        paired(startups.plugin_s, legacy).format(2, "×"),
    )
    table.add("plugin_app: all plugins' load", Samples.of(startups.load_s).format(3), "")
    for plugin, samples in sorted(startups.per_plugin_s.items()):
        table.add(f"plugin `{plugin}`", Samples.of(samples).format(3), "")
    return table


def memory_table(memory: Memory) -> Table:
    table = Table(
        "Resident memory (VmRSS, MB)",
        ["process", "idle", "under load (peak)", "after load", "peak ÷ idle"],
    )
    for name in memory.idle:
        table.add(
            name,
            memory.idle[name].format(1),
            f"{memory.peak[name]:.1f}",
            memory.after[name].format(1),
            f"{memory.peak[name] / memory.idle[name].median:.2f}×",
        )
    requests, errors = wrk.all_runs(memory.load)
    rate = sum(run.requests_per_s for run in memory.load)
    table.note = (
        f"Load: {requests:,} requests ({rate:,.0f} req/s, {errors} errors) through the proxy, half to "
        f"plugin_app, half to legacy_app. plugin_app ÷ legacy_app idle: "
        f"{memory.idle['plugin_app'].median / memory.idle['legacy_app'].median:.2f}×."
    )
    return table


def measure(options: RunOptions, log: Log = print) -> SuiteResult:
    result = SuiteResult(
        "footprint",
        "Start-up, plugin load and resident memory",
        f"legacy_app and plugin_app started alternately {options.startup_runs} time(s) each (uvicorn, "
        "demo data on SQLite, the example plugin loaded too); plugin load from plugin_app's "
        "`strangler_plugin_load_seconds`. Memory: the three processes as `strangler up` runs them, "
        f"VmRSS from /proc idle, during {options.load_s} s of load through the proxy (peak), and after.",
    )
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as scratch_dir:
        scratch = Path(scratch_dir)
        log("  seeding the demo data")
        database = seed_database(scratch)
        startups = measure_startups(app_env(database), options.startup_runs, log)
        memory = measure_memory(database, scratch, options.load_s, log)
    result.tables += [startup_table(startups), memory_table(memory)]
    load = Samples.of(startups.load_s)
    result.targets += [
        TargetCheck(
            "plugin_app loads all plugins",
            f"< {PLUGIN_LOAD_LIMIT_S} s (plan: {PLAN_LIMIT_S:.0f} s)",
            f"{load.median:.3f} s (max {load.high:.3f} s)",
            load.high < PLUGIN_LOAD_LIMIT_S,
        ),
        TargetCheck(
            "proxy resident memory under load",
            f"< {PROXY_RSS_LIMIT_MB:.0f} MB",
            f"{memory.peak['proxy']:.1f} MB (idle {memory.idle['proxy'].median:.1f} MB)",
            memory.peak["proxy"] < PROXY_RSS_LIMIT_MB,
        ),
    ]
    return result
