"""legacy_app's matches over HTTP, on SQLite and PostgreSQL: creation (members only, the
racetime-link check), updates, the status timestamps, the winner, seeds, crew signups and
approval, and SpeedGaming's read-only schedule.

Events (MatchScheduled, MatchFinished, CrewAdded, CrewApproved) go to legacy_app's
in-process bus, which nothing observes over HTTP; they are not asserted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.factory import Factory, Org
from tests.servers import Server
from tests.tournament_support import FORBIDDEN, SPEEDGAMING, TournamentApi, parse_utc, scheduled_match


@pytest.fixture
def api(legacy_server: Server) -> Iterator[TournamentApi]:
    with TournamentApi(legacy_server.url) as client:
        yield client


# -- matches --------------------------------------------------------------------------


def test_match_creation_and_shape(api: TournamentApi, org: Org) -> None:
    tournament = api.create_tournament(org.manager, org.id)
    players = [org.moderator.user_id, org.member.user_id, org.member.user_id]  # a repeat counts once
    match = api.create_match(
        org.manager,
        org.id,
        tournament["id"],
        players,
        title="Final",
        comment="best of one",
        scheduled_at="2030-05-01T20:00:00+02:00",
    )
    assert match == {
        "id": match["id"],
        "organization_id": org.id,
        "tournament_id": tournament["id"],
        "stream_channel_id": None,
        "title": "Final",
        "comment": "best of one",
        "status": "scheduled",
        "scheduled_at": "2030-05-01T18:00:00Z",
        "checked_in_at": None,
        "started_at": None,
        "finished_at": None,
        "confirmed_at": None,
        "players": match["players"],
        "crew": [],
        "seed": None,
    }
    assert [p["user_id"] for p in match["players"]] == [org.moderator.user_id, org.member.user_id]
    assert [p["id"] for p in match["players"]] == sorted(p["id"] for p in match["players"])
    assert all(p["finish_rank"] is None and p["assigned_station"] is None for p in match["players"])
    assert api.matches(org.reviewer, org.id, tournament["id"]) == [match]

    naive = api.call(
        "POST",
        "/tournaments/matches",
        org.manager,
        params={"organization_id": org.id},
        json={"tournament_id": tournament["id"], "scheduled_at": "2030-05-01T20:00:00"},
    )
    assert naive.status_code == 422


def test_match_players_must_be_members(api: TournamentApi, org: Org) -> None:
    tournament = api.create_tournament(org.manager, org.id)
    response = api.call(
        "POST",
        "/tournaments/matches",
        org.manager,
        params={"organization_id": org.id},
        json={"tournament_id": tournament["id"], "player_ids": [org.member.user_id, org.outsider.user_id]},
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Players are not members of the organization: {org.outsider.user_id}"
    }
    assert api.matches(org.manager, org.id, tournament["id"]) == []


def test_racetime_link_required_lists_unlinked_players(
    api: TournamentApi, org: Org, factory: Factory
) -> None:
    unlinked = [factory.user(org=org.id, racetime_id=None) for _ in range(2)]
    tournament = api.create_tournament(org.manager, org.id, require_racetime_link=True)
    body = {
        "tournament_id": tournament["id"],
        "player_ids": [org.member.user_id, *(u.user_id for u in unlinked)],
    }
    response = api.call(
        "POST", "/tournaments/matches", org.manager, params={"organization_id": org.id}, json=body
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("Players without a linked racetime.gg account: ")
    for user in unlinked:
        assert f"(id {user.user_id})" in detail
    assert f"(id {org.member.user_id})" not in detail
    assert api.matches(org.manager, org.id, tournament["id"]) == []

    linked = api.create_match(
        org.manager, org.id, tournament["id"], [org.member.user_id, org.moderator.user_id]
    )
    assert len(linked["players"]) == 2


def test_match_update_and_stream_channel(api: TournamentApi, org: Org, factory: Factory) -> None:
    _, match = scheduled_match(api, org)
    channel = api.call(
        "POST", f"/stream-channels/organizations/{org.id}", org.admin, json={"name": factory.unique("ch")}
    )
    path = f"/tournaments/matches/{match['id']}"
    updated = api.call(
        "PATCH",
        path,
        org.manager,
        json={
            "comment": "moved",
            "scheduled_at": "2031-01-01T10:00:00Z",
            "stream_channel_id": channel.json()["id"],
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["title"] == "Round 1"
    assert updated.json()["comment"] == "moved"
    assert updated.json()["scheduled_at"] == "2031-01-01T10:00:00Z"
    assert updated.json()["stream_channel_id"] == channel.json()["id"]
    assert updated.json()["status"] == "scheduled"

    cleared = api.call("PATCH", path, org.manager, json={"title": None, "stream_channel_id": None}).json()
    assert (cleared["title"], cleared["stream_channel_id"], cleared["comment"]) == (None, None, "moved")

    other = Org.make(factory)
    foreign = api.call(
        "POST", f"/stream-channels/organizations/{other.id}", other.admin, json={"name": factory.unique("ch")}
    )
    response = api.call("PATCH", path, org.manager, json={"stream_channel_id": foreign.json()["id"]})
    assert (response.status_code, response.json()) == (404, {"detail": "Stream channel not found"})
    assert api.call("PATCH", path, org.member, json={"comment": "x"}).json() == FORBIDDEN


def test_status_follows_the_latest_timestamp_in_order(api: TournamentApi, org: Org) -> None:
    _, match = scheduled_match(api, org)
    assert match["status"] is None  # created without scheduled_at
    path = f"/tournaments/matches/{match['id']}"

    def advance(status: str) -> dict[str, Any]:
        response = api.call("POST", f"{path}/advance-status", org.manager, json={"status": status})
        assert response.status_code == 200, response.text
        return response.json()

    def revert(status: str) -> dict[str, Any]:
        response = api.call("POST", f"{path}/revert-status", org.manager, json={"status": status})
        assert response.status_code == 200, response.text
        return response.json()

    assert advance("scheduled")["status"] == "scheduled"
    started = advance("started")
    assert started["status"] == "started"
    assert started["checked_in_at"] is None  # no prerequisite
    assert advance("checked_in")["status"] == "started"  # an earlier step does not win
    again = advance("started")
    assert parse_utc(again["started_at"]) >= parse_utc(started["started_at"])  # overwritten
    finished = advance("finished")
    assert finished["status"] == "finished"
    recorded = advance("recorded")
    assert recorded["status"] == "recorded"
    assert recorded["confirmed_at"] is not None

    assert revert("recorded")["confirmed_at"] is None
    reverted = revert("finished")
    assert (reverted["status"], reverted["finished_at"]) == ("started", None)
    assert revert("finished")["status"] == "started"  # clearing an unset one is a no-op
    assert revert("started")["status"] == "checked_in"
    assert revert("checked_in")["status"] == "scheduled"
    assert revert("scheduled")["status"] is None

    bad = api.call("POST", f"{path}/advance-status", org.manager, json={"status": "won"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "status"]
    assert (
        api.call("POST", f"{path}/advance-status", org.reviewer, json={"status": "started"}).json()
        == FORBIDDEN
    )


def test_winner_gets_rank_one_and_clears_the_others(api: TournamentApi, org: Org) -> None:
    _, match = scheduled_match(api, org)
    path = f"/tournaments/matches/{match['id']}/winner"

    def ranks(body: dict[str, Any]) -> dict[int, int | None]:
        return {p["user_id"]: p["finish_rank"] for p in body["players"]}

    first = api.call("POST", path, org.manager, json={"user_id": org.member.user_id})
    assert ranks(first.json()) == {org.member.user_id: 1, org.moderator.user_id: None}
    second = api.call("POST", path, org.manager, json={"user_id": org.moderator.user_id})
    assert ranks(second.json()) == {org.member.user_id: None, org.moderator.user_id: 1}

    stranger = api.call("POST", path, org.manager, json={"user_id": org.admin.user_id})
    assert (stranger.status_code, stranger.json()) == (400, {"detail": "User is not a player of this match"})
    assert api.call("POST", path, org.member, json={"user_id": org.member.user_id}).json() == FORBIDDEN


def test_seed_upsert_and_delete(api: TournamentApi, org: Org) -> None:
    _, match = scheduled_match(api, org)
    path = f"/tournaments/matches/{match['id']}/seed"
    created = api.call("PUT", path, org.manager, json={"url": "https://seed/1"})
    assert created.status_code == 200
    assert created.json() == {
        "id": created.json()["id"],
        "match_id": match["id"],
        "url": "https://seed/1",
        "description": "",
    }
    replaced = api.call(
        "PUT", path, org.manager, json={"url": "https://seed/2", "description": "hard"}
    ).json()
    assert replaced == {**created.json(), "url": "https://seed/2", "description": "hard"}
    assert api.match(org.member, org.id, match["id"])["seed"] == replaced

    assert api.call("PUT", path, org.member, json={"url": "https://x"}).json() == FORBIDDEN
    assert api.call("PUT", path, org.manager, json={"url": ""}).status_code == 422
    assert api.call("DELETE", path, org.manager).status_code == 204
    assert api.match(org.member, org.id, match["id"])["seed"] is None
    assert api.call("DELETE", path, org.manager).status_code == 204


# -- crew -----------------------------------------------------------------------------


def test_crew_signup_is_idempotent_and_starts_unapproved(api: TournamentApi, org: Org) -> None:
    _, match = scheduled_match(api, org)
    path = f"/tournaments/matches/{match['id']}/crew"
    first = api.call("POST", path, org.member, json={"role": "commentator"})
    again = api.call("POST", path, org.member, json={"role": "commentator", "user_id": org.member.user_id})
    assert first.status_code == again.status_code == 200
    assert (
        first.json()
        == again.json()
        == {
            "id": first.json()["id"],
            "match_id": match["id"],
            "user_id": org.member.user_id,
            "role": "commentator",
            "approved": False,
            "approved_by_id": None,
        }
    )
    tracker = api.call("POST", path, org.member, json={"role": "tracker"}).json()
    assert tracker["id"] != first.json()["id"]
    assert [c["id"] for c in api.match(org.member, org.id, match["id"])["crew"]] == [
        first.json()["id"],
        tracker["id"],
    ]

    assert api.call("POST", path, org.member, json={"role": "caster"}).status_code == 422
    assert api.call("POST", path, org.outsider, json={"role": "tracker"}).json() == FORBIDDEN


def test_simultaneous_crew_signups_make_one_row(api: TournamentApi, org: Org) -> None:
    _, match = scheduled_match(api, org)
    responses = api.concurrently(
        8, "POST", f"/tournaments/matches/{match['id']}/crew", org.reviewer, json={"role": "restreamer"}
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(api.match(org.admin, org.id, match["id"])["crew"]) == 1


def test_admin_add_crew_needs_match_update(api: TournamentApi, org: Org) -> None:
    _, match = scheduled_match(api, org)
    path = f"/tournaments/matches/{match['id']}/crew"
    body = {"role": "tracker", "user_id": org.moderator.user_id}
    assert api.call("POST", path, org.member, json=body).json() == FORBIDDEN
    added = api.call("POST", path, org.manager, json=body)
    assert added.status_code == 200
    assert (added.json()["user_id"], added.json()["approved"]) == (org.moderator.user_id, False)
    outsider = api.call("POST", path, org.manager, json={"role": "tracker", "user_id": org.outsider.user_id})
    assert (outsider.status_code, outsider.json()) == (404, {"detail": "User not found"})


def test_approve_and_unapprove_record_the_approver(api: TournamentApi, org: Org) -> None:
    _, match = scheduled_match(api, org)
    crew = api.call(
        "POST", f"/tournaments/matches/{match['id']}/crew", org.member, json={"role": "commentator"}
    ).json()
    ref = {"crew_id": crew["id"]}
    assert api.call("POST", "/tournaments/crew/approve", org.member, json=ref).json() == FORBIDDEN
    assert api.call("POST", "/tournaments/crew/approve", org.moderator, json=ref).json() == FORBIDDEN

    approved = api.call("POST", "/tournaments/crew/approve", org.manager, json=ref)
    assert approved.status_code == 200
    assert approved.json() == {**crew, "approved": True, "approved_by_id": org.manager.user_id}
    repeat = api.call("POST", "/tournaments/crew/approve", org.admin, json=ref).json()
    assert repeat["approved_by_id"] == org.manager.user_id  # already approved: unchanged

    unapproved = api.call(
        "POST", "/tournaments/crew/unapprove", org.admin, json=ref, params={"organization_id": org.id}
    )
    assert unapproved.json() == {**crew, "approved": False, "approved_by_id": None}


# -- SpeedGaming ----------------------------------------------------------------------


def test_speedgaming_makes_the_schedule_read_only(api: TournamentApi, org: Org) -> None:
    tournament, match = scheduled_match(api, org)
    crew_path = f"/tournaments/matches/{match['id']}/crew"
    crew = api.call("POST", crew_path, org.member, json={"role": "tracker"}).json()
    approved = api.call("POST", "/tournaments/crew/approve", org.manager, json={"crew_id": crew["id"]})
    assert approved.status_code == 200
    pending = api.call("POST", crew_path, org.moderator, json={"role": "tracker"}).json()
    api.call(
        "POST", f"/tournaments/matches/{match['id']}/advance-status", org.manager, json={"status": "started"}
    )
    api.set_speedgaming(org.manager, org.id, tournament["id"], True)

    refused = [
        (org.manager, "POST", "/tournaments/matches", {"tournament_id": tournament["id"], "player_ids": []}),
        (org.manager, "PATCH", f"/tournaments/matches/{match['id']}", {"title": "changed"}),
        (org.manager, "POST", f"/tournaments/matches/{match['id']}/revert-status", {"status": "started"}),
        (org.member, "POST", crew_path, {"role": "commentator"}),
        (org.manager, "POST", crew_path, {"role": "commentator", "user_id": org.reviewer.user_id}),
        (org.manager, "POST", "/tournaments/crew/approve", {"crew_id": pending["id"]}),
    ]
    for caller, method, path, body in refused:
        response = api.call(method, path, caller, params={"organization_id": org.id}, json=body)
        assert (response.status_code, response.json()) == (400, SPEEDGAMING), (method, path)

    after = api.match(org.manager, org.id, match["id"])
    assert (after["title"], after["status"], len(after["crew"]), len(api.matches(org.manager, org.id))) == (
        "Round 1",
        "started",
        2,
        1,
    )
    advanced = api.call(
        "POST", f"/tournaments/matches/{match['id']}/advance-status", org.manager, json={"status": "finished"}
    )
    assert (advanced.status_code, advanced.json()["status"]) == (200, "finished")
    unapproved = api.call("POST", "/tournaments/crew/unapprove", org.manager, json={"crew_id": crew["id"]})
    assert (unapproved.status_code, unapproved.json()["approved"]) == (200, False)
