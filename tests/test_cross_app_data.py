"""Data (plan 4.3): rows written by either app are read correctly by the other. Both apps
run at once on one database (SQLite and PostgreSQL); each test writes every kind of row
of a system through one app and reads it through the other - the reader must answer
exactly what the writer answered, timestamps included, since both read the same rows -
and then the reader changes those rows and the writer reads the changes back.
Parametrized in both directions: legacy writes and plugin reads, and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.async_qualifier_support import AsyncApi, audit_actions, execute, pin_elapsed, score, username
from tests.discord_support import snowflake
from tests.factory import Caller, Factory, Org
from tests.plugin_support import plugin_app_server
from tests.servers import Server
from tests.tournament_support import TournamentApi

THREAD_ID = 1_575_000_000_000_000_123  # beyond 2**53: a snowflake must survive both ORMs


@pytest.fixture(scope="module")
def plugin_server(database_url: str, server_logs: Path) -> Iterator[Server]:
    with plugin_app_server(database_url, server_logs, SCHEDULER_ENABLED="false") as server:
        yield server


@dataclass(frozen=True)
class Direction:
    writer: Server
    reader: Server


@pytest.fixture(params=["legacy writes, plugin reads", "plugin writes, legacy reads"])
def direction(request: pytest.FixtureRequest, legacy_server: Server, plugin_server: Server) -> Direction:
    if request.param.startswith("legacy"):
        return Direction(writer=legacy_server, reader=plugin_server)
    return Direction(writer=plugin_server, reader=legacy_server)


def read_alike(apps: Direction, path: str, caller: Caller, **params: Any) -> Any:
    """GET `path` from both apps: the same status and body; the body."""
    answers = [
        httpx.get(server.url + path, headers=caller.headers, params=params, timeout=10)
        for server in (apps.writer, apps.reader)
    ]
    assert answers[0].status_code == answers[1].status_code == 200, [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    return answers[1].json()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return None if status == 204 else response.json()


def by_id(items: list[dict[str, Any]], item_id: int) -> dict[str, Any]:
    return next(item for item in items if item["id"] == item_id)


# -- the tournament system ---------------------------------------------------------------------


def test_tournament_rows_written_by_one_app_read_by_the_other(direction: Direction, factory: Factory) -> None:
    org = Org.make(factory)
    in_org = {"organization_id": org.id}
    with TournamentApi(direction.writer.url) as w, TournamentApi(direction.reader.url) as r:
        tournament = w.create_tournament(
            org.manager,
            org.id,
            name=factory.unique("Cup"),
            description="Best of three",
            tracker_enabled=False,
            onsite_tournament=True,
        )
        tid = tournament["id"]
        registration = ok(w.call("POST", f"/tournaments/{tid}/players/{org.member.user_id}", org.member))
        channel = ok(
            w.call(
                "POST",
                f"/stream-channels/organizations/{org.id}",
                org.admin,
                json={"name": factory.unique("Stage"), "stream_url": "https://twitch.tv/x"},
            ),
            201,
        )
        players = [org.member.user_id, org.moderator.user_id]
        match = w.create_match(
            org.manager,
            org.id,
            tid,
            players,
            title="Final",
            comment="Bo5",
            scheduled_at="2031-06-02T10:00:00.123456+02:00",
            stream_channel_id=channel["id"],
        )
        mid = match["id"]
        crew = ok(w.call("POST", f"/tournaments/matches/{mid}/crew", org.member, json={"role": "tracker"}))
        crew = ok(w.call("POST", "/tournaments/crew/approve", org.manager, json={"crew_id": crew["id"]}))
        seed = {"url": "https://alttpr.com/h/abc", "description": "Standard"}
        ok(w.call("PUT", f"/tournaments/matches/{mid}/seed", org.manager, json=seed))
        ok(w.call("POST", f"/tournaments/matches/{mid}/winner", org.manager, json={"user_id": players[1]}))
        written = ok(
            w.call(
                "POST", f"/tournaments/matches/{mid}/advance-status", org.manager, json={"status": "started"}
            )
        )

        # The reader answers exactly what the writer did.
        assert by_id(
            read_alike(direction, f"/api/tournaments/organizations/{org.id}", org.moderator), tid
        ) == (tournament)
        assert read_alike(direction, f"/api/tournaments/{tid}/players", org.member) == [registration]
        assert read_alike(direction, f"/api/stream-channels/organizations/{org.id}", org.member) == [channel]
        read = by_id(
            read_alike(direction, f"/api/tournaments/organizations/{org.id}/matches", org.member), mid
        )
        assert read == written
        assert read["scheduled_at"] == "2031-06-02T08:00:00.123456Z" and read["status"] == "started"
        assert [(p["user_id"], p["finish_rank"]) for p in read["players"]] == [
            (players[0], None),
            (players[1], 1),
        ]
        assert read["crew"] == [crew] and crew["approved_by_id"] == org.manager.user_id
        assert (read["seed"]["url"], read["seed"]["description"]) == (seed["url"], seed["description"])

        # The reader changes the writer's rows; the writer reads the changes.
        renamed = ok(
            r.call("PATCH", f"/tournaments/{tid}", org.manager, params=in_org, json={"is_active": False})
        )
        moved = ok(
            r.call("PATCH", f"/tournaments/matches/{mid}", org.manager, json={"stream_channel_id": None})
        )
        ok(r.call("POST", "/tournaments/crew/unapprove", org.manager, json={"crew_id": crew["id"]}))
        ok(r.call("DELETE", f"/tournaments/matches/{mid}/seed", org.manager), 204)
        reverted = ok(
            r.call(
                "POST", f"/tournaments/matches/{mid}/revert-status", org.manager, json={"status": "started"}
            )
        )
        ok(r.call("DELETE", f"/tournaments/{tid}/players/{org.member.user_id}", org.member), 204)
        channel_path = f"/stream-channels/organizations/{org.id}/{channel['id']}"
        channel = ok(r.call("PATCH", channel_path, org.admin, json={"is_active": False}))

        assert by_id(w.call("GET", f"/tournaments/organizations/{org.id}", org.member).json(), tid) == renamed
        assert moved["stream_channel_id"] is None and moved["crew"][0]["approved"] is True
        final = w.match(org.member, org.id, mid)
        assert final == reverted and final["status"] == "scheduled" and final["seed"] is None
        assert final["crew"][0]["approved"] is False and final["crew"][0]["approved_by_id"] is None
        assert ok(w.call("GET", f"/tournaments/{tid}/players", org.member)) == []
        assert ok(w.call("GET", f"/stream-channels/organizations/{org.id}", org.member)) == [channel]

        ok(r.call("DELETE", f"/tournaments/{tid}", org.manager, params=in_org), 204)
        assert w.matches(org.member, org.id) == []
        gone = w.call("GET", f"/tournaments/{tid}/players", org.member)
        assert (gone.status_code, gone.json()) == (404, {"detail": "Tournament not found"})


# -- the async qualifier system ------------------------------------------------------------------


def test_async_qualifier_rows_written_by_one_app_read_by_the_other(
    direction: Direction, factory: Factory
) -> None:
    org = Org.make(factory)
    first, second, third = org.runners(factory, 3)
    with AsyncApi(direction.writer.url) as w, AsyncApi(direction.reader.url) as r:
        channel = snowflake()
        qualifier = w.qualifier(
            org.manager, org.id, description="Spring", discord_channel_id=channel, max_reattempts=2
        )
        qid = qualifier["id"]
        assert r.ok("GET", f"/organizations/{org.id}", org.member) == [qualifier]
        pool = w.pool(org.manager, qid, "Standard", permalinks=2)
        other_pool = r.pool(org.manager, qid, "Open", permalinks=1)  # both apps write pools
        detail = read_alike(direction, f"/api/async-qualifiers/{qid}", org.member)
        assert detail == {
            **qualifier,
            "pools": [
                {k: v for k, v in pool.items() if k != "permalink_ids"} | {"permalink_count": 2},
                {k: v for k, v in other_pool.items() if k != "permalink_ids"} | {"permalink_count": 1},
            ],
        }

        def review(race_id: int, caller: Caller) -> Any:
            return read_alike(direction, f"/api/async-qualifiers/races/{race_id}/review", caller)

        # A race through its states, each step by the other app than the last.
        race = w.open(first, qid, pool_id=pool["id"])
        assert race["permalink_id"] == pool["permalink_ids"][0] and review(race["id"], first) == race
        started = r.act(first, race["id"], "start")
        assert started["status"] == "in_progress" and review(race["id"], first) == started
        finished = w.act(first, race["id"], "finish")
        assert finished["status"] == "finished" and review(race["id"], first) == finished
        pin_elapsed(factory, race["id"], 100)

        fast = r.open(second, qid, permalink_id=pool["permalink_ids"][0])
        w.act(second, fast["id"], "start")
        r.act(second, fast["id"], "finish")
        pin_elapsed(factory, fast["id"], 150)
        forfeited = w.open(third, qid, pool_id=other_pool["id"])
        assert r.act(third, forfeited["id"], "forfeit")["status"] == "forfeit"
        execute(
            factory,
            "UPDATE async_qualifier_races SET discord_thread_id = ? WHERE id = ?",
            THREAD_ID,
            forfeited["id"],
        )
        assert review(forfeited["id"], third)["discord_thread_id"] == THREAD_ID

        assert r.recalculate(org.manager, qid) == {"qualifier_id": qid, "permalinks_scored": 1}
        # par = 125: the first runner 120 → clamped to 105, the second 80.
        board = read_alike(direction, f"/api/async-qualifiers/{qid}/leaderboard", org.member)
        assert [(e["user_id"], e["score"], e["estimate"]) for e in board["entries"]] == [
            (first.user_id, 52.5, 105.0),
            (second.user_id, 40.0, 80.0),
            (third.user_id, 0.0, 0.0),
        ]
        assert board["entries"][0]["discord_username"] == username(factory, first.user_id)

        submission = {
            "runner_vod_url": "https://youtu.be/x",
            "review_request_reason": "timer",
            "runner_notes": "ok",
        }
        submitted = w.ok("PATCH", f"/races/{race['id']}/submission", first, json=submission)
        assert review(race["id"], org.reviewer) == submitted
        corrected = {"review_status": "accepted", "reviewer_notes": "fine", "elapsed_seconds_override": 110}
        reviewed = r.ok("PATCH", f"/races/{race['id']}/review", org.reviewer, json=corrected)
        assert review(race["id"], first) == reviewed
        assert (reviewed["review_status"], reviewed["reviewed_by_id"], reviewed["elapsed_seconds"]) == (
            "accepted",
            org.reviewer.user_id,
            110.0,
        )
        # Re-scored on the correction: par = 130, so 110 s → 105 (clamped) and 150 s → 84.615.
        assert review(fast["id"], second)["score"] == score((2 - 150 / 130) * 100)
        reattempted = w.act(third, forfeited["id"], "reattempt")
        assert reattempted["reattempted"] is True and review(forfeited["id"], third) == reattempted
        queue = read_alike(direction, f"/api/async-qualifiers/{qid}/review-queue", org.reviewer, limit=100)
        assert [q["id"] for q in queue] == [race["id"], fast["id"]]  # re-attempted races leave it

        assert audit_actions(factory, qid) == [
            "create_qualifier",
            "create_pool",
            "create_permalink",
            "create_permalink",
            "create_pool",
            "create_permalink",
            "recalculate_scores",
            "review_race",
        ]
        r.ok("DELETE", f"/{qid}", org.manager, 204)
        assert w.call("GET", f"/{qid}", org.manager).status_code == 404
        assert execute(factory, "SELECT id FROM async_qualifier_races WHERE qualifier_id = ?", qid) == []
