"""Start plugin_app N times and report its start-up time and its plugins' load time.

    .venv/bin/python -m benchmarks.plugin_startup --runs 10
    .venv/bin/python -m benchmarks.plugin_startup --database-url postgres://postgres@127.0.0.1:5432/bench

Start-up is the wall time from spawning `uvicorn plugin_app.main:app` to the first 200 from
/healthz (interpreter, imports, plugin discovery, migrations check, on_load). Plugin load
time is the sum of `strangler_plugin_load_seconds` read from /metrics: per plugin, import +
contribution checks + its migrations + on_load. The plan's limit for plugin loading is 5 s.

By default it runs on a fresh SQLite file with the shared schema migrated (what
`strangler migrate` does), with the example plugin (examples/plugins/hello) loaded too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.processes import ROOT, free_port, stop

UVICORN = [sys.executable, "-m", "uvicorn", "plugin_app.main:app", "--log-level", "warning"]
STARTUP_TIMEOUT_S = 60.0
PLAN_LIMIT_S = 5.0
LOAD_SECONDS = re.compile(r'^strangler_plugin_load_seconds\{plugin="([^"]+)"\} (\S+)$', re.M)


def migrate_shared_schema(database_url: str) -> None:
    from core.database import migrate, tortoise_config
    from legacy_app.database import TORTOISE_APPS

    asyncio.run(migrate(tortoise_config(database_url, TORTOISE_APPS)))


def start_once(env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """One start: seconds until healthy, and each plugin's load seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [*UVICORN, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while True:
            if process.poll() is not None:
                output = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"plugin_app exited:\n{output}")
            if time.perf_counter() - started > STARTUP_TIMEOUT_S:
                raise RuntimeError("plugin_app did not start in time")
            try:
                if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.01)
        startup = time.perf_counter() - started
        metrics = httpx.get(url + "/metrics", timeout=5.0).text
        return startup, {plugin: float(value) for plugin, value in LOAD_SECONDS.findall(metrics)}
    finally:
        stop(process)


def describe(name: str, samples: list[float]) -> str:
    spread = statistics.stdev(samples) if len(samples) > 1 else 0.0
    return (
        f"{name:<22} median {statistics.median(samples) * 1000:8.1f} ms   "
        f"min {min(samples) * 1000:8.1f}   max {max(samples) * 1000:8.1f}   stdev {spread * 1000:7.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--database-url", help="default: a fresh SQLite file, migrated")
    parser.add_argument(
        "--plugin-dirs", default=str(ROOT / "examples" / "plugins" / "hello"), help="STRANGLER_PLUGIN_DIRS"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        database_url = args.database_url or f"sqlite://{Path(scratch) / 'bench.sqlite3'}"
        migrate_shared_schema(database_url)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "STRANGLER_PLUGIN_DIRS": args.plugin_dirs,
            "SCHEDULER_ENABLED": "false",
        }
        start_once(env)  # the first start applies migrations; measure steady starts
        startups: list[float] = []
        loads: list[float] = []
        per_plugin: dict[str, list[float]] = {}
        for _ in range(args.runs):
            startup, plugin_loads = start_once(env)
            startups.append(startup)
            loads.append(sum(plugin_loads.values()))
            for plugin, seconds in plugin_loads.items():
                per_plugin.setdefault(plugin, []).append(seconds)

    print(f"plugin_app start-up over {args.runs} runs ({len(per_plugin)} plugins loaded)")
    print(describe("start-up (to healthy)", startups))
    print(describe("all plugins' load", loads))
    for plugin, samples in sorted(per_plugin.items()):
        print(describe(f"  {plugin}", samples))
    verdict = "within" if statistics.median(loads) <= PLAN_LIMIT_S else "OVER"
    print(f"plugin load median is {verdict} the plan's {PLAN_LIMIT_S:.0f} s limit")


if __name__ == "__main__":
    main()
