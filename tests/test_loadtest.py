"""`strangler loadtest` (strangler/commands/loadtest.py, strangler/loadtest/): a short run
of loadtests/locustfile.py against a real stack with one organization in shadow writes a
report with both sides' latency and memory; bad input is one line on stderr."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from proxy.modes import Surface
from strangler.cli import app
from tests.operations_support import OperationsStack, operations_stack, strangler
from tests.servers import free_port

SHADOW_ORG = 1
RUN_S = 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperationsStack]:
    root = tmp_path_factory.mktemp("loadtest-stack")
    with operations_stack(root, root) as running:
        running.shadow(SHADOW_ORG)
        yield running


@pytest.fixture(scope="module")
def report(stack: OperationsStack) -> tuple[Path, str]:
    out = stack.root / "report"
    done = strangler(
        {**stack.env, "STRANGLER_LOADTEST_SIGNING_KEY": stack.signing_key},
        "loadtest",
        *("--duration", f"{RUN_S}s", "--users", "10", "--spawn-rate", "10"),
        *("--tokens-file", str(stack.tokens_file), "--out", str(out)),
        timeout=RUN_S + 90,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return out, done.stdout


def test_the_report_has_both_sides_latency_and_memory(report: tuple[Path, str]) -> None:
    out, stdout = report
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())

    assert summary["requests"]["requests"] > 0
    routes = {route["name"]: route for route in summary["routes"]}
    assert routes["/api/tournaments/organizations/{org}/matches"]["requests"] > 0
    assert any(name.startswith("discord /") and r["requests"] > 0 for name, r in routes.items())
    assert summary["discord_interactions"] is True

    latency = {(f["flag"], f["organization"]): f for f in summary["latency"]}
    assert {flag for flag, org in latency if org == SHADOW_ORG} >= {
        Surface.TOURNAMENT_API.value,
        Surface.ASYNC_QUALIFIER_API.value,
    }
    for figures in latency.values():
        assert figures["pairs"] > 0
        for side in ("legacy", "plugin"):
            assert 0 < figures[side]["p50_s"] <= figures[side]["p95_s"]
        assert {b["budget"] for b in figures["budgets"]} == {"latency_p50", "latency_p95"}
        assert all(b["limit"] == 1.05 for b in figures["budgets"])

    memory = summary["memory"]
    assert memory["median_bytes"]["legacy_app"] > 0
    assert memory["median_bytes"]["plugin_app"] > 0
    assert memory["budget"]["budget"] == "memory"
    assert memory["budget"]["limit"] == 1.1
    assert memory["budget"]["verdict"] in ("pass", "fail")  # a sample a second: enough samples
    assert len(summary["memory_samples"]["legacy_app"]) >= RUN_S // 2

    with (out / "summary.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    sides = {(row["figure"], row["side"]) for row in rows}
    for side in ("legacy", "plugin"):
        assert ("latency_p95_seconds", side) in sides
    for process in ("legacy_app", "plugin_app"):
        assert ("resident_memory_median_bytes", process) in sides
    assert ("memory_ratio", "plugin/legacy") in sides

    html = (out / "report.html").read_text()
    assert html.count("<svg") == 2
    assert "budget: legacy × 1.05" in html and "budget: legacy_app × 1.1" in html
    assert "tournament-api" in html and "plugin_app" in html
    assert "against the gate's budgets" in stdout and str(out / "report.html") in stdout.replace("\n", "")


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (["--duration", "ten"], {}, "--duration takes a time such as 30s"),
        (["--duration", "0s"], {}, "--duration must be between 1s and 24h"),
        (["--users", "0"], {}, "--users must be between 1 and"),
        (["--spawn-rate", "0"], {}, "--spawn-rate must be above 0"),
        ([], {"STRANGLER_LOADTEST_SIGNING_KEY": "not-hex"}, "must be a 64-digit hex Ed25519 seed"),
        (["--tokens-file", "{missing}"], {}, "no demo credentials at"),
        (["--tokens-file", "{garbage}"], {}, "cannot read the demo credentials"),
        (["--host", "http://127.0.0.1:{port}"], {}, "does not answer"),
    ],
)
def test_bad_input_is_one_line_on_stderr(
    arguments: list[str], environment: dict[str, str], message: str, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"tokens": [{"user": "x"}], "members": [{"user": "x"}]}))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    names = {"missing": tmp_path / "nope.json", "garbage": garbage, "port": free_port()}
    filled = [argument.format(**names) for argument in arguments]
    if "--tokens-file" not in filled:
        filled += ["--tokens-file", str(tokens)]
    env = {
        "STRANGLER_LOADTEST_SIGNING_KEY": "",
        "STRANGLER_PROXY_URL": f"http://127.0.0.1:{free_port()}",
        **environment,
    }
    # In-process (the command's own code, a fresh process costs ~2 s); the run above is real.
    done = CliRunner().invoke(app, ["loadtest", "--out", str(tmp_path / "out"), *filled], env=env)
    assert done.exit_code == 1, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert done.exception is None or isinstance(done.exception, SystemExit)
