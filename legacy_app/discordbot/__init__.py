"""The monolith's Discord commands, added to the app's interaction endpoint
(`app.state.discord`, served at `POST /discord/interactions`)."""

from __future__ import annotations

from fastapi import FastAPI

from core.discord import InteractionEndpoint
from legacy_app.discordbot.commands.async_qualifier import AsyncQualifierCommands


def install_commands(app: FastAPI) -> None:
    """Add every slash command and component handler, on the app's one set of services."""
    endpoint: InteractionEndpoint = app.state.discord
    commands = AsyncQualifierCommands(app.state.async_qualifier_services, app.state.notifier)
    for command in commands.commands():
        endpoint.tree.add_command(command)
    for prefix, handler in commands.component_handlers().items():
        endpoint.add_component_handler(prefix, handler)
