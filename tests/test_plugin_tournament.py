"""The built-in tournament plugin on a real plugin_app, on SQLite and PostgreSQL.

- Every scenario of `test_legacy_tournaments` and `test_legacy_tournament_matches` runs
  again, unchanged, with its `api` pointed at plugin_app: same statuses, bodies and rules.
- Byte-for-byte parity: the same requests to legacy_app and plugin_app, on the same rows,
  give the same status and the same response bytes (key order included).
- Enablement: where the plugin is disabled for an organization, every route kind answers
  404 `Not Found` (as an unknown route, before authentication) and changes nothing.
- Events: the plugin publishes MatchScheduled, MatchFinished, CrewAdded and CrewApproved
  on the app's bus, where another plugin (a listener written here) hears them.
- The ownership endpoint, the plugin's listing, and the deprecated import paths.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tests.test_legacy_tournament_matches as legacy_match_scenarios
import tests.test_legacy_tournaments as legacy_tournament_scenarios
from core.models import Permission
from tests.factory import Caller, Factory, Org
from tests.plugin_support import PluginAdmin, manifest, plugin_app_server, write_plugin
from tests.servers import ROOT, Server
from tests.tournament_support import TournamentApi, scheduled_match

NOT_FOUND = {"detail": "Not Found"}

LEGACY_SCENARIOS: list[Callable[..., None]] = [
    function
    for module in (legacy_tournament_scenarios, legacy_match_scenarios)
    for name, function in vars(module).items()
    if name.startswith("test_") and inspect.isfunction(function) and function.__module__ == module.__name__
]


LISTENER_CODE = """
from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter

from plugin_app.application.plugins import BasePlugin, EventListener, EventProvider, RouteProvider
from plugin_app.plugins.builtin.tournament.events import EVENT_TYPES


class TournamentListenerPlugin(BasePlugin, EventProvider, RouteProvider):
    \"\"\"Records every tournament event it hears (a listener in another plugin).\"\"\"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.heard = []

    def get_event_types(self):
        return []

    def get_event_listeners(self):
        return [EventListener(event_type, self.hear) for event_type in EVENT_TYPES]

    async def hear(self, event):
        fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(event).items()}
        del fields["occurred_at"]
        self.heard.append({"event": event.name, **fields})

    def get_api_router(self):
        router = APIRouter(prefix="/tournament_listener")

        @router.get("/heard")
        async def heard(organization_id: int):
            return [h for h in self.heard if h["organization_id"] == organization_id]

        return router
"""


@pytest.fixture(scope="module")
def plugin_server(
    database_url: str, server_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("tournament-listener")
    listener = manifest("tournament_listener", requires={"tournament": ">=1.0,<2"}, enabled_by_default=True)
    write_plugin(folder, "tournament_listener", manifest_data=listener, code=LISTENER_CODE)
    with plugin_app_server(database_url, server_logs, folder) as server:
        yield server


@pytest.fixture
def api(plugin_server: Server) -> Iterator[TournamentApi]:
    with TournamentApi(plugin_server.url) as client:
        yield client


@pytest.fixture
def legacy_api(legacy_server: Server) -> Iterator[TournamentApi]:
    with TournamentApi(legacy_server.url) as client:
        yield client


@pytest.fixture(scope="module")
def admin(plugin_server: Server, factory: Factory) -> PluginAdmin:
    return PluginAdmin(plugin_server, factory.user(permission=Permission.ADMIN).headers)


# -- legacy's scenarios, against plugin_app ---------------------------------------------------


@pytest.mark.parametrize("scenario", LEGACY_SCENARIOS, ids=lambda f: f.__name__)
def test_legacy_scenario_passes_on_plugin_app(
    scenario: Callable[..., None], api: TournamentApi, request: pytest.FixtureRequest
) -> None:
    """`api` is plugin_app's here; the scenario's other fixtures (`org`, `factory`) as usual."""
    wanted = inspect.signature(scenario).parameters
    # A scenario reaching a server another way (e.g. `legacy_server`) would test legacy here.
    assert set(wanted) <= {"api", "org", "factory"}, f"{scenario.__name__} asks for {sorted(wanted)}"
    scenario(**{name: api if name == "api" else request.getfixturevalue(name) for name in wanted})


# -- byte-for-byte parity with legacy_app -----------------------------------------------------


def _exchange(
    api: TournamentApi, method: str, path: str, caller: Caller | None, **kwargs: Any
) -> tuple[int, str | None, bytes]:
    response = api.call(method, path, caller, **kwargs)
    return response.status_code, response.headers.get("content-type"), response.content


def test_reads_and_refusals_are_byte_for_byte_legacys(
    api: TournamentApi, legacy_api: TournamentApi, org: Org, factory: Factory
) -> None:
    # Rows written by each app, read through both.
    tournament, match = scheduled_match(legacy_api, org, description="written by legacy_app")
    crew = api.call(
        "POST", f"/tournaments/matches/{match['id']}/crew", org.member, json={"role": "commentator"}
    ).json()
    api.call("PUT", f"/tournaments/matches/{match['id']}/seed", org.manager, json={"url": "https://s/1"})
    legacy_api.call(
        "POST", f"/tournaments/matches/{match['id']}/advance-status", org.manager, json={"status": "started"}
    )
    api.call("POST", f"/tournaments/{tournament['id']}/players/{org.member.user_id}", org.member)
    channel = api.call(
        "POST", f"/stream-channels/organizations/{org.id}", org.admin, json={"name": factory.unique("c")}
    ).json()
    nowhere = 2**31 - 1
    requests: list[tuple[str, str, Caller | None, dict[str, Any]]] = [
        ("GET", f"/tournaments/organizations/{org.id}", org.member, {}),
        ("GET", f"/tournaments/organizations/{org.id}/matches", org.reviewer, {}),
        ("GET", f"/tournaments/organizations/{org.id}/matches", org.member, {"params": {"tournament_id": 1}}),
        ("GET", f"/tournaments/{tournament['id']}/players", org.moderator, {}),
        ("GET", f"/stream-channels/organizations/{org.id}", org.member, {}),
        # Refusals change nothing, so each app can be asked in turn.
        ("GET", f"/tournaments/organizations/{org.id}", None, {}),
        ("GET", f"/tournaments/organizations/{org.id}", org.outsider, {}),
        ("GET", f"/tournaments/organizations/{nowhere}", org.global_admin, {}),
        ("PATCH", f"/tournaments/{tournament['id']}", org.manager, {"json": {"name": None}}),
        ("PATCH", f"/tournaments/{tournament['id']}", org.manager, {"json": {"bogus": 1, "name": ""}}),
        (
            "POST",
            f"/tournaments/matches/{match['id']}/advance-status",
            org.manager,
            {"json": {"status": "x"}},
        ),
        ("POST", f"/tournaments/matches/{match['id']}/winner", org.manager, {"json": {"user_id": nowhere}}),
        ("POST", "/tournaments/crew/approve", org.member, {"json": {"crew_id": crew["id"]}}),
        ("POST", "/tournaments/crew/approve", org.admin, {"json": {"crew_id": nowhere}}),
        ("POST", "/tournaments/crew/approve", org.admin, {"content": b"{not json", "headers": {}}),
        ("PATCH", f"/tournaments/matches/{2**40}", org.admin, {"json": {}}),
        ("DELETE", f"/stream-channels/organizations/{org.id}/{channel['id']}", org.manager, {}),
        ("POST", f"/stream-channels/organizations/{org.id}", org.admin, {"json": {"name": channel["name"]}}),
        ("POST", "/tournaments/matches", org.manager, {"json": {"tournament_id": tournament["id"]}}),
        (
            "POST",
            "/tournaments/matches",
            org.manager,
            {"params": {"organization_id": org.id}, "json": {"tournament_id": 1, "player_ids": [0]}},
        ),
    ]
    for method, path, caller, kwargs in requests:
        legacy = _exchange(legacy_api, method, path, caller, **kwargs)
        plugin = _exchange(api, method, path, caller, **kwargs)
        assert plugin == legacy, (method, path)


# -- enablement -----------------------------------------------------------------------------


def _disable_tournament(admin: PluginAdmin, organization_id: int) -> None:
    # The listener requires the tournament plugin: disabling is refused while it is enabled.
    for plugin_id in ("tournament_listener", "tournament"):
        response = admin.disable(plugin_id, organization_id)
        assert response.status_code == 200, response.text


def _enable_tournament(admin: PluginAdmin, organization_id: int) -> None:
    for plugin_id in ("tournament", "tournament_listener"):
        response = admin.enable(plugin_id, organization_id)
        assert response.status_code == 200, response.text


def _every_route(org: Org, ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, request) for each route of the plugin, naming `org` the way
    that route does; the templates' values are `_path_values`."""
    t, c, user = ids["tournament"], ids["crew"], org.member.user_id
    query = {"params": {"organization_id": org.id}}
    return [
        ("GET", "/tournaments/organizations/{organization_id}", {}),
        ("POST", "/tournaments/organizations/{organization_id}", {"json": {"name": "New"}}),
        ("PATCH", "/tournaments/{tournament_id}", {**query, "json": {"name": "Renamed"}}),
        ("PATCH", "/tournaments/{tournament_id}", {"json": {"name": "Renamed"}}),  # the tournament names it
        ("DELETE", "/tournaments/{tournament_id}", query),
        ("GET", "/tournaments/{tournament_id}/players", {}),
        ("POST", "/tournaments/{tournament_id}/players/{user_id}", {}),
        ("DELETE", "/tournaments/{tournament_id}/players/{user_id}", {}),
        ("GET", "/tournaments/organizations/{organization_id}/matches", {}),
        ("POST", "/tournaments/matches", {**query, "json": {"tournament_id": t, "player_ids": []}}),
        ("PATCH", "/tournaments/matches/{match_id}", {"json": {"title": "Changed"}}),
        ("POST", "/tournaments/matches/{match_id}/advance-status", {"json": {"status": "finished"}}),
        ("POST", "/tournaments/matches/{match_id}/revert-status", {"json": {"status": "scheduled"}}),
        ("POST", "/tournaments/matches/{match_id}/winner", {"json": {"user_id": user}}),
        ("PUT", "/tournaments/matches/{match_id}/seed", {"json": {"url": "https://seed"}}),
        ("DELETE", "/tournaments/matches/{match_id}/seed", {}),
        ("POST", "/tournaments/matches/{match_id}/crew", {"json": {"role": "tracker"}}),
        ("POST", "/tournaments/crew/approve", {"json": {"crew_id": c}}),
        ("POST", "/tournaments/crew/unapprove", {"json": {"crew_id": c}}),
        ("GET", "/stream-channels/organizations/{organization_id}", {}),
        ("POST", "/stream-channels/organizations/{organization_id}", {"json": {"name": f"new-{org.id}"}}),
        (
            "PATCH",
            "/stream-channels/organizations/{organization_id}/{channel_id}",
            {"json": {"is_active": False}},
        ),
        ("DELETE", "/stream-channels/organizations/{organization_id}/{channel_id}", {}),
    ]


def _path_values(org: Org, ids: dict[str, int]) -> dict[str, int]:
    return {
        "organization_id": org.id,
        "tournament_id": ids["tournament"],
        "user_id": org.member.user_id,
        "match_id": ids["match"],
        "channel_id": ids["channel"],
    }


def _served_routes(api: TournamentApi) -> set[tuple[str, str]]:
    """(method, template) of every tournament route plugin_app serves, from its OpenAPI."""
    paths = httpx.get(f"{api.base_url}/openapi.json", timeout=10).json()["paths"]
    return {
        (method.upper(), path.removeprefix("/api"))
        for path, operations in paths.items()
        if path.startswith(("/api/tournaments", "/api/stream-channels"))
        for method in operations
    }


def _populate(api: TournamentApi, org: Org, factory: Factory) -> dict[str, int]:
    tournament, match = scheduled_match(api, org)
    crew = api.call("POST", f"/tournaments/matches/{match['id']}/crew", org.member, json={"role": "tracker"})
    channel = api.call(
        "POST", f"/stream-channels/organizations/{org.id}", org.admin, json={"name": factory.unique("c")}
    )
    return {
        "tournament": tournament["id"],
        "match": match["id"],
        "crew": crew.json()["id"],
        "channel": channel.json()["id"],
    }


def test_disabled_for_an_organization_every_route_answers_as_absent(
    api: TournamentApi, admin: PluginAdmin, factory: Factory
) -> None:
    org, neighbour = Org.make(factory), Org.make(factory)
    ids = _populate(api, org, factory)
    before = api.matches(org.admin, org.id)
    _disable_tournament(admin, org.id)
    try:
        routes = _every_route(org, ids)
        assert {(method, template) for method, template, _ in routes} == _served_routes(api)
        values = _path_values(org, ids)
        for method, template, kwargs in routes:
            path = template.format(**values)
            for caller in (org.admin, org.global_admin, None):
                response = api.call(method, path, caller, **kwargs)
                assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, path, caller)
        # Another organization's routes answer as before.
        assert api.call("GET", f"/tournaments/organizations/{neighbour.id}", neighbour.member).json() == []
        # The ownership endpoint is the platform's, not the plugin's: it still answers.
        owner = httpx.get(f"{api.base_url}/_strangler/owner/match/{ids['match']}", timeout=10)
        assert owner.json() == {"organization_id": org.id}
    finally:
        _enable_tournament(admin, org.id)
    assert api.matches(org.admin, org.id) == before  # nothing was written while disabled
    listed = api.call("GET", f"/stream-channels/organizations/{org.id}", org.member).json()
    assert [c["id"] for c in listed] == [ids["channel"]]


def test_an_explicit_organization_id_of_a_disabled_tenant(
    api: TournamentApi, admin: PluginAdmin, factory: Factory
) -> None:
    """Each route asks about the organization the proxy routes by (proxy/route_map.yaml):
    `?organization_id=` first for PATCH/DELETE of a tournament, the entity elsewhere."""
    org, other = Org.make(factory), Org.make(factory)
    ids = _populate(api, org, factory)
    _disable_tournament(admin, other.id)
    wrong = {"organization_id": other.id}
    tournament = api.call("PATCH", f"/tournaments/{ids['tournament']}", org.admin, params=wrong, json={})
    assert (tournament.status_code, tournament.json()) == (404, NOT_FOUND)
    match = api.call("PATCH", f"/tournaments/matches/{ids['match']}", org.admin, params=wrong, json={})
    assert (match.status_code, match.json()) == (404, {"detail": "Match not found"})  # legacy's answer


# -- events ---------------------------------------------------------------------------------


def test_events_are_published_and_heard_by_another_plugin(api: TournamentApi, org: Org) -> None:
    tournament = api.create_tournament(org.manager, org.id)
    match = api.create_match(
        org.manager, org.id, tournament["id"], [org.member.user_id], scheduled_at="2030-01-01T10:00:00Z"
    )
    path = f"/tournaments/matches/{match['id']}"
    api.call("PATCH", path, org.manager, json={"scheduled_at": "2030-01-01T10:00:00Z"})  # unchanged: no event
    api.call("PATCH", path, org.manager, json={"scheduled_at": "2030-01-02T10:00:00Z"})
    api.call("POST", f"{path}/advance-status", org.manager, json={"status": "finished"})
    crew = api.call("POST", f"{path}/crew", org.member, json={"role": "tracker"}).json()
    api.call("POST", f"{path}/crew", org.member, json={"role": "tracker"})  # a repeat: no event
    api.call("POST", "/tournaments/crew/approve", org.manager, json={"crew_id": crew["id"]})
    api.call("POST", "/tournaments/crew/approve", org.admin, json={"crew_id": crew["id"]})  # no event

    heard = httpx.get(
        f"{api.base_url}/api/tournament_listener/heard", params={"organization_id": org.id}, timeout=10
    ).json()
    finished_at = heard[2].pop("finished_at")
    assert finished_at.endswith("+00:00")
    ids = {"organization_id": org.id, "match_id": match["id"]}
    assert heard == [
        {
            "event": "MatchScheduled",
            **ids,
            "tournament_id": tournament["id"],
            "scheduled_at": "2030-01-01T10:00:00+00:00",
        },
        {
            "event": "MatchScheduled",
            **ids,
            "tournament_id": tournament["id"],
            "scheduled_at": "2030-01-02T10:00:00+00:00",
        },
        {"event": "MatchFinished", **ids, "tournament_id": tournament["id"]},
        {
            "event": "CrewAdded",
            **ids,
            "crew_id": crew["id"],
            "user_id": org.member.user_id,
            "role": "tracker",
        },
        {
            "event": "CrewApproved",
            **ids,
            "crew_id": crew["id"],
            "user_id": org.member.user_id,
            "approved_by_id": org.manager.user_id,
        },
    ]


# -- ownership, listing, old import paths ------------------------------------------------------


def test_ownership_endpoint_answers_each_kind(api: TournamentApi, org: Org, factory: Factory) -> None:
    ids = _populate(api, org, factory)
    for kind, key in (("tournament", "tournament"), ("match", "match"), ("crew", "crew")):
        response = httpx.get(f"{api.base_url}/_strangler/owner/{kind}/{ids[key]}", timeout=10)
        assert response.json() == {"organization_id": org.id}, kind
    channel = httpx.get(f"{api.base_url}/_strangler/owner/stream_channel/{ids['channel']}", timeout=10)
    assert channel.json() == {"organization_id": org.id}
    missing = httpx.get(f"{api.base_url}/_strangler/owner/match/{2**31 - 1}", timeout=10)
    assert missing.status_code == 404


def test_the_plugin_is_listed_as_a_builtin_enabled_by_default(admin: PluginAdmin) -> None:
    plugin = admin.plugins()["tournament"]
    assert (plugin["status"], plugin["type"], plugin["source"], plugin["version"]) == (
        "active",
        "builtin",
        "builtin",
        "1.0.0",
    )
    assert plugin["enabled_by_default"] is True
    assert plugin["provides"]["routes"] == ["/tournaments", "/stream-channels"]
    assert plugin["provides"]["tasks"] == []
    assert set(plugin["provides"]["events"]) == {
        "MatchScheduled",
        "MatchFinished",
        "CrewAdded",
        "CrewApproved",
    }
    assert plugin["rejection"] is None


OLD_PATHS = {
    "plugin_app.models.match_schedule": ("plugin_app.plugins.builtin.tournament.models", "Match"),
    "plugin_app.application.services.tournaments": (
        "plugin_app.plugins.builtin.tournament.services",
        "MatchService",
    ),
    "plugin_app.application.repositories.tournament_repository": (
        "plugin_app.plugins.builtin.tournament.repositories",
        "TournamentRepository",
    ),
}

IMPORT_SCRIPT = """
import importlib, json, sys, warnings
old_name, new_name, attribute = sys.argv[1:4]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old = importlib.import_module(old_name)
new = importlib.import_module(new_name)
print(json.dumps({
    "same": getattr(old, attribute) is getattr(new, attribute),
    "warnings": [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)],
}))
"""


@pytest.mark.parametrize("old_path", sorted(OLD_PATHS))
def test_old_import_paths_work_and_warn(old_path: str) -> None:
    new_path, attribute = OLD_PATHS[old_path]
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT, old_path, new_path, attribute],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"same": True, "warnings": [f"{old_path} is deprecated; import from {new_path} instead"]}
