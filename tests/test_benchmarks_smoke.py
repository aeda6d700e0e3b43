"""The benchmarks (benchmarks/) still run: each suite's measurement on the shortest settings,
producing figures and markdown. Figures are only checked to be numbers: tests never
assert timings."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

from benchmarks import (
    client_cost,
    decision_cost,
    flip_to_effect,
    footprint,
    proxy_overhead,
    shadow_overhead,
    soak,
)
from benchmarks.__main__ import main as run_benchmarks
from benchmarks.report import render_suite, write_sections
from benchmarks.results import RunOptions, SuiteResult, Table

TINY = RunOptions(
    quick=True,
    duration_s=1,
    repeats=1,
    concurrencies=(4,),
    routes=("5 ms",),
    unpinned=False,
    flips=1,
    startup_runs=1,
    load_s=1,
    soak_s=2,
    soak_interval_s=1,
)
NUMBER = re.compile(r"^[+-]?[\d,]+(\.\d+)?")
needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)


def figure(table: Table, row: int, column: str) -> float:
    """A table cell's median as a number (cells read `median (min–max)`)."""
    match = NUMBER.match(table.rows[row][table.header.index(column)])
    assert match is not None, f"{column!r} of {table.title!r} is not a figure: {table.rows[row]}"
    return float(match.group(0).replace(",", ""))


def assert_renders(result: SuiteResult) -> str:
    markdown = render_suite(result)
    assert markdown.startswith(f"## {result.title}")
    for table in result.tables:
        assert "| " + " | ".join(table.header) + " |" in markdown
    return markdown


@needs_wrk
def test_proxy_overhead_measures_direct_proxy_and_nginx() -> None:
    result = proxy_overhead.measure(TINY, log=lambda _: None)
    throughput = result.tables[0]
    assert [row[:2] for row in throughput.rows] == [["5 ms", "4"]]
    for column in ("direct req/s", "proxy req/s", "proxy CPU µs/req"):
        assert math.isfinite(figure(throughput, 0, column))
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        assert math.isfinite(figure(throughput, 0, "nginx CPU µs/req"))
    assert {check.figure.split(" (")[0] for check in result.targets} >= {"proxy CPU per request"}
    assert_renders(result)


@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="nginx is not installed"
)
def test_client_cost_compares_the_proxys_client_with_aiohttp() -> None:
    result = client_cost.measure(TINY, log=lambda _: None)
    table = result.tables[0]
    names = [row[0] for row in table.rows]
    assert names[0] == client_cost.KEPT
    assert "aiohttp ClientSession (before)" in names
    assert all(figure(table, row, "CPU µs/request") > 0 for row in range(len(names)))
    assert_renders(result)


def test_decision_cost_times_provider_and_cache() -> None:
    result = decision_cost.measure(TINY, log=lambda _: None)
    table = result.tables[0]
    names = [row[0] for row in table.rows]
    assert decision_cost.BASELINE in names
    assert "cached, kill switch + decision (per request)" in names
    assert all(figure(table, row, "µs per call") > 0 for row in range(len(names)))
    assert result.targets[0].met is not None
    assert_renders(result)


@needs_wrk
def test_shadow_overhead_measures_each_mirroring() -> None:
    result = shadow_overhead.measure(TINY, log=lambda _: None)
    throughput = result.tables[0]
    assert {row[1] for row in throughput.rows} == {how.value for how in shadow_overhead.Mirroring}
    assert all(math.isfinite(figure(throughput, row, "req/s")) for row in range(len(throughput.rows)))
    assert_renders(result)


def test_flip_to_effect_sees_both_methods_take_effect() -> None:
    result = flip_to_effect.measure(TINY, log=lambda _: None)
    table = result.tables[0]
    assert [row[1] for row in table.rows] == ["2", "2"]  # one flip each way per method
    assert all(figure(table, row, "start → effect") > 0 for row in range(2))
    assert all(check.met is not None for check in result.targets)
    assert_renders(result)


@needs_wrk
def test_footprint_measures_startup_and_memory() -> None:
    result = footprint.measure(TINY, log=lambda _: None)
    startup, memory = result.tables
    assert figure(startup, 0, "seconds") > 0
    assert [row[0] for row in memory.rows] == ["proxy", "legacy_app", "plugin_app"]
    assert all(figure(memory, row, "idle") > 0 for row in range(3))
    assert_renders(result)


@needs_wrk
def test_soak_records_the_proxys_memory() -> None:
    result = soak.measure(TINY, log=lambda _: None)
    samples = result.tables[0]
    assert len(samples.rows) >= 2
    assert figure(samples, 0, "MB") > 0
    assert_renders(result)


def test_generated_sections_replace_only_themselves(tmp_path: Path) -> None:
    document = tmp_path / "performance.md"
    document.write_text("# Performance\n\nHand-written notes.\n")
    write_sections({"decision": "first figures\n", "run": "first run\n"}, document)
    write_sections({"decision": "second figures\n"}, document)
    text = document.read_text()
    assert text.startswith("# Performance\n\nHand-written notes.\n")
    assert "second figures" in text and "first figures" not in text
    assert "first run" in text
    assert text.count("<!-- benchmarks:decision:begin -->") == 1


def test_one_command_writes_the_document(tmp_path: Path) -> None:
    document = tmp_path / "performance.md"
    document.write_text("# Performance\n\nKept.\n")
    status = run_benchmarks(
        ["--quick", "--only", "decision", "--write", "--output", str(document), "--nice", "0"]
    )
    assert status == 0
    text = document.read_text()
    assert "Kept." in text
    assert "### Targets of issue 8" in text
    assert "<!-- benchmarks:decision:begin -->" in text and "<!-- benchmarks:run:end -->" in text
