"""Flip-to-effect: from a flip to the first request the proxy routes the new way
(issue 8, item 4), by `strangler flip` and by the operator API, interleaved.

    .venv/bin/python -m benchmarks --only flip

A running proxy (default settings: the flag file polled every 100 ms) in front of
benchmarks.backend. One organization is flipped legacy → plugin → legacy, `flips` times
each way per method, while a request is sent through the proxy every ~2 ms and its
X-Strangler-Backend header read. The effect is the moment the first answer routed the new
way arrives (so a figure is at most one poll, ~2-3 ms, late).

Three intervals per flip: from starting the command (the CLI process, or sending the POST)
to the effect; from the flag file being replaced (seen by polling its inode) to the effect,
which is the proxy's own part; and the command's own duration.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx

from benchmarks.backend import ORGANIZATION, ROUTES
from benchmarks.processes import Service, run_app
from benchmarks.results import RunOptions, SuiteResult, Table, TargetCheck
from benchmarks.samples import Samples
from proxy.flags.document import FlagDocument
from proxy.modes import Mode, Surface

FLIP_LIMIT_MS = 250.0
POLL_INTERVAL_S = 0.002
EFFECT_TIMEOUT_S = 20.0
ADMIN_TOKEN = "benchmark-admin-token"
FLAG = Surface.TOURNAMENT_API


class Method(StrEnum):
    CLI = "`strangler flip` (CLI)"
    API = "POST /_strangler/api/flip"


@dataclass
class Flip:
    to_effect_ms: float  # command started -> first answer routed the new way
    written_to_effect_ms: float  # flag file replaced -> first answer routed the new way
    command_ms: float  # command started -> command finished


@dataclass
class Flips:
    samples: dict[Method, list[Flip]] = field(default_factory=dict)

    def of(self, method: Method, figure: Callable[[Flip], float]) -> Samples:
        return Samples.of(figure(flip) for flip in self.samples.get(method, []))


def _cli_command() -> list[str]:
    script = Path(sys.executable).with_name("strangler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "strangler.cli"]


class Flipper:
    """Starts flips by either method; each returns something to wait on."""

    def __init__(self, proxy: Service, env: dict[str, str], pool: ThreadPoolExecutor) -> None:
        self.proxy = proxy
        self.env = {**os.environ, **env}
        self.pool = pool

    def start(self, method: Method, to: Mode) -> Callable[[], None]:
        if method is Method.CLI:
            process = subprocess.Popen(
                [*_cli_command(), "flip", FLAG.value, "--org", str(ORGANIZATION), "--to", to.value,
                 "--reason", "benchmark", "--force"],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

            def wait_cli() -> None:
                output, _ = process.communicate(timeout=60)
                if process.returncode != 0:
                    raise RuntimeError(f"strangler flip failed: {output.decode(errors='replace')}")

            return wait_cli
        future: Future[httpx.Response] = self.pool.submit(
            httpx.post,
            self.proxy.url + "/_strangler/api/flip",
            json={
                "flag": FLAG.value,
                "organization_id": ORGANIZATION,
                "mode": to.value,
                "reason": "benchmark",
                "force": True,
            },
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )

        def wait_api() -> None:
            response = future.result(timeout=60)
            if response.status_code != 200:
                raise RuntimeError(f"POST /api/flip answered {response.status_code}: {response.text}")

        return wait_api


def _file_identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def flip_once(flipper: Flipper, client: httpx.Client, flags: Path, method: Method, to: Mode) -> Flip:
    url = flipper.proxy.url + ROUTES["fast"]
    before = _file_identity(flags)
    started = time.perf_counter()
    wait = flipper.start(method, to)
    written: float | None = None
    tick = started
    while True:
        if written is None and _file_identity(flags) != before:
            written = time.perf_counter()
        sent = time.perf_counter()
        backend = client.get(url).headers.get("x-strangler-backend")
        if backend == to.primary.value:
            effect = time.perf_counter()
            # Replaced while this request was under way: the proxy's part is at most its duration.
            written = written if written is not None else sent
            break
        if time.perf_counter() - started > EFFECT_TIMEOUT_S:
            raise RuntimeError(f"no request routed to {to.primary.value} within {EFFECT_TIMEOUT_S:.0f} s")
        tick += POLL_INTERVAL_S
        time.sleep(max(0.0, tick - time.perf_counter()))
    wait()
    finished = time.perf_counter()
    return Flip(
        to_effect_ms=(effect - started) * 1000,
        written_to_effect_ms=(effect - written) * 1000,
        command_ms=(finished - started) * 1000,
    )


def run_flips(options: RunOptions, log: Callable[[str], None]) -> Flips:
    flips = Flips()
    with tempfile.TemporaryDirectory(prefix="bench-flip-") as scratch_dir:
        scratch = Path(scratch_dir)
        flags = scratch / "flags.json"
        flags.write_text(FlagDocument().render())
        with run_app("backend", "benchmarks.backend:app", log_dir=scratch) as backend:
            env = {
                "STRANGLER_LEGACY_URL": backend.url,
                "STRANGLER_PLUGIN_URL": backend.url,
                "STRANGLER_FLAGS_PATH": str(flags),
                "STRANGLER_DATABASE_URL": f"sqlite://{scratch / 'proxy.sqlite3'}",
                "STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN,
            }
            with (
                run_app(
                    "proxy",
                    "proxy.main:app",
                    log_dir=scratch,
                    env=env,
                    health_path="/_strangler/healthz",
                    edge=True,
                ) as proxy,
                ThreadPoolExecutor(max_workers=1) as pool,
                httpx.Client(timeout=10) as client,
            ):
                flipper = Flipper(proxy, env, pool)
                for to in (Mode.PLUGIN, Mode.LEGACY):  # unrecorded: loads the operator API
                    flip_once(flipper, client, flags, Method.API, to)
                for round_ in range(1, options.flips + 1):
                    for method in Method:
                        for to in (Mode.PLUGIN, Mode.LEGACY):
                            flip = flip_once(flipper, client, flags, method, to)
                            flips.samples.setdefault(method, []).append(flip)
                    log(f"  flip round {round_}/{options.flips} done")
    return flips


def _median_max(samples: Samples) -> str:
    return f"median {samples.median:,.0f} ms, max {samples.high:,.0f} ms"


def measure(options: RunOptions, log: Callable[[str], None] = print) -> SuiteResult:
    result = SuiteResult(
        "flip",
        "Flip-to-effect: `strangler flip` and the operator API",
        f"A proxy (flag file polled every 100 ms, its default) in front of benchmarks/backend.py; "
        f"one organization flipped legacy → plugin → legacy {options.flips} time(s) each way per "
        "method, methods interleaved, after one unrecorded API flip each way (the operator API "
        "loads on first use); a request through the proxy every ~2 ms, effect = "
        "first answer whose X-Strangler-Backend is the new side. ms, median (min–max).",
    )
    flips = run_flips(options, log)
    table = Table(
        "",
        [
            "method",
            "flips",
            "start → effect",
            "flag file replaced → effect",
            "command's own time",
            "max start → effect",
        ],
    )
    for method in Method:
        table.add(
            method.value,
            len(flips.samples.get(method, [])),
            flips.of(method, lambda f: f.to_effect_ms).format(),
            flips.of(method, lambda f: f.written_to_effect_ms).format(),
            flips.of(method, lambda f: f.command_ms).format(),
            f"{flips.of(method, lambda f: f.to_effect_ms).high:,.0f}",
        )
    result.tables.append(table)
    api = flips.of(Method.API, lambda f: f.to_effect_ms)
    cli_file = flips.of(Method.CLI, lambda f: f.written_to_effect_ms)
    cli_total = flips.of(Method.CLI, lambda f: f.to_effect_ms)
    result.targets += [
        TargetCheck(
            "flip-to-effect, operator API (POST sent → first request routed the new way)",
            f"≤ {FLIP_LIMIT_MS:.0f} ms",
            _median_max(api),
            api.high <= FLIP_LIMIT_MS,
        ),
        TargetCheck(
            "flip-to-effect, `strangler flip` (flag file replaced → first request routed the new way)",
            f"≤ {FLIP_LIMIT_MS:.0f} ms",
            _median_max(cli_file),
            cli_file.high <= FLIP_LIMIT_MS,
        ),
    ]
    result.notes.append(
        f"`strangler flip` from starting the command: {_median_max(cli_total)}; most of it is the CLI "
        "process's own start-up (Python, imports, opening the audit database), before it writes the file."
    )
    return result
