"""The load generator: Debian's wrk, in its own process, one thread, keep-alive connections."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from benchmarks.processes import on_cpus

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def available() -> bool:
    return shutil.which("wrk") is not None


@dataclass(frozen=True)
class WrkRun:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors and non-2xx/3xx answers


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    return float(match.group(1)) * _UNITS_MS[match.group(2)] if match else math.nan


def _search(pattern: str, output: str) -> str:
    match = re.search(pattern, output, re.M)
    if match is None:
        raise RuntimeError(f"wrk output without {pattern!r}:\n{output}")
    return match.group(1)


def parse(output: str) -> WrkRun:
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkRun(
        requests_per_s=float(_search(r"Requests/sec:\s+([\d.]+)", output)),
        # Anchored: "+/- Stdev" figures such as "72.50%" end in "50%" too.
        p50_ms=_ms(_search(r"^\s*50%\s+(\S+)$", output)),
        p99_ms=_ms(_search(r"^\s*99%\s+(\S+)$", output)),
        requests=int(_search(r"(\d+) requests in", output)),
        errors=(sum(int(n) for n in socket_errors.groups()) if socket_errors else 0)
        + (int(non_2xx.group(1)) if non_2xx else 0),
    )


def command(
    url: str, concurrency: int, duration_s: float, headers: Mapping[str, str] | None = None
) -> list[str]:
    args = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(duration_s))}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    return [*args, url]


def run(
    url: str,
    concurrency: int,
    duration_s: float,
    cpus: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> WrkRun:
    output = subprocess.run(
        on_cpus(command(url, concurrency, duration_s, headers), cpus),
        capture_output=True,
        text=True,
        check=True,
        timeout=duration_s + 30,
    ).stdout
    return parse(output)


def start(
    url: str,
    concurrency: int,
    duration_s: float,
    cpus: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> subprocess.Popen[str]:
    """wrk in the background (for sampling something else while it runs); `finish` reads it."""
    return subprocess.Popen(
        on_cpus(command(url, concurrency, duration_s, headers), cpus),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def background(
    url: str,
    concurrency: int,
    duration_s: float,
    cpus: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[str]]:
    """`start`, and wrk stopped on the way out if it is still running (an error, Ctrl-C)."""
    process = start(url, concurrency, duration_s, cpus, headers)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def finish(process: subprocess.Popen[str], timeout_s: float = 60) -> WrkRun:
    stdout, stderr = process.communicate(timeout=timeout_s)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr}")
    return parse(stdout)


def all_runs(runs: Sequence[WrkRun]) -> tuple[int, int]:
    """Requests and errors over several runs."""
    return sum(r.requests for r in runs), sum(r.errors for r in runs)
