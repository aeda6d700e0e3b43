"""TournamentPlugin: the Tournament system ported from legacy_app into the plugin contract.

It maps onto the tables legacy_app's migrations own (app label "tournament", no migrations
of its own), serves the same API under `/api` with a per-route enablement gate
(`api.locators`), registers the same ownership resolvers, and publishes the same events
through its context. No pages, Discord commands, listeners or scheduled tasks: the
tournament system has none.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter

from core.events import Event
from core.ownership import Resolver
from plugin_app.application.plugins import (
    BasePlugin,
    EventListener,
    EventProvider,
    ModelProvider,
    PluginModels,
    RouteProvider,
    ScheduledTask,
    TaskProvider,
)
from plugin_app.application.plugins.base import OrganizationLocator

from .api.routes import build_router, ownership_resolvers
from .events import EVENT_TYPES
from .events.listeners import get_listeners
from .tasks import get_tasks

log = logging.getLogger("plugin_app.plugins.tournament")


class TournamentPlugin(BasePlugin, ModelProvider, RouteProvider, EventProvider, TaskProvider):
    # -- contributions (collected once at start-up) --------------------------------------

    def get_models(self) -> PluginModels:
        # The tables belong to legacy_app's migrations: same label, no migrations here.
        return PluginModels(app_label="tournament", modules=(".models.tournament",))

    def get_api_router(self) -> APIRouter:
        return build_router(self)

    def get_ownership_resolvers(self) -> Mapping[str, Resolver]:
        return ownership_resolvers()

    def organization_locators(self) -> tuple[OrganizationLocator, ...]:
        # Every route declares where it finds its organization (api/locators.py), in the
        # proxy's order; a plugin-wide list would ask before them, about the wrong one.
        return ()

    def get_event_types(self) -> Sequence[type[Event]]:
        return EVENT_TYPES

    def get_event_listeners(self) -> Sequence[EventListener]:
        return get_listeners()

    def get_scheduled_tasks(self) -> Sequence[ScheduledTask]:
        return get_tasks()

    # -- lifecycle hooks ------------------------------------------------------------------

    async def on_load(self) -> None:
        log.info("Tournament plugin loaded")

    async def on_enable(self, organization_id: int, config: Mapping[str, Any]) -> None:
        log.info("Tournament plugin enabled for organization %s", organization_id)

    async def on_disable(self, organization_id: int) -> None:
        log.info("Tournament plugin disabled for organization %s", organization_id)
