"""PluginLifecycleManager: calls each hook at its moment.

- `on_load`: at start-up, in load order, after the plugin's migrations; raising rejects it
  (and the plugins requiring it).
- `on_enable(org, config)` / `on_disable(org)`: when an admin switches the plugin on or off
  for an organization, inside the transaction that records it — a hook that raises undoes
  the switch. Enabling needs every required plugin enabled there; disabling is refused
  while an enabled plugin there requires it. Switching to the state it is already in is a
  no-op and calls no hook.
- `on_unload`: at shutdown, in reverse load order; errors are logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from plugin_app.application.plugins.config_service import PluginConfigService
from plugin_app.application.plugins.enablement import PluginEnablement
from plugin_app.application.plugins.exceptions import (
    DependencyNotEnabled,
    DependentStillEnabled,
    EnablementRefused,
    PluginHookFailed,
)
from plugin_app.application.plugins.registry import PluginRecord, PluginRegistry
from plugin_app.models.plugin import OrganizationPlugin

log = logging.getLogger("plugin_app.plugins")


class PluginLifecycleManager:
    def __init__(
        self, registry: PluginRegistry, enablement: PluginEnablement, config: PluginConfigService
    ) -> None:
        self.registry = registry
        self.enablement = enablement
        self.config = config

    async def load(self, record: PluginRecord) -> None:
        """Call `on_load`; a failure rejects the plugin and its dependents."""
        assert record.plugin is not None
        started = time.perf_counter()
        try:
            await record.plugin.on_load()
        except Exception as exc:
            log.exception("on_load of plugin %r failed", record.plugin_id)
            self.registry.reject(
                record.plugin_id, PluginHookFailed(record.plugin_id, f"on_load raised {exc!r}")
            )
        finally:
            record.load_seconds += time.perf_counter() - started

    async def unload(self, record: PluginRecord) -> None:
        if record.plugin is None:
            return
        try:
            await record.plugin.on_unload()
        except Exception:
            log.exception("on_unload of plugin %r failed", record.plugin_id)

    async def unload_all(self) -> None:
        for record in reversed(self.registry.active()):
            await self.unload(record)

    async def enable(self, plugin_id: str, organization_id: int, by_user_id: int | None) -> bool:
        """Enable for the organization; True when this changed anything."""
        record = self.registry.get_active(plugin_id)
        assert record.plugin is not None and record.manifest is not None
        states = await self.enablement.states(organization_id)
        if states.get(plugin_id):
            return False
        missing = [d for d in record.manifest.requires if not states.get(d)]
        if missing:
            raise DependencyNotEnabled(
                plugin_id,
                f"cannot be enabled for organization {organization_id}: it requires {missing}, "
                "which are not enabled there",
            )
        async with in_transaction():
            await self._write(plugin_id, organization_id, enabled=True, by_user_id=by_user_id)
            config = await self.config.resolve(plugin_id, organization_id)
            await self._hook(plugin_id, "on_enable", record.plugin.on_enable(organization_id, config))
        self.enablement.invalidate(organization_id)
        log.info("Plugin %r enabled for organization %s", plugin_id, organization_id)
        return True

    async def disable(self, plugin_id: str, organization_id: int, by_user_id: int | None) -> bool:
        """Disable for the organization; True when this changed anything."""
        record = self.registry.get_active(plugin_id)
        assert record.plugin is not None
        states = await self.enablement.states(organization_id)
        if not states.get(plugin_id):
            explicit = await self.enablement.explicit_flags(organization_id)
            if explicit.get(plugin_id) is not False:
                # Off only because a requirement is off: record the admin's intent, no hook.
                await self._write(plugin_id, organization_id, enabled=False, by_user_id=by_user_id)
                self.enablement.invalidate(organization_id)
            return False
        dependents = sorted(
            r.plugin_id for r in self.registry.dependents(plugin_id) if states.get(r.plugin_id)
        )
        if dependents:
            raise DependentStillEnabled(
                plugin_id,
                f"cannot be disabled for organization {organization_id} while {dependents} "
                "(which require it) are enabled there",
            )
        async with in_transaction():
            await self._write(plugin_id, organization_id, enabled=False, by_user_id=by_user_id)
            await self._hook(plugin_id, "on_disable", record.plugin.on_disable(organization_id))
        self.enablement.invalidate(organization_id)
        log.info("Plugin %r disabled for organization %s", plugin_id, organization_id)
        return True

    @staticmethod
    async def _write(plugin_id: str, organization_id: int, *, enabled: bool, by_user_id: int | None) -> None:
        now = datetime.now(UTC)
        row = await OrganizationPlugin.get_or_none(
            plugin_id=plugin_id, organization_id=organization_id
        ).select_for_update()
        if row is None:
            await OrganizationPlugin.create(
                plugin_id=plugin_id,
                organization_id=organization_id,
                enabled=enabled,
                enabled_at=now if enabled else None,
                enabled_by_id=by_user_id,
            )
            return
        row.enabled = enabled
        row.enabled_by_id = by_user_id
        if enabled:
            row.enabled_at = now
        await row.save(update_fields=["enabled", "enabled_at", "enabled_by_id", "updated_at"])

    @staticmethod
    async def _hook(plugin_id: str, name: str, call: Awaitable[None]) -> None:
        try:
            await call
        except Exception as exc:
            log.exception("%s of plugin %r failed", name, plugin_id)
            raise EnablementRefused(plugin_id, f"{name} refused: {exc}") from exc
