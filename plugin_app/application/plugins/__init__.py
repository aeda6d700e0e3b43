"""The plugin system: manifest, contract (`base`), registry, loader, lifecycle, config,
enablement and migrations. `PluginSystem` ties them together for one app."""

from plugin_app.application.plugins.base import (
    BasePlugin,
    CommandProvider,
    EventListener,
    EventProvider,
    FromBodyEntity,
    FromEntity,
    FromPath,
    FromQuery,
    ModelProvider,
    PageProvider,
    PluginContext,
    PluginModels,
    RouteProvider,
    ScheduledTask,
    TaskProvider,
)
from plugin_app.application.plugins.enablement import require_plugin_enabled
from plugin_app.application.plugins.manifest import PluginManifest
from plugin_app.application.plugins.registry import PluginRegistry

__all__ = [
    "BasePlugin",
    "CommandProvider",
    "EventListener",
    "EventProvider",
    "FromBodyEntity",
    "FromEntity",
    "FromPath",
    "FromQuery",
    "ModelProvider",
    "PageProvider",
    "PluginContext",
    "PluginManifest",
    "PluginModels",
    "PluginRegistry",
    "RouteProvider",
    "ScheduledTask",
    "TaskProvider",
    "require_plugin_enabled",
]
