"""Support for the cutover gate's tests (tests/test_gate*.py): a controllable backend to
stand behind the proxy as legacy and as plugin, a stack of the two and a real proxy, a
load driver, and a real Prometheus scraping the three.

The backend (`tests.gate_support:gate_backend`, run with uvicorn) answers every other
path with the same JSON (so the two sides match) after GATE_SLOWDOWN x the request's
`?delay_ms=` milliseconds, holds GATE_BALLAST_MB megabytes of resident memory, and serves:
    /healthz         {"status": "ok"}, at once
    /metrics         prometheus-client's default registry (process_resident_memory_bytes)
    POST /_gate/control  {"slowdown": X, "status": N}: answer slower, or with another status

The load driver asks each request for a delay from a spread (80-120 ms), the same for
both sides: the two latencies of a pair then differ by the slowdown and the machine's
noise only, and the quantiles the budgets compare are set by the spread, not by a few
stray slow answers. It keeps to ~80 requests a second (8 at a time): at twice that, on
two cores, the proxy's own queueing put tens of milliseconds into the tails. Where it
may (as root), the stack runs at a higher priority than the rest of the machine, so that
another process's burst of CPU stays out of the tails the budgets compare.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import yaml

from proxy.asgi import read_body
from proxy.modes import Surface
from tests.proxy_support import PROXY_HEALTH, TEST_BODY_LIMIT, flag_document, run_proxy, write_flags
from tests.servers import ROOT, Server, prometheus_server, run_server

ADMIN_TOKEN = "gate-tests-admin-token"
FLAG = Surface.TOURNAMENT_API
BACKEND_APP = "tests.gate_support:gate_backend"
PROMETHEUS_CONFIG = ROOT / "prometheus" / "prometheus.yml"
PROMETHEUS_RULES = ROOT / "prometheus" / "rules"
IDLE_TIMEOUT_S = 30.0
DELAY_SPREAD_MS = (80, 120)
FAVOURED_NICENESS = -10


# -- the backend ------------------------------------------------------------------------

_state: dict[str, Any] = {}


async def gate_backend(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            # Filled byte by byte, so that every page is resident (a zeroed one may not be).
            _state["ballast"] = bytearray(b"\x01") * (int(os.environ.get("GATE_BALLAST_MB", "0")) << 20)
            _state["slowdown"] = float(os.environ.get("GATE_SLOWDOWN", "1"))
            _state["status"] = 200
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = await read_body(receive, TEST_BODY_LIMIT)
    path: str = scope["path"]
    if path == "/healthz":
        await _answer(send, 200, b'{"status": "ok"}')
    elif path == "/metrics":
        from prometheus_client import REGISTRY, generate_latest

        await _answer(send, 200, generate_latest(REGISTRY), b"text/plain; version=0.0.4")
    elif path == "/_gate/control":
        control = json.loads(body)
        _state["slowdown"] = float(control.get("slowdown", _state["slowdown"]))
        _state["status"] = int(control.get("status", _state["status"]))
        await _answer(
            send, 200, json.dumps({"slowdown": _state["slowdown"], "status": _state["status"]}).encode()
        )
    else:
        query = parse_qs(scope["query_string"].decode("latin-1"))
        delay_ms = float(query.get("delay_ms", ["0"])[0])
        await asyncio.sleep(_state["slowdown"] * delay_ms / 1000)
        await _answer(send, _state["status"], json.dumps({"path": path, "items": [1, 2, 3]}).encode())


async def _answer(send: Any, status: int, body: bytes, content_type: bytes = b"application/json") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- the stack --------------------------------------------------------------------------


@dataclass
class GateStack:
    legacy: Server
    plugin: Server
    proxy: Server
    flags_path: Path
    database_url: str
    client: httpx.Client

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return self.client.request(method, "/_strangler/api" + path, headers=headers, **kwargs)

    def flip(
        self, organization: int, mode: str, *, reason: str = "gate test", force: bool = False
    ) -> httpx.Response:
        body = {
            "flag": FLAG.value,
            "organization_id": organization,
            "mode": mode,
            "reason": reason,
            "force": force,
        }
        return self.api("POST", "/flip", json=body)

    def gate(self, organization: int) -> dict[str, Any]:
        response = self.api("GET", "/gate", params={"flag": FLAG.value, "organization_id": organization})
        response.raise_for_status()
        return response.json()

    def wait_for_memory_samples(self, count: int, organization: int = 1) -> None:
        """Until the proxy holds `count` memory samples of each app (it samples every 0.25 s)."""
        deadline = time.monotonic() + IDLE_TIMEOUT_S
        while time.monotonic() < deadline:
            memory = {item["budget"]: item for item in self.gate(organization)["budgets"]}["memory"]
            if memory["samples"] >= count:
                return
            time.sleep(0.25)
        raise AssertionError(f"fewer than {count} memory samples after {IDLE_TIMEOUT_S}s")

    def audit(self) -> list[dict[str, Any]]:
        response = self.api("GET", "/audit", params={"limit": 100})
        response.raise_for_status()
        return response.json()["entries"]

    def control(self, backend: Server, **control: Any) -> None:
        httpx.post(backend.url + "/_gate/control", json=control, timeout=5).raise_for_status()

    def drive(
        self,
        organization: int,
        requests: int,
        *,
        concurrency: int = 8,
        spread_ms: tuple[int, int] = DELAY_SPREAD_MS,
    ) -> list[int]:
        """Send `requests` GETs of the organization's tournaments through the proxy, each
        asking for a delay evenly spread over `spread_ms`; then wait until their mirrors are
        done. The statuses, in no order."""
        statuses = asyncio.run(_drive(self.proxy.url, organization, requests, concurrency, spread_ms))
        self.wait_until_idle()
        return statuses

    def wait_until_idle(self) -> None:
        deadline = time.monotonic() + IDLE_TIMEOUT_S
        while self.client.get(PROXY_HEALTH).json().get("shadow_in_flight", 0):
            if time.monotonic() > deadline:
                raise AssertionError(f"mirrors still running after {IDLE_TIMEOUT_S}s")
            time.sleep(0.01)

    def env(self) -> dict[str, str]:
        """What `strangler` commands need to act on this stack's proxy."""
        return {
            "STRANGLER_PROXY_URL": self.proxy.url,
            "STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN,
            "STRANGLER_FLAGS_PATH": str(self.flags_path),
            "STRANGLER_DATABASE_URL": self.database_url,
        }


async def _drive(
    url: str, organization: int, requests: int, concurrency: int, spread_ms: tuple[int, int]
) -> list[int]:
    path = f"/api/tournaments/organizations/{organization}"
    statuses: list[int] = []
    low, high = spread_ms
    # Steps of 7 ms (mod the spread's width) visit every delay in turn, in a jumbled order.
    delays = (low + index * 7 % (high - low + 1) for index in range(requests))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                delay_ms = next(delays)
                statuses.append((await client.get(path, params={"delay_ms": delay_ms})).status_code)

        share, extra = divmod(requests, concurrency)
        await asyncio.gather(*(worker(share + (i < extra)) for i in range(concurrency)))
    return statuses


@contextmanager
def gate_stack(
    log_dir: Path,
    *,
    legacy_slowdown: float = 1.0,
    plugin_slowdown: float = 1.0,
    legacy_ballast_mb: int = 0,
    plugin_ballast_mb: int = 0,
    proxy_env: Mapping[str, str] | None = None,
) -> Iterator[GateStack]:
    """Two gate backends and a proxy in front of them, every flag on legacy."""
    flags_dir = log_dir / f"flags-{time.monotonic_ns()}"
    flags_dir.mkdir(parents=True)
    flags_path = flags_dir / "flags.json"
    write_flags(flags_path, flag_document())
    database_url = f"sqlite://{flags_dir / 'proxy-records.sqlite3'}"
    env = {
        "STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN,
        "STRANGLER_DATABASE_URL": database_url,
        "STRANGLER_GATE_SAMPLE_INTERVAL": "0.25",
        "STRANGLER_GUARD_ENABLED": "false",
        **(proxy_env or {}),
    }
    with ExitStack() as stack:
        legacy, plugin = (
            stack.enter_context(
                run_server(
                    BACKEND_APP, {"GATE_SLOWDOWN": str(slowdown), "GATE_BALLAST_MB": str(ballast)}, log_dir
                )
            )
            for slowdown, ballast in (
                (legacy_slowdown, legacy_ballast_mb),
                (plugin_slowdown, plugin_ballast_mb),
            )
        )
        proxy = stack.enter_context(
            run_proxy(
                log_dir, legacy_url=legacy.url, plugin_url=plugin.url, flags_path=flags_path, extra_env=env
            )
        )
        for server in (legacy, plugin, proxy):
            _favour(server)
        client = stack.enter_context(httpx.Client(base_url=proxy.url, timeout=30))
        yield GateStack(legacy, plugin, proxy, flags_path, database_url, client)


def _favour(server: Server) -> None:
    """Run the stack ahead of whatever else shares the machine (where we may): the budgets
    compare tails of latency, and another process's burst of CPU should not be in them."""
    try:
        os.setpriority(os.PRIO_PROCESS, server.process.pid, FAVOURED_NICENESS)
    except OSError:
        pass


def verdicts(evaluation: Mapping[str, Any]) -> dict[str, str]:
    """budget -> verdict, and "all" -> the whole verdict."""
    return {
        **{item["budget"]: item["verdict"] for item in evaluation["budgets"]},
        "all": evaluation["verdict"],
    }


# -- Prometheus -------------------------------------------------------------------------


@contextmanager
def run_prometheus(stack: GateStack, log_dir: Path) -> Iterator[str]:
    """A real Prometheus scraping the stack's three servers every second, with the
    project's rules; its URL."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(PROMETHEUS_RULES / "*.yml")]
    targets = {"proxy": stack.proxy.url, "legacy_app": stack.legacy.url, "plugin_app": stack.plugin.url}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]].removeprefix("http://")]}]
    with prometheus_server(config, log_dir / f"prometheus-{time.monotonic_ns()}") as url:
        yield url


def prometheus_value(url: str, query: str) -> float | None:
    """The value of a query that yields one sample (or none)."""
    response = httpx.get(url + "/api/v1/query", params={"query": query}, timeout=5)
    response.raise_for_status()
    result = response.json()["data"]["result"]
    return float(result[0]["value"][1]) if result else None
