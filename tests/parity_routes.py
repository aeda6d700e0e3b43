"""The routes the parity scenario drives (templates as the spec names them), request
values it shares, the ids it creates along the way, and the sweep that calls every route
without a token."""

from __future__ import annotations

from dataclasses import dataclass

from tests.parity_support import MISSING_ID, Side

BOGUS = {"Authorization": "Bearer stk_not-a-real-token"}
RAW_JSON = {"Content-Type": "application/json"}
TOO_LARGE_ID = 2**31  # one past what the id columns hold: 422, never a database error

# -- tournament system -------------------------------------------------------------------------
TOURNAMENTS = "/api/tournaments/organizations/{org}"
TOURNAMENT = "/api/tournaments/{tid}"
PLAYERS = "/api/tournaments/{tid}/players"
PLAYER = "/api/tournaments/{tid}/players/{uid}"
MATCHES_OF_ORG = "/api/tournaments/organizations/{org}/matches"
MATCHES = "/api/tournaments/matches"
MATCH = "/api/tournaments/matches/{mid}"
ADVANCE = "/api/tournaments/matches/{mid}/advance-status"
REVERT = "/api/tournaments/matches/{mid}/revert-status"
WINNER = "/api/tournaments/matches/{mid}/winner"
SEED = "/api/tournaments/matches/{mid}/seed"
CREW = "/api/tournaments/matches/{mid}/crew"
APPROVE = "/api/tournaments/crew/approve"
UNAPPROVE = "/api/tournaments/crew/unapprove"
CHANNELS = "/api/stream-channels/organizations/{org}"
CHANNEL = "/api/stream-channels/organizations/{org}/{cid}"

# -- async qualifier system --------------------------------------------------------------------
QUALIFIERS = "/api/async-qualifiers/organizations/{org}"
QUALIFIER = "/api/async-qualifiers/{qid}"
POOLS = "/api/async-qualifiers/{qid}/pools"
PERMALINKS = "/api/async-qualifiers/pools/{pid}/permalinks"
RACES = "/api/async-qualifiers/{qid}/races"
START = "/api/async-qualifiers/races/{rid}/start"
FINISH = "/api/async-qualifiers/races/{rid}/finish"
FORFEIT = "/api/async-qualifiers/races/{rid}/forfeit"
REATTEMPT = "/api/async-qualifiers/races/{rid}/reattempt"
LEADERBOARD = "/api/async-qualifiers/{qid}/leaderboard"
RECALCULATE = "/api/async-qualifiers/{qid}/recalculate"
REVIEW_QUEUE = "/api/async-qualifiers/{qid}/review-queue"
REVIEW = "/api/async-qualifiers/races/{rid}/review"
SUBMISSION = "/api/async-qualifiers/races/{rid}/submission"

# -- core, answered from the systems' ownership resolvers ----------------------------------------
OWNER = "/_strangler/owner/{kind}/{eid}"


@dataclass
class Made:
    """The ids one side's answers gave the scenario (MISSING_ID where a creation failed)."""

    cup: int = MISSING_ID
    linked_cup: int = MISSING_ID
    sg_cup: int = MISSING_ID
    doomed_cup: int = MISSING_ID
    away_cup: int = MISSING_ID
    main_stage: int = MISSING_ID
    side_stage: int = MISSING_ID
    final: int = MISSING_ID
    bare: int = MISSING_ID
    linked_match: int = MISSING_ID
    sg_match: int = MISSING_ID
    commentator: int = MISSING_ID
    restreamer: int = MISSING_ID
    q1: int = MISSING_ID
    q2: int = MISSING_ID
    q1_channel: int = MISSING_ID
    q2_channel: int = MISSING_ID
    standard: int = MISSING_ID
    open_pool: int = MISSING_ID
    hidden_pool: int = MISSING_ID
    standard_1: int = MISSING_ID
    standard_2: int = MISSING_ID
    open_1: int = MISSING_ID
    hidden_1: int = MISSING_ID
    r1: int = MISSING_ID
    r2: int = MISSING_ID


def unauthenticated_sweep(s: Side, made: Made) -> None:
    """Every route of both systems, without a token: 401 before anything else is looked at."""
    c = s.cast
    calls: list[tuple[str, str, dict[str, int]]] = [
        ("GET", TOURNAMENTS, {"org": c.home}),
        ("POST", TOURNAMENTS, {"org": c.home}),
        ("PATCH", TOURNAMENT, {"tid": made.cup}),
        ("DELETE", TOURNAMENT, {"tid": made.cup}),
        ("GET", PLAYERS, {"tid": made.cup}),
        ("POST", PLAYER, {"tid": made.cup, "uid": c.runner1.user_id}),
        ("DELETE", PLAYER, {"tid": made.cup, "uid": c.runner1.user_id}),
        ("GET", MATCHES_OF_ORG, {"org": c.home}),
        ("POST", MATCHES, {}),
        ("PATCH", MATCH, {"mid": made.final}),
        ("POST", ADVANCE, {"mid": made.final}),
        ("POST", REVERT, {"mid": made.final}),
        ("POST", WINNER, {"mid": made.final}),
        ("PUT", SEED, {"mid": made.final}),
        ("DELETE", SEED, {"mid": made.final}),
        ("POST", CREW, {"mid": made.final}),
        ("POST", APPROVE, {}),
        ("POST", UNAPPROVE, {}),
        ("GET", CHANNELS, {"org": c.home}),
        ("POST", CHANNELS, {"org": c.home}),
        ("PATCH", CHANNEL, {"org": c.home, "cid": made.main_stage}),
        ("DELETE", CHANNEL, {"org": c.home, "cid": made.main_stage}),
        ("GET", QUALIFIERS, {"org": c.home}),
        ("POST", QUALIFIERS, {"org": c.home}),
        ("GET", QUALIFIER, {"qid": made.q1}),
        ("PATCH", QUALIFIER, {"qid": made.q1}),
        ("DELETE", QUALIFIER, {"qid": made.q1}),
        ("POST", POOLS, {"qid": made.q1}),
        ("POST", PERMALINKS, {"pid": made.standard}),
        ("POST", RACES, {"qid": made.q1}),
        ("POST", START, {"rid": made.r1}),
        ("POST", FINISH, {"rid": made.r1}),
        ("POST", FORFEIT, {"rid": made.r1}),
        ("POST", REATTEMPT, {"rid": made.r1}),
        ("GET", LEADERBOARD, {"qid": made.q1}),
        ("POST", RECALCULATE, {"qid": made.q1}),
        ("GET", REVIEW_QUEUE, {"qid": made.q1}),
        ("GET", REVIEW, {"rid": made.r1}),
        ("PATCH", REVIEW, {"rid": made.r1}),
        ("PATCH", SUBMISSION, {"rid": made.r1}),
    ]
    for method, route, path in calls:
        s.call(f"{method} {route} without a token", method, route, None, 401, json={}, **path)
    s.call(
        "a malformed Authorization header",
        "GET",
        QUALIFIER,
        None,
        401,
        headers={"Authorization": "Basic dXNlcjpwdw=="},
        qid=made.q1,
    )
