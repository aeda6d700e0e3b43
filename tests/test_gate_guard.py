"""The guard (proxy.gate.guard) in a real proxy: an organization in `live` whose plugin
degrades - it starts failing, or becomes much slower - is rolled back to legacy by the
proxy itself within the guard's window, through the one flag-write path; the audit log
says which budget broke, with its numbers; the rollback is counted. A healthy
organization in live is left alone. The window is made short here (3 s, checked every
0.5 s) through the proxy's settings."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.gate_support import FLAG, GateStack, gate_stack

GUARD_WINDOW_S = 3.0
WAIT_S = 20.0
GUARD_ENV = {
    "STRANGLER_GUARD_ENABLED": "true",
    "STRANGLER_GUARD_INTERVAL": "0.5",
    "STRANGLER_GUARD_WINDOW": str(GUARD_WINDOW_S),
    "STRANGLER_GATE_MIN_PAIRS": "50",
    "STRANGLER_GATE_MIN_ANSWERS": "20",
    "STRANGLER_SHADOW_NOISE_PROBE_EVERY": "1000",
}
QUICK = (20, 40)  # ms asked of the backends per request


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateStack]:
    with gate_stack(tmp_path_factory.mktemp("guard"), proxy_env=GUARD_ENV) as made:
        yield made


def guard_entries(stack: GateStack, organization: int) -> list[dict[str, Any]]:
    return [e for e in stack.audit() if e["actor"] == "guard" and e["organization_id"] == organization]


def wait_for_guard(stack: GateStack, organization: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        entries = guard_entries(stack, organization)
        if entries:
            return entries[0]
        time.sleep(0.1)
    raise AssertionError(f"the guard did not roll organization {organization} back within {WAIT_S}s")


def rollbacks_counted(stack: GateStack) -> float:
    for line in stack.client.get("/metrics").text.splitlines():
        if line.startswith(f'strangler_guard_rollbacks_total{{flag="{FLAG.value}"}}'):
            return float(line.split()[-1])
    raise AssertionError("strangler_guard_rollbacks_total is not exported")


def move_to_live(stack: GateStack, organization: int) -> None:
    assert stack.flip(organization, "shadow").status_code == 200
    assert set(stack.drive(organization, 100, spread_ms=QUICK)) == {200}
    moved = stack.flip(organization, "live", reason="guard test", force=True)
    assert moved.status_code == 200, moved.text


def mode_of(stack: GateStack, organization: int) -> str:
    status = stack.api("GET", "/status", params={"organization_id": organization}).json()
    return {e["organization_id"]: e["modes"] for e in status["organizations"]}[organization][FLAG.value]


def test_a_healthy_plugin_in_live_is_left_alone(stack: GateStack) -> None:
    move_to_live(stack, 31)
    assert set(stack.drive(31, 200, spread_ms=QUICK)) == {200}
    # Several checks of the guard over a window full of healthy traffic.
    assert set(stack.drive(31, 100, spread_ms=QUICK)) == {200}
    time.sleep(GUARD_WINDOW_S / 2)
    assert guard_entries(stack, 31) == [] and mode_of(stack, 31) == "live"


def test_a_plugin_that_starts_failing_is_rolled_back_and_the_audit_says_why(stack: GateStack) -> None:
    move_to_live(stack, 32)
    before = rollbacks_counted(stack)
    stack.control(stack.plugin, status=500)
    try:
        statuses = stack.drive(32, 200, spread_ms=QUICK)
        entry = wait_for_guard(stack, 32)
    finally:
        stack.control(stack.plugin, status=200)
    assert 500 in statuses, "the plugin answered in live mode until the guard stepped in"
    assert (entry["flag"], entry["from"], entry["to"]) == (FLAG.value, "live", "legacy")
    assert entry["gate_verdict"] is None, "a rollback is never gated"
    reason = entry["reason"]
    assert reason.startswith(f"guard: budget broken over the last {GUARD_WINDOW_S:g} s (proxy)")
    assert "error_rate: plugin " in reason and "> legacy 0/" in reason and "(mirrored requests)" in reason
    assert mode_of(stack, 32) == "legacy"
    assert rollbacks_counted(stack) == before + 1
    # Back on legacy, the clients are answered again.
    assert set(stack.drive(32, 20, spread_ms=QUICK)) == {200}


def test_a_plugin_that_becomes_much_slower_is_rolled_back(stack: GateStack) -> None:
    move_to_live(stack, 33)
    stack.control(stack.plugin, slowdown=3.0)
    try:
        statuses = stack.drive(33, 200, spread_ms=QUICK)
        entry = wait_for_guard(stack, 33)
    finally:
        stack.control(stack.plugin, slowdown=1.0)
    assert set(statuses) == {200}
    assert (entry["from"], entry["to"]) == ("live", "legacy")
    # The window may still hold pairs from before: the tail shows the change first.
    assert re.search(
        r"latency_p(50|95): p\d+ plugin/legacy [\d.]+, 95% interval [\d.-]+ > 1.05", entry["reason"]
    )
    assert mode_of(stack, 33) == "legacy"
