"""locust, headless, in a subprocess (it monkey-patches its process with gevent), and the
statistics it leaves in its CSV files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from strangler.errors import CliError
from strangler.loadtest.plan import PROJECT_ROOT, LoadTestPlan

CSV_PREFIX = "locust"
LOG_NAME = "locust.log"
STOP_TIMEOUT_S = 5  # users finish their current task at the end (locust --stop-timeout)
GRACE_S = 60.0  # start-up and shut-down on top of the duration before the run is killed
# locust exits 1 when some request failed: the run itself went fine.
RAN = (0, 1)


@dataclass(frozen=True)
class RequestStats:
    method: str
    name: str
    requests: int
    failures: int
    per_second: float
    p50_ms: float
    p95_ms: float
    max_ms: float

    @property
    def failure_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def locust_command(plan: LoadTestPlan) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(plan.locustfile),
        "--headless",
        "--host",
        plan.host,
        "--users",
        str(plan.users),
        "--spawn-rate",
        f"{plan.spawn_rate:g}",
        "--run-time",
        f"{plan.duration_s}s",
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        "--csv",
        str(plan.out_dir / CSV_PREFIX),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]


def run_locust(plan: LoadTestPlan, tick: Callable[[float], None], interval_s: float = 1.0) -> None:
    """Run locust to the end, calling `tick(elapsed seconds)` about every `interval_s`."""
    env = {
        **os.environ,
        "STRANGLER_LOADTEST_TOKENS": str(plan.tokens_file.resolve()),
        "STRANGLER_LOADTEST_SIGNING_KEY": plan.signing_key,
        "PYTHONUNBUFFERED": "1",
    }
    log_path = plan.out_dir / LOG_NAME
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            locust_command(plan), cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        started = time.monotonic()
        try:
            while process.poll() is None:
                elapsed = time.monotonic() - started
                if elapsed > plan.duration_s + STOP_TIMEOUT_S + GRACE_S:
                    raise CliError(f"locust did not stop in time; see {log_path}")
                tick(elapsed)
                time.sleep(max(0.0, interval_s - (time.monotonic() - started - elapsed)))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if process.returncode not in RAN:
        last = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise CliError(f"locust failed with exit code {process.returncode}: {last[0]} (see {log_path})")


def read_stats(out_dir: Path) -> tuple[RequestStats | None, list[RequestStats]]:
    """The aggregated row and one row per request name, from locust's `_stats.csv`."""
    path = out_dir / f"{CSV_PREFIX}_stats.csv"
    try:
        with path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    except OSError as exc:
        raise CliError(f"locust wrote no statistics ({path}): {exc.strerror or exc}") from None
    total, routes = None, []
    for row in rows:
        stats = RequestStats(
            method=row.get("Type", ""),
            name=row.get("Name", ""),
            requests=int(row.get("Request Count") or 0),
            failures=int(row.get("Failure Count") or 0),
            per_second=_number(row.get("Requests/s")),
            p50_ms=_number(row.get("50%")),
            p95_ms=_number(row.get("95%")),
            max_ms=_number(row.get("Max Response Time")),
        )
        if stats.name == "Aggregated":
            total = stats
        else:
            routes.append(stats)
    return total, routes


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0
