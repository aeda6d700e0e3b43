"""Discord for both apps: slash commands and component clicks served over HTTP
(`InteractionEndpoint`, `POST /discord/interactions`) and outbound messages
(`DiscordNotifier`).

An app gets both from `install_discord(app, settings)` (called by `create_platform_app`):
`app.state.discord` is the endpoint - add commands to `app.state.discord.tree` and
component handlers with `app.state.discord.add_component_handler` - and
`app.state.notifier` the notifier. `discord_lifespan` starts and closes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.discord.interactions import (
    ComponentHandler,
    Failure,
    InteractionEndpoint,
    InteractionExpired,
    MalformedInteraction,
)
from core.discord.outbound import (
    DiscordNotifier,
    OutboundCall,
    OutboundKind,
    OutboundOutcome,
    capture_outbound,
)
from core.discord.router import INTERACTIONS_PATH, interactions_router
from core.settings import CoreSettings

__all__ = [
    "INTERACTIONS_PATH",
    "ComponentHandler",
    "DiscordNotifier",
    "Failure",
    "InteractionEndpoint",
    "InteractionExpired",
    "MalformedInteraction",
    "OutboundCall",
    "OutboundKind",
    "OutboundOutcome",
    "capture_outbound",
    "discord_lifespan",
    "install_discord",
    "interactions_router",
]


def install_discord(app: FastAPI, settings: CoreSettings) -> None:
    """Create the app's endpoint and notifier (app.state.discord, app.state.notifier) and
    mount `POST /discord/interactions`."""
    notifier = DiscordNotifier(api_base=settings.discord_api_base, bot_token=settings.discord_bot_token)
    endpoint = InteractionEndpoint(application_id=settings.discord_application_id, notifier=notifier)
    app.state.notifier = notifier
    app.state.discord = endpoint
    app.include_router(interactions_router(endpoint))


@asynccontextmanager
async def discord_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the notifier and the endpoint; on shutdown stop commands still running and
    close the HTTP session."""
    notifier: DiscordNotifier = app.state.notifier
    endpoint: InteractionEndpoint = app.state.discord
    await notifier.start()
    try:
        await endpoint.start()
        try:
            yield
        finally:
            await endpoint.close()
    finally:
        await notifier.close()
