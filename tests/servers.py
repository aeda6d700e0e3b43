"""Real uvicorn servers on loopback ports, started as subprocesses for tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 30.0


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server and wait for it; kill it if it has not gone in 10 s."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def run_server(
    app_path: str,
    env: dict[str, str],
    log_dir: Path,
    *,
    port: int | None = None,
    health_path: str = "/healthz",
) -> Iterator[Server]:
    """Start `uvicorn app_path` with `env` on top of ours; stop it on exit."""
    port = port or free_port()
    log_path = log_dir / f"{app_path.replace(':', '_')}-{port}.log"
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app_path,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        _wait_until_up(server, health_path)
        yield server
    finally:
        stop_process(process)


def _wait_until_up(server: Server, health_path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + health_path, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.process.kill()
    raise RuntimeError(f"server did not come up in {STARTUP_TIMEOUT_S}s:\n{server.log()}")


PROMETHEUS_READY_TIMEOUT_S = 20.0


@contextmanager
def prometheus_server(config: dict[str, Any], run_dir: Path) -> Iterator[str]:
    """Debian's prometheus with `config` (its file, data and log under `run_dir`) on a free
    loopback port, once it says it is ready; its URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise AssertionError("Debian's prometheus is not installed (scripts/bootstrap installs it)")
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "prometheus.yml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    log_path = run_dir / "prometheus.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={run_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + PROMETHEUS_READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited:\n{log_path.read_text()}")
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not get ready in {PROMETHEUS_READY_TIMEOUT_S:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        stop_process(process)
