"""CommandProvider: the plugin's Discord slash commands and component (button) handlers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence

import discord
from discord import app_commands

from core.models import DiscordGuild

AppCommand = app_commands.Command | app_commands.Group
ComponentHandler = Callable[[discord.Interaction], Awaitable[None]]


class CommandProvider(ABC):
    @abstractmethod
    def get_commands(self) -> Sequence[AppCommand]:
        """Slash commands for the app's CommandTree; each answers only where enabled."""

    def get_component_handlers(self) -> Mapping[str, ComponentHandler]:
        """custom_id prefix -> handler for button clicks and modal submits; gated likewise."""
        return {}

    async def command_organization(self, interaction: discord.Interaction) -> int | None:
        """The organization an interaction is for; by default the guild's only organization."""
        if interaction.guild_id is None:
            return None
        org_ids = await DiscordGuild.filter(guild_id=interaction.guild_id).values_list(
            "organization_id", flat=True
        )
        return org_ids[0] if len(set(org_ids)) == 1 else None

    def answers_without_organization(self) -> bool:
        """True: an interaction whose organization is unknown runs and answers itself; False: refused."""
        return False
