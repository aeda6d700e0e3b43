"""Helpers for the tests of legacy_app's Discord commands and scheduled tasks: the
environment that points a server at the stand-in for Discord's REST API, interaction
payloads from a given user in a given channel, and bounded polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.discord_support import (
    API_PREFIX,
    clicked_message,
    command_data,
    component_data,
    interaction,
)
from tests.factory import Caller
from tests.servers import Server

APPLICATION_ID = 1_311_000_000_000_000_042
BOT_TOKEN = "legacy-bot-token"
EPHEMERAL = 64
WAIT_S = 10.0
T = TypeVar("T")


def discord_env(database_url: str, discord_api: Server, **settings: str) -> dict[str, str]:
    """A legacy_app environment on `database_url` whose bot talks to the stand-in."""
    return {
        "DATABASE_URL": database_url,
        "DISCORD_APPLICATION_ID": str(APPLICATION_ID),
        "DISCORD_BOT_TOKEN": BOT_TOKEN,
        "DISCORD_API_BASE": discord_api.url + API_PREFIX,
        **{key.upper(): value for key, value in settings.items()},
    }


def command(name: str, *options: dict[str, Any], user: Caller | int, channel: int) -> dict[str, Any]:
    return interaction(
        2, command_data(name, *options), application_id=APPLICATION_ID, user_id=_id(user), channel_id=channel
    )


def click(custom_id: str, *, user: Caller | int, channel: int) -> dict[str, Any]:
    payload = interaction(
        3, component_data(custom_id), application_id=APPLICATION_ID, user_id=_id(user), channel_id=channel
    )
    payload["message"] = clicked_message(APPLICATION_ID, channel, custom_id)
    return payload


def _id(user: Caller | int) -> int:
    return user if isinstance(user, int) else user.discord_id


def reply(server: Server, payload: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(server.url + "/discord/interactions", json=payload, timeout=WAIT_S)
    assert response.status_code == 200, response.text
    return response.json()


def ephemeral(text: str) -> dict[str, Any]:
    """A plain ephemeral reply as discord.py builds it."""
    return {"type": 4, "data": {"tts": False, "content": text, "flags": EPHEMERAL}}


def public(text: str) -> dict[str, Any]:
    return {"type": 4, "data": {"tts": False, "content": text}}


def received(discord_api: Server, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """What the stand-in got so far that matches."""
    requests = httpx.get(discord_api.url + "/_fake/requests", timeout=WAIT_S).json()
    return [r for r in requests if predicate(r)]


def messages_to(discord_api: Server, channel_id: int) -> list[str]:
    """The contents of the messages posted to a channel or thread, oldest first."""
    path = f"/channels/{channel_id}/messages"
    return [r["json"]["content"] for r in received(discord_api, lambda r: r["path"] == path)]


def eventually(probe: Callable[[], T | None], what: str, timeout_s: float = WAIT_S) -> T:
    """Poll `probe` until it returns something other than None/False/empty (bounded)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
