"""The schedule half of the tournament system in the parity scenario (tests/parity_scenario.py):
stream channels, matches (status, winner, seed), crew, SpeedGaming's read-only schedule,
and deleting tournaments."""

from __future__ import annotations

from typing import Any

from tests.parity_routes import (
    ADVANCE,
    APPROVE,
    CHANNEL,
    CHANNELS,
    CREW,
    MATCH,
    MATCHES,
    MATCHES_OF_ORG,
    REVERT,
    SEED,
    TOO_LARGE_ID,
    TOURNAMENT,
    TOURNAMENTS,
    UNAPPROVE,
    WINNER,
    Made,
)
from tests.parity_support import MISSING_ID, Side, created_id


def schedule(s: Side, made: Made) -> None:
    stream_channels(s, made)
    matches(s, made)
    match_progress(s, made)
    crew(s, made)
    speedgaming(s, made)
    tournament_deletion(s, made)


def stream_channels(s: Side, made: Made) -> None:
    c = s.cast
    home = {"org": c.home}
    s.call("a member lists no channels yet", "GET", CHANNELS, c.runner1, 200, **home)
    main = {"name": "Main Stage", "stream_url": "https://twitch.tv/main"}
    made.main_stage = s.create("the admin creates a channel", CHANNELS, c.admin, main, **home)
    side = {"name": "Side Stage"}
    made.side_stage = s.create("a global admin creates a channel", CHANNELS, c.global_admin, side, **home)
    inactive = {"name": "Temporary", "is_active": False}
    temporary = s.create("an inactive channel", CHANNELS, c.admin, inactive, **home)
    s.create("the manager may not create a channel", CHANNELS, c.manager, {"name": "Nope"}, 403, **home)
    s.create("a duplicate channel name", CHANNELS, c.admin, {"name": "Main Stage"}, 409, **home)
    s.create("a name taken in another org", CHANNELS, c.away_admin, {"name": "Main Stage"}, 409, org=c.away)
    s.create("a channel without a name", CHANNELS, c.admin, {"stream_url": "https://x"}, 422, **home)
    s.call("an outsider lists channels", "GET", CHANNELS, c.outsider, 403, **home)
    s.call("channels of an unknown organization", "GET", CHANNELS, c.global_admin, 404, org=MISSING_ID)

    at = {"cid": made.side_stage, **home}
    changes = {"name": "Side Stage B", "stream_url": "https://twitch.tv/side"}
    s.call("the admin updates a channel", "PATCH", CHANNEL, c.admin, 200, json=changes, **at)
    s.call("renaming onto a taken name", "PATCH", CHANNEL, c.admin, 409, json={"name": "Main Stage"}, **at)
    away_path = {"org": c.away, "cid": made.side_stage}
    s.call("a channel under another org's path", "PATCH", CHANNEL, c.away_admin, 404, json={}, **away_path)
    s.call("a member updates a channel", "PATCH", CHANNEL, c.runner1, 403, json={"name": "x"}, **at)
    s.call("a null flag on a channel", "PATCH", CHANNEL, c.admin, 422, json={"is_active": None}, **at)
    s.call("an unknown channel", "PATCH", CHANNEL, c.admin, 404, json={}, org=c.home, cid=MISSING_ID)
    doomed = {"org": c.home, "cid": temporary}
    s.call("the manager deletes a channel", "DELETE", CHANNEL, c.manager, 403, **doomed)
    s.call("the admin deletes a channel", "DELETE", CHANNEL, c.admin, 204, **doomed)
    s.call("deleting it again", "DELETE", CHANNEL, c.admin, 404, **doomed)
    s.call("the channels now", "GET", CHANNELS, c.moderator, 200, **home)


def matches(s: Side, made: Made) -> None:
    c = s.cast
    in_home = {"organization_id": c.home}
    runners = [c.runner1.user_id, c.runner2.user_id]

    def create(step: str, caller: Any, expect: int, **body: Any) -> int:
        return created_id(s.call(step, "POST", MATCHES, caller, expect, params=in_home, json=body))

    made.final = create(
        "the manager creates a scheduled match",
        c.manager,
        201,
        tournament_id=made.cup,
        title="Round 1",
        comment="Bo3",
        scheduled_at="2031-06-01T18:30:00Z",
        stream_channel_id=made.main_stage,
        player_ids=[*runners, c.runner1.user_id],
    )
    made.bare = create("a bare match", c.manager, 201, tournament_id=made.cup, player_ids=[c.runner3.user_id])
    linked = made.linked_cup
    made.linked_match = create(
        "linked players where required", c.admin, 201, tournament_id=linked, player_ids=runners
    )
    create("a member creates a match", c.runner1, 403, tournament_id=made.cup)
    outsiders = [c.outsider.user_id, *runners]
    create("a player outside the organization", c.manager, 400, tournament_id=made.cup, player_ids=outsiders)
    unlinked = [c.unlinked.user_id, c.runner1.user_id]
    create(
        "an unlinked player where required",
        c.manager,
        400,
        tournament_id=made.linked_cup,
        player_ids=unlinked,
    )
    create("an unknown stream channel", c.manager, 404, tournament_id=made.cup, stream_channel_id=MISSING_ID)
    create("a tournament of another organization", c.manager, 404, tournament_id=made.away_cup)
    create("an unknown tournament", c.manager, 404, tournament_id=MISSING_ID)
    create("a naive scheduled_at", c.manager, 422, tournament_id=made.cup, scheduled_at="2031-06-01T18:30:00")
    create("a player id out of range", c.manager, 422, tournament_id=made.cup, player_ids=[TOO_LARGE_ID])
    create("no tournament_id", c.manager, 422, title="x")
    s.call(
        "a match without organization_id", "POST", MATCHES, c.manager, 422, json={"tournament_id": made.cup}
    )

    home = {"org": c.home}
    of_linked = {"tournament_id": made.linked_cup}
    s.call("a moderator lists the matches", "GET", MATCHES_OF_ORG, c.moderator, 200, **home)
    s.call("matches of one tournament", "GET", MATCHES_OF_ORG, c.runner1, 200, params=of_linked, **home)
    s.call("an outsider lists the matches", "GET", MATCHES_OF_ORG, c.outsider, 403, **home)
    s.call("matches of an unknown org", "GET", MATCHES_OF_ORG, c.global_admin, 404, org=MISSING_ID)
    s.call(
        "a tournament filter of 0", "GET", MATCHES_OF_ORG, c.runner1, 422, params={"tournament_id": 0}, **home
    )

    final = {"mid": made.final}
    changes = {
        "title": "Final",
        "comment": None,
        "scheduled_at": "2031-06-02T10:00:00+02:00",
        "stream_channel_id": None,
    }
    s.call("the manager updates a match", "PATCH", MATCH, c.manager, 200, json=changes, **final)
    side = {"stream_channel_id": made.side_stage}
    s.call("another channel for the match", "PATCH", MATCH, c.admin, 200, params=in_home, json=side, **final)
    unknown = {"stream_channel_id": MISSING_ID}
    s.call("an unknown channel for the match", "PATCH", MATCH, c.manager, 404, json=unknown, **final)
    s.call("a member updates a match", "PATCH", MATCH, c.runner1, 403, json={"title": "x"}, **final)
    s.call("an unknown key on a match", "PATCH", MATCH, c.manager, 422, json={"status": "started"}, **final)
    in_away = {"organization_id": c.away}
    s.call("a match through another org", "PATCH", MATCH, c.manager, 404, params=in_away, json={}, **final)
    s.call("an unknown match", "PATCH", MATCH, c.manager, 404, json={}, mid=MISSING_ID)


def match_progress(s: Side, made: Made) -> None:
    c = s.cast
    bare, final = {"mid": made.bare}, {"mid": made.final}
    for status in ("scheduled", "checked_in", "started", "finished", "recorded"):
        s.call(
            f"advancing a match to {status}", "POST", ADVANCE, c.manager, 200, json={"status": status}, **bare
        )
    started = {"status": "started"}
    s.call("advancing to an unknown status", "POST", ADVANCE, c.manager, 422, json={"status": "done"}, **bare)
    s.call("a member advances a match", "POST", ADVANCE, c.runner3, 403, json=started, **bare)
    s.call("advancing an unknown match", "POST", ADVANCE, c.manager, 404, json=started, mid=MISSING_ID)
    for status in ("recorded", "finished", "checked_in", "checked_in"):
        s.call(f"reverting {status}", "POST", REVERT, c.manager, 200, json={"status": status}, **bare)
    s.call("a member reverts a match", "POST", REVERT, c.runner3, 403, json=started, **bare)
    s.call("reverting without a status", "POST", REVERT, c.manager, 422, json={}, **bare)

    two, one = {"user_id": c.runner2.user_id}, {"user_id": c.runner1.user_id}
    s.call("the manager sets the winner", "POST", WINNER, c.manager, 200, json=two, **final)
    s.call("the winner changes", "POST", WINNER, c.manager, 200, json=one, **final)
    s.call(
        "a winner who did not play",
        "POST",
        WINNER,
        c.manager,
        400,
        json={"user_id": c.runner3.user_id},
        **final,
    )
    s.call("a member sets the winner", "POST", WINNER, c.runner1, 403, json=one, **final)
    s.call("a winner id of 0", "POST", WINNER, c.manager, 422, json={"user_id": 0}, **final)

    seed = {"url": "https://alttpr.com/h/abc", "description": "Standard"}
    of_cup = {"tournament_id": made.cup}
    s.call("the manager sets a seed", "PUT", SEED, c.manager, 200, json=seed, **final)
    s.call(
        "the admin replaces the seed",
        "PUT",
        SEED,
        c.admin,
        200,
        json={"url": "https://alttpr.com/h/x"},
        **final,
    )
    s.call("a member sets a seed", "PUT", SEED, c.runner1, 403, json=seed, **final)
    s.call("a seed without a url", "PUT", SEED, c.manager, 422, json={"url": ""}, **final)
    s.call("the matches with the seed", "GET", MATCHES_OF_ORG, c.runner1, 200, params=of_cup, org=c.home)
    s.call("the manager deletes the seed", "DELETE", SEED, c.manager, 204, **final)
    s.call("deleting a seed that is gone", "DELETE", SEED, c.manager, 204, **final)
    s.call("a member deletes a seed", "DELETE", SEED, c.runner1, 403, **final)
    s.call("the seed is back", "PUT", SEED, c.manager, 200, json=seed, **final)


def crew(s: Side, made: Made) -> None:
    c = s.cast
    final = {"mid": made.final}
    commentator, tracker = {"role": "commentator"}, {"role": "tracker"}
    made.commentator = s.create(
        "a member signs up as commentator", CREW, c.runner3, commentator, 200, **final
    )
    s.create("signing up again", CREW, c.runner3, commentator, 200, **final)
    s.create("the same member as tracker", CREW, c.runner3, tracker, 200, **final)
    restreamer = {"role": "restreamer", "user_id": c.runner4.user_id}
    made.restreamer = s.create("the manager adds a restreamer", CREW, c.manager, restreamer, 200, **final)
    s.create(
        "a member adds someone else", CREW, c.runner1, {**tracker, "user_id": c.runner4.user_id}, 403, **final
    )
    s.create(
        "the manager adds an outsider",
        CREW,
        c.manager,
        {**tracker, "user_id": c.outsider.user_id},
        404,
        **final,
    )
    s.create("an outsider signs up", CREW, c.outsider, tracker, 403, **final)
    s.create("an unknown crew role", CREW, c.runner3, {"role": "caster"}, 422, **final)
    s.create("crew for an unknown match", CREW, c.runner3, tracker, 404, mid=MISSING_ID)

    signup = {"crew_id": made.commentator}
    s.call("the manager approves a signup", "POST", APPROVE, c.manager, 200, json=signup)
    s.call("approving it again", "POST", APPROVE, c.admin, 200, json=signup)
    s.call("a member approves", "POST", APPROVE, c.runner3, 403, json=signup)
    s.call("approving an unknown signup", "POST", APPROVE, c.manager, 404, json={"crew_id": MISSING_ID})
    in_away, in_home = {"organization_id": c.away}, {"organization_id": c.home}
    s.call("approving through another org", "POST", APPROVE, c.manager, 404, params=in_away, json=signup)
    s.call("a crew id out of range", "POST", APPROVE, c.manager, 422, json={"crew_id": TOO_LARGE_ID})
    other = {"crew_id": made.restreamer}
    s.call("the manager approves the restreamer", "POST", APPROVE, c.manager, 200, params=in_home, json=other)
    s.call("the manager unapproves", "POST", UNAPPROVE, c.manager, 200, json=signup)
    s.call("a member unapproves", "POST", UNAPPROVE, c.runner3, 403, json=other)
    s.call("unapproving an unknown signup", "POST", UNAPPROVE, c.manager, 404, json={"crew_id": MISSING_ID})
    of_cup = {"tournament_id": made.cup}
    s.call("the match with its crew", "GET", MATCHES_OF_ORG, c.runner4, 200, params=of_cup, org=c.home)


def speedgaming(s: Side, made: Made) -> None:
    """SpeedGaming owns the schedule: edits are refused, progress and results are not."""
    c = s.cast
    in_home = {"organization_id": c.home}
    match = {
        "tournament_id": made.sg_cup,
        "player_ids": [c.runner1.user_id],
        "scheduled_at": "2031-07-01T12:00:00Z",
    }
    made.sg_match = created_id(
        s.call("a match before SpeedGaming", "POST", MATCHES, c.manager, 201, params=in_home, json=match)
    )
    sg = {"mid": made.sg_match}
    sg_crew = s.create("a tracker signs up early", CREW, c.runner2, {"role": "tracker"}, 200, **sg)
    s.call("the early tracker is approved", "POST", APPROVE, c.manager, 200, json={"crew_id": sg_crew})
    on = {"speedgaming_enabled": True}
    s.call(
        "SpeedGaming takes over",
        "PATCH",
        TOURNAMENT,
        c.manager,
        200,
        params=in_home,
        json=on,
        tid=made.sg_cup,
    )
    new = {"tournament_id": made.sg_cup}
    s.call("creating a match under SpeedGaming", "POST", MATCHES, c.manager, 400, params=in_home, json=new)
    s.call("updating a match under SpeedGaming", "PATCH", MATCH, c.manager, 400, json={"title": "x"}, **sg)
    s.call("reverting under SpeedGaming", "POST", REVERT, c.manager, 400, json={"status": "scheduled"}, **sg)
    s.create("crew signup under SpeedGaming", CREW, c.runner3, {"role": "commentator"}, 400, **sg)
    added = {"role": "commentator", "user_id": c.runner4.user_id}
    s.create("adding crew under SpeedGaming", CREW, c.manager, added, 400, **sg)
    s.call("approving under SpeedGaming", "POST", APPROVE, c.manager, 400, json={"crew_id": sg_crew})
    s.call("unapproving under SpeedGaming", "POST", UNAPPROVE, c.manager, 200, json={"crew_id": sg_crew})
    s.call("advancing under SpeedGaming", "POST", ADVANCE, c.manager, 200, json={"status": "started"}, **sg)
    s.call(
        "a winner under SpeedGaming",
        "POST",
        WINNER,
        c.manager,
        200,
        json={"user_id": c.runner1.user_id},
        **sg,
    )
    s.call(
        "a seed under SpeedGaming", "PUT", SEED, c.manager, 200, json={"url": "https://sg.example/1"}, **sg
    )
    s.call("a member is refused before that", "PATCH", MATCH, c.runner1, 403, json={"title": "x"}, **sg)


def tournament_deletion(s: Side, made: Made) -> None:
    c = s.cast
    in_home, in_away = {"organization_id": c.home}, {"organization_id": c.away}
    doomed = {"tid": made.doomed_cup}
    s.call("a member deletes a tournament", "DELETE", TOURNAMENT, c.runner1, 403, params=in_home, **doomed)
    s.call("deleting without organization_id", "DELETE", TOURNAMENT, c.manager, 422, **doomed)
    s.call("deleting through another org", "DELETE", TOURNAMENT, c.manager, 404, params=in_away, **doomed)
    s.call("the manager deletes a tournament", "DELETE", TOURNAMENT, c.manager, 204, params=in_home, **doomed)
    s.call("deleting it again", "DELETE", TOURNAMENT, c.manager, 404, params=in_home, **doomed)
    linked = {"tid": made.linked_cup}
    s.call("deleting one with matches", "DELETE", TOURNAMENT, c.admin, 204, params=in_home, **linked)
    s.call("the tournaments left", "GET", TOURNAMENTS, c.runner2, 200, org=c.home)
    s.call("the matches left", "GET", MATCHES_OF_ORG, c.runner2, 200, org=c.home)
