"""The parity scenario: one script that drives every route and every Discord command (and
the button flow) of the Tournament and AsyncQualifier systems - reads, writes and error
paths (401, 403, 404, 400, 409, 422) - against one app, recording each exchange on a
`Side` (tests/parity_support.py). It runs once against legacy_app and once against
plugin_app, each from a copy of the same starting state; tests/test_parity.py compares
the two recordings.

The script is the same for both sides; only the generated ids it reads back from each
side's answers differ. Every step states the status (or Discord reply) the spec demands,
and the reference run is checked against them, so the scenario itself stays honest.

What a client cannot do over HTTP is done in SQL between steps, identically on both
sides: pinning the start and end of a finished race (and the open and timeout times of a
race thread) to fixed moments, so that scores, leaderboards and replies that depend on
elapsed time do not depend on how fast the machine ran the scenario.

    parity_scenario.py            tournaments, registrations, ownership lookups (here)
    parity_scenario_schedule.py   stream channels, matches, crew, SpeedGaming, deletion
    parity_scenario_async.py      qualifiers, pools, permalinks, races, reviews, scores
    parity_scenario_discord.py    the slash commands and the button flow
    parity_routes.py              route templates, created ids, the no-token sweep
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.parity_routes import (
    BOGUS,
    FINISH,
    MATCH,
    OWNER,
    PLAYER,
    PLAYERS,
    QUALIFIER,
    RAW_JSON,
    TOO_LARGE_ID,
    TOURNAMENT,
    TOURNAMENTS,
    Made,
    unauthenticated_sweep,
)
from tests.parity_scenario_async import async_qualifier_system
from tests.parity_scenario_discord import discord_commands
from tests.parity_scenario_schedule import schedule
from tests.parity_support import HOME_GUILD, MISSING_ID, Side

BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # pinned race times count from here


def run_scenario(side: Side) -> Made:
    """The whole scenario; returns the ids it created on this side."""
    made = Made()
    tournaments(side, made)
    registrations(side, made)
    schedule(side, made)
    async_qualifier_system(side, made, BASE_TIME)
    discord_commands(side, made, BASE_TIME)
    malformed_requests(side, made)
    ownership(side, made)
    unauthenticated_sweep(side, made)
    return made


def tournaments(s: Side, made: Made) -> None:
    c = s.cast
    home, away = {"org": c.home}, {"org": c.away}
    s.call("anonymous lists tournaments", "GET", TOURNAMENTS, None, 401, **home)
    s.call("a bogus token lists tournaments", "GET", TOURNAMENTS, None, 401, headers=BOGUS, **home)
    s.call("a member lists no tournaments yet", "GET", TOURNAMENTS, c.runner1, 200, **home)
    s.call("an outsider lists tournaments", "GET", TOURNAMENTS, c.outsider, 403, **home)
    s.call("an unknown organization", "GET", TOURNAMENTS, c.global_admin, 404, org=MISSING_ID)
    s.call("an organization id out of range", "GET", TOURNAMENTS, c.global_admin, 422, org=TOO_LARGE_ID)

    every_field = {
        "name": "Spring Cup",
        "description": "Best of three",
        "is_active": True,
        "tracker_enabled": False,
        "require_racetime_link": False,
        "speedgaming_enabled": False,
        "onsite_tournament": True,
    }
    linked = {"name": "  Linked Cup  ", "require_racetime_link": True}
    made.cup = s.create("the manager creates a tournament", TOURNAMENTS, c.manager, every_field, **home)
    made.linked_cup = s.create(
        "a tournament requiring racetime links", TOURNAMENTS, c.manager, linked, **home
    )
    made.sg_cup = s.create("the admin creates a tournament", TOURNAMENTS, c.admin, {"name": "SG Cup"}, **home)
    doomed = {"name": "Doomed Cup", "is_active": False}
    made.doomed_cup = s.create("a global admin creates one", TOURNAMENTS, c.global_admin, doomed, **home)
    made.away_cup = s.create(
        "the away admin creates one", TOURNAMENTS, c.away_admin, {"name": "Away"}, **away
    )
    for who, caller in [
        ("a member", c.runner1),
        ("a moderator", c.moderator),
        ("a reviewer", c.reviewer),
        ("the away admin", c.away_admin),
    ]:
        s.create(f"{who} may not create a tournament", TOURNAMENTS, caller, {"name": "x"}, 403, **home)
    s.create("creating in an unknown organization", TOURNAMENTS, c.admin, {"name": "x"}, 404, org=MISSING_ID)
    for label, body in [
        ("an empty name", {"name": ""}),
        ("a name of blanks", {"name": "   "}),
        ("a name too long", {"name": "x" * 201}),
        ("an unknown key", {"name": "x", "colour": "red"}),
        ("a null flag", {"name": "x", "is_active": None}),
        ("a missing name", {}),
    ]:
        s.create(f"creating with {label}", TOURNAMENTS, c.manager, body, 422, **home)
    for label, raw in [
        ("a NUL byte", '{"name": "nul\\u0000"}'),
        ("a lone surrogate", '{"name": "\\ud800"}'),
        ("bad JSON", "{"),
    ]:
        s.call(
            f"creating with {label}",
            "POST",
            TOURNAMENTS,
            c.manager,
            422,
            content=raw,
            headers=RAW_JSON,
            **home,
        )

    in_home, cup = {"organization_id": c.home}, {"tid": made.cup}
    changes = {"name": "Spring Cup 2031", "tracker_enabled": True, "description": ""}
    s.call(
        "the manager updates a tournament",
        "PATCH",
        TOURNAMENT,
        c.manager,
        200,
        params=in_home,
        json=changes,
        **cup,
    )
    s.call("an empty update", "PATCH", TOURNAMENT, c.manager, 200, params=in_home, json={}, **cup)
    rename = {"name": "x"}
    s.call("an update without organization_id", "PATCH", TOURNAMENT, c.manager, 422, json=rename, **cup)
    in_away = {"organization_id": c.away}
    s.call(
        "an update naming another org",
        "PATCH",
        TOURNAMENT,
        c.away_admin,
        404,
        params=in_away,
        json=rename,
        **cup,
    )
    s.call(
        "the away admin updates it",
        "PATCH",
        TOURNAMENT,
        c.away_admin,
        403,
        params=in_home,
        json=rename,
        **cup,
    )
    s.call("a member updates it", "PATCH", TOURNAMENT, c.runner1, 403, params=in_home, json=rename, **cup)
    s.call("a null name", "PATCH", TOURNAMENT, c.manager, 422, params=in_home, json={"name": None}, **cup)
    s.call(
        "an unknown tournament",
        "PATCH",
        TOURNAMENT,
        c.manager,
        404,
        params=in_home,
        json=rename,
        tid=MISSING_ID,
    )
    s.call("a moderator lists tournaments", "GET", TOURNAMENTS, c.moderator, 200, **home)


def registrations(s: Side, made: Made) -> None:
    c = s.cast
    cup = {"tid": made.cup}
    one, two, three = c.runner1.user_id, c.runner2.user_id, c.runner3.user_id
    s.call("a runner registers", "POST", PLAYER, c.runner1, 200, uid=one, **cup)
    s.call("a runner registers again", "POST", PLAYER, c.runner1, 200, uid=one, **cup)
    s.call("the manager registers a runner", "POST", PLAYER, c.manager, 200, uid=two, **cup)
    s.call("a member registers someone else", "POST", PLAYER, c.runner3, 403, uid=c.runner4.user_id, **cup)
    s.call("the manager registers an outsider", "POST", PLAYER, c.manager, 404, uid=c.outsider.user_id, **cup)
    s.call("an outsider registers", "POST", PLAYER, c.outsider, 403, uid=c.outsider.user_id, **cup)
    in_away = {"organization_id": c.away}
    s.call("registering through another org", "POST", PLAYER, c.runner1, 404, params=in_away, uid=one, **cup)
    s.call("registering for an unknown tournament", "POST", PLAYER, c.runner1, 404, tid=MISSING_ID, uid=one)
    s.call("a moderator lists the players", "GET", PLAYERS, c.moderator, 200, **cup)
    s.call(
        "the players, naming the org",
        "GET",
        PLAYERS,
        c.runner1,
        200,
        params={"organization_id": c.home},
        **cup,
    )
    s.call("an outsider lists the players", "GET", PLAYERS, c.outsider, 403, **cup)
    s.call("the players of an unknown tournament", "GET", PLAYERS, c.runner1, 404, tid=MISSING_ID)
    s.call("a member unregisters someone else", "DELETE", PLAYER, c.runner2, 403, uid=one, **cup)
    s.call("a runner unregisters", "DELETE", PLAYER, c.runner1, 204, uid=one, **cup)
    s.call("the manager unregisters a runner", "DELETE", PLAYER, c.manager, 204, uid=two, **cup)
    s.call("unregistering someone not registered", "DELETE", PLAYER, c.manager, 204, uid=three, **cup)
    s.call("a runner registers for good", "POST", PLAYER, c.runner3, 200, uid=three, **cup)
    s.call("the players now", "GET", PLAYERS, c.runner3, 200, **cup)


def ownership(s: Side, made: Made) -> None:
    """The proxy's lookups: which organization an entity belongs to (resolved by each system)."""
    entities = [
        ("tournament", made.cup),
        ("match", made.final),
        ("crew", made.commentator),
        ("stream_channel", made.main_stage),
        ("async_qualifier", made.q1),
        ("pool", made.standard),
        ("permalink", made.standard_1),
        ("race", made.r1),
        ("discord_channel", made.q1_channel),
        ("discord_guild", HOME_GUILD),
    ]
    for kind, entity_id in entities:
        s.call(f"the owner of a {kind}", "GET", OWNER, None, 200, kind=kind, eid=entity_id)
        s.call(f"the owner of an unknown {kind}", "GET", OWNER, None, 404, kind=kind, eid=MISSING_ID)
    s.call(
        "the owner of a deleted tournament", "GET", OWNER, None, 404, kind="tournament", eid=made.doomed_cup
    )
    s.call("the owner of an id beyond 64 bits", "GET", OWNER, None, 404, kind="race", eid=str(2**64))
    s.call("an unknown kind of entity", "GET", OWNER, None, 404, kind="trophy", eid=1)


def malformed_requests(s: Side, made: Made) -> None:
    """Ids and organization ids that are not ids: 422 (or 404 for an unknown organization),
    wherever the organization is named - also for an app that looks it up first."""
    c = s.cast
    for label, value in [("text", "abc"), ("zero", 0), ("an unknown one", MISSING_ID)]:
        query = {"organization_id": value}
        expect = 404 if value == MISSING_ID else 422
        s.call(
            f"players, organization_id {label}", "GET", PLAYERS, c.runner1, expect, params=query, tid=made.cup
        )
        s.call(
            f"a match, organization_id {label}",
            "PATCH",
            MATCH,
            c.manager,
            expect,
            params=query,
            json={},
            mid=made.final,
        )
        s.call(
            f"a qualifier, organization_id {label}",
            "GET",
            QUALIFIER,
            c.runner1,
            expect,
            params=query,
            qid=made.q1,
        )
    s.call("an organization that is text", "GET", TOURNAMENTS, c.runner1, 422, org="abc")
    s.call("a race id of 20 digits", "POST", FINISH, c.runner1, 422, rid="99999999999999999999")
    s.call("a negative qualifier id", "GET", QUALIFIER, c.runner1, 422, qid=-1)
