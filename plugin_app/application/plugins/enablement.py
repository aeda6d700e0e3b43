"""Per-organization enablement: is plugin P on for organization O?

P is enabled for O when P is active in this process, O's `organization_plugins` row for P
says so (no row: the manifest's `enabled_by_default`), and every plugin P requires is
enabled for O too.

The answer sits on the request path of every plugin route, so it is cached in memory:
one entry per organization holding the answers for all plugins (one query fills it).
Bound: at most `STRANGLER_PLUGIN_ENABLEMENT_CACHE_SIZE` organizations (default 10,000;
least recently used evicted first), each entry living `STRANGLER_PLUGIN_ENABLEMENT_TTL_SECONDS`
(default 5 s). Changes made through this process drop the organization's entry at once;
changes made by another replica are seen within the TTL.

Two ways to ask: `PluginEnablement.is_enabled` (a plain async method, for commands, tasks
and listeners) and `require_plugin_enabled(...)` (a FastAPI dependency factory).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping

from fastapi import Request

from core.errors import NotFound
from plugin_app.application.plugins.base.locators import (
    DEFAULT_LOCATORS,
    OrganizationLocator,
    locate_organization,
)
from plugin_app.application.plugins.registry import PluginRegistry
from plugin_app.models.plugin import OrganizationPlugin

# Exactly what an unknown route answers, so a disabled plugin is indistinguishable from none.
ABSENT_DETAIL = "Not Found"


class EnablementCache:
    """A bounded LRU of organization -> {plugin id: enabled}, each entry with a TTL."""

    def __init__(
        self, *, ttl_seconds: float, max_organizations: int, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl_seconds = ttl_seconds
        self.max_organizations = max_organizations
        self._clock = clock
        self._entries: OrderedDict[int, tuple[float, dict[str, bool]]] = OrderedDict()

    def get(self, organization_id: int) -> dict[str, bool] | None:
        entry = self._entries.get(organization_id)
        if entry is None:
            return None
        expires_at, answers = entry
        if expires_at <= self._clock():
            del self._entries[organization_id]
            return None
        self._entries.move_to_end(organization_id)
        return answers

    def put(self, organization_id: int, answers: dict[str, bool]) -> None:
        self._entries[organization_id] = (self._clock() + self.ttl_seconds, answers)
        self._entries.move_to_end(organization_id)
        while len(self._entries) > self.max_organizations:
            self._entries.popitem(last=False)

    def invalidate(self, organization_id: int | None = None) -> None:
        if organization_id is None:
            self._entries.clear()
        else:
            self._entries.pop(organization_id, None)

    def __len__(self) -> int:
        return len(self._entries)


class PluginEnablement:
    def __init__(self, registry: PluginRegistry, cache: EnablementCache) -> None:
        self.registry = registry
        self.cache = cache

    async def is_enabled(self, plugin_id: str, organization_id: int) -> bool:
        """Whether the plugin answers for the organization (cached)."""
        answers = self.cache.get(organization_id)
        if answers is None:
            answers = await self.states(organization_id)
            self.cache.put(organization_id, answers)
        return answers.get(plugin_id, False)

    async def explicit_flags(self, organization_id: int) -> dict[str, bool]:
        """The organization's rows: plugin id -> enabled (plugins without a row are absent)."""
        rows = await OrganizationPlugin.filter(organization_id=organization_id).values_list(
            "plugin_id", "enabled"
        )
        return {plugin_id: bool(enabled) for plugin_id, enabled in rows}

    async def states(self, organization_id: int) -> dict[str, bool]:
        """Every active plugin's effective state for the organization (uncached)."""
        return effective_states(self.registry, await self.explicit_flags(organization_id))

    def invalidate(self, organization_id: int | None = None) -> None:
        self.cache.invalidate(organization_id)


def effective_states(registry: PluginRegistry, explicit: Mapping[str, bool]) -> dict[str, bool]:
    """Own flag (row or default) and every requirement enabled; load order puts deps first."""
    states: dict[str, bool] = {}
    for record in registry.active():
        assert record.manifest is not None
        own = explicit.get(record.plugin_id, record.manifest.enabled_by_default)
        states[record.plugin_id] = own and all(states.get(d, False) for d in record.manifest.requires)
    return states


def require_plugin_enabled(
    plugin_id: str, locators: tuple[OrganizationLocator, ...] = DEFAULT_LOCATORS
) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency: 404 `Not Found`, as for an unknown route, unless the plugin is
    active and enabled for the organization the request names. A request naming no
    organization passes, so the route answers it as it would anyway."""

    async def plugin_enabled(request: Request) -> None:
        system = request.app.state.plugins
        if not system.registry.is_active(plugin_id):
            raise NotFound(ABSENT_DETAIL)
        organization_id = await locate_organization(request, locators, request.app.state.ownership)
        if organization_id is not None and not await system.enablement.is_enabled(plugin_id, organization_id):
            raise NotFound(ABSENT_DETAIL)

    return plugin_enabled
