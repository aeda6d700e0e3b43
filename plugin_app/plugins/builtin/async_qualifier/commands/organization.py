"""Which organization an async qualifier interaction is for - what the plugin system's gate
asks before a command or button runs (`CommandProvider.command_organization`).

The channel decides, as it does for the commands themselves, never the guild (one guild
may serve several organizations):
- a button's custom_id names its qualifier (`async_start:<qid>`, `async_start_pool:<qid>:<pid>`),
  and the handler acts on that qualifier wherever it was clicked: that qualifier's (none for
  a malformed one, which the handler answers as a stale button);
- otherwise the qualifier linked to the channel (`discord_channel_id`);
- otherwise the race whose thread the channel is.
None when nothing matches: the command then runs and answers as legacy_app does ("This
channel is not linked to an async qualifier.", a stale button, an unknown qualifier).
"""

from __future__ import annotations

import discord

from plugin_app.application.schemas.field_types import is_valid_id

from ..repositories.async_qualifier_repository import AsyncQualifierRepository
from .async_qualifier import POOL_BUTTON_PREFIX, START_BUTTON_PREFIX, channel_id_of

# Longest first: "async_start_pool:" does not start with "async_start:", but keep it explicit.
BUTTON_PREFIXES = (POOL_BUTTON_PREFIX, START_BUTTON_PREFIX)
MAX_ID_DIGITS = 10


def button_qualifier_id(custom_id: str | None) -> int | None:
    """The qualifier id a Start or pool button carries, or None for anything else."""
    for prefix in BUTTON_PREFIXES:
        if custom_id is not None and custom_id.startswith(prefix):
            first = custom_id.removeprefix(prefix).split(":")[0]
            if (
                first.isascii()
                and first.isdigit()
                and len(first) <= MAX_ID_DIGITS
                and is_valid_id(int(first))
            ):
                return int(first)
            return None
    return None


async def interaction_organization(
    interaction: discord.Interaction, repository: AsyncQualifierRepository
) -> int | None:
    qualifier_id = button_qualifier_id(interaction.custom_id)
    if qualifier_id is not None:
        return await repository.organization_of_qualifier(qualifier_id)
    channel_id = channel_id_of(interaction)
    if channel_id == 0:
        return None
    organization_id = await repository.organization_of_channel(channel_id)
    if organization_id is not None:
        return organization_id
    return await repository.organization_of_race_thread(channel_id)
