"""Support for the operator-experience tests (dashboards, load test): the whole embedded
stack on a fresh SQLite database seeded by `strangler seed`, a Discord key pair the proxy
trusts, a real Prometheus scraping all three processes every second, and a way to run
`strangler` commands against that stack."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey

from proxy.modes import Surface
from tests.servers import ROOT, Server, prometheus_server, run_server

ADMIN_TOKEN = "operations-tests-admin-token"
DRY_RUN_SECRET = "operations-tests-dry-run-secret"
PROXY_HEALTH = "/_strangler/healthz"
COMMAND_TIMEOUT_S = 120
PROMETHEUS_START_TIMEOUT_S = 20.0
SCRAPE_JOBS = ("legacy_app", "plugin_app", "proxy")  # as prometheus/prometheus.yml names them


@dataclass
class OperationsStack:
    root: Path
    env: dict[str, str]  # what every `strangler` command against this stack runs with
    legacy: Server
    plugin: Server
    proxy: Server
    tokens_file: Path
    signing_key: str  # hex Ed25519 seed; the proxy trusts its public key

    def strangler(self, *args: str, timeout: float = COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return strangler(self.env, *args, timeout=timeout)

    def shadow(self, organization: int) -> None:
        """Every flag of `organization` to shadow, through the operator's command line."""
        for surface in Surface:
            done = self.strangler(
                "flip", surface.value, "--org", str(organization), "--to", "shadow", "--reason", "load test"
            )
            assert done.returncode == 0, done.stderr

    def targets(self) -> dict[str, str]:
        """host:port of each scrape job."""
        servers = {"legacy_app": self.legacy, "plugin_app": self.plugin, "proxy": self.proxy}
        return {job: server.url.removeprefix("http://") for job, server in servers.items()}


def strangler(
    env: dict[str, str], *args: str, timeout: float = COMMAND_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strangler.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def operations_stack(root: Path, log_dir: Path) -> Iterator[OperationsStack]:
    """legacy_app, plugin_app and the proxy on a fresh SQLite database, demo data seeded."""
    key = SigningKey.generate()
    env = {
        "DATABASE_URL": f"sqlite://{root / 'strangler.sqlite3'}",
        "STRANGLER_FLAGS_PATH": str(root / "flags.json"),
        "STRANGLER_DATABASE_URL": f"sqlite://{root / 'proxy.sqlite3'}",
        "STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN,
        "DRY_RUN_SECRET": DRY_RUN_SECRET,
        "STRANGLER_DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(),
        "SCHEDULER_ENABLED": "false",
        "STRANGLER_PLUGIN_ENTRY_POINTS": "false",
        "STRANGLER_PLUGIN_DIRS": "",
    }
    tokens_file = root / "demo-tokens.json"
    for command in (("migrate",), ("seed", "--tokens-file", str(tokens_file))):
        done = strangler(env, *command)
        assert done.returncode == 0, done.stderr
    with ExitStack() as stack:
        legacy = stack.enter_context(run_server("legacy_app.main:app", env, log_dir))
        plugin = stack.enter_context(run_server("plugin_app.main:app", env, log_dir))
        env |= {"STRANGLER_LEGACY_URL": legacy.url, "STRANGLER_PLUGIN_URL": plugin.url}
        proxy_env = {**env, "FORWARDED_ALLOW_IPS": "192.0.2.1"}
        proxy = stack.enter_context(
            run_server("proxy.main:app", proxy_env, log_dir, health_path=PROXY_HEALTH)
        )
        env["STRANGLER_PROXY_URL"] = proxy.url
        yield OperationsStack(root, env, legacy, plugin, proxy, tokens_file, bytes(key).hex())


@dataclass
class Prometheus:
    url: str

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        return self._get("/api/v1/query", query=expr, time=at)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float = 1.0) -> list[dict[str, Any]]:
        return self._get("/api/v1/query_range", query=expr, start=start, end=end, step=step)["result"]

    def scraped(self, job: str) -> bool:
        return bool(self._get("/api/v1/query", query=f'up{{job="{job}"}} == 1')["result"])

    def _get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params, timeout=10)
        body = response.json()
        assert body.get("status") == "success", f"{params}: {body}"
        return body["data"]


@contextmanager
def run_prometheus(targets: dict[str, str], log_dir: Path) -> Iterator[Prometheus]:
    """Debian's prometheus scraping `targets` (job -> host:port) every second, once it has
    scraped each of them."""
    document = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in targets.items()
        ],
    }
    with prometheus_server(document, log_dir / f"prometheus-{time.monotonic_ns()}") as url:
        prometheus = Prometheus(url)
        deadline = time.monotonic() + PROMETHEUS_START_TIMEOUT_S
        while not all(_scraped(prometheus, job) for job in targets):
            assert time.monotonic() < deadline, "prometheus did not scrape every target in time"
            time.sleep(0.2)
        yield prometheus


def _scraped(prometheus: Prometheus, job: str) -> bool:
    try:
        return prometheus.scraped(job)
    except (httpx.TransportError, ValueError, AssertionError):
        return False
