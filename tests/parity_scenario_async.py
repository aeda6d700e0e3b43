"""The AsyncQualifier system over HTTP in the parity scenario (tests/parity_scenario.py):
qualifiers, pools, permalinks, races through every state, submissions, reviews, scores
and the leaderboard.

Scores depend on elapsed times. A race finished over HTTP is always the only finisher of
its permalink at that moment (score 100, whatever its elapsed time) or far faster than
the pinned finishers (105, clamped); right after, its times are pinned in SQL, and the
qualifier is re-scored before any other race's score is read, so every score is exact.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.factory import Caller
from tests.parity_routes import (
    FINISH,
    FORFEIT,
    LEADERBOARD,
    PERMALINKS,
    POOLS,
    QUALIFIER,
    QUALIFIERS,
    RACES,
    REATTEMPT,
    RECALCULATE,
    REVIEW,
    REVIEW_QUEUE,
    START,
    SUBMISSION,
    Made,
)
from tests.parity_support import MISSING_ID, Side

Q1_CHANNEL = 1_350_000_000_000_000_001
Q2_CHANNEL = 1_350_000_000_000_000_002


def async_qualifier_system(s: Side, made: Made, base: datetime) -> None:
    qualifiers(s, made)
    pools_and_permalinks(s, made)
    races(s, made, base)
    reattempts(s, made, base)
    hidden_qualifier(s, made, base)
    submissions(s, made)
    reviews(s, made, base)


def pin(s: Side, race_id: int, base: datetime, seconds: float) -> None:
    """Pin a finished race's times: start at `base`, end `seconds` later."""
    s.pin_race_times(race_id, base, base + timedelta(seconds=seconds))


def rescore(s: Side, qid: int, manager: Caller, step: str) -> None:
    s.call(step, "POST", RECALCULATE, manager, 200, qid=qid)


def open_race(s: Side, step: str, runner: Caller, qid: int, expect: int = 201, **body: int) -> int:
    return s.create(step, RACES, runner, body, expect, qid=qid)


def act(s: Side, step: str, route: str, caller: Caller, race_id: int, expect: int = 200) -> None:
    s.call(step, "POST", route, caller, expect, rid=race_id)


def qualifiers(s: Side, made: Made) -> None:
    c = s.cast
    home = {"org": c.home}
    made.q1_channel, made.q2_channel = Q1_CHANNEL, Q2_CHANNEL
    s.call("a member lists no qualifiers yet", "GET", QUALIFIERS, c.runner1, 200, **home)
    s.call("an outsider lists qualifiers", "GET", QUALIFIERS, c.outsider, 404, **home)
    spring = {
        "name": "Spring Qualifier",
        "description": "Two pools, one run each",
        "discord_channel_id": Q1_CHANNEL,
        "runs_per_pool": 1,
        "max_reattempts": 1,
    }
    made.q1 = s.create("the manager creates a qualifier", QUALIFIERS, c.manager, spring, **home)
    hidden = {
        "name": "Hidden Qualifier",
        "hide_results": True,
        "discord_channel_id": Q2_CHANNEL,
        "runs_per_pool": 2,
        "max_reattempts": 0,
    }
    made.q2 = s.create("the admin creates a hidden qualifier", QUALIFIERS, c.admin, hidden, **home)
    scratch = s.create("a global admin creates one", QUALIFIERS, c.global_admin, {"name": "Scratch"}, **home)
    clash = {"name": "Clash", "discord_channel_id": Q1_CHANNEL}
    s.create("a qualifier on a channel in use", QUALIFIERS, c.manager, clash, 409, **home)
    for who, caller in [
        ("a member", c.runner1),
        ("a reviewer", c.reviewer),
        ("the away admin", c.away_admin),
    ]:
        s.create(f"{who} creates a qualifier", QUALIFIERS, caller, {"name": "x"}, 404, **home)
    s.create("in an unknown organization", QUALIFIERS, c.global_admin, {"name": "x"}, 404, org=MISSING_ID)
    for label, body in [
        ("zero runs per pool", {"name": "x", "runs_per_pool": 0}),
        ("max_reattempts below -1", {"name": "x", "max_reattempts": -2}),
        ("a channel id beyond 64 bits", {"name": "x", "discord_channel_id": 2**63}),
        ("an empty name", {"name": ""}),
        ("an unknown key", {"name": "x", "status": "open"}),
    ]:
        s.create(f"a qualifier with {label}", QUALIFIERS, c.manager, body, 422, **home)

    q1 = {"qid": made.q1}
    in_home, in_away = {"organization_id": c.home}, {"organization_id": c.away}
    s.call("a moderator reads a qualifier", "GET", QUALIFIER, c.moderator, 200, **q1)
    s.call("reading it, naming its org", "GET", QUALIFIER, c.runner1, 200, params=in_home, **q1)
    s.call("reading it through another org", "GET", QUALIFIER, c.manager, 404, params=in_away, **q1)
    s.call("an outsider reads it", "GET", QUALIFIER, c.outsider, 404, **q1)
    s.call("an unknown qualifier", "GET", QUALIFIER, c.manager, 404, qid=MISSING_ID)
    s.call("a qualifier id beyond 64 bits", "GET", QUALIFIER, c.manager, 422, qid=str(2**63))
    changes = {"description": "Updated", "max_reattempts": 1}
    s.call("the manager updates a qualifier", "PATCH", QUALIFIER, c.manager, 200, json=changes, **q1)
    s.call("an empty qualifier update", "PATCH", QUALIFIER, c.manager, 200, json={}, **q1)
    used = {"discord_channel_id": Q1_CHANNEL}
    s.call("moving onto a used channel", "PATCH", QUALIFIER, c.manager, 409, json=used, qid=made.q2)
    s.call("a null qualifier name", "PATCH", QUALIFIER, c.manager, 422, json={"name": None}, **q1)
    s.call("a member updates a qualifier", "PATCH", QUALIFIER, c.runner1, 404, json={"name": "x"}, **q1)
    unlink = {"discord_channel_id": None}
    s.call("unlinking a channel", "PATCH", QUALIFIER, c.manager, 200, json=unlink, qid=scratch)
    s.call("a member deletes a qualifier", "DELETE", QUALIFIER, c.runner1, 404, qid=scratch)
    s.call(
        "the manager deletes a qualifier", "DELETE", QUALIFIER, c.manager, 204, params=in_home, qid=scratch
    )
    s.call("deleting it again", "DELETE", QUALIFIER, c.manager, 404, qid=scratch)
    s.call("the qualifiers now", "GET", QUALIFIERS, c.runner2, 200, **home)


def pools_and_permalinks(s: Side, made: Made) -> None:
    c = s.cast
    q1, q2 = {"qid": made.q1}, {"qid": made.q2}
    standard = {"name": "Standard", "description": "No glitches"}
    made.standard = s.create("the manager creates a pool", POOLS, c.manager, standard, **q1)
    made.open_pool = s.create("a second pool", POOLS, c.admin, {"name": "Open"}, **q1)
    made.hidden_pool = s.create(
        "a pool of the hidden qualifier", POOLS, c.manager, {"name": "Hidden Pool"}, **q2
    )
    s.create("a duplicate pool name", POOLS, c.manager, {"name": "Standard"}, 409, **q1)
    s.create("the same name in another qualifier", POOLS, c.manager, {"name": "Standard"}, **q2)
    s.create("a member creates a pool", POOLS, c.runner1, {"name": "x"}, 404, **q1)
    s.create("a pool in an unknown qualifier", POOLS, c.manager, {"name": "x"}, 404, qid=MISSING_ID)
    s.create("a pool without a name", POOLS, c.manager, {}, 422, **q1)

    def permalink(step: str, pool: int, path: str, **extra: str) -> int:
        url = f"https://seeds.example/{path}"
        return s.create(step, PERMALINKS, c.manager, {"url": url, **extra}, pid=pool)

    made.standard_1 = permalink("a permalink", made.standard, "standard/1", notes="Easy")
    made.standard_2 = permalink("a second permalink", made.standard, "standard/2")
    made.open_1 = permalink("a permalink of the second pool", made.open_pool, "open/1")
    made.hidden_1 = permalink("a hidden permalink", made.hidden_pool, "hidden/1")
    permalink("a second hidden permalink", made.hidden_pool, "hidden/2")
    seed = {"url": "https://x"}
    s.create("a member adds a permalink", PERMALINKS, c.runner1, seed, 404, pid=made.standard)
    s.create("a permalink in an unknown pool", PERMALINKS, c.manager, seed, 404, pid=MISSING_ID)
    s.create("a permalink without a url", PERMALINKS, c.manager, {"url": ""}, 422, pid=made.standard)
    s.call("the qualifier with its pools", "GET", QUALIFIER, c.runner1, 200, **q1)


def races(s: Side, made: Made, base: datetime) -> None:
    c = s.cast
    q1 = made.q1
    made.r1 = r1 = open_race(s, "a runner opens a race in a pool", c.runner1, q1, pool_id=made.standard)
    open_race(s, "a second active race", c.runner1, q1, 409, pool_id=made.open_pool)
    open_race(s, "an outsider opens a race", c.outsider, q1, 404, pool_id=made.standard)
    both = {"pool_id": made.standard, "permalink_id": made.standard_1}
    open_race(s, "a race naming a pool and a permalink", c.runner2, q1, 422, **both)
    open_race(s, "a race naming neither", c.runner2, q1, 422)
    open_race(s, "a pool of another qualifier", c.runner2, q1, 404, pool_id=made.hidden_pool)
    open_race(s, "a permalink of another qualifier", c.runner2, q1, 404, permalink_id=made.hidden_1)
    act(s, "someone else starts the race", START, c.runner2, r1, 404)
    act(s, "the runner starts the race", START, c.runner1, r1)
    act(s, "starting it again", START, c.runner1, r1, 409)
    act(s, "someone else finishes it", FINISH, c.runner2, r1, 404)
    act(s, "the first finisher of the seed", FINISH, c.runner1, r1)
    act(s, "finishing it again", FINISH, c.runner1, r1, 409)
    act(s, "forfeiting a finished race", FORFEIT, c.runner1, r1, 409)
    act(s, "an unknown race", START, c.runner1, MISSING_ID, 404)
    pin(s, r1, base, 3600)

    made.r2 = r2 = open_race(s, "a runner picks that permalink", c.runner2, q1, permalink_id=made.standard_1)
    act(s, "the second runner starts", START, c.runner2, r2)
    act(s, "the second runner finishes far faster", FINISH, c.runner2, r2)
    pin(s, r2, base, 3000)
    rescore(s, made.q1, c.manager, "re-scoring after pinning two finishes")


def reattempts(s: Side, made: Made, base: datetime) -> None:
    c = s.cast
    q1 = made.q1
    r3 = open_race(s, "a third runner opens a race", c.runner3, q1, pool_id=made.standard)
    act(s, "the third runner forfeits", FORFEIT, c.runner3, r3)
    act(s, "forfeiting again", FORFEIT, c.runner3, r3, 409)
    act(s, "the third runner takes a re-attempt", REATTEMPT, c.runner3, r3)
    act(s, "re-attempting the same race again", REATTEMPT, c.runner3, r3, 409)
    r3b = open_race(s, "the re-attempt gets the next seed", c.runner3, q1, pool_id=made.standard)
    act(s, "the re-attempt starts", START, c.runner3, r3b)
    act(s, "the re-attempt finishes, alone on its seed", FINISH, c.runner3, r3b)
    pin(s, r3b, base, 4000)
    act(s, "a second re-attempt is over the limit", REATTEMPT, c.runner3, r3b, 400)
    act(s, "someone else re-attempts it", REATTEMPT, c.runner1, r3b, 404)

    r4 = open_race(s, "a fourth runner opens a race", c.runner4, q1, pool_id=made.standard)
    act(s, "re-attempting a pending race", REATTEMPT, c.runner4, r4, 409)
    act(s, "another runner forfeits it", FORFEIT, c.runner1, r4, 404)
    act(s, "the manager forfeits it", FORFEIT, c.manager, r4)
    open_race(s, "a pool whose runs are used up", c.runner1, q1, 400, pool_id=made.standard)

    r5 = open_race(s, "a race in the second pool", c.runner1, q1, pool_id=made.open_pool)
    act(s, "it starts", START, c.runner1, r5)
    act(s, "it finishes, alone on its seed", FINISH, c.runner1, r5)
    pin(s, r5, base, 1800)
    act(s, "the runner re-attempts it", REATTEMPT, c.runner1, r5)
    open_race(s, "no seed left the runner has not played", c.runner1, q1, 400, pool_id=made.open_pool)
    rescore(s, made.q1, c.manager, "re-scoring the qualifier")
    s.call("a member re-scores", "POST", RECALCULATE, c.runner1, 404, qid=q1)
    s.call("re-scoring an unknown qualifier", "POST", RECALCULATE, c.manager, 404, qid=MISSING_ID)
    s.call("the leaderboard", "GET", LEADERBOARD, c.runner4, 200, qid=q1)
    s.call("an outsider reads the leaderboard", "GET", LEADERBOARD, c.outsider, 404, qid=q1)


def hidden_qualifier(s: Side, made: Made, base: datetime) -> None:
    """Two runs per pool, no re-attempts, results hidden from runners."""
    c = s.cast
    q2 = made.q2
    r6 = open_race(s, "a race in the hidden qualifier", c.runner1, q2, pool_id=made.hidden_pool)
    act(s, "it is forfeited", FORFEIT, c.runner1, r6)
    act(s, "re-attempts are not allowed there", REATTEMPT, c.runner1, r6, 400)
    open_race(s, "a permalink already played", c.runner1, q2, 400, permalink_id=made.hidden_1)
    r7 = open_race(s, "a second run in the pool", c.runner1, q2, pool_id=made.hidden_pool)
    act(s, "the second run starts", START, c.runner1, r7)
    act(s, "the second run finishes", FINISH, c.runner1, r7)
    pin(s, r7, base, 2000)
    rescore(s, q2, c.admin, "re-scoring the hidden qualifier")
    open_race(s, "both runs of the pool are used", c.runner1, q2, 400, pool_id=made.hidden_pool)
    s.call("a runner reads the hidden leaderboard", "GET", LEADERBOARD, c.runner1, 200, qid=q2)
    s.call("a runner without races reads it", "GET", LEADERBOARD, c.runner2, 200, qid=q2)
    s.call("a reviewer reads all of it", "GET", LEADERBOARD, c.reviewer, 200, qid=q2)
    s.call("the manager reads all of it", "GET", LEADERBOARD, c.manager, 200, qid=q2)


def submissions(s: Side, made: Made) -> None:
    c = s.cast
    r1 = {"rid": made.r1}
    vod = {"runner_vod_url": "https://youtu.be/vod", "runner_notes": "Clean run"}
    request = {"review_requested_by_user": True, "review_request_reason": "Timer glitch"}
    s.call("the runner submits a VOD and notes", "PATCH", SUBMISSION, c.runner1, 200, json=vod, **r1)
    no_reason = {"review_requested_by_user": True}
    s.call("a review request without a reason", "PATCH", SUBMISSION, c.runner1, 400, json=no_reason, **r1)
    s.call("a review request with a reason", "PATCH", SUBMISSION, c.runner1, 200, json=request, **r1)
    s.call("an empty submission", "PATCH", SUBMISSION, c.runner1, 200, json={}, **r1)
    notes = {"runner_notes": "x"}
    s.call("someone else's submission", "PATCH", SUBMISSION, c.runner2, 404, json=notes, **r1)
    s.call("an unknown submission key", "PATCH", SUBMISSION, c.runner1, 422, json={"score": 105}, **r1)


def reviews(s: Side, made: Made, base: datetime) -> None:
    c = s.cast
    q1, r1 = {"qid": made.q1}, {"rid": made.r1}
    s.call("the review queue", "GET", REVIEW_QUEUE, c.reviewer, 200, **q1)
    for label, params in [
        ("finished races", {"status": "finished"}),
        ("pending reviews", {"review_status": "pending"}),
        ("a page", {"skip": 1, "limit": 2}),
        ("forfeits", {"status": "forfeit", "limit": 100}),
    ]:
        s.call(f"the review queue of {label}", "GET", REVIEW_QUEUE, c.admin, 200, params=params, **q1)
    s.call("the manager reads the review queue", "GET", REVIEW_QUEUE, c.manager, 404, **q1)
    s.call("a page too large", "GET", REVIEW_QUEUE, c.reviewer, 422, params={"limit": 101}, **q1)
    s.call("an unknown status filter", "GET", REVIEW_QUEUE, c.reviewer, 422, params={"status": "done"}, **q1)

    s.call("the reviewer reads a race", "GET", REVIEW, c.reviewer, 200, **r1)
    s.call("the runner reads their own race", "GET", REVIEW, c.runner1, 200, **r1)
    s.call("another runner reads it", "GET", REVIEW, c.runner2, 404, **r1)
    s.call("reading an unknown race", "GET", REVIEW, c.reviewer, 404, rid=MISSING_ID)
    accept = {"review_status": "accepted", "reviewer_notes": "Looks good"}
    s.call("the reviewer accepts a race", "PATCH", REVIEW, c.reviewer, 200, json=accept, **r1)
    corrected = {
        "review_status": "rejected",
        "reviewer_notes": "Late timer",
        "elapsed_seconds_override": 3300,
    }
    s.call("a rejection that corrects the time", "PATCH", REVIEW, c.admin, 200, json=corrected, rid=made.r2)
    undecided = {"review_status": "pending"}
    s.call("reviewing without a decision", "PATCH", REVIEW, c.reviewer, 422, json=undecided, **r1)
    accepted = {"review_status": "accepted"}
    s.call("a runner reviews", "PATCH", REVIEW, c.runner2, 404, json=accepted, **r1)
    negative = {"review_status": "accepted", "elapsed_seconds_override": -5}
    s.call("a negative corrected time", "PATCH", REVIEW, c.reviewer, 422, json=negative, **r1)

    own = open_race(s, "the reviewer runs a race", c.reviewer, made.q1, pool_id=made.open_pool)
    s.call("reviewing a race still pending", "PATCH", REVIEW, c.admin, 409, json=accepted, rid=own)
    act(s, "the reviewer starts", START, c.reviewer, own)
    act(s, "the reviewer finishes, alone on the seed", FINISH, c.reviewer, own)
    pin(s, own, base, 2400)
    s.call("reviewing your own race", "PATCH", REVIEW, c.reviewer, 403, json=accepted, rid=own)
    rescore(s, made.q1, c.manager, "re-scoring after the reviews")
    mine = {"reviewed_by_id": c.reviewer.user_id}
    s.call("the reviewer's decisions", "GET", REVIEW_QUEUE, c.reviewer, 200, params=mine, **q1)
    s.call("the leaderboard after the reviews", "GET", LEADERBOARD, c.runner1, 200, **q1)
