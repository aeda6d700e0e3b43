"""Test support for Discord: a stand-in for Discord's REST API (the only stand-in the
project allows), and builders of realistic interaction payloads.

The stand-in is an ASGI app (`fake_discord_app`) run with tests/servers.py `run_server`;
it serves the REST routes our code calls under `/api/v10`, answers like Discord
(`Content-Type: application/json` without charset, which discord.py insists on), and keeps
every request it got, readable at `GET /_fake/requests`.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

API_PREFIX = "/api/v10"
# Messages to this channel are refused the way Discord refuses a channel the bot cannot see.
FORBIDDEN_CHANNEL_ID = 403_000_000_000_000_000
DISCORD_EPOCH_MS = 1_420_070_400_000

_snowflakes = itertools.count((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22)


def snowflake() -> int:
    """A fresh, realistic Discord id (unique within this process)."""
    return next(_snowflakes)


# --- the stand-in for Discord's REST API -------------------------------------------------

fake_discord_app = FastAPI(title="Stand-in for Discord's REST API")
_received: list[dict[str, Any]] = []


@fake_discord_app.get("/_fake/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@fake_discord_app.get("/_fake/requests")
async def received() -> list[dict[str, Any]]:
    return _received


@fake_discord_app.api_route(API_PREFIX + "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def discord_api(path: str, request: Request) -> Response:
    raw = await request.body()
    body = json.loads(raw) if raw else None
    _received.append(
        {
            "method": request.method,
            "path": "/" + path,
            "query": dict(request.query_params),
            "authorization": request.headers.get("authorization"),
            "user_agent": request.headers.get("user-agent"),
            "json": body,
        }
    )
    return _answer(request.method, path.split("/"), body or {})


def _answer(method: str, parts: list[str], body: dict[str, Any]) -> Response:
    match method, parts:
        case "POST", ["channels", channel_id, "messages"]:
            if int(channel_id) == FORBIDDEN_CHANNEL_ID:
                return JSONResponse({"message": "Missing Access", "code": 50001}, status_code=403)
            return JSONResponse(_message(int(channel_id), body))
        case "POST", ["channels", channel_id, "threads"]:
            thread = {
                "id": str(snowflake()),
                "type": body.get("type", 11),
                "name": body.get("name"),
                "parent_id": channel_id,
            }
            return JSONResponse(thread, status_code=201)
        case "PUT", ["channels", _, "thread-members", _]:
            return Response(status_code=204)
        case "PATCH" | "POST", ["webhooks", _, _, *_]:
            return JSONResponse(_message(snowflake(), body))
        case "DELETE", ["webhooks", _, _, *_]:
            return Response(status_code=204)
    return JSONResponse({"message": "404: Not Found", "code": 0}, status_code=404)


def _message(channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(snowflake()),
        "channel_id": str(channel_id),
        "type": 0,
        "author": {"id": "1", "username": "bot", "discriminator": "0", "avatar": None, "bot": True},
        "content": body.get("content") or "",
        "embeds": body.get("embeds") or [],
        "components": body.get("components") or [],
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "flags": body.get("flags") or 0,
        "timestamp": datetime.now(UTC).isoformat(),
        "edited_timestamp": None,
    }


# --- interaction payloads, shaped like the ones Discord sends -----------------------------


def _user(user_id: int, name: str) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "public_flags": 0,
    }


def _guild_channel(channel_id: int, guild_id: int) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": "async-qualifier",
        "position": 3,
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "flags": 0,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "permissions": "2248473465835073",
    }


def interaction(
    interaction_type: int,
    data: dict[str, Any] | None,
    *,
    application_id: int,
    user_id: int | None = None,
    channel_id: int | None = None,
    guild_id: int | None = None,
    in_guild: bool = True,
    minimal_channel: bool = False,
) -> dict[str, Any]:
    """An interaction as Discord POSTs it; in a guild text channel unless `in_guild=False`
    (a DM, where the invoker comes as `user` instead of `member`)."""
    user_id = user_id or snowflake()
    channel_id = channel_id or snowflake()
    payload: dict[str, Any] = {
        "id": str(snowflake()),
        "application_id": str(application_id),
        "type": interaction_type,
        "token": f"aW50ZXJhY3Rpb24-{uuid.uuid4().hex}",
        "version": 1,
        "locale": "en-US",
        "app_permissions": "2248473465835073",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id or 0)},
        "attachment_size_limit": 10_485_760,
        "channel_id": str(channel_id),
    }
    if data is not None:
        payload["data"] = data
    user = _user(user_id, f"runner{user_id % 1000}")
    if in_guild:
        guild_id = guild_id or snowflake()
        channel = _guild_channel(channel_id, guild_id)
        payload |= {
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "context": 0,
            "member": {
                "user": user,
                "roles": [],
                "nick": None,
                "avatar": None,
                "joined_at": "2024-03-01T18:00:00.000000+00:00",
                "premium_since": None,
                "deaf": False,
                "mute": False,
                "pending": False,
                "flags": 0,
                "permissions": "2248473465835073",
            },
        }
    else:
        channel = {
            "id": str(channel_id),
            "type": 1,
            "recipients": [user],
            "flags": 0,
            "last_message_id": None,
        }
        payload |= {"user": user, "context": 1}
    payload["channel"] = {"id": channel["id"], "type": channel["type"]} if minimal_channel else channel
    return payload


def option(name: str, value: Any) -> dict[str, Any]:
    """A command option; its Discord type follows the Python type of `value`."""
    kinds = {str: 3, int: 4, bool: 5, float: 10}
    return {"name": name, "type": kinds[type(value)], "value": value}


def command_data(name: str, *options: dict[str, Any], subcommand: str | None = None) -> dict[str, Any]:
    if subcommand is not None:
        options = ({"name": subcommand, "type": 1, "options": list(options)},)
    return {"id": str(snowflake()), "name": name, "type": 1, "options": list(options)}


def component_data(custom_id: str) -> dict[str, Any]:
    return {"custom_id": custom_id, "component_type": 2}


def clicked_message(application_id: int, channel_id: int, custom_id: str) -> dict[str, Any]:
    """The bot's message that carried the clicked button (sent with component clicks)."""
    return {
        "id": str(snowflake()),
        "channel_id": str(channel_id),
        "type": 20,
        "author": {
            "id": str(application_id),
            "username": "bot",
            "discriminator": "0",
            "avatar": None,
            "bot": True,
        },
        "content": "",
        "embeds": [],
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": custom_id}]}
        ],
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "flags": 0,
        "timestamp": "2024-03-01T18:00:00.000000+00:00",
        "edited_timestamp": None,
    }
