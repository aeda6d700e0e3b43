"""Shadow traffic over the whole parity scenario (tests/parity_scenario.py), through the
proxy, on SQLite and PostgreSQL: every route and every Discord command of both systems,
reads and writes, driven with both organizations of the scenario in `shadow` mode, and
again in `live` mode.

- Mirrors change no data: each mirrored run is paired with a control run of the same
  scenario on a copy of the same starting state, with the same app processes, straight
  to the app that is the primary (legacy for shadow, plugin for live), nothing mirrored.
  Afterwards every table of the mirrored run holds exactly what the control's holds
  (tests/shadow_support.snapshot: generated ids by rank, clock times by presence).
- The unchanged plugin_app produces no mismatch over the whole scenario, and every route
  of the route map and every Discord command was compared.
- The clients got what the spec demands (the primary answers them, mirrors or not).

Each step of the scenario waits until its mirrors have finished (tests/shadow_support.
proxied_side), so that a step never changes the state the previous step's mirror reads.
Noise is probed as in production (the first five comparisons of a route, then one in 20).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from proxy.route_map import RouteMap
from proxy.shadow.mirror import discord_route, http_route
from tests.parity_comparison import Channel, Exchange
from tests.parity_scenario import run_scenario
from tests.parity_support import Cast, ScenarioDatabase, Side, twin_databases
from tests.servers import Server, run_server
from tests.shadow_support import (
    FAKE_DISCORD,
    Stack,
    app_servers,
    proxied_side,
    shadow_stack,
    snapshot,
    snapshot_differences,
)

MIRRORED = {"shadow": "legacy", "live": "plugin"}  # mirrored mode -> its control's mode
DRY_RUN_OUTCOME = re.compile(r'^strangler_dry_run_requests_total\{outcome="(\w+)"\} ([0-9.e+]+)$', re.M)


@dataclass
class Run:
    mode: str
    snapshot: dict[str, list[Any]]
    exchanges: list[Exchange]
    counts: dict[str, float]
    mismatches: list[dict[str, Any]]
    shadow: dict[str, Any]
    dry_runs: dict[str, dict[str, float]]  # app -> outcome -> requests


def drive(database_url: str, log_dir: Path, cast: Cast, mode: str, discord: Server) -> Run:
    """The scenario through the proxy, every organization in `mode`."""
    # Noise probes as in production: the first five comparisons of each route, then 1 in 20.
    production_probes = {"STRANGLER_SHADOW_NOISE_PROBE_EVERY": "20"}
    modes = {cast.home: mode, cast.away: mode}
    with shadow_stack(database_url, log_dir, modes, proxy_env=production_probes, discord=discord) as stack:
        side = proxied_side(mode, stack, cast)
        try:
            run_scenario(side)
        finally:
            side.close()
        stack.wait_until_idle()
        return Run(
            mode=mode,
            snapshot=snapshot(database_url),
            exchanges=side.exchanges,
            counts=stack.shadow_counts(),
            mismatches=stack.mismatches(),
            shadow=stack.admin("/shadow"),
            dry_runs={name: _dry_runs(url) for name, url in _app_urls(stack).items()},
        )


def control(database_url: str, log_dir: Path, cast: Cast, primary: str, discord: Server) -> Run:
    """The scenario straight to the primary app (no proxy, nothing mirrored), with the same
    app processes started as in the mirrored run."""
    with app_servers(database_url, log_dir, discord=discord) as backends:
        server = backends.legacy if primary == "legacy" else backends.plugin
        assert server is not None
        side = Side(primary, server, ScenarioDatabase(database_url), cast)
        try:
            run_scenario(side)
        finally:
            side.close()
        return Run(primary, snapshot(database_url), side.exchanges, {}, [], {}, {})


def _app_urls(stack: Stack) -> dict[str, str]:
    assert stack.backends.plugin is not None
    return {"legacy": stack.backends.legacy.url, "plugin": stack.backends.plugin.url}


def _dry_runs(url: str) -> dict[str, float]:
    text = httpx.get(url + "/metrics", timeout=10).text
    return {outcome: float(value) for outcome, value in DRY_RUN_OUTCOME.findall(text)}


@pytest.fixture(scope="module", params=list(MIRRORED))
def runs(
    request: pytest.FixtureRequest,
    database_url: str,
    server_logs: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Run, Run]]:
    """The mirrored run and its control side by side, each on its own copy of one starting
    state (their answers to Discord's stand-in share one)."""
    mode = request.param
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    folder = tmp_path_factory.mktemp(f"shadow-data-{backend}-{mode}")
    with (
        twin_databases(backend, folder) as (mirrored_url, control_url, cast),
        run_server(FAKE_DISCORD, {}, server_logs, health_path="/_fake/healthz") as discord,
        ThreadPoolExecutor(2) as pool,
    ):
        mirrored = pool.submit(drive, mirrored_url, server_logs, cast, mode, discord)
        controlled = pool.submit(control, control_url, server_logs, cast, MIRRORED[mode], discord)
        yield mirrored.result(), controlled.result()


def test_mirrors_change_no_data(runs: tuple[Run, Run]) -> None:
    mirrored, control = runs
    assert mirrored.counts["compared"] > 300, mirrored.counts
    differences = snapshot_differences(control.snapshot, mirrored.snapshot)
    assert not differences, "\n".join(differences)
    # Every mirrored write ran as a dry run both apps honoured; none ran for real.
    for app, outcomes in mirrored.dry_runs.items():
        assert outcomes.get("applied", 0) > 100, (app, outcomes)
        assert sum(v for k, v in outcomes.items() if k != "applied") == 0, (app, outcomes)


def test_the_unchanged_plugin_matches_over_the_whole_scenario(runs: tuple[Run, Run]) -> None:
    mirrored, _ = runs
    assert not mirrored.mismatches, [(m["route"], m["path"], m["differences"]) for m in mirrored.mismatches]
    assert mirrored.counts["mismatched"] == 0
    assert mirrored.counts["errors"] == 0 and mirrored.counts["dropped"] == 0, mirrored.counts
    assert mirrored.counts["matched"] == mirrored.counts["compared"]


def test_every_route_and_command_was_mirrored(runs: tuple[Run, Run]) -> None:
    mirrored, _ = runs
    route_map = RouteMap.load()
    expected = {
        http_route(method, route.template) for route in route_map.http_routes for method in route.methods
    }
    expected |= {
        discord_route(command, None, autocomplete=False)
        for surface in route_map.discord_surfaces
        for command in surface.commands
    }
    compared = {route for route, seen in mirrored.shadow["noise"].items() if seen["comparisons"] > 0}
    assert expected - compared == set()
    assert any(route.startswith("COMPONENT async_start") for route in compared)  # the button flow


def test_the_primary_answers_the_clients_as_the_spec_demands(runs: tuple[Run, Run]) -> None:
    for run in runs:
        wrong = [
            f"{e.step}: {e.method} {e.target} expected {e.expected!r}, got {e.outcome!r}"
            for e in run.exchanges
            # The proxy keeps /_strangler/ for itself; the apps' ownership endpoint is theirs.
            if e.channel != Channel.OUTBOUND and not e.target.startswith("/_strangler/")
            if e.outcome != e.expected
        ]
        assert not wrong, "\n".join(wrong)
