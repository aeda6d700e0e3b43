"""`strangler up`: the embedded default — legacy_app, plugin_app and the proxy on loopback,
SQLite shared by both apps, flags from a local file, demo data seeded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from strangler.commands.seed import print_tokens
from strangler.errors import CliError, cli_errors

app = typer.Typer()
console = Console()

STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Process:
    name: str
    app_path: str
    port: int
    edge: bool = False  # faces clients: never trust their X-Forwarded-* headers

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}"


def _start(process: Process, host: str, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{process.name}.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            process.app_path,
            "--host",
            host,
            "--port",
            str(process.port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_healthy(process: Process, popen: subprocess.Popen[bytes], host: str, log_dir: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise CliError(f"{process.name} exited with {popen.returncode}; see {log_dir / process.name}.log")
        try:
            if httpx.get(process.url(host) + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise CliError(
        f"{process.name} did not answer within {STARTUP_TIMEOUT_S:.0f}s; see {log_dir}/{process.name}.log"
    )


@app.command()
@cli_errors
def up(
    host: str = typer.Option("127.0.0.1", help="Interface all three processes listen on"),
    proxy_port: int = typer.Option(8000),
    legacy_port: int = typer.Option(8001),
    plugin_port: int = typer.Option(8002),
    seed: bool = typer.Option(True, help="Create the demo data when missing and issue fresh demo tokens"),
) -> None:
    """Start legacy_app, plugin_app and the proxy; print the URLs and demo tokens."""
    from strangler.commands.seed import DEMO_TOKENS_FILE, seed_demo, write_tokens_file
    from strangler.commands.servers import run_migrations

    run_migrations()
    tokens: list[tuple[str, str, str]] = []
    if seed:
        credentials = seed_demo()
        # `strangler loadtest` reads them from here; seeding again would revoke these.
        write_tokens_file(DEMO_TOKENS_FILE, credentials)
        tokens = [(t.user, t.role, t.token) for t in credentials.tokens]

    processes = [
        Process("legacy_app", "legacy_app.main:app", legacy_port),
        Process("plugin_app", "plugin_app.main:app", plugin_port),
        Process("proxy", "proxy.main:app", proxy_port, edge=True),
    ]
    env = {
        **os.environ,
        "STRANGLER_LEGACY_URL": processes[0].url(host),
        "STRANGLER_PLUGIN_URL": processes[1].url(host),
    }
    log_dir = Path("var/log")
    log_dir.mkdir(parents=True, exist_ok=True)
    running: list[subprocess.Popen[bytes]] = []
    try:
        for process in processes:
            popen = _start(process, host, env, log_dir)
            running.append(popen)
            _wait_healthy(process, popen, host, log_dir)
        _print_summary(processes, host, tokens, log_dir)
        _wait_for_exit(processes, running)
    finally:
        for popen in running:
            popen.terminate()
        for popen in running:
            try:
                popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                popen.kill()


def _print_summary(
    processes: list[Process], host: str, tokens: list[tuple[str, str, str]], log_dir: Path
) -> None:
    table = Table(title="strangler is up")
    table.add_column("process")
    table.add_column("url")
    for process in processes:
        table.add_row(process.name, process.url(host))
    console.print(table)
    if tokens:
        print_tokens(tokens)
    console.print(
        f"logs in {log_dir}/; operator console at {processes[-1].url(host)}/_strangler/ ; Ctrl-C stops all"
    )


def _wait_for_exit(processes: list[Process], running: list[subprocess.Popen[bytes]]) -> None:
    stop = False

    def request_stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    try:
        while not stop:
            for process, popen in zip(processes, running, strict=True):
                if popen.poll() is not None:
                    raise CliError(f"{process.name} stopped unexpectedly with exit code {popen.returncode}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping")
