"""The plugin's slash command (discord.py app_commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

if TYPE_CHECKING:
    from .plugin import HelloPlugin


def build_commands(plugin: HelloPlugin) -> list[app_commands.Command]:
    @app_commands.command(name="hello", description="Say hello")
    @app_commands.describe(name="Who to greet")
    async def hello(interaction: discord.Interaction, name: str) -> None:
        organization_id = await plugin.command_organization(interaction)
        config = await plugin.context.config_for(organization_id)
        await interaction.response.send_message(f"{config['greeting']}, {name}{config['punctuation']}")

    return [hello]
