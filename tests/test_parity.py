"""Parity (issue 3): the scripted scenario (tests/parity_scenario.py) runs against
legacy_app and against plugin_app - each a real server, each on its own copy of the same
starting database, on SQLite and on PostgreSQL - and every answer must be equal.

Equal means status, media type and body, after the canonical form of
tests/parity_comparison.py. It ignores only (reasons there and in docs/parity.md):
- generated ids - rows the scenario creates, Discord threads the stand-in makes - which
  are compared by order of first appearance instead of by value;
- timestamps the servers take from their own clocks (null-ness and format still count);
- `elapsed_seconds` measured between two such timestamps.

Besides the HTTP and Discord answers, the calls each app made to (the stand-in for)
Discord's REST API - the race threads it opened and the messages it posted - are compared
the same way.

`STRANGLER_PARITY_CANDIDATE=legacy_app.main:app` compares legacy_app with itself: the
check that the canonical form removes all noise and nothing more (it must pass).
`STRANGLER_PARITY_DUMP=<folder>` writes both recordings there as JSON, for a side-by-side
reading of a mismatch.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.legacy_discord_support import discord_env
from tests.parity_comparison import ID_KEYS, TEXT_IDS, Channel, Exchange, compare_recordings
from tests.parity_scenario import run_scenario
from tests.parity_support import Cast, ScenarioDatabase, Side, twin_databases
from tests.servers import Server, run_server

REFERENCE_APP = "legacy_app.main:app"
CANDIDATE_APP = os.environ.get("STRANGLER_PARITY_CANDIDATE", "plugin_app.main:app")
DUMP_FOLDER = os.environ.get("STRANGLER_PARITY_DUMP")
SYSTEM_PREFIXES = ("/api/tournaments", "/api/stream-channels", "/api/async-qualifiers")
SPEC_COMMANDS = {
    "/async_post_embed",
    "/async_start",
    "/async_finish",
    "/async_forfeit",
    "/async_extend_timeout",
    "/async_calculate_scores",
}
SPEC_BUTTONS = {"async_start:", "async_start_pool:"}
ERROR_STATUSES = {400, 401, 403, 404, 409, 422}
SNOWFLAKE = re.compile(r"\d{17,20}")


@dataclass
class Recordings:
    reference: list[Exchange]
    candidate: list[Exchange]
    cast: Cast
    reference_routes: set[tuple[str, str]]
    candidate_plugins: dict[str, str]  # plugin id -> status, when the candidate is plugin_app


def app_env(database_url: str, discord_api: Server) -> dict[str, str]:
    env = discord_env(database_url, discord_api, scheduler_enabled="false")
    # plugin_app: only the built-in plugins, none from the environment's entry points.
    return {**env, "STRANGLER_PLUGIN_ENTRY_POINTS": "false", "STRANGLER_PLUGIN_DIRS": ""}


def outbound_exchanges(discord_api: Server) -> list[Exchange]:
    """What an app sent to the stand-in for Discord's API, as exchanges to compare."""
    requests = httpx.get(discord_api.url + "/_fake/requests", timeout=10).json()
    return [
        Exchange(
            step=f"outbound call #{n}",
            channel=Channel.OUTBOUND,
            method=r["method"],
            route=SNOWFLAKE.sub("{id}", r["path"]),
            target=r["path"],
            request=None,
            expected=None,
            status=0,
            media_type="",
            body={"path": r["path"], "query": r["query"], "json": r["json"]},
        )
        for n, r in enumerate(requests, start=1)
    ]


def dump(path: Path, exchanges: list[Exchange]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(e) for e in exchanges], indent=1, default=str))


def api_routes(server: Server) -> set[tuple[str, str]]:
    """(method, template with anonymous placeholders) of the systems' routes an app serves."""
    schema = httpx.get(server.url + "/openapi.json", timeout=10).json()
    return {
        (method.upper(), _anonymous(path))
        for path, operations in schema["paths"].items()
        if path.startswith(SYSTEM_PREFIXES)
        for method in operations
    }


def plugin_statuses(server: Server, cast: Cast) -> dict[str, str]:
    answer = httpx.get(server.url + "/api/admin/plugins", headers=cast.global_admin.headers, timeout=10)
    if answer.status_code == 404:  # legacy_app, compared with itself
        return {}
    return {p["id"]: p["status"] for p in answer.json()["plugins"]}


def _anonymous(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


@pytest.fixture(scope="module")
def recordings(
    database_url: str, server_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Recordings]:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    fake_discord = "tests.discord_support:fake_discord_app"
    with (
        twin_databases(backend, tmp_path_factory.mktemp(f"parity-{backend}")) as (first, second, cast),
        run_server(fake_discord, {}, server_logs, health_path="/_fake/healthz") as reference_discord,
        run_server(fake_discord, {}, server_logs, health_path="/_fake/healthz") as candidate_discord,
        run_server(REFERENCE_APP, app_env(first, reference_discord), server_logs) as reference_server,
        run_server(CANDIDATE_APP, app_env(second, candidate_discord), server_logs) as candidate_server,
    ):
        recorded = []
        for name, server, url, discord_api in (
            ("reference", reference_server, first, reference_discord),
            ("candidate", candidate_server, second, candidate_discord),
        ):
            side = Side(name, server, ScenarioDatabase(url), cast)
            try:
                run_scenario(side)
            finally:
                side.close()
            recorded.append(side.exchanges + outbound_exchanges(discord_api))
            if DUMP_FOLDER:
                dump(Path(DUMP_FOLDER) / f"{backend}-{name}.json", recorded[-1])
        plugins = plugin_statuses(candidate_server, cast)
        yield Recordings(recorded[0], recorded[1], cast, api_routes(reference_server), plugins)


def test_the_scenario_gets_what_the_spec_demands_from_legacy(recordings: Recordings) -> None:
    wrong = [
        f"{e.step}: {e.method} {e.target} expected {e.expected!r}, got {e.outcome!r}: {e.body}"
        for e in recordings.reference
        if e.channel is not Channel.OUTBOUND and e.outcome != e.expected
    ]
    assert not wrong, "\n".join(wrong)


def test_the_scenario_covers_every_route_command_and_error_class(recordings: Recordings) -> None:
    exchanged = recordings.reference
    driven = {(e.method, _anonymous(e.route)) for e in exchanged if e.channel is Channel.HTTP}
    assert recordings.reference_routes, "legacy_app's schema lists no routes of the two systems"
    assert recordings.reference_routes - driven == set()
    commands = {e.route for e in exchanged if e.method == "COMMAND"}
    buttons = {e.route for e in exchanged if e.method == "BUTTON"}
    assert SPEC_COMMANDS - commands == set()
    assert SPEC_BUTTONS - buttons == set()
    statuses = {e.status for e in exchanged if e.channel is Channel.HTTP}
    assert ERROR_STATUSES - statuses == set()
    # Every route answers at least one error path besides 401, and at least one success.
    for route in recordings.reference_routes:
        answers = {e.status for e in exchanged if (e.method, _anonymous(e.route)) == route}
        assert any(s < 300 for s in answers), (route, answers)
        assert answers - {401} - set(range(200, 300)), (route, answers)
    assert any(e.channel is Channel.OUTBOUND and e.route.endswith("/threads") for e in exchanged)


def test_the_candidate_serves_both_systems_from_its_builtin_plugins(recordings: Recordings) -> None:
    if CANDIDATE_APP.startswith("plugin_app"):
        plugins = recordings.candidate_plugins
        assert (plugins.get("tournament"), plugins.get("async_qualifier")) == ("active", "active"), plugins


def test_legacy_and_plugin_answer_alike(recordings: Recordings, capsys: pytest.CaptureFixture[str]) -> None:
    report = compare_recordings(recordings.reference, recordings.candidate)
    with capsys.disabled():
        print(f"\n{REFERENCE_APP} vs {CANDIDATE_APP}: {report.summary()}")
    assert not report.mismatches, report.details()
    assert report.compared == len(recordings.reference) > 300


def test_the_comparison_maps_ids_and_catches_every_other_difference(recordings: Recordings) -> None:
    """The comparator on the real recording: shifted generated ids and server-clock times
    are no difference; a changed score, detail, order, timestamp format or status is."""
    reference = recordings.reference
    assert not compare_recordings(reference, reference).mismatches

    def altered(index: int, change: Callable[[Any], Any]) -> list[Exchange]:
        copy = [replace(e, body=deepcopy(e.body)) for e in reference]
        copy[index] = replace(copy[index], body=change(copy[index].body))
        return copy

    def first(predicate: Callable[[Exchange], bool]) -> int:
        return next(n for n, e in enumerate(reference) if predicate(e))

    shifted = [replace(e, body=shift_ids(e.body, 1000)) for e in reference]
    report = compare_recordings(reference, shifted)
    assert not report.mismatches and not report.ids_coincided
    created = first(lambda e: e.status == 201 and "tracker_enabled" in e.body)
    inconsistent = altered(created, lambda body: {**body, "id": body["id"] + 1000})
    assert compare_recordings(reference, inconsistent).mismatches

    board = first(lambda e: isinstance(e.body, dict) and len(e.body.get("entries", [])) > 1)
    changes: list[Callable[[Any], Any]] = [
        lambda b: {
            **b,
            "entries": [{**b["entries"][0], "score": b["entries"][0]["score"] + 0.001}, *b["entries"][1:]],
        },
        lambda b: {**b, "entries": list(reversed(b["entries"]))},
        lambda b: dict(reversed(list(b.items()))),
    ]
    for change in changes:
        assert compare_recordings(reference, altered(board, change)).mismatches
    refusal = first(lambda e: e.status == 403)
    assert compare_recordings(reference, altered(refusal, lambda b: {"detail": b["detail"] + "."})).mismatches
    stamped = first(lambda e: isinstance(e.body, dict) and str(e.body.get("created_at", "")).endswith("Z"))
    plus = altered(stamped, lambda b: {**b, "created_at": b["created_at"].replace("Z", "+00:00")})
    assert compare_recordings(reference, plus).mismatches
    other_status = [replace(e, status=418) if n == refusal else e for n, e in enumerate(reference)]
    assert compare_recordings(reference, other_status).mismatches


def shift_ids(value: Any, by: int, key: str | None = None) -> Any:
    """Every generated id in a body moved by `by`, as another database might number them."""
    if isinstance(value, dict):
        return {k: shift_ids(v, by, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_ids(v, by) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and (key == "id" or key in ID_KEYS):
        return value + by
    if isinstance(value, str):
        for pattern, _ in TEXT_IDS:
            value = pattern.sub(lambda m: _shift_groups(m, by), value)
    return value


def _shift_groups(match: re.Match[str], by: int) -> str:
    text, start = match.group(0), match.start(0)
    for group in reversed(range(1, (match.lastindex or 0) + 1)):
        a, b = match.start(group) - start, match.end(group) - start
        text = text[:a] + str(int(text[a:b]) + by) + text[b:]
    return text
