"""The AsyncQualifier system's Discord commands in the parity scenario
(tests/parity_scenario.py): every slash command, the card's Start button and the pool
buttons, each with its refusals. Interactions are posted to `/discord/interactions`;
the bot's own calls go to a stand-in for Discord's REST API (one per app).

The race opened from Discord gets a thread (opened after the reply); the scenario waits
for it, and pins the thread's open and timeout times so that the extension reply, which
shows the new timeout, is exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.parity_routes import LEADERBOARD, QUALIFIER, QUALIFIERS, RECALCULATE, REVIEW_QUEUE, START, Made
from tests.parity_scenario_async import Q1_CHANNEL, Q2_CHANNEL
from tests.parity_support import MISSING_ID, Side

UNCONFIGURED_CHANNEL = 1_350_000_000_000_000_099
UNLINKED_DISCORD_USER = 1_360_000_000_000_000_001
EMBED = "<embed>"  # a reply that is a card, not a text

NOT_LINKED = "Your Discord account is not linked to a platform account."
NO_QUALIFIER = "This channel is not linked to an async qualifier."
MANAGERS_ONLY = "Only managers of this qualifier's organization can use this command."
BUTTON_GONE = "This button is no longer available."
ACTIVE_RACE = "You already have an active race in this qualifier"
INACTIVE = "This async qualifier is not active"


def not_found(entity: str) -> str:
    return f"{entity} not found or insufficient permissions"


def option(name: str, value: str | int) -> dict[str, Any]:
    return {"name": name, "type": 3 if isinstance(value, str) else 4, "value": value}


def seed(pool: str, path: str) -> str:
    return f"Your seed for pool '{pool}': https://seeds.example/{path}"


def discord_commands(s: Side, made: Made, base: datetime) -> None:
    cards(s)
    button_flow_and_timeouts(s, made, base)
    slash_commands(s, made)
    closed_qualifier(s, made)
    final_reads(s, made)


def cards(s: Side) -> None:
    c = s.cast
    s.command(
        "the card of the channel's qualifier",
        "async_post_embed",
        user=c.runner1,
        channel=Q1_CHANNEL,
        expect=EMBED,
    )
    s.command(
        "the card of the hidden qualifier",
        "async_post_embed",
        user=c.manager,
        channel=Q2_CHANNEL,
        expect=EMBED,
    )
    nowhere = UNCONFIGURED_CHANNEL
    s.command(
        "a card in an unconfigured channel",
        "async_post_embed",
        user=c.runner1,
        channel=nowhere,
        expect=NO_QUALIFIER,
    )


def button_flow_and_timeouts(s: Side, made: Made, base: datetime) -> None:
    """The card's Start button lists the pools left; a pool button opens a race in a thread."""
    c, ch = s.cast, Q1_CHANNEL
    start, pick = f"async_start:{made.q1}", f"async_start_pool:{made.q1}:{made.open_pool}"
    choose = "Choose a pool for your new async run:"
    s.click("Start offers every pool to a newcomer", start, user=c.moderator, channel=ch, expect=choose)
    s.click(
        "a runner presses Start",
        start,
        user=c.runner2,
        channel=ch,
        expect="Choose a pool for your new async run:",
    )
    s.click("the runner picks a pool", pick, user=c.runner2, channel=ch, expect=seed("Open", "open/1"))
    race = s.latest_race(made.q1, c.runner2)
    thread = s.race_thread(race)
    s.click("Start again while racing", start, user=c.runner2, channel=ch, expect=ACTIVE_RACE)
    again = option("pool", "Open")
    s.command(
        "/async_start while racing", "async_start", again, user=c.runner2, channel=ch, expect=ACTIVE_RACE
    )

    s.pin_thread_times(race, base, base + timedelta(minutes=20))
    minutes = option("minutes", 15)
    timeout = int((base + timedelta(minutes=35)).timestamp())
    extended = f"Timeout extended by 15 minutes: this race now times out <t:{timeout}:f>."
    extend = "async_extend_timeout"
    s.command(
        "the manager extends the timeout", extend, minutes, user=c.manager, channel=thread, expect=extended
    )
    s.command(
        "the runner extends the timeout",
        extend,
        minutes,
        user=c.runner2,
        channel=thread,
        expect=MANAGERS_ONLY,
    )
    zero, bounds = option("minutes", 0), "minutes must be between 1 and 1440"
    s.command("an extension of zero minutes", extend, zero, user=c.manager, channel=thread, expect=bounds)
    not_a_thread = "This command only works in the thread of an async race."
    s.command(
        "an extension outside a thread", extend, minutes, user=c.manager, channel=ch, expect=not_a_thread
    )

    s.call("the runner starts the Discord race", "POST", START, c.runner2, 200, rid=race)
    s.pin_race_times(race, datetime.now(UTC) - timedelta(seconds=3723), None)
    finished = "You finished in 1:02:03. Your run has been submitted."
    s.command(
        "the runner finishes in the thread", "async_finish", user=c.runner2, channel=thread, expect=finished
    )
    s.pin_race_times(race, base, base + timedelta(seconds=3723))
    over = "Race cannot be extended: it is finished"
    s.command("extending a finished race", extend, minutes, user=c.manager, channel=thread, expect=over)
    none = not_found("Active race")
    s.command("finishing with no active race", "async_finish", user=c.runner2, channel=ch, expect=none)


def slash_commands(s: Side, made: Made) -> None:
    c, ch = s.cast, Q1_CHANNEL
    pool = option("pool", "Open")
    s.command(
        "/async_start hands out a seed",
        "async_start",
        pool,
        user=c.runner4,
        channel=ch,
        expect=seed("Open", "open/1"),
    )
    s.race_thread(s.latest_race(made.q1, c.runner4))
    s.command(
        "/async_forfeit", "async_forfeit", user=c.runner4, channel=ch, expect="You forfeited your race."
    )
    none = not_found("Active race")
    s.command("forfeiting with no active race", "async_forfeit", user=c.runner4, channel=ch, expect=none)
    nope = option("pool", "Nope")
    s.command("an unknown pool", "async_start", nope, user=c.runner4, channel=ch, expect=not_found("Pool"))
    outsider = not_found("Async qualifier")
    s.command("an outsider starts", "async_start", pool, user=c.outsider, channel=ch, expect=outsider)
    stranger = UNLINKED_DISCORD_USER
    s.command(
        "an unlinked Discord user starts", "async_start", pool, user=stranger, channel=ch, expect=NOT_LINKED
    )
    nowhere = UNCONFIGURED_CHANNEL
    s.command(
        "/async_start in no qualifier's channel",
        "async_start",
        pool,
        user=c.runner4,
        channel=nowhere,
        expect=NO_QUALIFIER,
    )
    dm = {"user": c.runner4, "channel": nowhere, "in_guild": False}
    s.command("/async_start in a direct message", "async_start", pool, **dm, expect=NO_QUALIFIER)
    s.command("/async_finish in a direct message", "async_finish", **dm, expect=NO_QUALIFIER)
    done = "Scores recalculated successfully!"
    s.command("the manager re-scores", "async_calculate_scores", user=c.manager, channel=ch, expect=done)
    s.command(
        "a runner re-scores", "async_calculate_scores", user=c.runner1, channel=ch, expect=MANAGERS_ONLY
    )

    start = f"async_start:{made.q1}"
    no_pools = "You have no pools left to play in this qualifier."
    s.click("Start with no pools left", start, user=c.runner1, channel=ch, expect=no_pools)
    s.click("a stale button", "async_start:abc", user=c.runner1, channel=ch, expect=BUTTON_GONE)
    half = f"async_start_pool:{made.q1}"
    s.click("a malformed pool button", half, user=c.runner1, channel=ch, expect=BUTTON_GONE)
    s.click(
        "Start of an unknown qualifier",
        f"async_start:{MISSING_ID}",
        user=c.runner1,
        channel=ch,
        expect=outsider,
    )
    s.click("an unlinked user presses Start", start, user=stranger, channel=ch, expect=NOT_LINKED)
    s.command("an unknown command", "async_nope", user=c.runner1, channel=ch, expect="Unknown command.")


def closed_qualifier(s: Side, made: Made) -> None:
    c, ch = s.cast, Q2_CHANNEL
    closed = {"is_active": False}
    s.call("the hidden qualifier closes", "PATCH", QUALIFIER, c.manager, 200, json=closed, qid=made.q2)
    s.command("the card of a closed qualifier", "async_post_embed", user=c.runner1, channel=ch, expect=EMBED)
    s.click(
        "Start on a closed qualifier", f"async_start:{made.q2}", user=c.runner2, channel=ch, expect=INACTIVE
    )
    pool = option("pool", "Hidden Pool")
    s.command(
        "/async_start on a closed qualifier", "async_start", pool, user=c.runner2, channel=ch, expect=INACTIVE
    )


def final_reads(s: Side, made: Made) -> None:
    c = s.cast
    s.call("re-scoring after the Discord races", "POST", RECALCULATE, c.manager, 200, qid=made.q1)
    s.call("the leaderboard at the end", "GET", LEADERBOARD, c.moderator, 200, qid=made.q1)
    all_races = {"limit": 100}
    s.call("the review queue at the end", "GET", REVIEW_QUEUE, c.reviewer, 200, params=all_races, qid=made.q1)
    s.call("the qualifiers at the end", "GET", QUALIFIERS, c.runner1, 200, org=c.home)
    s.call("deleting a qualifier with races", "DELETE", QUALIFIER, c.admin, 204, qid=made.q2)
    s.call("it is gone", "GET", QUALIFIER, c.admin, 404, qid=made.q2)
