"""legacy_app's tournaments over HTTP, on SQLite and PostgreSQL: tournaments, player
registration, stream channels, each role's permissions, the 401/403/404 shapes, another
tenant's organization id, and the ownership endpoint. Matches, crew and SpeedGaming are in
`test_legacy_tournament_matches`.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.factory import Caller, Factory, Org
from tests.servers import Server
from tests.tournament_support import FORBIDDEN, TournamentApi, parse_utc, scheduled_match

TOO_LARGE_ID = 2**63


@pytest.fixture
def api(legacy_server: Server) -> Iterator[TournamentApi]:
    with TournamentApi(legacy_server.url) as client:
        yield client


# -- tournaments ----------------------------------------------------------------------


def test_tournament_create_list_update_delete(api: TournamentApi, org: Org) -> None:
    created = api.create_tournament(org.manager, org.id, name="  Spring Cup ", description="d")
    assert created == {
        "id": created["id"],
        "organization_id": org.id,
        "name": "Spring Cup",
        "description": "d",
        "is_active": True,
        "tracker_enabled": True,
        "require_racetime_link": False,
        "speedgaming_enabled": False,
        "onsite_tournament": False,
        "created_at": created["created_at"],
        "updated_at": created["updated_at"],
    }
    parse_utc(created["created_at"])
    second = api.create_tournament(org.admin, org.id, name="Autumn Cup")

    listed = api.call("GET", f"/tournaments/organizations/{org.id}", org.member).json()
    assert [t["id"] for t in listed] == sorted([created["id"], second["id"]])

    path, params = f"/tournaments/{created['id']}", {"organization_id": org.id}
    patched = api.call("PATCH", path, org.manager, params=params, json={"onsite_tournament": True})
    assert patched.status_code == 200
    assert patched.json()["onsite_tournament"] is True
    assert patched.json()["name"] == "Spring Cup"  # absent keys are left alone
    assert parse_utc(patched.json()["updated_at"]) >= parse_utc(created["updated_at"])

    assert api.call("PATCH", path, org.manager, params=params, json={"name": None}).status_code == 422
    assert api.call("PATCH", path, org.manager, params=params, json={"bogus": 1}).status_code == 422
    assert api.call("PATCH", path, org.manager, json={"name": "x"}).status_code == 422  # org id required

    api.create_match(org.manager, org.id, created["id"], [org.member.user_id])
    assert api.call("DELETE", path, org.member, params=params).json() == FORBIDDEN
    assert api.call("DELETE", path, org.manager, params=params).status_code == 204
    gone = api.call("DELETE", path, org.manager, params=params)
    assert (gone.status_code, gone.json()) == (404, {"detail": "Tournament not found"})
    assert api.matches(org.manager, org.id, created["id"]) == []  # its matches went with it


def test_unknown_organization_is_404(api: TournamentApi, org: Org, factory: Factory) -> None:
    missing = factory.organization() + 10_000
    for path in (f"/tournaments/organizations/{missing}", f"/stream-channels/organizations/{missing}"):
        response = api.call("GET", path, org.global_admin)
        assert (response.status_code, response.json()) == (404, {"detail": "Organization not found"})


# -- authentication and error shapes ----------------------------------------------------


def test_authentication_is_required(api: TournamentApi, org: Org) -> None:
    path = f"/tournaments/organizations/{org.id}"
    anonymous = api.call("GET", path, None)
    assert anonymous.status_code == 401
    assert set(anonymous.json()) == {"detail"}
    bogus = api.call("GET", path, Caller(user_id=0, token="stk_not-a-token", discord_id=0))
    assert bogus.status_code == 401
    assert set(bogus.json()) == {"detail"}


def test_ids_out_of_range_are_rejected_not_crashing(api: TournamentApi, org: Org) -> None:
    for bad in (TOO_LARGE_ID, -1, 0):
        for method, path in (
            ("GET", f"/tournaments/organizations/{bad}"),
            ("GET", f"/tournaments/{bad}/players"),
            ("POST", f"/tournaments/matches/{bad}/winner"),
        ):
            response = api.call(method, path, org.admin, json={"user_id": org.member.user_id})
            assert response.status_code == 422, (method, path, response.text)
    response = api.call("POST", "/tournaments/crew/approve", org.admin, json={"crew_id": TOO_LARGE_ID})
    assert response.status_code == 422
    for raw in ('{"name": "nul\\u0000byte"}', '{"name": "\\ud800"}'):  # NUL, lone surrogate
        response = api.call(
            "POST",
            f"/tournaments/organizations/{org.id}",
            org.admin,
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422, raw


def test_missing_entities_are_404_with_their_names(api: TournamentApi, org: Org) -> None:
    nowhere = 2**31 - 1
    cases = [
        ("GET", f"/tournaments/{nowhere}/players", None, "Tournament not found"),
        ("PATCH", f"/tournaments/matches/{nowhere}", {}, "Match not found"),
        ("POST", "/tournaments/crew/approve", {"crew_id": nowhere}, "Crew signup not found"),
        ("DELETE", f"/stream-channels/organizations/{org.id}/{nowhere}", None, "Stream channel not found"),
    ]
    for method, path, body, detail in cases:
        response = api.call(method, path, org.admin, json=body)
        assert (response.status_code, response.json()) == (404, {"detail": detail}), path


def test_organization_id_of_another_tenant_is_404(api: TournamentApi, org: Org, factory: Factory) -> None:
    tournament, match = scheduled_match(api, org)
    crew = api.call(
        "POST", f"/tournaments/matches/{match['id']}/crew", org.member, json={"role": "tracker"}
    ).json()
    other = Org.make(factory)
    wrong = {"organization_id": other.id}
    cases = [
        ("PATCH", f"/tournaments/{tournament['id']}", {"name": "x"}, "Tournament not found"),
        ("GET", f"/tournaments/{tournament['id']}/players", None, "Tournament not found"),
        (
            "POST",
            f"/tournaments/{tournament['id']}/players/{org.member.user_id}",
            None,
            "Tournament not found",
        ),
        (
            "POST",
            f"/tournaments/matches/{match['id']}/advance-status",
            {"status": "started"},
            "Match not found",
        ),
        ("PUT", f"/tournaments/matches/{match['id']}/seed", {"url": "https://s"}, "Match not found"),
        ("POST", "/tournaments/crew/approve", {"crew_id": crew["id"]}, "Crew signup not found"),
    ]
    for caller in (other.admin, org.admin):  # an admin of either side learns nothing else
        for method, path, body, detail in cases:
            response = api.call(method, path, caller, params=wrong, json=body)
            assert (response.status_code, response.json()) == (404, {"detail": detail}), path
    create = api.call(
        "POST",
        "/tournaments/matches",
        other.admin,
        params=wrong,
        json={"tournament_id": tournament["id"], "player_ids": []},
    )
    assert (create.status_code, create.json()) == (404, {"detail": "Tournament not found"})
    assert api.match(org.manager, org.id, match["id"])["status"] is None  # nothing moved


# -- roles ----------------------------------------------------------------------------


def test_each_role_gets_what_it_is_granted(api: TournamentApi, org: Org) -> None:
    _, match = scheduled_match(api, org)
    expected = {  # role: (may read, writes it is allowed)
        "admin": (True, {"tournament", "match", "channel"}),
        "manager": (True, {"tournament", "match"}),
        "reviewer": (True, set()),
        "moderator": (True, set()),
        "member": (True, set()),
        "outsider": (False, set()),
        "global_admin": (True, {"tournament", "match", "channel"}),
    }
    for role, (may_read, allowed) in expected.items():
        caller: Caller = getattr(org, role)
        response = api.call("GET", f"/tournaments/organizations/{org.id}/matches", caller)
        assert response.status_code == (200 if may_read else 403), role
        if not may_read:
            assert response.json() == FORBIDDEN
        writes = {
            "tournament": ("POST", f"/tournaments/organizations/{org.id}", {"name": f"New {role}"}),
            "match": ("POST", f"/tournaments/matches/{match['id']}/advance-status", {"status": "checked_in"}),
            "channel": ("POST", f"/stream-channels/organizations/{org.id}", {"name": f"ch-{org.id}-{role}"}),
        }
        for name, (method, path, body) in writes.items():
            response = api.call(method, path, caller, json=body)
            if name in allowed:
                assert response.status_code in (200, 201), (role, name, response.text)
            else:
                assert (response.status_code, response.json()) == (403, FORBIDDEN), (role, name)


def test_players_listing_needs_membership(api: TournamentApi, org: Org) -> None:
    tournament = api.create_tournament(org.manager, org.id)
    path = f"/tournaments/{tournament['id']}/players"
    assert api.call("GET", path, org.reviewer).status_code == 200
    assert api.call("GET", path, org.outsider).json() == FORBIDDEN


# -- registration ---------------------------------------------------------------------


def test_registration_is_idempotent(api: TournamentApi, org: Org) -> None:
    tournament = api.create_tournament(org.manager, org.id)
    path = f"/tournaments/{tournament['id']}/players/{org.member.user_id}"
    first = api.call("POST", path, org.member)
    again = api.call("POST", path, org.member)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["tournament_id"] == tournament["id"]
    assert first.json()["user_id"] == org.member.user_id
    players = api.call("GET", f"/tournaments/{tournament['id']}/players", org.member).json()
    assert players == [first.json()]

    assert api.call("DELETE", path, org.member).status_code == 204
    assert api.call("DELETE", path, org.member).status_code == 204  # already gone: no-op
    assert api.call("GET", f"/tournaments/{tournament['id']}/players", org.member).json() == []


def test_simultaneous_registrations_make_one_row(api: TournamentApi, org: Org) -> None:
    tournament = api.create_tournament(org.manager, org.id)
    path = f"/tournaments/{tournament['id']}/players/{org.reviewer.user_id}"
    responses = api.concurrently(8, "POST", path, org.reviewer)
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(api.call("GET", f"/tournaments/{tournament['id']}/players", org.admin).json()) == 1


def test_registering_someone_else(api: TournamentApi, org: Org) -> None:
    tournament = api.create_tournament(org.manager, org.id)
    base = f"/tournaments/{tournament['id']}/players"
    assert api.call("POST", f"{base}/{org.moderator.user_id}", org.member).json() == FORBIDDEN
    assert api.call("POST", f"{base}/{org.member.user_id}", org.outsider).json() == FORBIDDEN
    assert api.call("POST", f"{base}/{org.moderator.user_id}", org.manager).status_code == 200
    outsider = api.call("POST", f"{base}/{org.outsider.user_id}", org.manager)
    assert (outsider.status_code, outsider.json()) == (404, {"detail": "User not found"})
    assert api.call("DELETE", f"{base}/{org.moderator.user_id}", org.member).json() == FORBIDDEN
    assert api.call("DELETE", f"{base}/{org.moderator.user_id}", org.manager).status_code == 204


# -- stream channels ------------------------------------------------------------------


def test_stream_channels(api: TournamentApi, org: Org, factory: Factory) -> None:
    base = f"/stream-channels/organizations/{org.id}"
    name = factory.unique("Main Stream")
    created = api.call("POST", base, org.admin, json={"name": name, "stream_url": "https://twitch.tv/x"})
    assert created.status_code == 201
    channel = created.json()
    assert channel == {
        "id": channel["id"],
        "organization_id": org.id,
        "name": name,
        "stream_url": "https://twitch.tv/x",
        "is_active": True,
    }
    assert api.call("GET", base, org.member).json() == [channel]
    assert api.call("GET", base, org.outsider).json() == FORBIDDEN
    assert api.call("POST", base, org.manager, json={"name": factory.unique("c")}).json() == FORBIDDEN

    other = Org.make(factory)
    duplicate = api.call(
        "POST", f"/stream-channels/organizations/{other.id}", other.admin, json={"name": name}
    )
    assert (duplicate.status_code, duplicate.json()) == (
        409,
        {"detail": f'A stream channel named "{name}" already exists'},
    )

    second = api.call("POST", base, org.admin, json={"name": factory.unique("Second")}).json()
    rename = api.call("PATCH", f"{base}/{second['id']}", org.admin, json={"name": name})
    assert rename.status_code == 409
    renamed = api.call("PATCH", f"{base}/{second['id']}", org.admin, json={"is_active": False}).json()
    assert (renamed["name"], renamed["is_active"]) == (second["name"], False)

    wrong_org = api.call(
        "PATCH",
        f"/stream-channels/organizations/{other.id}/{second['id']}",
        other.admin,
        json={"is_active": True},
    )
    assert (wrong_org.status_code, wrong_org.json()) == (404, {"detail": "Stream channel not found"})
    assert api.call("DELETE", f"{base}/{second['id']}", org.admin).status_code == 204
    assert [c["id"] for c in api.call("GET", base, org.member).json()] == [channel["id"]]


def test_simultaneous_channel_creation_keeps_one(api: TournamentApi, org: Org, factory: Factory) -> None:
    name = factory.unique("Race")
    responses = api.concurrently(
        6, "POST", f"/stream-channels/organizations/{org.id}", org.admin, json={"name": name}
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5


# -- ownership ------------------------------------------------------------------------


def test_ownership_endpoint_resolves_each_kind(api: TournamentApi, org: Org, factory: Factory) -> None:
    tournament, match = scheduled_match(api, org)
    crew = api.call(
        "POST", f"/tournaments/matches/{match['id']}/crew", org.member, json={"role": "tracker"}
    ).json()
    channel = api.call(
        "POST", f"/stream-channels/organizations/{org.id}", org.admin, json={"name": factory.unique("c")}
    ).json()
    owner = f"{api.base_url}/_strangler/owner"
    for kind, entity_id in (
        ("tournament", tournament["id"]),
        ("match", match["id"]),
        ("crew", crew["id"]),
        ("stream_channel", channel["id"]),
    ):
        response = httpx.get(f"{owner}/{kind}/{entity_id}", timeout=10)
        assert response.json() == {"organization_id": org.id}, kind
        for missing in (2**31 - 1, TOO_LARGE_ID, -5):
            assert httpx.get(f"{owner}/{kind}/{missing}", timeout=10).status_code == 404
