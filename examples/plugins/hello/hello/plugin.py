"""HelloPlugin: one class, mixing in a provider per kind of contribution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from discord import app_commands
from fastapi import APIRouter

from core.events import Event
from core.ownership import Resolver
from plugin_app.application.plugins import (
    BasePlugin,
    CommandProvider,
    EventProvider,
    FromEntity,
    FromPath,
    ModelProvider,
    PageProvider,
    PluginModels,
    RouteProvider,
    ScheduledTask,
    TaskProvider,
)

from .api import build_router, greeting_organization
from .commands import build_commands
from .events import GreetingCreated
from .models import HookCall
from .pages import build_page_router

HEARTBEAT = timedelta(seconds=1)


class HelloPlugin(
    BasePlugin, ModelProvider, RouteProvider, PageProvider, CommandProvider, EventProvider, TaskProvider
):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heartbeats = 0

    # -- contributions (collected once at start-up) --------------------------------------

    def get_models(self) -> PluginModels:
        return PluginModels(app_label="plugin_hello", modules=(".models",), migrations=".migrations")

    def get_api_router(self) -> APIRouter:
        return build_router(self)

    def get_ownership_resolvers(self) -> Mapping[str, Resolver]:
        return {"greeting": greeting_organization}

    def organization_locators(self) -> tuple[Any, ...]:
        return (FromPath("org"), FromEntity("greeting", "greeting_id"))

    def get_page_router(self) -> APIRouter:
        return build_page_router()

    def get_commands(self) -> Sequence[app_commands.Command]:
        return build_commands(self)

    def get_event_types(self) -> Sequence[type[Event]]:
        return [GreetingCreated]

    def get_scheduled_tasks(self) -> Sequence[ScheduledTask]:
        return [ScheduledTask("heartbeat", HEARTBEAT, self._heartbeat)]

    async def _heartbeat(self) -> None:
        self.heartbeats += 1

    # -- lifecycle hooks: recorded so their moments can be observed -----------------------

    async def on_load(self) -> None:
        await HookCall.create(hook="on_load")

    async def on_enable(self, organization_id: int, config: Mapping[str, Any]) -> None:
        await HookCall.create(hook="on_enable", organization_id=organization_id, config=dict(config))

    async def on_disable(self, organization_id: int) -> None:
        await HookCall.create(hook="on_disable", organization_id=organization_id)

    async def on_unload(self) -> None:
        await HookCall.create(hook="on_unload")
