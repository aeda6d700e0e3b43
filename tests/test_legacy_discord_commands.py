"""legacy_app's async qualifier slash commands and buttons, posted to a real uvicorn
server at `/discord/interactions` (SQLite and PostgreSQL), whose bot talks to the
stand-in for Discord's REST API (tests/discord_support.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from legacy_app.discordbot.commands.async_qualifier import (
    CHOOSE_POOL,
    FORFEITED,
    RECALCULATED,
    Refusal,
)
from tests.async_qualifier_support import AsyncApi, audit_actions, execute, pin_elapsed
from tests.discord_support import option, snowflake
from tests.factory import Caller, Factory, Org
from tests.legacy_discord_support import (
    EPHEMERAL,
    click,
    command,
    discord_env,
    ephemeral,
    eventually,
    messages_to,
    public,
    received,
    reply,
)
from tests.servers import Server, run_server

SEED_URL = "https://seeds.example/{pool}/{n}"


@pytest.fixture(scope="module")
def legacy(database_url: str, discord_api: Server, server_logs: Path) -> Iterator[Server]:
    env = discord_env(database_url, discord_api, scheduler_enabled="false")
    with run_server("legacy_app.main:app", env, server_logs) as server:
        yield server


@pytest.fixture
def api(legacy: Server) -> Iterator[AsyncApi]:
    with AsyncApi(legacy.url) as client:
        yield client


@dataclass
class Qualifier:
    id: int
    channel: int
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)


def qualifier_in_channel(api: AsyncApi, org: Org, pools: dict[str, int], **fields: Any) -> Qualifier:
    """A qualifier linked to a fresh channel, with `pools` (name → number of permalinks)."""
    channel = snowflake()
    created = api.qualifier(org.manager, org.id, discord_channel_id=channel, **fields)
    made = Qualifier(created["id"], channel)
    for name, permalinks in pools.items():
        made.pools[name] = api.pool(org.manager, made.id, name, permalinks)
    return made


def races_of(factory: Factory, qid: int, user: Caller) -> list[dict[str, Any]]:
    return execute(
        factory,
        "SELECT * FROM async_qualifier_races WHERE qualifier_id = ? AND user_id = ? ORDER BY id",
        qid,
        user.user_id,
    )


def race_row(factory: Factory, race_id: int) -> dict[str, Any]:
    return execute(factory, "SELECT * FROM async_qualifier_races WHERE id = ?", race_id)[0]


def moment(value: datetime | str) -> datetime:
    """A timestamp column as read over SQL (SQLite hands back text)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def thread_of(factory: Factory, race_id: int) -> int:
    """The race's thread id, once the bot has opened and attached it."""
    return eventually(lambda: race_row(factory, race_id)["discord_thread_id"], "the race thread")


def start(player: Caller, pool: str, q: Qualifier, server: Server) -> dict[str, Any]:
    return reply(server, command("async_start", option("pool", pool), user=player, channel=q.channel))


def seed_reply(pool: str, n: int = 0) -> dict[str, Any]:
    return ephemeral(f"Your seed for pool '{pool}': {SEED_URL.format(pool=pool, n=n)}")


def not_found(entity: str) -> dict[str, Any]:
    return ephemeral(f"{entity} not found or insufficient permissions")


# -- /async_start ---------------------------------------------------------------------------


def test_async_start_opens_a_pending_race_and_replies_with_the_seed(
    legacy: Server, discord_api: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    q = qualifier_in_channel(api, org, {"Standard": 2})
    runner = org.member

    assert start(runner, "Standard", q, legacy) == seed_reply("Standard")

    [race] = races_of(factory, q.id, runner)
    assert (race["status"], race["permalink_id"]) == ("pending", q.pools["Standard"]["permalink_ids"][0])
    # After the reply, the bot opens a private thread for the race and starts its timeout.
    thread = thread_of(factory, race["id"])
    race = race_row(factory, race["id"])
    assert moment(race["thread_timeout_time"]) - moment(race["thread_open_time"]) == timedelta(minutes=20)
    [opened] = received(discord_api, lambda r: r["path"] == f"/channels/{q.channel}/threads")
    assert opened["json"]["name"] == f"Standard - runner{runner.discord_id % 1000}"
    assert opened["json"]["type"] == 12  # private
    member_path = f"/channels/{thread}/thread-members/{runner.discord_id}"
    eventually(lambda: received(discord_api, lambda r: r["path"] == member_path), "the runner added")
    timeout = int(moment(race["thread_timeout_time"]).timestamp())
    assert eventually(lambda: messages_to(discord_api, thread), "the welcome") == [
        f"<@{runner.discord_id}> Your async race in pool 'Standard' is open.\n"
        f"Seed: {SEED_URL.format(pool='Standard', n=0)}\nIt times out <t:{timeout}:R> unless you start it."
    ]


def test_async_start_in_an_unconfigured_channel_gets_an_ephemeral_error(legacy: Server, org: Org) -> None:
    payload = command("async_start", option("pool", "Standard"), user=org.member, channel=snowflake())
    assert reply(legacy, payload) == ephemeral(Refusal.NO_QUALIFIER.value)


def test_async_start_applies_the_availability_rules(legacy: Server, api: AsyncApi, org: Org) -> None:
    q = qualifier_in_channel(api, org, {"One": 1, "Two": 2}, runs_per_pool=2)
    runner = org.member
    assert start(runner, "Nope", q, legacy) == not_found("Pool")
    assert start(runner, "x" * 300, q, legacy) == not_found("Pool")
    assert start(org.outsider, "One", q, legacy) == not_found("Async qualifier")

    assert start(runner, "One", q, legacy) == seed_reply("One")
    assert start(runner, "Two", q, legacy) == ephemeral("You already have an active race in this qualifier")
    forfeit = command("async_forfeit", user=runner, channel=q.channel)
    assert reply(legacy, forfeit) == ephemeral(FORFEITED)
    # Two runs allowed, but "One" has a single seed, which the runner has played.
    assert start(runner, "One", q, legacy) == ephemeral(
        "No seed of pool 'One' is left that you have not played"
    )
    assert start(runner, "Two", q, legacy) == seed_reply("Two", 0)
    assert reply(legacy, forfeit) == ephemeral(FORFEITED)
    assert start(runner, "Two", q, legacy) == seed_reply("Two", 1)
    assert reply(legacy, forfeit) == ephemeral(FORFEITED)
    assert start(runner, "Two", q, legacy) == ephemeral(
        "Pool 'Two' is not available: you have used all 2 of its runs"
    )

    api.ok("PATCH", f"/{q.id}", org.manager, json={"is_active": False})
    assert start(org.admin, "Two", q, legacy) == ephemeral("This async qualifier is not active")


def test_an_unlinked_discord_user_is_told_so(legacy: Server, api: AsyncApi, org: Org) -> None:
    q = qualifier_in_channel(api, org, {"Standard": 1})
    stranger = snowflake()
    not_linked = ephemeral(Refusal.NOT_LINKED.value)
    for name, options in [
        ("async_start", [option("pool", "Standard")]),
        ("async_finish", []),
        ("async_forfeit", []),
        ("async_calculate_scores", []),
    ]:
        assert reply(legacy, command(name, *options, user=stranger, channel=q.channel)) == not_linked, name
    assert reply(legacy, click(f"async_start:{q.id}", user=stranger, channel=q.channel)) == not_linked
    pool_id = q.pools["Standard"]["id"]
    pool_click = click(f"async_start_pool:{q.id}:{pool_id}", user=stranger, channel=q.channel)
    assert reply(legacy, pool_click) == not_linked


# -- /async_post_embed ------------------------------------------------------------------------


def card(q: Qualifier, name: str, *, active: bool, pools: str, runs: str, reattempts: str) -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": name,
        "color": 0x2ECC71 if active else 0x95A5A6,
        "fields": [
            {
                "name": "How to take part",
                "value": "Press **Start New Async Run** below, or use `/async_start pool:<name>`, to "
                "receive a seed you have not played yet. Finish with `/async_finish`, or give up "
                "with `/async_forfeit`.",
                "inline": False,
            },
            {"name": "Status", "value": "Active" if active else "Inactive", "inline": True},
            {"name": "Runs per pool", "value": runs, "inline": True},
            {"name": "Re-attempts", "value": reattempts, "inline": True},
            {"name": "Pools", "value": pools, "inline": False},
        ],
        "footer": {"text": f"Qualifier ID: {q.id}"},
        "type": "rich",
        "flags": 0,
    }
    button = {
        "type": 2,
        "style": 3,
        "label": "Start New Async Run",
        "custom_id": f"async_start:{q.id}",
        "disabled": not active,
    }
    return {
        "type": 4,
        "data": {
            "tts": False,
            "content": None,
            "embeds": [embed],
            "components": [{"type": 1, "components": [button]}],
        },
    }


def test_async_post_embed_posts_the_qualifier_card(legacy: Server, api: AsyncApi, org: Org) -> None:
    q = qualifier_in_channel(api, org, {"Standard": 1, "Hard": 1}, runs_per_pool=2, max_reattempts=0)
    name = api.ok("GET", f"/{q.id}", org.member)["name"]
    post = command("async_post_embed", user=snowflake(), channel=q.channel)
    expected = card(q, name, active=True, pools="Standard, Hard", runs="2", reattempts="None")
    assert reply(legacy, post) == expected

    api.ok("PATCH", f"/{q.id}", org.manager, json={"description": "Top 8 qualify", "is_active": False})
    expected = card(q, name, active=False, pools="Standard, Hard", runs="2", reattempts="None")
    expected["data"]["embeds"][0]["description"] = "Top 8 qualify"
    assert reply(legacy, post) == expected

    bare = qualifier_in_channel(api, org, {}, max_reattempts=3)
    bare_name = api.ok("GET", f"/{bare.id}", org.member)["name"]
    bare_post = command("async_post_embed", user=org.member, channel=bare.channel)
    assert reply(legacy, bare_post) == card(
        bare, bare_name, active=True, pools="None yet", runs="1", reattempts="3"
    )

    elsewhere = command("async_post_embed", user=org.member, channel=snowflake())
    assert reply(legacy, elsewhere) == ephemeral(Refusal.NO_QUALIFIER.value)


# -- /async_finish and /async_forfeit -----------------------------------------------------------


def test_async_finish_and_forfeit_act_on_the_active_race(
    legacy: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    q = qualifier_in_channel(api, org, {"Standard": 2}, runs_per_pool=2)
    runner = org.member
    finish = command("async_finish", user=runner, channel=q.channel)
    forfeit = command("async_forfeit", user=runner, channel=q.channel)
    assert reply(legacy, finish) == not_found("Active race")
    assert reply(legacy, forfeit) == not_found("Active race")
    elsewhere = command("async_finish", user=runner, channel=snowflake())
    assert reply(legacy, elsewhere) == ephemeral(Refusal.NO_QUALIFIER.value)

    start(runner, "Standard", q, legacy)
    [race] = races_of(factory, q.id, runner)
    assert reply(legacy, finish) == ephemeral("Race cannot be finished: it is pending")
    api.act(runner, race["id"], "start")
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    execute(
        factory, "UPDATE async_qualifier_races SET start_time = ? WHERE id = ?", two_hours_ago, race["id"]
    )
    answer = reply(legacy, finish)
    assert answer["data"]["flags"] == EPHEMERAL
    assert re.fullmatch(
        r"You finished in 2:00:\d\d\. Your run has been submitted\.", answer["data"]["content"]
    )
    assert race_row(factory, race["id"])["status"] == "finished"
    assert reply(legacy, finish) == not_found("Active race")

    # In the race's own thread, the thread's qualifier is meant.
    assert start(runner, "Standard", q, legacy) == seed_reply("Standard", 1)
    second = races_of(factory, q.id, runner)[-1]
    thread = thread_of(factory, second["id"])
    assert reply(legacy, command("async_forfeit", user=runner, channel=thread)) == ephemeral(FORFEITED)
    assert race_row(factory, second["id"])["status"] == "forfeit"


# -- /async_extend_timeout ----------------------------------------------------------------------


def extend(user: Caller | int, channel: int, minutes: int) -> dict[str, Any]:
    return command("async_extend_timeout", option("minutes", minutes), user=user, channel=channel)


def test_async_extend_timeout_moves_a_pending_races_timeout(
    legacy: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    q = qualifier_in_channel(api, org, {"Standard": 2})
    runner = org.member
    assert reply(legacy, extend(org.manager, q.channel, 10)) == ephemeral(Refusal.NOT_A_RACE_THREAD.value)

    start(runner, "Standard", q, legacy)
    [race] = races_of(factory, q.id, runner)
    thread = thread_of(factory, race["id"])
    before = moment(race_row(factory, race["id"])["thread_timeout_time"])
    assert reply(legacy, extend(runner, thread, 10)) == ephemeral(Refusal.MANAGERS_ONLY.value)
    assert reply(legacy, extend(org.reviewer, thread, 10)) == ephemeral(Refusal.MANAGERS_ONLY.value)
    assert reply(legacy, extend(snowflake(), thread, 10)) == ephemeral(Refusal.NOT_LINKED.value)
    assert reply(legacy, extend(org.manager, thread, 0)) == ephemeral("minutes must be between 1 and 1440")

    after = before + timedelta(minutes=15)
    assert reply(legacy, extend(org.manager, thread, 15)) == public(
        f"Timeout extended by 15 minutes: this race now times out <t:{int(after.timestamp())}:f>."
    )
    assert moment(race_row(factory, race["id"])["thread_timeout_time"]) == after

    # No timeout set: thread-open time + 20 + N minutes.
    opened = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    execute(
        factory,
        "UPDATE async_qualifier_races SET thread_open_time = ?, thread_timeout_time = NULL WHERE id = ?",
        opened,
        race["id"],
    )
    unset = opened + timedelta(minutes=25)
    assert reply(legacy, extend(org.admin, thread, 5)) == public(
        f"Timeout extended by 5 minutes: this race now times out <t:{int(unset.timestamp())}:f>."
    )
    assert moment(race_row(factory, race["id"])["thread_timeout_time"]) == unset
    assert audit_actions(factory, q.id)[-2:] == ["extend_timeout", "extend_timeout"]

    api.act(runner, race["id"], "start")
    assert reply(legacy, extend(org.manager, thread, 5)) == ephemeral(
        "Race cannot be extended: it is in_progress"
    )


# -- /async_calculate_scores --------------------------------------------------------------------


def test_async_calculate_scores_is_for_managers(
    legacy: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    q = qualifier_in_channel(api, org, {"Standard": 1})
    pool_id = q.pools["Standard"]["id"]
    race = api.finished_race(org.member, q.id, pool_id=pool_id)
    pin_elapsed(factory, race["id"], 600)
    execute(factory, "UPDATE async_qualifier_races SET score = 1.5 WHERE id = ?", race["id"])

    calculate = command("async_calculate_scores", user=org.member, channel=q.channel)
    assert reply(legacy, calculate) == ephemeral(Refusal.MANAGERS_ONLY.value)
    assert race_row(factory, race["id"])["score"] == 1.5

    calculate = command("async_calculate_scores", user=org.manager, channel=q.channel)
    assert reply(legacy, calculate) == ephemeral(RECALCULATED)
    assert race_row(factory, race["id"])["score"] == 100.0
    assert audit_actions(factory, q.id)[-1] == "recalculate_scores"

    elsewhere = command("async_calculate_scores", user=org.manager, channel=snowflake())
    assert reply(legacy, elsewhere) == ephemeral(Refusal.NO_QUALIFIER.value)


# -- the Start button ---------------------------------------------------------------------------


def pool_choice(q: Qualifier, *names: str) -> dict[str, Any]:
    buttons = [
        {
            "type": 2,
            "style": 1,
            "label": name,
            "custom_id": f"async_start_pool:{q.id}:{q.pools[name]['id']}",
            "disabled": False,
        }
        for name in names
    ]
    return {
        "type": 4,
        "data": {
            "tts": False,
            "content": CHOOSE_POOL,
            "flags": EPHEMERAL,
            "components": [{"type": 1, "components": buttons}],
        },
    }


def test_start_button_offers_the_playable_pools_and_opens_a_race(
    legacy: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    q = qualifier_in_channel(api, org, {"A": 1, "B": 1, "Empty": 0})
    other = qualifier_in_channel(api, org, {"Elsewhere": 1})
    runner = org.member
    press = click(f"async_start:{q.id}", user=runner, channel=q.channel)
    forfeit = command("async_forfeit", user=runner, channel=q.channel)

    assert reply(legacy, press) == pool_choice(q, "A", "B")
    choose_a = click(f"async_start_pool:{q.id}:{q.pools['A']['id']}", user=runner, channel=q.channel)
    assert reply(legacy, choose_a) == seed_reply("A")
    [race] = races_of(factory, q.id, runner)
    assert (race["status"], race["permalink_id"]) == ("pending", q.pools["A"]["permalink_ids"][0])
    thread_of(factory, race["id"])
    assert reply(legacy, press) == ephemeral("You already have an active race in this qualifier")

    assert reply(legacy, forfeit) == ephemeral(FORFEITED)
    assert reply(legacy, press) == pool_choice(q, "B")
    assert reply(legacy, choose_a) == ephemeral("Pool 'A' is not available: you have used all 1 of its runs")
    choose_b = click(f"async_start_pool:{q.id}:{q.pools['B']['id']}", user=runner, channel=q.channel)
    assert reply(legacy, choose_b) == seed_reply("B")
    assert reply(legacy, forfeit) == ephemeral(FORFEITED)
    assert reply(legacy, press) == ephemeral(Refusal.NO_POOLS_LEFT.value)

    wrong_pool = f"async_start_pool:{q.id}:{other.pools['Elsewhere']['id']}"
    assert reply(legacy, click(wrong_pool, user=org.admin, channel=q.channel)) == not_found("Pool")
    outsider_press = click(f"async_start:{q.id}", user=org.outsider, channel=q.channel)
    assert reply(legacy, outsider_press) == not_found("Async qualifier")
    for stale in ["async_start:x", "async_start:", "async_start_pool:1", "async_start_pool:1:2:3"]:
        assert reply(legacy, click(stale, user=runner, channel=q.channel)) == ephemeral(
            Refusal.BUTTON_GONE.value
        ), stale
    huge = click(f"async_start:{2**40}", user=runner, channel=q.channel)
    assert reply(legacy, huge) == ephemeral(Refusal.BUTTON_GONE.value)
