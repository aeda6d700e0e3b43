"""core.discord: interactions served over HTTP by a real uvicorn server running a toy app
(tests/discord_toy_app.py), and outbound calls reaching a stand-in for Discord's REST API
(tests/discord_support.py).

The Discord plumbing never touches the database, so the toy app runs on a scratch SQLite
file only; the database-backed commands are tested on both backends where they live."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.discord import DiscordNotifier, OutboundKind, OutboundOutcome, capture_outbound
from tests.databases import sqlite_url
from tests.discord_support import (
    API_PREFIX,
    FORBIDDEN_CHANNEL_ID,
    clicked_message,
    command_data,
    component_data,
    interaction,
    option,
    snowflake,
)
from tests.servers import Server, run_server

APPLICATION_ID = 1_234_567_890_123_456_789
BOT_TOKEN = "toy-bot-token"
EPHEMERAL = 64
WAIT_S = 10.0


@pytest.fixture(scope="module")
def toy(discord_api: Server, server_logs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "DATABASE_URL": sqlite_url(tmp_path_factory.mktemp("discord-toy")),
        "DISCORD_APPLICATION_ID": str(APPLICATION_ID),
        "DISCORD_BOT_TOKEN": BOT_TOKEN,
        "DISCORD_API_BASE": discord_api.url + API_PREFIX,
        "SCHEDULER_ENABLED": "false",
    }
    with run_server("tests.discord_toy_app:app", env, server_logs) as server:
        yield server


def post(server: Server, payload: Any) -> httpx.Response:
    return httpx.post(server.url + "/discord/interactions", json=payload, timeout=WAIT_S)


def command(
    name: str, *options: dict[str, Any], subcommand: str | None = None, **where: Any
) -> dict[str, Any]:
    return interaction(
        2, command_data(name, *options, subcommand=subcommand), application_id=APPLICATION_ID, **where
    )


def click(custom_id: str, **where: Any) -> dict[str, Any]:
    payload = interaction(3, component_data(custom_id), application_id=APPLICATION_ID, **where)
    payload["message"] = clicked_message(APPLICATION_ID, int(payload["channel_id"]), custom_id)
    return payload


def reply(server: Server, payload: dict[str, Any]) -> dict[str, Any]:
    response = post(server, payload)
    assert response.status_code == 200, response.text
    return response.json()


def ephemeral_error(text: str) -> dict[str, Any]:
    return {"type": 4, "data": {"content": text, "flags": EPHEMERAL}}


def received(discord_api: Server, predicate: Any) -> list[dict[str, Any]]:
    """The stand-in's requests that match, waiting (bounded) for at least one."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = [r for r in httpx.get(discord_api.url + "/_fake/requests").json() if predicate(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# --- the interaction endpoint ----------------------------------------------------------


def test_ping_is_answered_with_pong(toy: Server) -> None:
    ping = {
        "id": str(snowflake()),
        "application_id": str(APPLICATION_ID),
        "type": 1,
        "token": "t",
        "version": 1,
    }
    assert reply(toy, ping) == {"type": 1}


def test_slash_command_reply_is_the_interaction_response(toy: Server) -> None:
    payload = command("echo", option("text", "hello "), option("times", 3))
    assert reply(toy, payload) == {"type": 4, "data": {"tts": False, "content": "hello hello hello "}}


def test_optional_option_takes_its_default(toy: Server) -> None:
    assert reply(toy, command("echo", option("text", "once")))["data"]["content"] == "once"


def test_subcommand_options_are_parsed(toy: Server) -> None:
    payload = command("toy", option("a", 2), option("b", 40), subcommand="add")
    assert reply(toy, payload)["data"]["content"] == "42"


def test_ephemeral_reply_has_flag_64(toy: Server) -> None:
    assert reply(toy, command("whisper", option("text", "secret"))) == {
        "type": 4,
        "data": {"tts": False, "content": "psst: secret", "flags": EPHEMERAL},
    }


def test_command_sees_invoker_channel_and_guild(toy: Server) -> None:
    user_id, channel_id, guild_id = snowflake(), snowflake(), snowflake()
    payload = command("whoami", user_id=user_id, channel_id=channel_id, guild_id=guild_id)
    assert reply(toy, payload)["data"]["content"] == f"user={user_id} channel={channel_id} guild={guild_id}"


def test_command_in_a_dm_and_with_a_partial_channel(toy: Server) -> None:
    user_id, channel_id = snowflake(), snowflake()
    dm = command("whoami", user_id=user_id, channel_id=channel_id, in_guild=False)
    assert reply(toy, dm)["data"]["content"] == f"user={user_id} channel={channel_id} guild=None"
    partial = command("whoami", user_id=user_id, channel_id=channel_id, minimal_channel=True)
    assert reply(toy, partial)["data"]["content"].startswith(f"user={user_id} channel={channel_id} guild=")


def test_embed_and_button(toy: Server) -> None:
    assert reply(toy, command("card", option("number", 7))) == {
        "type": 4,
        "data": {
            "tts": False,
            "content": None,
            "embeds": [
                {
                    "title": "Card 7",
                    "description": "Press the button",
                    "color": 0x2ECC71,
                    "fields": [{"name": "Runs per pool", "value": "1", "inline": True}],
                    "footer": {"text": "Card ID: 7"},
                    "type": "rich",
                    "flags": 0,
                }
            ],
            "components": [
                {
                    "type": 1,
                    "components": [
                        {
                            "type": 2,
                            "style": 1,
                            "label": "Press",
                            "custom_id": "toy:press:7",
                            "disabled": False,
                        }
                    ],
                }
            ],
        },
    }


def test_button_click_is_routed_by_longest_custom_id_prefix(toy: Server) -> None:
    user_id = snowflake()
    assert reply(toy, click("toy:press:7", user_id=user_id)) == ephemeral_reply(f"pressed 7 by {user_id}")
    assert reply(toy, click("toy:other:1")) == ephemeral_reply("generic toy:other:1")


def ephemeral_reply(text: str) -> dict[str, Any]:
    return {"type": 4, "data": {"tts": False, "content": text, "flags": EPHEMERAL}}


def test_button_click_can_update_its_message(toy: Server) -> None:
    assert reply(toy, click("toy:update:3")) == {
        "type": 7,
        "data": {"tts": False, "content": "updated", "components": []},
    }


def test_unrouted_and_failing_buttons_get_ephemeral_errors(toy: Server) -> None:
    assert reply(toy, click("gone:1")) == ephemeral_error("This button is no longer available.")
    assert reply(toy, click("toy:broken:1")) == ephemeral_error(
        "Something went wrong while running this command."
    )


def test_failing_command_gets_an_ephemeral_error(toy: Server) -> None:
    response = post(toy, command("boom"))
    assert response.status_code == 200
    assert response.json() == ephemeral_error("Something went wrong while running this command.")
    assert "Traceback" not in response.text


def test_commands_that_do_not_reply_get_ephemeral_errors(toy: Server) -> None:
    assert reply(toy, command("silent")) == ephemeral_error("The command finished without replying.")
    assert reply(toy, command("slow")) == ephemeral_error("The command took too long to respond.")


def test_failed_check_and_unknown_command(toy: Server) -> None:
    assert reply(toy, command("managers")) == ephemeral_error("You are not allowed to use this command.")
    assert reply(toy, command("no_such_command")) == ephemeral_error("Unknown command.")


def test_autocomplete_offers_choices(toy: Server) -> None:
    data = command_data("pick", {"name": "fruit", "type": 3, "value": "ap", "focused": True})
    payload = interaction(4, data, application_id=APPLICATION_ID)
    assert reply(toy, payload) == {
        "type": 8,
        "data": {"choices": [{"name": "apple", "value": "apple"}, {"name": "apricot", "value": "apricot"}]},
    }


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"type": "2"}',
        b'{"type": 99}',
        b'{"type": true}',
        b'{"type": 2, "data": {"name": "echo"}}',
        b'{"type": 2, "id": "1", "application_id": "1", "token": "t"}',
        b'{"type": 3, "id": "1", "application_id": "1", "token": "t", "data": {"component_type": 2}}',
        b'{"type": 2, "id": "nope", "application_id": "1", "token": "t", "data": {"name": "echo"}}',
    ],
)
def test_malformed_bodies_are_400(toy: Server, body: bytes) -> None:
    response = httpx.post(
        toy.url + "/discord/interactions",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=WAIT_S,
    )
    assert response.status_code == 400, response.text
    assert isinstance(response.json()["detail"], str)


# --- outbound calls ----------------------------------------------------------------------


def test_deferred_reply_is_then_edited_on_discord(toy: Server, discord_api: Server) -> None:
    payload = command("later", option("text", "done"))
    assert reply(toy, payload) == {"type": 5, "data": {"flags": EPHEMERAL}}
    path = f"/webhooks/{APPLICATION_ID}/{payload['token']}/messages/@original"
    [edit] = received(discord_api, lambda r: r["path"] == path)
    assert edit["method"] == "PATCH"
    assert edit["json"]["content"] == "later: done"


def test_command_posts_to_the_channel_with_the_bot_token(toy: Server, discord_api: Server) -> None:
    channel_id = snowflake()
    assert reply(
        toy, command("notify", option("text", "race starts"), channel_id=channel_id)
    ) == ephemeral_reply("notified")
    [message] = received(discord_api, lambda r: r["path"] == f"/channels/{channel_id}/messages")
    assert message["method"] == "POST"
    assert message["authorization"] == f"Bot {BOT_TOKEN}"
    assert message["user_agent"].startswith("DiscordBot")
    assert message["json"] == {"content": "race starts"}


def test_command_opens_a_private_thread_and_adds_the_caller(toy: Server, discord_api: Server) -> None:
    channel_id, user_id = snowflake(), snowflake()
    content = reply(toy, command("thread", option("name", "Race 1"), channel_id=channel_id, user_id=user_id))[
        "data"
    ]["content"]
    [created] = received(discord_api, lambda r: r["path"] == f"/channels/{channel_id}/threads")
    assert created["json"] == {
        "name": "Race 1",
        "type": 12,
        "auto_archive_duration": 1440,
        "invitable": False,
    }
    thread_id = int(content.removeprefix("thread="))
    [member] = received(discord_api, lambda r: r["path"] == f"/channels/{thread_id}/thread-members/{user_id}")
    assert member["method"] == "PUT"
    assert member["authorization"] == f"Bot {BOT_TOKEN}"


def test_refused_message_is_recorded_not_raised(toy: Server) -> None:
    payload = command("notify", option("text", "nobody sees this"), channel_id=FORBIDDEN_CHANNEL_ID)
    assert reply(toy, payload) == ephemeral_reply("notified")
    path = f"/channels/{FORBIDDEN_CHANNEL_ID}/messages"
    calls = [c for c in httpx.get(toy.url + "/toy/outbound").json() if c["path"] == path]
    assert [(c["outcome"], c["status"]) for c in calls] == [("failed", 403)]


def test_dry_run_captures_outbound_calls_instead_of_sending(toy: Server, discord_api: Server) -> None:
    channel_id = snowflake()
    response = httpx.post(toy.url + "/toy/dry-notify", params={"channel_id": channel_id, "text": "dry"})
    assert response.status_code == 200
    body = response.json()
    assert body["thread_id"] is None
    assert [(c["kind"], c["path"], c["outcome"]) for c in body["captured"]] == [
        ("message", f"/channels/{channel_id}/messages", "captured"),
        ("thread", f"/channels/{channel_id}/threads", "captured"),
    ]
    # A dry-run interaction: the reply is real, the follow-up (sent after it) is captured.
    payload = command("later", option("text", "dry"))
    assert httpx.post(toy.url + "/toy/dry-interaction", json=payload).json() == {
        "type": 5,
        "data": {"flags": 64},
    }
    token_path = f"/webhooks/{APPLICATION_ID}/{payload['token']}/messages/@original"
    deadline = time.monotonic() + WAIT_S
    while not [c for c in httpx.get(toy.url + "/toy/outbound").json() if c["path"] == token_path]:
        assert time.monotonic() < deadline, "the follow-up was never recorded"
        time.sleep(0.05)
    [followup] = [c for c in httpx.get(toy.url + "/toy/outbound").json() if c["path"] == token_path]
    assert followup["outcome"] == "captured"
    sent = httpx.get(discord_api.url + "/_fake/requests").json()
    assert not [r for r in sent if str(channel_id) in r["path"] or payload["token"] in r["path"]]


def test_notifier_without_token_records_instead_of_sending(discord_api: Server) -> None:
    async def scenario() -> tuple[int | None, list[Any], list[Any]]:
        notifier = DiscordNotifier(api_base=discord_api.url + API_PREFIX, bot_token=None, history_size=2)
        await notifier.start()
        try:
            await notifier.send_message(channel_id, "one")
            await notifier.send_message(channel_id, "two")
            thread_id = await notifier.create_thread(channel_id, "three")
            with capture_outbound() as captured:
                await notifier.send_message(channel_id, "four")
            return thread_id, notifier.recent(), captured
        finally:
            await notifier.close()

    channel_id = snowflake()
    thread_id, recent, captured = asyncio.run(scenario())
    assert thread_id is None
    # Bounded: only the last two calls are kept.
    assert [(c.kind, c.outcome, c.body) for c in recent] == [
        (
            OutboundKind.THREAD,
            OutboundOutcome.NOT_CONFIGURED,
            {"name": "three", "type": 11, "auto_archive_duration": 1440},
        ),
        (OutboundKind.MESSAGE, OutboundOutcome.CAPTURED, {"content": "four"}),
    ]
    assert [c.body for c in captured] == [{"content": "four"}]
    sent = httpx.get(discord_api.url + "/_fake/requests").json()
    assert not [r for r in sent if str(channel_id) in r["path"]]


def test_notifier_sends_with_the_bot_token(discord_api: Server) -> None:
    async def scenario() -> int | None:
        notifier = DiscordNotifier(api_base=discord_api.url + API_PREFIX, bot_token="direct-token")
        await notifier.start()
        try:
            await notifier.send_message(channel_id, "hello thread")
            return await notifier.create_thread(channel_id, "Race of runner " + "x" * 200)
        finally:
            await notifier.close()

    channel_id = snowflake()
    thread_id = asyncio.run(scenario())
    [message] = received(discord_api, lambda r: r["path"] == f"/channels/{channel_id}/messages")
    assert message["authorization"] == "Bot direct-token"
    assert message["json"] == {"content": "hello thread"}
    [created] = received(discord_api, lambda r: r["path"] == f"/channels/{channel_id}/threads")
    assert len(created["json"]["name"]) == 100
    assert isinstance(thread_id, int)
