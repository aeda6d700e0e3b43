"""PluginSystem: the plugin machinery one app owns (`app.state.plugins`).

Built in two steps because Tortoise must know every model module at `Tortoise.init`:
`PluginSystem.load()` runs before the app's Tortoise config exists (discover, validate,
order, import, collect — no database), and `lifespan(app)` runs inside the app's
lifespan, with the database open:

1. record the installed plugins in `plugins`;
2. per plugin, in load order: check the shared tables it maps onto exist, apply its
   migrations, bind its context, call `on_load` — a failure rejects it and its dependents;
3. wire what the active plugins contribute: API routers under /api and page routers at
   the root (behind the enablement gate), ownership resolvers, event listeners, Discord
   commands (when the app has a CommandTree), scheduled tasks;
4. log "Plugin system initialized with N plugins" and publish the metrics.

On the way out: tasks cancelled, listeners unsubscribed, `on_unload` in reverse order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI
from tortoise.exceptions import IntegrityError

from core.events import Event
from plugin_app.application.plugins import metrics
from plugin_app.application.plugins.base import PluginContext
from plugin_app.application.plugins.commands import wire_discord
from plugin_app.application.plugins.config_service import PluginConfigService
from plugin_app.application.plugins.contributions import API_PREFIX
from plugin_app.application.plugins.enablement import (
    EnablementCache,
    PluginEnablement,
    require_plugin_enabled,
)
from plugin_app.application.plugins.exceptions import PluginRejected, PluginRolledBack, RollbackRefused
from plugin_app.application.plugins.lifecycle import PluginLifecycleManager
from plugin_app.application.plugins.loader import PluginLoader
from plugin_app.application.plugins.migrations import PluginMigrator, check_mapped_tables
from plugin_app.application.plugins.registry import PluginRecord, PluginRegistry
from plugin_app.application.scheduler import Job, Scheduler
from plugin_app.models.plugin import Plugin
from plugin_app.settings import PluginSettings

log = logging.getLogger("plugin_app.plugins")

Handler = Callable[[Any], Awaitable[None]]


@dataclass
class PluginSystem:
    registry: PluginRegistry
    settings: PluginSettings
    enablement: PluginEnablement
    config: PluginConfigService
    lifecycle: PluginLifecycleManager
    scheduler: Scheduler = field(default_factory=Scheduler)
    migrator: PluginMigrator | None = None
    _subscriptions: dict[str, list[tuple[type[Event], Handler]]] = field(default_factory=dict)
    _app: FastAPI | None = None

    @classmethod
    def load(cls, settings: PluginSettings) -> PluginSystem:
        """Discover and load every plugin; nothing here needs the database."""
        registry = PluginLoader(PluginRegistry(), settings).load()
        enablement = PluginEnablement(
            registry,
            EnablementCache(
                ttl_seconds=settings.plugin_enablement_ttl_seconds,
                max_organizations=settings.plugin_enablement_cache_size,
            ),
        )
        config = PluginConfigService(registry)
        return cls(
            registry=registry,
            settings=settings,
            enablement=enablement,
            config=config,
            lifecycle=PluginLifecycleManager(registry, enablement, config),
        )

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start(app)
        try:
            yield
        finally:
            await self.stop()

    async def start(self, app: FastAPI) -> None:
        self._app = app
        self.migrator = PluginMigrator(self.registry, app.state.tortoise_config)
        await self._record_installed()
        for record in self.registry.active():
            if record.active:  # an earlier plugin's failure may have rejected it meanwhile
                await self._prepare(app, record)
        active = self.registry.active()
        for record in active:
            self._wire(app, record)
        self._wire_commands(app, active)
        if app.state.settings.scheduler_enabled:
            for record in active:
                for task in record.contributions.tasks:
                    self.scheduler.start(
                        Job(record.plugin_id, task.name, task.interval, task.run, task.run_at_start)
                    )
        metrics.publish(self.registry)
        log.info("Plugin system initialized with %d plugins", self.registry.count())
        rejected = self.registry.rejected()
        if rejected:
            log.warning(
                "Rejected plugins: %s",
                "; ".join(f"{r.plugin_id}: {r.rejection.message}" for r in rejected if r.rejection),
            )

    async def stop(self) -> None:
        await self.scheduler.stop()
        for plugin_id in list(self._subscriptions):
            self._unsubscribe(plugin_id)
        await self.lifecycle.unload_all()

    async def _prepare(self, app: FastAPI, record: PluginRecord) -> None:
        assert self.migrator is not None and record.plugin is not None
        started = time.perf_counter()
        try:
            await check_mapped_tables(record)
            await self.migrator.apply(record)
        except PluginRejected as exc:
            self.registry.reject(record.plugin_id, exc)
            return
        finally:
            record.load_seconds += time.perf_counter() - started
        record.plugin.bind(
            PluginContext(
                plugin_id=record.plugin_id,
                settings=app.state.settings,
                events=app.state.events,
                ownership=app.state.ownership,
                notifier=app.state.notifier,
                enablement=self.enablement,
                config=self.config,
            )
        )
        await self.lifecycle.load(record)

    async def _record_installed(self) -> None:
        """Upsert a `plugins` row per active plugin; rows of plugins no longer found are
        marked not installed (their enablement and config rows are kept)."""
        now = datetime.now(UTC)
        seen = set()
        for record in self.registry.active():
            manifest = record.manifest
            assert manifest is not None
            seen.add(record.plugin_id)
            values = {"name": manifest.name, "version": manifest.version, "type": manifest.type}
            updated = await Plugin.filter(plugin_id=record.plugin_id).update(**values, is_installed=True)
            if not updated:
                try:
                    await Plugin.create(plugin_id=record.plugin_id, installed_at=now, **values)
                except IntegrityError:  # another replica created it meanwhile
                    pass
        await Plugin.filter(is_installed=True).exclude(plugin_id__in=list(seen)).update(is_installed=False)

    def mount_routes(self, app: FastAPI) -> None:
        """Include every loaded plugin's routers when the app is built, so the OpenAPI
        schema is complete before start-up; each route's gate answers 404 for a plugin
        rejected later (at start-up) or disabled for the organization."""
        for record in self.registry.active():
            c = record.contributions
            gate = [Depends(require_plugin_enabled(record.plugin_id, c.locators))]
            if c.api_router is not None:
                app.include_router(c.api_router, prefix=API_PREFIX, dependencies=gate)
            if c.page_router is not None:
                app.include_router(c.page_router, dependencies=gate)

    def _wire(self, app: FastAPI, record: PluginRecord) -> None:
        c = record.contributions
        for kind, resolver in c.ownership.items():
            app.state.ownership.register(kind, resolver)
        subscriptions = [
            (listener.event_type, self._gated(record.plugin_id, listener.handler)) for listener in c.listeners
        ]
        for event_type, handler in subscriptions:
            app.state.events.subscribe(event_type, handler)
        self._subscriptions[record.plugin_id] = subscriptions

    def _gated(self, plugin_id: str, handler: Handler) -> Handler:
        async def listener(event: Event) -> None:
            if self.registry.is_active(plugin_id) and await self.enablement.is_enabled(
                plugin_id, event.organization_id
            ):
                await handler(event)

        listener.__qualname__ = f"{plugin_id}:{getattr(handler, '__qualname__', 'listener')}"
        return listener

    def _unsubscribe(self, plugin_id: str) -> None:
        assert self._app is not None
        for event_type, handler in self._subscriptions.pop(plugin_id, []):
            self._app.state.events.unsubscribe(event_type, handler)

    def _wire_commands(self, app: FastAPI, active: list[PluginRecord]) -> None:
        endpoint = getattr(app.state, "discord", None)
        count = sum(len(r.contributions.commands) + len(r.contributions.components) for r in active)
        if endpoint is None:
            if count:
                log.warning("This app has no Discord endpoint: %d plugin commands not wired", count)
            return
        wire_discord(endpoint, active, self.enablement)

    async def rollback(self, plugin_id: str, to: str | None = None) -> list[str]:
        """Roll back a plugin's migrations (all, or those after `to`). The plugin is taken
        out of service first — tasks, listeners, `on_unload`; its routes answer 404 — and
        stays out until the app restarts, which applies its migrations again."""
        assert self.migrator is not None
        record = self.registry.get(plugin_id)
        dependents = sorted(r.plugin_id for r in self.registry.dependents(plugin_id))
        if dependents:
            raise RollbackRefused(plugin_id, f"{dependents} require it and are loaded; roll those back first")

        async def take_out_of_service() -> None:
            if not record.active:
                return
            await self.scheduler.cancel(plugin_id)
            self._unsubscribe(plugin_id)
            await self.lifecycle.unload(record)
            target = f"to {to}" if to else "entirely"
            self.registry.reject(
                plugin_id,
                PluginRolledBack(plugin_id, f"its migrations were rolled back {target}; restart to re-apply"),
            )

        names = await self.migrator.rollback(plugin_id, to, before=take_out_of_service)
        metrics.publish(self.registry)
        return names
