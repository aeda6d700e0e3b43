"""Plugins' slash commands and component handlers on the app's Discord endpoint
(`app.state.discord`, a core.discord.InteractionEndpoint with a discord.py CommandTree).

Every command gets a check and every component handler a wrapper: where the plugin is not
enabled for the interaction's organization (`CommandProvider.command_organization`), the
user gets an ephemeral "not available" reply instead — the Discord counterpart of the
routes' 404. An interaction whose organization cannot be found is refused the same way,
unless the plugin `answers_without_organization()` (then it runs, as a route naming no
organization does).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Protocol

import discord
from discord import app_commands

from plugin_app.application.plugins.base import AppCommand, CommandProvider, ComponentHandler
from plugin_app.application.plugins.enablement import PluginEnablement
from plugin_app.application.plugins.registry import PluginRecord

log = logging.getLogger("plugin_app.plugins")

NOT_AVAILABLE = "This command is not available here."


class DiscordEndpoint(Protocol):
    """What the plugin system needs of core.discord's InteractionEndpoint."""

    tree: app_commands.CommandTree[Any]

    def add_component_handler(self, custom_id_prefix: str, handler: ComponentHandler) -> None: ...


class PluginCommandUnavailable(app_commands.CheckFailure):
    """The command's plugin is not enabled for the interaction's organization."""

    def __init__(self, plugin_id: str) -> None:
        super().__init__(NOT_AVAILABLE)
        self.plugin_id = plugin_id


def _leaf_commands(command: AppCommand) -> Iterator[app_commands.Command[Any, ..., Any]]:
    if isinstance(command, app_commands.Group):
        yield from (c for c in command.walk_commands() if isinstance(c, app_commands.Command))
    else:
        yield command


async def _available(
    record: PluginRecord, enablement: PluginEnablement, interaction: discord.Interaction
) -> bool:
    plugin = record.plugin
    assert isinstance(plugin, CommandProvider)
    if not enablement.registry.is_active(record.plugin_id):
        return False
    organization_id = await plugin.command_organization(interaction)
    if organization_id is None:
        # Like a route naming no organization: the command itself answers (its own "not
        # linked here"), if the plugin says it can.
        return plugin.answers_without_organization()
    return await enablement.is_enabled(record.plugin_id, organization_id)


async def reply_unavailable(interaction: discord.Interaction) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(NOT_AVAILABLE, ephemeral=True)
    else:
        await interaction.response.send_message(NOT_AVAILABLE, ephemeral=True)


def gate_command(command: AppCommand, record: PluginRecord, enablement: PluginEnablement) -> None:
    """Add the enablement check to `command` (and to every subcommand of a group)."""

    async def plugin_enabled(interaction: discord.Interaction) -> bool:
        if not await _available(record, enablement, interaction):
            raise PluginCommandUnavailable(record.plugin_id)
        return True

    for leaf in _leaf_commands(command):
        leaf.add_check(plugin_enabled)


def gate_component(
    handler: ComponentHandler, record: PluginRecord, enablement: PluginEnablement
) -> ComponentHandler:
    async def gated(interaction: discord.Interaction) -> None:
        if await _available(record, enablement, interaction):
            await handler(interaction)
        else:
            await reply_unavailable(interaction)

    return gated


def wire_discord(endpoint: DiscordEndpoint, records: list[PluginRecord], enablement: PluginEnablement) -> int:
    """Add the active plugins' gated commands and component handlers; returns how many."""
    tree = endpoint.tree
    added = 0
    for record in records:
        for command in record.contributions.commands:
            gate_command(command, record, enablement)
            tree.add_command(command)
            added += 1
        for prefix, handler in record.contributions.components.items():
            endpoint.add_component_handler(prefix, gate_component(handler, record, enablement))
            added += 1
    previous = tree.on_error

    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, PluginCommandUnavailable):
            await reply_unavailable(interaction)
            return
        await previous(interaction, error)

    tree.on_error = on_error  # type: ignore[method-assign]
    return added
