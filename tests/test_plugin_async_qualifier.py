"""plugin_app's async_qualifier plugin over HTTP, on SQLite and PostgreSQL.

- legacy_app's own scenarios (tests/test_legacy_async_qualifiers.py) run unchanged against a
  plugin_app server: this module's `api` fixture points them there;
- both apps, on one database, answer the same requests byte for byte (status, content
  type, body with its key order) and write the same audit rows;
- where the plugin is disabled for an organization, every route answers like an unknown
  one (404 `{"detail": "Not Found"}`), and answers again once it is re-enabled;
- the old import paths re-export the plugin's objects and warn.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import test_legacy_async_qualifiers as legacy_scenarios
from tests.async_qualifier_support import AsyncApi, execute, pin_elapsed, scenarios
from tests.factory import Caller, Factory, Org
from tests.plugin_support import PluginAdmin, plugin_app_server
from tests.servers import ROOT, Server

PLUGIN_ID = "async_qualifier"
ABSENT = {"detail": "Not Found"}

# legacy_app's scenarios, collected here with this module's fixtures: they drive plugin_app.
globals().update(scenarios(legacy_scenarios))


@pytest.fixture(scope="module")
def plugin_server(database_url: str, server_logs: Path) -> Iterator[Server]:
    # No scheduler: these tests drive the routes; tests/test_plugin_async_tasks.py runs the tasks.
    with plugin_app_server(database_url, server_logs, SCHEDULER_ENABLED="false") as server:
        yield server


@pytest.fixture
def api(plugin_server: Server) -> Iterator[AsyncApi]:
    with AsyncApi(plugin_server.url) as client:
        yield client


@pytest.fixture
def legacy_api(legacy_server: Server) -> Iterator[AsyncApi]:
    with AsyncApi(legacy_server.url) as client:
        yield client


# -- both apps, one database --------------------------------------------------------------------


def test_both_apps_answer_byte_for_byte(
    api: AsyncApi, legacy_api: AsyncApi, org: Org, factory: Factory
) -> None:
    """State written by both apps, then every read and every refusal asked of both."""
    qid = legacy_api.qualifier(org.manager, org.id, discord_channel_id=600_000_000_000_000_000 + org.id)["id"]
    pool = api.pool(org.manager, qid, "A", permalinks=3)
    other_pool = legacy_api.pool(org.manager, qid, "B", permalinks=1)
    fast, slow, quitter, idle = org.runners(factory, 4)
    fast_race = api.finished_race(fast, qid, pool_id=pool["id"])["id"]
    slow_race = legacy_api.finished_race(slow, qid, pool_id=pool["id"])["id"]
    pin_elapsed(factory, fast_race, 100.25)
    pin_elapsed(factory, slow_race, 170.5)
    api.recalculate(org.manager, qid)
    forfeited = legacy_api.forfeited_race(quitter, qid, pool_id=other_pool["id"])["id"]
    reviewed = api.ok(
        "PATCH", f"/races/{slow_race}/review", org.reviewer, json={"review_status": "rejected"}
    )["id"]
    api.ok("PATCH", f"/races/{fast_race}/submission", fast, json={"runner_vod_url": "https://vod.example/f"})
    pending = api.open(idle, qid, pool_id=pool["id"])["id"]

    requests: list[tuple[str, str, Caller | None, dict[str, Any]]] = [
        ("GET", f"/organizations/{org.id}", org.member, {}),
        ("GET", f"/{qid}", org.member, {"params": {"organization_id": org.id}}),
        ("GET", f"/{qid}/leaderboard", org.member, {}),
        ("GET", f"/{qid}/review-queue", org.reviewer, {}),
        ("GET", f"/{qid}/review-queue", org.reviewer, {"params": {"status": "finished", "limit": 1}}),
        ("GET", f"/races/{reviewed}/review", slow, {}),
        ("GET", f"/races/{fast_race}/review", org.admin, {}),
        # Refusals, which change nothing.
        ("POST", f"/races/{fast_race}/start", fast, {}),
        ("POST", f"/races/{forfeited}/finish", quitter, {}),
        ("POST", f"/races/{pending}/start", org.manager, {}),
        ("POST", f"/{qid}/races", idle, {"json": {"pool_id": other_pool["id"]}}),
        ("PATCH", f"/races/{fast_race}/review", fast, {"json": {"review_status": "accepted"}}),
        ("PATCH", f"/races/{pending}/review", org.reviewer, {"json": {"review_status": "accepted"}}),
        ("PATCH", f"/races/{fast_race}/submission", fast, {"json": {"review_requested_by_user": True}}),
        ("POST", f"/{qid}/pools", org.manager, {"json": {"name": "A"}}),
        ("POST", f"/organizations/{org.id}", org.member, {"json": {"name": "no"}}),
        ("GET", f"/{qid}", org.outsider, {}),
        ("GET", f"/{qid}", org.manager, {"params": {"organization_id": factory.organization()}}),
        ("GET", f"/{qid}", None, {}),
        ("POST", f"/{qid}/races", idle, {"json": {}}),
        ("PATCH", f"/{qid}", org.manager, {"json": {"name": None, "runs_per_pool": 0}}),
        ("GET", f"/{qid}/review-queue", org.reviewer, {"params": {"limit": 101}}),
        ("GET", "/99999999999", org.manager, {}),
    ]
    for method, path, caller, kwargs in requests:
        expected = legacy_api.call(method, path, caller, **kwargs)
        answered = api.call(method, path, caller, **kwargs)
        assert (answered.status_code, answered.headers["content-type"], answered.content) == (
            expected.status_code,
            expected.headers["content-type"],
            expected.content,
        ), (method, path)


def manager_actions(api: AsyncApi, org: Org, runner: Caller, name: str) -> tuple[int, list[int]]:
    """Every audited action of the API on a fresh qualifier; its id and the races opened."""
    qid = api.ok("POST", f"/organizations/{org.id}", org.manager, 201, json={"name": name})["id"]
    api.ok("PATCH", f"/{qid}", org.admin, json={"description": "audited", "runs_per_pool": 2})
    pool = api.pool(org.manager, qid, "Audit", permalinks=2)
    finished = api.finished_race(runner, qid, pool_id=pool["id"])["id"]
    api.ok(
        "PATCH",
        f"/races/{finished}/review",
        org.reviewer,
        json={"review_status": "accepted", "elapsed_seconds_override": 90.5},
    )
    forfeited = api.open(runner, qid, pool_id=pool["id"])["id"]
    api.act(org.manager, forfeited, "forfeit")
    api.recalculate(org.admin, qid)
    return qid, [finished, forfeited]


def audit_rows(factory: Factory, qid: int, race_ids: list[int]) -> list[tuple[str, str, int | None]]:
    """(action, details, user) with race ids as their position in `race_ids`."""
    rows = execute(
        factory,
        "SELECT action, details, user_id FROM async_qualifier_audit_logs WHERE qualifier_id = ? ORDER BY id",
        qid,
    )

    def ordinal(match: re.Match[str]) -> str:
        return f"{match.group(1)}#{race_ids.index(int(match.group(2)))}"

    return [(r["action"], re.sub(r"([Rr]ace )(\d+)", ordinal, r["details"]), r["user_id"]) for r in rows]


def test_both_apps_write_the_same_audit_rows(
    api: AsyncApi, legacy_api: AsyncApi, org: Org, factory: Factory
) -> None:
    runner = org.runners(factory, 1)[0]
    by_legacy = audit_rows(factory, *manager_actions(legacy_api, org, runner, "Audited"))
    by_plugin = audit_rows(factory, *manager_actions(api, org, runner, "Audited"))
    assert [action for action, _, _ in by_plugin] == [
        "create_qualifier",
        "update_qualifier",
        "create_pool",
        "create_permalink",
        "create_permalink",
        "review_race",
        "forfeit_race",
        "recalculate_scores",
    ]
    assert by_plugin == by_legacy


# -- enablement -------------------------------------------------------------------------------


def every_route(org_id: int, qid: int, pool_id: int, race_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", f"/organizations/{org_id}", {}),
        ("POST", f"/organizations/{org_id}", {"json": {"name": "x"}}),
        ("GET", f"/{qid}", {}),
        ("GET", f"/{qid}", {"params": {"organization_id": org_id}}),
        ("PATCH", f"/{qid}", {"json": {"name": "y"}}),
        ("DELETE", f"/{qid}", {}),
        ("POST", f"/{qid}/pools", {"json": {"name": "P2"}}),
        ("POST", f"/pools/{pool_id}/permalinks", {"json": {"url": "https://x.example"}}),
        ("POST", f"/{qid}/races", {"json": {"pool_id": pool_id}}),
        *[
            ("POST", f"/races/{race_id}/{action}", {})
            for action in ("start", "finish", "forfeit", "reattempt")
        ],
        ("GET", f"/{qid}/leaderboard", {}),
        ("POST", f"/{qid}/recalculate", {}),
        ("GET", f"/{qid}/review-queue", {}),
        ("GET", f"/races/{race_id}/review", {}),
        ("PATCH", f"/races/{race_id}/review", {"json": {"review_status": "accepted"}}),
        ("PATCH", f"/races/{race_id}/submission", {"json": {"runner_notes": "n"}}),
    ]


def test_where_disabled_every_route_answers_like_an_unknown_one(
    api: AsyncApi, org: Org, factory: Factory, plugin_server: Server
) -> None:
    admin = PluginAdmin(plugin_server, org.global_admin.headers)
    qid = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=2)
    race = api.open(org.member, qid, pool_id=pool["id"])["id"]
    elsewhere = Org.make(factory)

    assert admin.disable(PLUGIN_ID, org.id).status_code == 200
    try:
        for method, path, kwargs in every_route(org.id, qid, pool["id"], race):
            for caller in (org.global_admin, org.member, None):
                response = api.call(method, path, caller, **kwargs)
                assert (response.status_code, response.json()) == (404, ABSENT), (method, path, caller)
        # Nothing was touched, and other organizations are served as before.
        assert execute(factory, "SELECT status FROM async_qualifier_races WHERE id = ?", race) == [
            {"status": "pending"}
        ]
        assert api.ok("GET", f"/organizations/{elsewhere.id}", elsewhere.member) == []
    finally:
        assert admin.enable(PLUGIN_ID, org.id).status_code == 200
    assert api.act(org.member, race, "start")["status"] == "in_progress"
    assert api.ok("GET", f"/{qid}", org.member)["pools"][0]["permalink_count"] == 2


def test_the_plugin_is_loaded_with_what_its_manifest_provides(plugin_server: Server, org: Org) -> None:
    listed = PluginAdmin(plugin_server, org.global_admin.headers).plugins()[PLUGIN_ID]
    assert (listed["version"], listed["type"], listed["status"]) == ("1.0.0", "builtin", "active")
    assert listed["provides"]["routes"] == ["/async-qualifiers"]
    assert sorted(listed["provides"]["discord_commands"]) == [
        "async_calculate_scores",
        "async_extend_timeout",
        "async_finish",
        "async_forfeit",
        "async_post_embed",
        "async_start",
    ]
    assert listed["provides"]["tasks"] == ["race_timeouts", "rescore"]


# -- the old import paths ---------------------------------------------------------------------------

OLD_PATHS = {
    "plugin_app.models.async_tournament": ("models", "AsyncQualifierRace"),
    "plugin_app.application.services.async_qualifiers": ("services", "RaceService"),
    "plugin_app.application.repositories.async_qualifier_repository": (
        "repositories",
        "AsyncQualifierRepository",
    ),
    "plugin_app.discordbot.commands.async_qualifier": ("commands.async_qualifier", "AsyncQualifierCommands"),
}

IMPORT_SCRIPT = """
import importlib, json, sys, warnings
old_paths = json.loads(sys.argv[1])
MOVED = "is deprecated; import from"
result = {}
for old, (new, name) in old_paths.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old_module = importlib.import_module(old)
    new_module = importlib.import_module("plugin_app.plugins.builtin.async_qualifier." + new)
    result[old] = {
        "same": getattr(old_module, name) is getattr(new_module, name),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught if MOVED in str(w.message)],
    }
print(json.dumps(result))
"""


def test_old_import_paths_re_export_and_warn() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT, json.dumps(OLD_PATHS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for old, (new, _) in OLD_PATHS.items():
        assert result[old] == {
            "same": True,
            "warnings": [
                f"DeprecationWarning: {old} is deprecated; import from "
                f"plugin_app.plugins.builtin.async_qualifier.{new} instead"
            ],
        }, old
