"""The processes a benchmark starts (uvicorn or granian servers on loopback, pinned or not),
and what /proc says about them: CPU seconds and resident memory.

Every process is started as the binary itself (not through a shell) so it can be stopped
by its pid, and stopped when its `with` block ends.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STARTUP_TIMEOUT_S = 60.0
_VMRSS = re.compile(r"VmRSS:\s+(\d+) kB")


@dataclass(frozen=True)
class Placement:
    """Which CPUs the process under test and everything else may use; None: the OS decides."""

    label: str
    measured_cpus: str | None
    other_cpus: str | None

    @property
    def pinned(self) -> bool:
        return self.measured_cpus is not None


UNPINNED = Placement("unpinned", None, None)


def pinned_placement() -> Placement | None:
    """The proxy on the first allowed CPU, load generator and apps on the second."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return Placement(
        f"pinned (proxy on CPU {cpus[0]}, load + apps on CPU {cpus[1]})", str(cpus[0]), str(cpus[1])
    )


def on_cpus(command: Sequence[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *command] if cpus is not None else list(command)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AsgiServer(StrEnum):
    UVICORN = "uvicorn"
    GRANIAN = "granian"


def server_command(
    app: str, port: int, server: AsgiServer = AsgiServer.UVICORN, *, edge: bool = False
) -> list[str]:
    """How `strangler proxy|legacy|plugin` serve an app: one process, uvloop, httptools,
    no access log. `edge` (the proxy) trusts no client's X-Forwarded-* headers."""
    if server is AsgiServer.GRANIAN:
        return [
            sys.executable, "-m", "granian", "--interface", "asgi", "--loop", "uvloop",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws", "--http", "1",
            "--log-level", "warning", app,
        ]  # fmt: skip
    command = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return [*command, "--no-proxy-headers"] if edge else command


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cpu_seconds(self) -> float:
        """utime + stime of the process and its children (nginx's workers), from /proc."""
        return sum(cpu_seconds(pid) for pid in process_tree(self.pid))

    def resident_mb(self) -> float:
        return sum(resident_mb(pid) for pid in process_tree(self.pid))


def process_tree(pid: int) -> list[int]:
    found = [pid]
    for child in _children(pid):
        found.extend(process_tree(child))
    return found


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return children


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def resident_mb(pid: int) -> float:
    try:
        match = _VMRSS.search(Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return 0.0
    return int(match.group(1)) / 1024 if match else 0.0


@contextmanager
def run_service(
    name: str,
    command: Sequence[str],
    *,
    url: str,
    health_path: str,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cpus: str | None = None,
) -> Iterator[Service]:
    """Start `command` (on `cpus`), wait until `url + health_path` answers below 500."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            on_cpus(command, cpus),
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    service = Service(name, url, process, log_path)
    try:
        wait_until_up(service, health_path)
        yield service
    finally:
        stop(process)


def run_app(
    name: str,
    app: str,
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cpus: str | None = None,
    health_path: str = "/healthz",
    server: AsgiServer = AsgiServer.UVICORN,
    edge: bool = False,
) -> AbstractContextManager[Service]:
    port = free_port()
    return run_service(
        name,
        server_command(app, port, server, edge=edge),
        url=f"http://127.0.0.1:{port}",
        health_path=health_path,
        log_dir=log_dir,
        env=env,
        cpus=cpus,
    )


def wait_until_up(service: Service, health_path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {service.process.returncode}:\n{service.log()}")
        try:
            if httpx.get(service.url + health_path, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{service.name} did not come up in {STARTUP_TIMEOUT_S:.0f} s:\n{service.log()}"
            )
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
