"""The cutover gate from the proxy's own samples (proxy.gate with its LocalSource), with
real servers: two controllable backends (tests.gate_support) behind a real proxy, the
flag in shadow for each organization; and the gate's doors: GET /_strangler/api/gate,
flips through the operator API, `strangler gate` and `strangler flip`.

Each test reads verdicts, never timings: the backends' delays are large against the
machine's noise (80-120 ms, the same for both sides of a pair, ~80 requests a second),
and the plugin that must fail is 10% slower, twice the budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gate_support import FLAG, GateStack, gate_stack, verdicts
from tests.servers import ROOT, free_port

STRANGLER = str(Path(sys.executable).with_name("strangler"))
PAIRS = 600
PROXY_ENV = {
    "STRANGLER_GATE_WINDOW": "300",
    "STRANGLER_SHADOW_NOISE_PROBE_EVERY": "1000",  # no second legacy request beside each mirror
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateStack]:
    with gate_stack(tmp_path_factory.mktemp("gate"), proxy_env=PROXY_ENV) as made:
        yield made


def strangler(stack: GateStack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STRANGLER, *args],
        env={**os.environ, **stack.env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def mode_of(stack: GateStack, organization: int) -> str:
    status = stack.api("GET", "/status", params={"organization_id": organization}).json()
    modes = {entry["organization_id"]: entry["modes"] for entry in status["organizations"]}
    return str(modes[organization][FLAG.value])


def test_a_plugin_as_fast_as_legacy_passes_every_budget_and_may_move(stack: GateStack) -> None:
    stack.control(stack.plugin, slowdown=1.0)
    assert stack.flip(11, "shadow").status_code == 200
    assert set(stack.drive(11, PAIRS)) == {200}
    evaluation = stack.gate(11)
    assert verdicts(evaluation) == {
        "latency_p50": "pass",
        "latency_p95": "pass",
        "memory": "pass",
        "mismatch_rate": "pass",
        "error_rate": "pass",
        "all": "pass",
    }, evaluation["summary"]
    latency = {item["budget"]: item for item in evaluation["budgets"]}["latency_p95"]
    assert latency["samples"] == PAIRS and latency["bound"] <= latency["limit"] == 1.05
    assert evaluation["source"] == "proxy"
    metrics = stack.client.get("/metrics").text
    assert f'strangler_gate_verdict{{budget="all",flag="{FLAG.value}",organization="11"}} 1.0' in metrics

    moved = stack.flip(11, "live", reason="budgets hold")
    assert moved.status_code == 200, moved.text
    assert moved.json()["gate_verdict"] == "pass" and moved.json()["gate"]["verdict"] == "pass"
    entry = next(e for e in stack.audit() if e["organization_id"] == 11 and e["to"] == "live")
    assert (entry["gate_verdict"], entry["forced"], entry["reason"]) == ("pass", False, "budgets hold")


def test_a_plugin_ten_percent_slower_fails_the_latency_budget(stack: GateStack) -> None:
    stack.control(stack.plugin, slowdown=1.1)
    try:
        assert stack.flip(12, "shadow").status_code == 200
        assert set(stack.drive(12, PAIRS)) == {200}
        evaluation = stack.gate(12)
    finally:
        stack.control(stack.plugin, slowdown=1.0)
    found = verdicts(evaluation)
    assert found["latency_p50"] == found["latency_p95"] == found["all"] == "fail", evaluation["summary"]
    assert found["mismatch_rate"] == found["error_rate"] == "pass"
    assert "latency_p50" in evaluation["summary"] and "> 1.05" in evaluation["summary"]


def test_too_few_pairs_is_inconclusive_and_refuses_a_move(stack: GateStack) -> None:
    assert stack.flip(13, "shadow").status_code == 200
    assert set(stack.drive(13, 40)) == {200}
    evaluation = stack.gate(13)
    found = verdicts(evaluation)
    assert found["latency_p50"] == found["latency_p95"] == found["all"] == "inconclusive"
    assert (
        "only 40 pairs" in {item["budget"]: item for item in evaluation["budgets"]}["latency_p50"]["reason"]
    )

    refused = stack.flip(13, "live", reason="try it")
    assert refused.status_code == 409
    body = refused.json()
    assert "inconclusive" in body["detail"] and body["gate"]["verdict"] == "inconclusive"
    assert {item["budget"] for item in body["gate"]["budgets"]} >= {"latency_p50", "memory", "error_rate"}
    assert mode_of(stack, 13) == "shadow", "a refused move writes nothing"


def test_a_forced_move_is_audited_with_the_verdict(stack: GateStack) -> None:
    assert stack.flip(14, "shadow").status_code == 200
    forced = stack.flip(14, "plugin", reason="the launch cannot wait", force=True)
    assert forced.status_code == 200, forced.text
    assert forced.json()["gate_verdict"] == "inconclusive" and forced.json()["forced"] is True
    entry = next(e for e in stack.audit() if e["organization_id"] == 14 and e["to"] == "plugin")
    assert entry["gate_verdict"] == "inconclusive" and entry["forced"] is True
    assert entry["reason"].startswith("the launch cannot wait [forced past the cutover gate inconclusive")
    assert "latency_p50, latency_p95: only 0 pairs" in entry["reason"]
    # Back to legacy: never gated.
    back = stack.flip(14, "legacy", reason="done")
    assert back.status_code == 200 and back.json()["gate_verdict"] is None


def test_strangler_gate_prints_the_table_and_exits_by_the_verdict(stack: GateStack) -> None:
    assert stack.flip(16, "shadow").status_code == 200
    assert set(stack.drive(16, 30)) == {200}
    shown = strangler(stack, "gate", FLAG.value, "--org", "16")
    assert shown.returncode == 1, shown.stderr
    for column in ("budget", "measured", "bound", "limit", "samples", "verdict"):
        assert column in shown.stdout
    assert "latency_p95" in shown.stdout and "only 30 pairs" in shown.stdout
    assert "verdict: inconclusive" in shown.stdout

    as_json = strangler(stack, "gate", FLAG.value, "--org", "16", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["verdict"] == "inconclusive"


def test_strangler_flip_asks_the_gate_and_force_overrides_it(stack: GateStack) -> None:
    assert stack.flip(17, "shadow").status_code == 200
    refused = strangler(stack, "flip", FLAG.value, "--org", "17", "--to", "live", "--reason", "go")
    assert refused.returncode == 1
    assert "refusing to move" in refused.stderr and "inconclusive" in refused.stderr
    assert "latency_p50" in refused.stdout, "the verdict table is shown"

    forced = strangler(
        stack, "flip", FLAG.value, "--org", "17", "--to", "live", "--reason", "go anyway", "--force"
    )
    assert forced.returncode == 0, forced.stderr
    assert "gate: inconclusive (forced)" in forced.stdout
    entry = next(e for e in stack.audit() if e["organization_id"] == 17 and e["to"] == "live")
    assert entry["forced"] is True and entry["gate_verdict"] == "inconclusive"
    assert entry["reason"].startswith("go anyway [forced past the cutover gate inconclusive")


def test_without_a_proxy_or_prometheus_the_gate_is_inconclusive_and_says_why(stack: GateStack) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    shown = strangler(stack, "gate", FLAG.value, "--org", "18", STRANGLER_PROXY_URL=nowhere)
    assert shown.returncode == 1
    assert "PROMETHEUS_URL is not set and the proxy at" in shown.stdout
    assert "could not be reached" in shown.stdout and "verdict: inconclusive" in shown.stdout

    refused = strangler(
        stack,
        "flip",
        FLAG.value,
        "--org",
        "18",
        "--to",
        "plugin",
        "--reason",
        "x",
        STRANGLER_PROXY_URL=nowhere,
    )
    assert refused.returncode == 1 and "could not be reached" in refused.stderr
    assert mode_of(stack, 18) == "legacy"


def test_a_plugin_holding_twenty_percent_more_memory_fails_the_memory_budget(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # ~40 MB of interpreter, and ballast: (40 + 190) / (40 + 150) is about 1.2.
    with gate_stack(
        tmp_path_factory.mktemp("gate-memory"),
        legacy_ballast_mb=150,
        plugin_ballast_mb=190,
        proxy_env={**PROXY_ENV, "STRANGLER_GATE_MIN_MEMORY_SAMPLES": "4"},
    ) as stack:
        assert stack.flip(21, "shadow").status_code == 200
        stack.wait_for_memory_samples(4)
        evaluation = stack.gate(21)
    memory = {item["budget"]: item for item in evaluation["budgets"]}["memory"]
    assert memory["verdict"] == "fail" and evaluation["verdict"] == "fail", memory["reason"]
    assert memory["measured"] > memory["limit"] == 1.1
    assert memory["samples"] >= 4 and "plugin_app" in memory["reason"]
