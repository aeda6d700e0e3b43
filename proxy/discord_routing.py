"""What the proxy reads from a Discord interaction to route it: its type, the command name
or component custom_id, where it happened (channel, thread parent, guild) and who sent it.
Everything else is relayed to the chosen app untouched."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

from proxy.decisions import ANONYMOUS_CALLER
from proxy.errors import MalformedInteraction
from proxy.route_map import DiscordSurface, EntityKind, RouteMap


class InteractionType(IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


PONG = {"type": 1}


@dataclass(frozen=True)
class Interaction:
    type: int
    command: str | None  # data.name of a command or an autocomplete
    custom_id: str | None  # data.custom_id of a component click or a modal submit
    channel_id: int | None
    parent_channel_id: int | None  # the channel a thread hangs off
    guild_id: int | None
    user_id: str | None

    @classmethod
    def parse(cls, body: bytes) -> Interaction:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise MalformedInteraction("the interaction is not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), int):
            raise MalformedInteraction("the interaction has no type")
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        channel = payload.get("channel") if isinstance(payload.get("channel"), dict) else {}
        member = payload.get("member") if isinstance(payload.get("member"), dict) else {}
        user = member.get("user") if isinstance(member.get("user"), dict) else payload.get("user")
        return cls(
            type=payload["type"],
            command=_str(data.get("name")),
            custom_id=_str(data.get("custom_id")),
            channel_id=_snowflake(payload.get("channel_id", channel.get("id"))),
            parent_channel_id=_snowflake(channel.get("parent_id")),
            guild_id=_snowflake(payload.get("guild_id")),
            user_id=_str(user.get("id")) if isinstance(user, dict) else None,
        )

    @property
    def caller(self) -> str:
        return self.user_id or ANONYMOUS_CALLER

    def surface(self, route_map: RouteMap) -> DiscordSurface | None:
        if self.type in (InteractionType.APPLICATION_COMMAND, InteractionType.AUTOCOMPLETE) and self.command:
            return route_map.discord_command(self.command)
        if self.type in (InteractionType.MESSAGE_COMPONENT, InteractionType.MODAL_SUBMIT) and self.custom_id:
            return route_map.discord_component(self.custom_id)
        return None

    def organization_candidates(self, surface: DiscordSurface) -> list[tuple[EntityKind, int]]:
        """Entities to ask for the owner, in the surface's order (a thread: itself, then its parent)."""
        candidates: list[tuple[EntityKind, int]] = []
        for kind in surface.sources:
            if kind is EntityKind.DISCORD_CHANNEL:
                ids = (self.channel_id, self.parent_channel_id)
            elif kind is EntityKind.DISCORD_GUILD:
                ids = (self.guild_id, None)
            else:
                ids = (None, None)
            candidates.extend((kind, entity_id) for entity_id in ids if entity_id is not None)
        return candidates


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _snowflake(value: Any) -> int | None:
    text = _str(value)
    return int(text) if text is not None and text.isascii() and text.isdigit() else None
