"""BasePlugin: the class every plugin's `plugin.py` subclasses, with the lifecycle hooks.

A plugin mixes in the providers for what it contributes:

    class HelloPlugin(BasePlugin, ModelProvider, RouteProvider, EventProvider): ...

The loader builds it as `HelloPlugin(manifest, package)` from its manifest.yaml, collects
its contributions once at start-up, then binds its context and calls `on_load`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin_app.application.plugins.base.context import PluginContext
from plugin_app.application.plugins.base.locators import DEFAULT_LOCATORS, OrganizationLocator
from plugin_app.application.plugins.manifest import PluginManifest


class BasePlugin:
    def __init__(self, manifest: PluginManifest, package: str) -> None:
        self._manifest = manifest
        self._package = package
        self._context: PluginContext | None = None

    @property
    def manifest(self) -> PluginManifest:
        return self._manifest

    @property
    def plugin_id(self) -> str:
        return self._manifest.id

    @property
    def package(self) -> str:
        """The dotted name the plugin's package was imported as."""
        return self._package

    @property
    def context(self) -> PluginContext:
        """The app's services for this plugin; available from `on_load` on."""
        if self._context is None:
            raise RuntimeError(f"plugin {self.plugin_id!r} has no context before on_load")
        return self._context

    def bind(self, context: PluginContext) -> None:
        self._context = context

    def organization_locators(self) -> tuple[OrganizationLocator, ...]:
        """Where this plugin's requests name their organization, for the enablement gate."""
        return DEFAULT_LOCATORS

    async def on_load(self) -> None:
        """At start-up, after the plugin's migrations, before it serves anything."""

    async def on_enable(self, organization_id: int, config: Mapping[str, Any]) -> None:
        """When an admin enables the plugin for an organization (inside that transaction)."""

    async def on_disable(self, organization_id: int) -> None:
        """When an admin disables the plugin for an organization (inside that transaction)."""

    async def on_unload(self) -> None:
        """At shutdown (or before its migrations are rolled back), while the database is open."""
