"""legacy_app's async qualifier system over HTTP, on SQLite and PostgreSQL: routes, shapes,
permissions, the race state machine, scoring, the leaderboard and reviews."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from tests.async_qualifier_support import (
    AsyncApi,
    audit_actions,
    execute,
    not_found,
    pin_elapsed,
    score,
    username,
)
from tests.factory import Caller, Factory, Org
from tests.servers import Server

QUALIFIER_404 = not_found("Async qualifier")
RACE_404 = not_found("Race")


@pytest.fixture
def api(legacy_server: Server) -> Iterator[AsyncApi]:
    with AsyncApi(legacy_server.url) as client:
        yield client


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- qualifiers, pools, permalinks ----------------------------------------------------------


def test_qualifier_create_read_update_delete(api: AsyncApi, org: Org, factory: Factory) -> None:
    channel = 900_000_000_000_000_000 + org.id
    created = api.ok(
        "POST",
        f"/organizations/{org.id}",
        org.manager,
        201,
        json={"name": "Spring qualifier", "discord_channel_id": channel, "runs_per_pool": 2},
    )
    qid = created["id"]
    assert created == {
        "id": qid,
        "organization_id": org.id,
        "name": "Spring qualifier",
        "description": "",
        "is_active": True,
        "hide_results": False,
        "discord_channel_id": channel,
        "runs_per_pool": 2,
        "max_reattempts": -1,
    }
    second = api.qualifier(org.admin, org.id)
    assert [q["id"] for q in api.ok("GET", f"/organizations/{org.id}", org.member)] == [qid, second["id"]]

    pool = api.ok("POST", f"/{qid}/pools", org.manager, 201, json={"name": "Standard", "description": "d"})
    assert pool == {
        "id": pool["id"],
        "qualifier_id": qid,
        "name": "Standard",
        "description": "d",
        "permalink_count": 0,
    }
    permalink = api.ok(
        "POST",
        f"/pools/{pool['id']}/permalinks",
        org.manager,
        201,
        json={"url": "https://s.example/1", "notes": "n"},
    )
    assert permalink == {
        "id": permalink["id"],
        "pool_id": pool["id"],
        "url": "https://s.example/1",
        "notes": "n",
        "par_time": None,
        "par_updated_at": None,
    }
    detail = api.ok("GET", f"/{qid}", org.member, params={"organization_id": org.id})
    assert detail["pools"] == [{**pool, "permalink_count": 1}]

    updated = api.ok("PATCH", f"/{qid}", org.manager, json={"description": "new", "discord_channel_id": None})
    assert (updated["description"], updated["discord_channel_id"], updated["name"]) == (
        "new",
        None,
        "Spring qualifier",
    )
    assert audit_actions(factory, qid) == [
        "create_qualifier",
        "create_pool",
        "create_permalink",
        "update_qualifier",
    ]

    api.ok("DELETE", f"/{qid}", org.manager, 204)
    assert api.call("GET", f"/{qid}", org.manager).json() == QUALIFIER_404


def test_conflicts_and_malformed_updates(api: AsyncApi, org: Org) -> None:
    channel = 800_000_000_000_000_000 + org.id
    first = api.qualifier(org.manager, org.id, discord_channel_id=channel)
    taken = api.call(
        "POST", f"/organizations/{org.id}", org.manager, json={"name": "x", "discord_channel_id": channel}
    )
    assert taken.status_code == 409 and "Discord channel" in taken.json()["detail"]
    other = api.qualifier(org.manager, org.id)
    assert (
        api.call("PATCH", f"/{other['id']}", org.manager, json={"discord_channel_id": channel}).status_code
        == 409
    )
    api.pool(org.manager, first["id"], "Same")
    duplicate = api.call("POST", f"/{first['id']}/pools", org.manager, json={"name": "Same"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    for body in ({"name": None}, {"runs_per_pool": 0}, {"max_reattempts": -2}, {"unknown": 1}, {"name": ""}):
        assert api.call("PATCH", f"/{first['id']}", org.manager, json=body).status_code == 422, body


def test_authentication_and_not_found_shapes(api: AsyncApi, org: Org, factory: Factory) -> None:
    qualifier = api.qualifier(org.manager, org.id)
    qid = qualifier["id"]
    missing = api.call("GET", f"/{qid}", None)
    assert missing.status_code == 401 and "detail" in missing.json()
    bad = api.call("GET", f"/{qid}", None, headers={"Authorization": "Bearer stk_not-a-token"})
    assert bad.status_code == 401 and "detail" in bad.json()

    assert api.call("GET", f"/{qid}", org.outsider).json() == QUALIFIER_404
    assert api.call("GET", "/2147483647", org.manager).json() == QUALIFIER_404
    other_org = factory.organization()
    wrong_org = api.call("GET", f"/{qid}", org.manager, params={"organization_id": other_org})
    assert (wrong_org.status_code, wrong_org.json()) == (404, QUALIFIER_404)
    assert api.call("GET", f"/organizations/{org.id}", org.outsider).json() == not_found("Organization")
    assert api.call("POST", "/races/2147483647/start", org.member).json() == RACE_404
    assert api.call(
        "POST", "/pools/2147483647/permalinks", org.manager, json={"url": "https://x"}
    ).json() == (not_found("Pool"))


def test_malformed_input_is_422_never_500(api: AsyncApi, org: Org) -> None:
    qid = api.qualifier(org.manager, org.id)["id"]
    bad_requests = [
        ("GET", f"/{2**63}", {}),
        ("GET", "/-1", {}),
        ("GET", "/0/leaderboard", {}),
        ("POST", "/races/99999999999999999999/start", {}),
        ("POST", f"/organizations/{org.id}", {"json": {"name": "x" * 201}}),
        ("POST", f"/organizations/{org.id}", {"json": {"name": "nul\x00"}}),
        ("POST", f"/organizations/{org.id}", {"json": {"name": "x", "discord_channel_id": 2**63}}),
        ("POST", f"/organizations/{org.id}", {"json": {"name": "x", "runs_per_pool": 10**6}}),
        ("POST", f"/{qid}/races", {"json": {}}),
        ("POST", f"/{qid}/races", {"json": {"pool_id": 1, "permalink_id": 1}}),
        ("POST", f"/{qid}/races", {"json": {"pool_id": 2**40}}),
        ("PATCH", "/races/1/review", {"json": {"review_status": "pending"}}),
        ("PATCH", "/races/1/review", {"json": {"review_status": "accepted", "elapsed_seconds_override": -5}}),
        ("GET", f"/{qid}/review-queue", {"params": {"limit": 101}}),
        ("GET", f"/{qid}/review-queue", {"params": {"limit": 0}}),
        ("GET", f"/{qid}/review-queue", {"params": {"skip": -1}}),
        ("GET", f"/{qid}/review-queue", {"params": {"status": "done"}}),
    ]
    for method, path, kwargs in bad_requests:
        response = api.call(method, path, org.global_admin, **kwargs)
        assert response.status_code == 422, (method, path, kwargs, response.text)
        assert "detail" in response.json()


def test_each_role_gets_what_it_is_granted(api: AsyncApi, org: Org) -> None:
    creators = {
        org.member: 404,
        org.moderator: 404,
        org.reviewer: 404,
        org.outsider: 404,
        org.manager: 201,
        org.admin: 201,
        org.global_admin: 201,
    }
    for caller, expected in creators.items():
        response = api.call("POST", f"/organizations/{org.id}", caller, json={"name": "by role"})
        assert response.status_code == expected, (caller, response.text)
        if expected == 404:
            assert response.json() == not_found("Organization")

    qid = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=1)
    for caller in (org.member, org.moderator, org.reviewer):
        assert api.call("POST", f"/{qid}/pools", caller, json={"name": "no"}).json() == QUALIFIER_404
        assert api.call("PATCH", f"/{qid}", caller, json={"name": "no"}).json() == QUALIFIER_404
        assert api.call("DELETE", f"/{qid}", caller).json() == QUALIFIER_404
        assert api.call("POST", f"/{qid}/recalculate", caller).json() == QUALIFIER_404
        response = api.call("POST", f"/pools/{pool['id']}/permalinks", caller, json={"url": "https://no"})
        assert response.json() == not_found("Pool")
    for caller in (org.member, org.moderator, org.manager):  # reviewing is a grant of its own
        assert api.call("GET", f"/{qid}/review-queue", caller).json() == QUALIFIER_404
    for caller in (org.reviewer, org.admin, org.global_admin):
        assert api.call("GET", f"/{qid}/review-queue", caller).status_code == 200
    for caller in (org.member, org.moderator, org.reviewer, org.manager):
        assert api.call("GET", f"/{qid}/leaderboard", caller).status_code == 200
    assert api.call("GET", f"/{qid}/leaderboard", org.outsider).json() == QUALIFIER_404
    outsider_race = api.call("POST", f"/{qid}/races", org.outsider, json={"pool_id": pool["id"]})
    assert outsider_race.json() == QUALIFIER_404
    assert api.recalculate(org.manager, qid) == {"qualifier_id": qid, "permalinks_scored": 0}


# -- races --------------------------------------------------------------------------------


def test_race_state_machine(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=3)
    runner, other = org.runners(factory, 2)

    race = api.open(runner, qid, pool_id=pool["id"])
    rid = race["id"]
    assert race["status"] == "pending" and race["start_time"] is None and race["score"] is None
    assert (race["user_id"], race["pool_id"], race["permalink_id"]) == (
        runner.user_id,
        pool["id"],
        pool["permalink_ids"][0],
    )
    assert race["permalink_url"].endswith("/P/0") and race["review_status"] == "pending"

    assert api.call("POST", f"/races/{rid}/finish", runner).status_code == 409
    assert api.call("POST", f"/races/{rid}/start", other).json() == RACE_404
    assert api.call("POST", f"/races/{rid}/start", org.manager).json() == RACE_404  # owner only
    started = api.act(runner, rid, "start")
    assert started["status"] == "in_progress" and started["start_time"] is not None
    again = api.call("POST", f"/races/{rid}/start", runner)
    assert again.json() == {"detail": "Race cannot be started: it is in_progress"}
    assert again.status_code == 409
    assert api.call("POST", f"/races/{rid}/finish", other).json() == RACE_404

    finished = api.act(runner, rid, "finish")
    assert finished["status"] == "finished"
    assert _iso(finished["end_time"]) - _iso(finished["start_time"]) == timedelta(
        seconds=finished["elapsed_seconds"]
    )
    assert finished["score"] == 100.0  # the only finisher sets par
    assert api.call("POST", f"/races/{rid}/forfeit", runner).status_code == 409
    assert api.call("POST", f"/races/{rid}/finish", runner).status_code == 409

    pending = api.open(runner, qid, pool_id=api.pool(org.manager, qid, "Q", permalinks=1)["id"])
    assert api.act(runner, pending["id"], "forfeit")["status"] == "forfeit"

    # A manager may forfeit someone's active race; that is audited.
    in_progress = api.open(other, qid, pool_id=pool["id"])
    api.act(other, in_progress["id"], "start")
    assert api.call("POST", f"/races/{in_progress['id']}/forfeit", org.member).json() == RACE_404
    assert api.act(org.manager, in_progress["id"], "forfeit")["status"] == "forfeit"
    assert audit_actions(factory, qid)[-1] == "forfeit_race"


def test_one_active_race_per_user_and_qualifier(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id)["id"]
    pools = [api.pool(org.manager, qid, f"P{n}", permalinks=1)["id"] for n in range(6)]
    runner, racer = org.runners(factory, 2)

    first = api.open(runner, qid, pool_id=pools[0])
    second = api.call("POST", f"/{qid}/races", runner, json={"pool_id": pools[1]})
    assert (second.status_code, second.json()) == (
        409,
        {"detail": "You already have an active race in this qualifier"},
    )
    api.act(runner, first["id"], "start")
    assert api.call("POST", f"/{qid}/races", runner, json={"pool_id": pools[1]}).status_code == 409
    api.act(runner, first["id"], "finish")
    api.open(runner, qid, pool_id=pools[1])  # free again once finished
    other_qualifier = api.qualifier(org.manager, org.id)["id"]
    api.open(runner, other_qualifier, pool_id=api.pool(org.manager, other_qualifier, "X", permalinks=1)["id"])

    responses = api.concurrently([("POST", f"/{qid}/races", racer, {"json": {"pool_id": p}}) for p in pools])
    assert sorted(r.status_code for r in responses) == [201] + [409] * (len(pools) - 1)
    rows = execute(
        factory,
        "SELECT id FROM async_qualifier_races WHERE qualifier_id = ? AND user_id = ? AND status IN (?, ?)",
        qid,
        racer.user_id,
        "pending",
        "in_progress",
    )
    assert len(rows) == 1


def test_simultaneous_finishes_finish_once(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=1)
    runner = org.runners(factory, 1)[0]
    race = api.open(runner, qid, pool_id=pool["id"])
    api.act(runner, race["id"], "start")
    responses = api.concurrently([("POST", f"/races/{race['id']}/finish", runner, {})] * 4)
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]


def test_pool_availability_and_seed_choice(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id, runs_per_pool=2)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=3)
    p1, p2, p3 = pool["permalink_ids"]
    runner, other = org.runners(factory, 2)

    first = api.forfeited_race(runner, qid, pool_id=pool["id"])
    second = api.forfeited_race(runner, qid, pool_id=pool["id"])
    assert (first["permalink_id"], second["permalink_id"]) == (p1, p2)  # lowest unplayed id first
    full = api.call("POST", f"/{qid}/races", runner, json={"pool_id": pool["id"]})
    assert full.status_code == 400 and "not available" in full.json()["detail"]

    api.act(runner, first["id"], "reattempt")  # frees a run of the pool, not the seed
    third = api.finished_race(runner, qid, pool_id=pool["id"])
    assert third["permalink_id"] == p3
    api.act(runner, third["id"], "reattempt")
    exhausted = api.call("POST", f"/{qid}/races", runner, json={"pool_id": pool["id"]})
    assert exhausted.status_code == 400 and "left" in exhausted.json()["detail"]

    # A chosen permalink: not one already played, and only of this qualifier.
    chosen = api.open(other, qid, permalink_id=p2)
    assert chosen["permalink_id"] == p2
    api.act(other, chosen["id"], "forfeit")
    replay = api.call("POST", f"/{qid}/races", other, json={"permalink_id": p2})
    assert replay.status_code == 400 and "already played" in replay.json()["detail"]
    foreign_qid = api.qualifier(org.manager, org.id)["id"]
    foreign = api.pool(org.manager, foreign_qid, "F", permalinks=1)
    response = api.call("POST", f"/{qid}/races", other, json={"permalink_id": foreign["permalink_ids"][0]})
    assert response.json() == not_found("Permalink")
    assert api.call("POST", f"/{qid}/races", other, json={"pool_id": foreign["id"]}).json() == not_found(
        "Pool"
    )

    api.ok("PATCH", f"/{qid}", org.manager, json={"is_active": False})
    inactive = api.call("POST", f"/{qid}/races", other, json={"pool_id": pool["id"]})
    assert inactive.status_code == 400 and "not active" in inactive.json()["detail"]


def test_max_reattempts(api: AsyncApi, org: Org, factory: Factory) -> None:
    runner = org.runners(factory, 1)[0]
    none_allowed = api.qualifier(org.manager, org.id, max_reattempts=0)["id"]
    race = api.finished_race(runner, none_allowed, pool_id=api.pool(org.manager, none_allowed, "P", 1)["id"])
    refused = api.call("POST", f"/races/{race['id']}/reattempt", runner)
    assert refused.status_code == 400 and "not allowed" in refused.json()["detail"]

    one_allowed = api.qualifier(org.manager, org.id, max_reattempts=1)["id"]
    pools = [api.pool(org.manager, one_allowed, f"P{n}", permalinks=2)["id"] for n in range(2)]
    done = api.finished_race(runner, one_allowed, pool_id=pools[0])
    pending = api.open(runner, one_allowed, pool_id=pools[1])
    assert api.call("POST", f"/races/{pending['id']}/reattempt", runner).status_code == 409
    assert (
        api.call("POST", f"/races/{done['id']}/reattempt", org.manager).json() == RACE_404
    )  # own races only
    reattempted = api.act(runner, done["id"], "reattempt")
    assert (reattempted["reattempted"], reattempted["score"], reattempted["status"]) == (
        True,
        None,
        "finished",
    )
    assert api.call("POST", f"/races/{done['id']}/reattempt", runner).status_code == 409
    api.act(runner, pending["id"], "forfeit")
    over = api.call("POST", f"/races/{pending['id']}/reattempt", runner)
    assert over.status_code == 400 and "used all 1" in over.json()["detail"]

    unlimited = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, unlimited, "P", permalinks=3)["id"]
    for _ in range(3):
        api.act(runner, api.forfeited_race(runner, unlimited, pool_id=pool)["id"], "reattempt")


# -- scoring and the leaderboard ------------------------------------------------------------


def test_scoring_worked_examples(api: AsyncApi, org: Org, factory: Factory) -> None:
    """Par is the mean of the fastest five; scores clamp to 0..105; a rejected review still
    counts; a reattempted race leaves par and scoring."""
    qid = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=1)
    times = [100, 110, 120, 130, 140, 180, 240]
    runners = org.runners(factory, len(times) + 1)
    races = [api.finished_race(r, qid, pool_id=pool["id"])["id"] for r in runners[: len(times)]]
    forfeited = api.forfeited_race(runners[-1], qid, pool_id=pool["id"])["id"]
    for race_id, seconds in zip(races, times, strict=True):
        pin_elapsed(factory, race_id, seconds)
    rejected = api.ok("PATCH", f"/races/{races[1]}/review", org.reviewer, json={"review_status": "rejected"})
    assert rejected["review_status"] == "rejected"

    assert api.recalculate(org.manager, qid) == {"qualifier_id": qid, "permalinks_scored": 1}
    par = 120.0  # (100 + 110 + 120 + 130 + 140) / 5
    by_id = api.races_by_id(org.reviewer, qid)
    assert [by_id[r]["score"] for r in races] == [
        105.0,
        105.0,
        100.0,
        score(275 / 3),
        score(250 / 3),
        50.0,
        0.0,
    ]
    assert by_id[forfeited]["score"] == 0.0
    detail = api.ok("GET", f"/{qid}", org.manager)
    assert detail["pools"][0]["permalink_count"] == 1
    assert api.call("GET", f"/races/{races[2]}/review", runners[2]).json()["score"] == 100.0

    # The fastest runner re-attempts: par becomes (110 + 120 + 130 + 140 + 180) / 5 = 136.
    fastest = api.act(runners[0], races[0], "reattempt")
    assert fastest["score"] is None
    par = 136.0
    scores = {r["id"]: r["score"] for r in api.review_queue(org.reviewer, qid)}
    assert races[0] not in scores  # reattempted races leave the queue too
    expected = [min(105.0, max(0.0, (2 - t / par) * 100)) for t in times[1:]]
    assert [scores[r] for r in races[1:]] == [score(e) for e in expected]
    assert scores[forfeited] == 0.0
    permalink_par = execute(
        factory, "SELECT par_time FROM async_qualifier_permalinks WHERE id = ?", pool["permalink_ids"][0]
    )
    assert permalink_par[0]["par_time"] == pytest.approx(par)


def test_time_correction_in_review_rescores(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=1)
    fast, slow = org.runners(factory, 2)
    fast_race = api.finished_race(fast, qid, pool_id=pool["id"])["id"]
    slow_race = api.finished_race(slow, qid, pool_id=pool["id"])["id"]
    pin_elapsed(factory, fast_race, 100)
    pin_elapsed(factory, slow_race, 200)
    api.recalculate(org.manager, qid)
    scores = api.races_by_id(org.reviewer, qid)
    assert (scores[fast_race]["score"], scores[slow_race]["score"]) == (105.0, score(200 / 3))  # par 150

    reviewed = api.ok(
        "PATCH",
        f"/races/{slow_race}/review",
        org.reviewer,
        json={"review_status": "accepted", "reviewer_notes": "timer fixed", "elapsed_seconds_override": 100},
    )
    assert reviewed["elapsed_seconds"] == 100.0
    assert _iso(reviewed["end_time"]) - _iso(reviewed["start_time"]) == timedelta(seconds=100)
    assert (reviewed["review_status"], reviewed["reviewed_by_id"], reviewed["reviewer_notes"]) == (
        "accepted",
        org.reviewer.user_id,
        "timer fixed",
    )
    assert reviewed["reviewed_at"] is not None and reviewed["score"] == 100.0  # par is now 100
    assert api.races_by_id(org.reviewer, qid)[fast_race]["score"] == 100.0
    assert audit_actions(factory, qid)[-1] == "review_race"


def test_review_rules(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=2)
    runner = org.runners(factory, 1)[0]
    own = api.finished_race(org.reviewer, qid, pool_id=pool["id"])["id"]
    self_review = api.call("PATCH", f"/races/{own}/review", org.reviewer, json={"review_status": "accepted"})
    assert (self_review.status_code, self_review.json()) == (
        403,
        {"detail": "You cannot review your own race"},
    )
    api.ok("PATCH", f"/races/{own}/review", org.admin, json={"review_status": "accepted"})

    pending = api.open(runner, qid, pool_id=pool["id"])["id"]
    not_finished = api.call(
        "PATCH", f"/races/{pending}/review", org.reviewer, json={"review_status": "accepted"}
    )
    assert not_finished.status_code == 409
    for caller in (runner, org.manager, org.member, org.outsider):
        response = api.call("PATCH", f"/races/{pending}/review", caller, json={"review_status": "accepted"})
        assert response.json() == RACE_404, caller
    assert api.ok("GET", f"/races/{pending}/review", runner)["id"] == pending  # the runner may read it
    assert api.call("GET", f"/races/{pending}/review", org.member).json() == RACE_404


def test_leaderboard_slots_estimate_and_hidden_results(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id, runs_per_pool=2)["id"]
    pool_a = api.pool(org.manager, qid, "A", permalinks=2)
    pool_b = api.pool(org.manager, qid, "B", permalinks=2)
    first, second, idle, idle_too = org.runners(factory, 4)

    a1 = api.finished_race(first, qid, pool_id=pool_a["id"])["id"]  # permalink A1
    a2 = api.finished_race(first, qid, pool_id=pool_a["id"])["id"]  # permalink A2
    b1 = api.finished_race(first, qid, pool_id=pool_b["id"])["id"]  # permalink B1
    api.forfeited_race(first, qid, pool_id=pool_b["id"])  # permalink B2, nobody finished it
    a1_second = api.finished_race(second, qid, pool_id=pool_a["id"])["id"]  # permalink A1
    api.open(idle_too, qid, pool_id=pool_b["id"])
    api.open(idle, qid, pool_id=pool_b["id"])
    for race_id, seconds in ((a1, 100), (a1_second, 150), (a2, 200), (b1, 300)):
        pin_elapsed(factory, race_id, seconds)
    api.recalculate(org.manager, qid)
    # A1: par 125 → first 105 (clamped from 120), second 80. A2 and B1: sole finishers → 100.

    board = api.ok("GET", f"/{qid}/leaderboard", org.member)
    zero = {"score": 0.0, "estimate": 0.0, "finished_count": 0, "unattempted_count": 4, "forfeited_count": 0}
    idle_entries = sorted([idle, idle_too], key=lambda c: c.user_id)
    assert board == {
        "qualifier_id": qid,
        "runs_per_pool": 2,
        "pool_count": 2,
        "results_hidden": False,
        "entries": [
            _entry(factory, first, 76.25, score(305 / 3), finished=3, unattempted=0, forfeited=1),
            _entry(factory, second, 20.0, 80.0, finished=1, unattempted=3, forfeited=0),
            *[
                {"user_id": c.user_id, "discord_username": username(factory, c.user_id), **zero}
                for c in idle_entries
            ],
        ],
    }

    # With one slot per pool each runner keeps their best race of every pool.
    api.ok("PATCH", f"/{qid}", org.manager, json={"runs_per_pool": 1})
    entries = api.ok("GET", f"/{qid}/leaderboard", org.member)["entries"]
    assert entries[:2] == [
        _entry(factory, first, 102.5, 102.5, finished=2, unattempted=0, forfeited=0),
        _entry(factory, second, 40.0, 80.0, finished=1, unattempted=1, forfeited=0),
    ]

    api.ok("PATCH", f"/{qid}", org.manager, json={"hide_results": True})
    hidden = api.ok("GET", f"/{qid}/leaderboard", second)
    assert hidden["results_hidden"] is True and [e["user_id"] for e in hidden["entries"]] == [second.user_id]
    for privileged in (org.manager, org.reviewer):
        shown = api.ok("GET", f"/{qid}/leaderboard", privileged)
        assert shown["results_hidden"] is False and len(shown["entries"]) == 4


def _entry(
    factory: Factory,
    caller: Caller,
    score_: float,
    estimate: float,
    *,
    finished: int,
    unattempted: int,
    forfeited: int,
) -> dict[str, object]:
    return {
        "user_id": caller.user_id,
        "discord_username": username(factory, caller.user_id),
        "score": score_,
        "estimate": estimate,
        "finished_count": finished,
        "unattempted_count": unattempted,
        "forfeited_count": forfeited,
    }


# -- submissions and the review queue ---------------------------------------------------------


def test_submission_is_the_owners(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id)["id"]
    runner = org.runners(factory, 1)[0]
    race = api.finished_race(runner, qid, pool_id=api.pool(org.manager, qid, "P", permalinks=1)["id"])["id"]
    updated = api.ok(
        "PATCH",
        f"/races/{race}/submission",
        runner,
        json={"runner_vod_url": "https://vod.example/1", "runner_notes": "clean run"},
    )
    assert (updated["runner_vod_url"], updated["runner_notes"], updated["review_requested_by_user"]) == (
        "https://vod.example/1",
        "clean run",
        False,
    )
    no_reason = api.call(
        "PATCH", f"/races/{race}/submission", runner, json={"review_requested_by_user": True}
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["detail"]
    flagged = api.ok(
        "PATCH",
        f"/races/{race}/submission",
        runner,
        json={"review_requested_by_user": True, "review_request_reason": "timer glitch"},
    )
    assert (flagged["review_requested_by_user"], flagged["review_request_reason"]) == (True, "timer glitch")
    assert flagged["runner_notes"] == "clean run"  # absent keys stay as they were
    for caller in (org.manager, org.reviewer, org.member):
        response = api.call("PATCH", f"/races/{race}/submission", caller, json={"runner_notes": "x"})
        assert response.json() == RACE_404


def test_review_queue_filters_and_paging(api: AsyncApi, org: Org, factory: Factory) -> None:
    qid = api.qualifier(org.manager, org.id)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=1)
    runners = org.runners(factory, 4)
    finished = [api.finished_race(r, qid, pool_id=pool["id"])["id"] for r in runners[:3]]
    forfeited = api.forfeited_race(runners[3], qid, pool_id=pool["id"])["id"]
    api.ok("PATCH", f"/races/{finished[0]}/review", org.reviewer, json={"review_status": "accepted"})
    api.ok("PATCH", f"/races/{finished[1]}/review", org.admin, json={"review_status": "rejected"})

    def ids(**params: object) -> list[int]:
        return [r["id"] for r in api.review_queue(org.reviewer, qid, **params)]

    assert ids() == [*finished, forfeited]
    assert ids(status="finished") == finished
    assert ids(status="forfeit") == [forfeited]
    assert ids(review_status="accepted") == [finished[0]]
    assert ids(review_status="pending") == [finished[2], forfeited]
    assert ids(reviewed_by_id=org.admin.user_id) == [finished[1]]
    assert ids(status="finished", review_status="pending") == [finished[2]]
    assert ids(skip=1, limit=2) == [finished[1], finished[2]]
    assert ids(skip=10) == []


# -- ownership (for the proxy) ------------------------------------------------------------------


def test_ownership_endpoint_resolves_each_kind(api: AsyncApi, org: Org) -> None:
    channel = 700_000_000_000_000_000 + org.id
    qid = api.qualifier(org.manager, org.id, discord_channel_id=channel)["id"]
    pool = api.pool(org.manager, qid, "P", permalinks=1)
    race = api.open(org.member, qid, pool_id=pool["id"])["id"]
    kinds = {
        "async_qualifier": qid,
        "pool": pool["id"],
        "permalink": pool["permalink_ids"][0],
        "race": race,
        "discord_channel": channel,
    }
    for kind, entity_id in kinds.items():
        response = httpx.get(f"{api.base_url}/_strangler/owner/{kind}/{entity_id}", timeout=10)
        assert response.json() == {"organization_id": org.id}, kind
        for unknown in (2_147_483_646, 2**63 + 5):
            assert (
                httpx.get(f"{api.base_url}/_strangler/owner/{kind}/{unknown}", timeout=10).status_code == 404
            )
