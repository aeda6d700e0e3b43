"""The plugin contract: BasePlugin, its lifecycle hooks, and one provider interface per
kind of contribution. Every hook and provider method has a one-line docstring."""

from plugin_app.application.plugins.base.command_provider import (
    AppCommand,
    CommandProvider,
    ComponentHandler,
)
from plugin_app.application.plugins.base.context import PluginContext
from plugin_app.application.plugins.base.event_provider import EventListener, EventProvider
from plugin_app.application.plugins.base.locators import (
    DEFAULT_LOCATORS,
    FromBodyEntity,
    FromEntity,
    FromPath,
    FromQuery,
    OrganizationLocator,
)
from plugin_app.application.plugins.base.model_provider import ModelProvider, PluginModels
from plugin_app.application.plugins.base.page_provider import PageProvider
from plugin_app.application.plugins.base.plugin import BasePlugin
from plugin_app.application.plugins.base.route_provider import RouteProvider
from plugin_app.application.plugins.base.task_provider import ScheduledTask, TaskProvider
from plugin_app.application.plugins.manifest import PluginManifest

PROVIDERS = (ModelProvider, RouteProvider, PageProvider, CommandProvider, EventProvider, TaskProvider)

__all__ = [
    "DEFAULT_LOCATORS",
    "PROVIDERS",
    "AppCommand",
    "BasePlugin",
    "CommandProvider",
    "ComponentHandler",
    "EventListener",
    "EventProvider",
    "FromBodyEntity",
    "FromEntity",
    "FromPath",
    "FromQuery",
    "ModelProvider",
    "OrganizationLocator",
    "PageProvider",
    "PluginContext",
    "PluginManifest",
    "PluginModels",
    "RouteProvider",
    "ScheduledTask",
    "TaskProvider",
]
