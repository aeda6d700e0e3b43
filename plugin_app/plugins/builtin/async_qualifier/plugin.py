"""AsyncQualifierPlugin: legacy_app's AsyncQualifier system as a built-in plugin.

Everything is built once at start-up (routes, commands, tasks, ownership resolvers); the
services are created in `on_load`, around the plugin's context, and the rest reaches them
through this object (it is their `AsyncQualifierRuntime`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import discord
from fastapi import APIRouter

from core.discord import DiscordNotifier
from core.events import Event
from core.ownership import Resolver
from core.settings import get_settings
from plugin_app.application.plugins.base import (
    AppCommand,
    BasePlugin,
    CommandProvider,
    ComponentHandler,
    EventProvider,
    ModelProvider,
    OrganizationLocator,
    PluginManifest,
    PluginModels,
    RouteProvider,
    ScheduledTask,
    TaskProvider,
)

from .api import build_router, ownership_resolvers
from .commands import AsyncQualifierCommands, interaction_organization
from .events import EVENT_TYPES
from .repositories import AsyncQualifierRepository
from .services import AsyncQualifierServices
from .tasks import AsyncQualifierTasks

APP_LABEL = "async_qualifier"  # legacy_app's label: the same Tortoise app, the same tables


class AsyncQualifierPlugin(
    BasePlugin, ModelProvider, RouteProvider, CommandProvider, EventProvider, TaskProvider
):
    def __init__(self, manifest: PluginManifest, package: str) -> None:
        super().__init__(manifest, package)
        self._repository = AsyncQualifierRepository()
        self._services: AsyncQualifierServices | None = None
        self._commands = AsyncQualifierCommands(self)
        self._tasks = AsyncQualifierTasks(self)

    # -- the runtime the routes, commands and tasks use ------------------------------------

    @property
    def services(self) -> AsyncQualifierServices:
        if self._services is None:
            raise RuntimeError("the async qualifier plugin is used before on_load")
        return self._services

    @property
    def notifier(self) -> DiscordNotifier:
        return self.context.notifier

    async def is_enabled(self, organization_id: int) -> bool:
        return await self.context.is_enabled(organization_id)

    # -- contributions (collected once at start-up) ------------------------------------------

    def get_models(self) -> PluginModels:
        # No migrations: legacy_app's own (`strangler migrate`) create and own these tables,
        # including the partial unique index that allows one active race per runner.
        return PluginModels(app_label=APP_LABEL, modules=(".models.async_tournament",))

    def get_api_router(self) -> APIRouter:
        return build_router(self)

    def get_ownership_resolvers(self) -> Mapping[str, Resolver]:
        return ownership_resolvers(self._repository)

    def organization_locators(self) -> tuple[OrganizationLocator, ...]:
        # None plugin-wide: every route carries a gate with its own locators (api/routes.py),
        # the sources the proxy's route map names for it, so a stray `?organization_id=` on
        # a route that does not take one decides nothing here either.
        return ()

    def get_commands(self) -> Sequence[AppCommand]:
        return self._commands.commands()

    def get_component_handlers(self) -> Mapping[str, ComponentHandler]:
        return self._commands.component_handlers()

    async def command_organization(self, interaction: discord.Interaction) -> int | None:
        """The channel's (or the button's) qualifier decides, never the guild."""
        return await interaction_organization(interaction, self._repository)

    def answers_without_organization(self) -> bool:
        """An unlinked channel gets legacy_app's own reply ("not linked to an async qualifier")."""
        return True

    def get_event_types(self) -> Sequence[type[Event]]:
        return EVENT_TYPES

    def get_scheduled_tasks(self) -> Sequence[ScheduledTask]:
        return self._tasks.scheduled_tasks(get_settings())

    # -- lifecycle ------------------------------------------------------------------------------

    async def on_load(self) -> None:
        self._services = AsyncQualifierServices.create(self.context)
