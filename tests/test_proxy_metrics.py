"""The proxy's /metrics: flag changes counted as the flag provider reports them
(proxy/flag_changes.py), and one view of every worker when a replica runs several
(prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from proxy.modes import KILL_SWITCH_FLAG, Surface
from tests.proxy_support import PROXY_HEALTH, flag_document, run_echo, run_proxy, wait_for, write_flags
from tests.servers import ROOT, Server, free_port, stop_process

ORG = 7


def samples(metrics: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called `name`, by its sorted labels."""
    found = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def flag_changes(proxy: Server) -> dict[str, float]:
    metrics = httpx.get(proxy.url + "/metrics", timeout=5).text
    return {
        dict(labels)["flag"]: value
        for labels, value in samples(metrics, "strangler_flag_changes_total").items()
    }


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy-metrics-logs")


@pytest.fixture(scope="module")
def echo(logs: Path) -> Iterator[Server]:
    with run_echo("legacy", logs) as server:
        yield server


def test_each_changed_flag_is_counted_once_and_the_first_load_is_not(
    echo: Server, logs: Path, tmp_path: Path
) -> None:
    flags = tmp_path / "flags.json"
    write_flags(flags, flag_document())
    with run_proxy(logs, legacy_url=echo.url, plugin_url=echo.url, flags_path=flags) as proxy:
        start = flag_changes(proxy)
        assert set(start) == {*(s.value for s in Surface), KILL_SWITCH_FLAG, "other"}
        assert set(start.values()) == {0.0}

        write_flags(flags, flag_document({Surface.TOURNAMENT_API: {ORG: "shadow"}}))
        wait_for(lambda: flag_changes(proxy)[Surface.TOURNAMENT_API.value] == 1)

        both = {Surface.TOURNAMENT_API: {ORG: "live"}, Surface.ASYNC_QUALIFIER_API: {ORG: "shadow"}}
        write_flags(flags, flag_document(both, kill_switch=True))
        wait_for(lambda: flag_changes(proxy)[KILL_SWITCH_FLAG] == 1)
        changes = flag_changes(proxy)
        assert changes == {
            Surface.TOURNAMENT_API.value: 2,
            Surface.ASYNC_QUALIFIER_API.value: 1,
            Surface.ASYNC_QUALIFIER_DISCORD.value: 0,
            KILL_SWITCH_FLAG: 1,
            "other": 0,
        }

        document = flag_document(both, kill_switch=True)
        document["flags"]["experiment"] = document["flags"][KILL_SWITCH_FLAG]
        write_flags(flags, document)
        wait_for(lambda: flag_changes(proxy)["other"] == 1)
        assert flag_changes(proxy) == {**changes, "other": 1}


def test_every_worker_of_a_replica_reports_the_requests_of_all(
    echo: Server, logs: Path, tmp_path: Path
) -> None:
    flags = tmp_path / "flags.json"
    write_flags(flags, flag_document({Surface.TOURNAMENT_API: {ORG: "plugin"}}))
    multiprocess_dir = tmp_path / "prometheus"
    multiprocess_dir.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "STRANGLER_LEGACY_URL": echo.url,
        "STRANGLER_PLUGIN_URL": echo.url,
        "STRANGLER_FLAGS_PATH": str(flags),
        "STRANGLER_DATABASE_URL": f"sqlite://{tmp_path / 'records.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(multiprocess_dir),
    }
    command = [sys.executable, "-m", "uvicorn", "proxy.main:app", "--port", str(port), "--workers", "2"]
    log = (logs / f"multiprocess-proxy-{port}.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url + PROXY_HEALTH), timeout_s=30, interval_s=0.1)
        wait_for(lambda: len(list(multiprocess_dir.glob("counter_*.db"))) == 2, timeout_s=30, interval_s=0.1)
        requests = 60

        def get(_: int) -> int:
            # A fresh connection each: the workers share the listening socket.
            return httpx.get(f"{url}/api/tournaments/organizations/{ORG}", timeout=10).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(get, range(requests))) == {200}

        def total(metrics: str) -> float:
            return sum(samples(metrics, "strangler_requests_total").values())

        # Whichever worker answers the scrape, it reports every worker's requests.
        scrapes = [httpx.get(url + "/metrics", timeout=5).text for _ in range(10)]
        assert {total(scrape) for scrape in scrapes} == {requests}
        served = samples(scrapes[0], "strangler_requests_total")
        assert served == {
            (
                ("backend", "plugin"),
                ("flag", Surface.TOURNAMENT_API.value),
                ("mode", "plugin"),
                ("organization", str(ORG)),
                ("status", "2xx"),
            ): requests
        }
        durations = samples(scrapes[0], "strangler_request_duration_seconds_count")
        assert sum(durations.values()) == requests
    finally:
        stop_process(process)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
