"""What the figures were measured on: the machine, the software versions, the load."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from benchmarks import nginx
from benchmarks.processes import ROOT

PACKAGES = (
    "uvicorn",
    "uvloop",
    "httptools",
    "aiohttp",
    "fastapi",
    "starlette",
    "prometheus-client",
    "openfeature-sdk",
    "openfeature-provider-flagd",
    "granian",
    "pyreqwest",
    "aiosonic",
)


@dataclass(frozen=True)
class Machine:
    cpu: str
    cpus: int
    memory_gb: float
    system: str
    python: str
    versions: dict[str, str]
    commit: str

    def describe(self) -> list[str]:
        versions = ", ".join(f"{name} {version}" for name, version in self.versions.items())
        return [
            f"{self.cpus} × {self.cpu}, {self.memory_gb:.1f} GB RAM; {self.system}",
            f"Python {self.python}; {versions}",
            f"commit {self.commit}",
        ]


def _cpu_model() -> str:
    match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return match.group(1).strip() if match else platform.processor() or "unknown CPU"


def _memory_gb() -> float:
    match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    return int(match.group(1)) / 1024 / 1024 if match else 0.0


def _os_name() -> str:
    try:
        match = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text())
    except OSError:
        match = None
    return f"{match.group(1) if match else platform.system()}, kernel {platform.release()}"


def _wrk_version() -> str:
    try:
        output = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    except OSError:
        return "not installed"
    match = re.search(r"wrk (\S+)", output)
    return match.group(1) if match else "unknown"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' + uncommitted changes' if changed else ''}"


def describe_machine() -> Machine:
    versions: dict[str, str] = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    versions["nginx"] = nginx.version()
    versions["wrk"] = _wrk_version()
    return Machine(
        cpu=_cpu_model(),
        cpus=len(os.sched_getaffinity(0)),
        memory_gb=_memory_gb(),
        system=_os_name(),
        python=platform.python_version(),
        versions=versions,
        commit=_commit(),
    )


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
