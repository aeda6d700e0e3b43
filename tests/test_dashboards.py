"""The Grafana dashboards (dashboards/): the committed JSON is what the builders make, every
PromQL expression in it passes promtool, and every one returns data from a real Prometheus
that scraped the whole stack while an organization was moved to shadow and loaded with
`strangler loadtest`.

Grafana's `$__rate_interval` becomes RATE_INTERVAL before Prometheus sees an expression.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dashboards.build import BUILDERS, DASHBOARD_DIR, build_all, expressions, stale
from proxy.modes import Surface
from tests.operations_support import (
    ADMIN_TOKEN,
    OperationsStack,
    Prometheus,
    operations_stack,
    run_prometheus,
    strangler,
)

SHADOW_ORG = 1
RUN_S = 10
RATE_INTERVAL = "10s"  # ten scrapes at the test's 1 s interval
# Expressions whose data only exists in a state a healthy run does not reach, and why.
NO_DATA_IN_A_HEALTHY_RUN = {
    "sum by (reason) (rate(strangler_shadow_errors_total[$__rate_interval]))": (
        "a mirror that produced no verdict (a side timed out, refused a dry run, ...)"
    ),
    "sum by (backend, kind) (rate(strangler_backend_errors_total[$__rate_interval]))": (
        "a backend that refused a connection, timed out or broke off an answer"
    ),
}


def all_expressions() -> list[tuple[str, str]]:
    found = []
    for name, text in build_all().items():
        found += [(f"{name}: {where}", expr) for where, expr in expressions(json.loads(text))]
    return found


def for_prometheus(expr: str) -> str:
    return expr.replace("$__rate_interval", RATE_INTERVAL)


def test_the_committed_dashboards_are_a_fresh_build() -> None:
    assert sorted(path.name for path in DASHBOARD_DIR.glob("*.json")) == sorted(BUILDERS)
    assert stale() == [], "run `strangler dashboards` and commit dashboards/*.json"


def test_the_dashboards_cover_what_an_operator_watches() -> None:
    exprs = " ".join(expr for _, expr in all_expressions())
    for metric in (
        "strangler_requests_total",
        "strangler_shadow_latency_seconds_bucket",
        "strangler_request_duration_seconds_bucket",
        "process_resident_memory_bytes",
        "strangler_shadow_matched_total",
        "strangler_gate_verdict",
        "strangler_flag_changes_total",
        "strangler_backend_errors_total",
    ):
        assert metric in exprs, metric
    for document in build_all().values():
        assert json.loads(document)["annotations"]["list"][0]["expr"].startswith("max by (flag) (increase(")
    assert "1.05 * histogram_quantile" in exprs and "1.1 * avg(process_resident_memory_bytes" in exprs
    assert set(NO_DATA_IN_A_HEALTHY_RUN) <= {expr for _, expr in all_expressions()}


def promtool_check(rules: Path, exprs: list[str]) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is not installed (Debian package `prometheus`)"
    records = [{"record": f"dashboard:expression_{n}", "expr": expr} for n, expr in enumerate(exprs)]
    rules.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": records}]}))  # JSON is YAML
    return subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )


def test_every_expression_passes_promtool(tmp_path: Path) -> None:
    exprs = [for_prometheus(expr) for _, expr in all_expressions()]
    checked = promtool_check(tmp_path / "dashboards.rules.yml", exprs)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in checked.stdout
    # The check is not vacuous: the same tool refuses a broken expression.
    broken = promtool_check(
        tmp_path / "broken.rules.yml", ["sum by (flag (rate(strangler_requests_total[1m]))"]
    )
    assert broken.returncode == 1


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, float, float]]:
    """Prometheus over the stack through a shadow move, a load run and a gate evaluation:
    (prometheus, start, end) of what it saw."""
    root = tmp_path_factory.mktemp("dashboards-stack")
    with operations_stack(root, root) as stack, run_prometheus(stack.targets(), root) as prometheus:
        started = time.time()
        stack.shadow(SHADOW_ORG)
        run_load(stack)
        ask_the_gate(stack)
        time.sleep(3)  # a few more scrapes: the last state, and the gate's verdicts
        yield prometheus, started, time.time()


def run_load(stack: OperationsStack) -> None:
    done = strangler(
        {**stack.env, "STRANGLER_LOADTEST_SIGNING_KEY": stack.signing_key},
        "loadtest",
        *("--duration", f"{RUN_S}s", "--users", "10", "--spawn-rate", "10"),
        *("--tokens-file", str(stack.tokens_file), "--out", str(stack.root / "report")),
        timeout=RUN_S + 90,
    )
    assert done.returncode == 0, done.stderr + done.stdout


def ask_the_gate(stack: OperationsStack) -> None:
    """What an operator does before a cutover: read each flag's gate verdict."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for surface in Surface:
        response = httpx.get(
            stack.proxy.url + "/_strangler/api/gate",
            params={"flag": surface.value, "organization_id": SHADOW_ORG},
            headers=headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text


def test_every_expression_returns_data_from_a_real_prometheus(
    loaded: tuple[Prometheus, float, float],
) -> None:
    prometheus, start, end = loaded
    without_data = []
    for where, expr in all_expressions():
        if expr in NO_DATA_IN_A_HEALTHY_RUN:
            continue
        series = prometheus.query_range(for_prometheus(expr), start, end)
        values = [float(value) for s in series for _, value in s["values"]]
        if not any(math.isfinite(value) for value in values):
            without_data.append(f"{where}: {expr}")
    assert without_data == [], "no data:\n" + "\n".join(without_data)


def test_the_shadow_organization_is_on_the_dashboards(loaded: tuple[Prometheus, float, float]) -> None:
    prometheus, start, end = loaded
    by_mode = prometheus.query_range(
        f'sum by (organization, mode) (rate(strangler_requests_total{{mode="shadow"}}[{RATE_INTERVAL}]))',
        start,
        end,
    )
    assert {s["metric"]["organization"] for s in by_mode} == {str(SHADOW_ORG)}
    changes = prometheus.query_range(
        "max by (flag) (increase(strangler_flag_changes_total[1m])) > 0", start, end
    )
    assert {s["metric"]["flag"] for s in changes} == {surface.value for surface in Surface}
    verdicts = prometheus.query(f'strangler_gate_verdict{{budget="all",organization="{SHADOW_ORG}"}}', end)
    assert {s["metric"]["flag"] for s in verdicts} == {surface.value for surface in Surface}
