"""The cutover gate from Prometheus (proxy.gate.prometheus): a real Prometheus (Debian's
binary) started here, scraping the proxy and both backends every second with the
project's rules, reaches the same verdict on every budget as the proxy's own samples -
for a plugin as fast as legacy, one 10% slower, and one with too few samples - read
through `strangler gate --json` with PROMETHEUS_URL set. Its recording rules see the
slow plugin over budget too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gate_support import FLAG, GateStack, gate_stack, prometheus_value, run_prometheus, verdicts
from tests.servers import ROOT

STRANGLER = str(Path(sys.executable).with_name("strangler"))
WINDOW = {"STRANGLER_GATE_WINDOW": "300"}
PAIRS = 600
FAST, SLOW, FEW = 41, 42, 43
CATCH_UP_S = 30.0


def prometheus_verdict(stack: GateStack, prometheus: str, organization: int) -> dict[str, object]:
    result = subprocess.run(
        [STRANGLER, "gate", FLAG.value, "--org", str(organization), "--json"],
        env={**os.environ, **stack.env(), **WINDOW, "PROMETHEUS_URL": prometheus},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode in (0, 1), result.stderr
    evaluation: dict[str, object] = json.loads(result.stdout)
    assert result.returncode == (0 if evaluation["verdict"] == "pass" else 1)
    return evaluation


def wait_until_scraped(prometheus: str, counts: dict[int, int]) -> None:
    """Until Prometheus holds every compared pair the proxy counted, and a few memory samples."""
    deadline = time.monotonic() + CATCH_UP_S
    while time.monotonic() < deadline:
        scraped = {
            org: prometheus_value(
                prometheus, f'sum(strangler_gate_comparisons_total{{organization="{org}"}})'
            )
            for org in counts
        }
        memory = prometheus_value(
            prometheus,
            'min(count_over_time(process_resident_memory_bytes{job=~"legacy_app|plugin_app"}[5m]))',
        )
        if scraped == {org: float(count) for org, count in counts.items()} and (memory or 0) >= 5:
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not catch up with the proxy in {CATCH_UP_S}s")


def test_prometheus_and_the_proxy_reach_the_same_verdicts(tmp_path: Path) -> None:
    proxy_env = {**WINDOW, "STRANGLER_SHADOW_NOISE_PROBE_EVERY": "1000"}
    with gate_stack(tmp_path, proxy_env=proxy_env) as stack, run_prometheus(stack, tmp_path) as prometheus:
        for organization in (FAST, SLOW, FEW):
            assert stack.flip(organization, "shadow").status_code == 200
        assert set(stack.drive(FAST, PAIRS)) == {200}
        stack.control(stack.plugin, slowdown=1.1)
        assert set(stack.drive(SLOW, PAIRS)) == {200}
        stack.control(stack.plugin, slowdown=1.0)
        assert set(stack.drive(FEW, 40)) == {200}
        wait_until_scraped(prometheus, {FAST: PAIRS, SLOW: PAIRS, FEW: 40})

        local = {org: stack.gate(org) for org in (FAST, SLOW, FEW)}
        remote = {org: prometheus_verdict(stack, prometheus, org) for org in (FAST, SLOW, FEW)}
        slow_ratio = prometheus_value(
            prometheus, f'strangler:gate_latency_p50:ratio5m{{organization="{SLOW}"}}'
        )

    for organization in (FAST, SLOW, FEW):
        assert remote[organization]["source"] == "prometheus" and local[organization]["source"] == "proxy"
        assert verdicts(remote[organization]) == verdicts(local[organization]), (
            f"organization {organization}: prometheus says {remote[organization]['summary']}; "
            f"the proxy says {local[organization]['summary']}"
        )
    assert verdicts(local[FAST])["all"] == "pass", local[FAST]["summary"]
    assert verdicts(local[SLOW])["latency_p50"] == verdicts(local[SLOW])["latency_p95"] == "fail"
    assert verdicts(local[FEW])["all"] == "inconclusive"
    assert slow_ratio is not None and slow_ratio > 1.05, "the recording rule sees the slow plugin over budget"


@pytest.mark.parametrize("nowhere", ["http://127.0.0.1:9"])
def test_an_unreachable_prometheus_makes_the_gate_inconclusive(tmp_path: Path, nowhere: str) -> None:
    result = subprocess.run(
        [STRANGLER, "gate", FLAG.value, "--org", "3", "--json"],
        env={**os.environ, "PROMETHEUS_URL": nowhere},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr
    evaluation = json.loads(result.stdout)
    assert evaluation["verdict"] == "inconclusive"
    assert all(f"Prometheus at {nowhere} could not be read" in b["reason"] for b in evaluation["budgets"])
