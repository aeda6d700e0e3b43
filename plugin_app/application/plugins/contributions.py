"""What a plugin contributes, collected once at start-up and checked against its manifest.

Collection calls each provider method exactly once; a provider that raises, returns the
wrong thing, or contributes something its manifest does not declare (or declares
something it does not contribute) rejects the plugin with InvalidContribution.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType

from discord import app_commands
from fastapi import APIRouter
from fastapi.routing import APIRoute
from tortoise.models import Model

from core.events import Event
from core.ownership import Resolver
from plugin_app.application.plugins.base import (
    AppCommand,
    BasePlugin,
    CommandProvider,
    ComponentHandler,
    EventListener,
    EventProvider,
    ModelProvider,
    OrganizationLocator,
    PageProvider,
    PluginModels,
    RouteProvider,
    ScheduledTask,
    TaskProvider,
)
from plugin_app.application.plugins.exceptions import InvalidContribution

API_PREFIX = "/api"
# Labels whose tables belong to the platform itself; no plugin may claim them.
RESERVED_APP_LABELS = frozenset({"core", "plugins", "_migrations"})


@dataclass(frozen=True)
class Contributions:
    models: PluginModels | None = None
    model_names: tuple[str, ...] = ()
    api_router: APIRouter | None = None
    page_router: APIRouter | None = None
    locators: tuple[OrganizationLocator, ...] = ()
    ownership: Mapping[str, Resolver] = field(default_factory=dict)
    commands: tuple[AppCommand, ...] = ()
    components: Mapping[str, ComponentHandler] = field(default_factory=dict)
    event_types: tuple[type[Event], ...] = ()
    listeners: tuple[EventListener, ...] = ()
    tasks: tuple[ScheduledTask, ...] = ()

    def api_routes(self) -> list[tuple[str, str]]:
        return _routes(self.api_router, API_PREFIX)

    def page_routes(self) -> list[tuple[str, str]]:
        return _routes(self.page_router, "")


def _routes(router: APIRouter | None, prefix: str) -> list[tuple[str, str]]:
    if router is None:
        return []
    return [
        (method, prefix + route.path)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


def _absolute(plugin: BasePlugin, module: str) -> str:
    return plugin.package + module if module.startswith(".") else module


def _defined_models(module: ModuleType) -> list[type[Model]]:
    candidates = getattr(module, "__models__", None) or [getattr(module, name) for name in dir(module)]
    return [
        c
        for c in candidates
        if inspect.isclass(c)
        and issubclass(c, Model)
        and not c._meta.abstract
        and c.__module__ == module.__name__
    ]


def _collect_models(plugin: BasePlugin) -> tuple[PluginModels, tuple[str, ...]]:
    assert isinstance(plugin, ModelProvider)
    declared = plugin.get_models()
    if not isinstance(declared, PluginModels):
        raise InvalidContribution(plugin.plugin_id, "get_models() must return PluginModels")
    label = declared.app_label
    if label in RESERVED_APP_LABELS:
        raise InvalidContribution(plugin.plugin_id, f"app label {label!r} is reserved for the platform")
    if declared.migrations is not None and label != f"plugin_{plugin.plugin_id}":
        raise InvalidContribution(
            plugin.plugin_id,
            f"a plugin that ships migrations must use the app label 'plugin_{plugin.plugin_id}', "
            f"not {label!r}",
        )
    if not declared.modules:
        raise InvalidContribution(plugin.plugin_id, "get_models() names no model modules")
    modules = tuple(_absolute(plugin, m) for m in declared.modules)
    migrations = None if declared.migrations is None else _absolute(plugin, declared.migrations)
    names: list[str] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise InvalidContribution(
                plugin.plugin_id, f"model module {name} failed to import: {exc}"
            ) from exc
        names.extend(m.__name__ for m in _defined_models(module))
    if migrations is not None:
        try:
            migrations_package = importlib.import_module(migrations)
        except Exception as exc:
            raise InvalidContribution(
                plugin.plugin_id, f"migrations package {migrations} failed to import: {exc}"
            ) from exc
        if not hasattr(migrations_package, "__path__"):
            raise InvalidContribution(plugin.plugin_id, f"{migrations} is a module, not a migrations package")
    return PluginModels(label, modules, migrations), tuple(sorted(names))


def collect(plugin: BasePlugin) -> Contributions:
    """Call every provider method of `plugin` once and keep what they return."""
    try:
        models, model_names = _collect_models(plugin) if isinstance(plugin, ModelProvider) else (None, ())
        api_router = plugin.get_api_router() if isinstance(plugin, RouteProvider) else None
        ownership = dict(plugin.get_ownership_resolvers()) if isinstance(plugin, RouteProvider) else {}
        page_router = plugin.get_page_router() if isinstance(plugin, PageProvider) else None
        commands = tuple(plugin.get_commands()) if isinstance(plugin, CommandProvider) else ()
        components = dict(plugin.get_component_handlers()) if isinstance(plugin, CommandProvider) else {}
        event_types = tuple(plugin.get_event_types()) if isinstance(plugin, EventProvider) else ()
        listeners = tuple(plugin.get_event_listeners()) if isinstance(plugin, EventProvider) else ()
        tasks = tuple(plugin.get_scheduled_tasks()) if isinstance(plugin, TaskProvider) else ()
        locators = tuple(plugin.organization_locators())
    except InvalidContribution:
        raise
    except Exception as exc:
        raise InvalidContribution(plugin.plugin_id, f"a provider method raised {exc!r}") from exc
    contributions = Contributions(
        models=models,
        model_names=model_names,
        api_router=api_router,
        page_router=page_router,
        locators=locators,
        ownership=ownership,
        commands=commands,
        components=components,
        event_types=event_types,
        listeners=listeners,
        tasks=tasks,
    )
    _check_types(plugin.plugin_id, contributions)
    _check_declared(plugin, contributions)
    return contributions


def _check_types(plugin_id: str, c: Contributions) -> None:
    problems = []
    for name, router in (("get_api_router()", c.api_router), ("get_page_router()", c.page_router)):
        if router is not None and not isinstance(router, APIRouter):
            problems.append(f"{name} must return a fastapi.APIRouter")
    if not all(inspect.isclass(e) and issubclass(e, Event) for e in c.event_types):
        problems.append("get_event_types() must return subclasses of core.events.Event")
    if not all(isinstance(listener, EventListener) for listener in c.listeners):
        problems.append("get_event_listeners() must return EventListener tuples")
    if not all(isinstance(t, ScheduledTask) and t.interval.total_seconds() > 0 for t in c.tasks):
        problems.append("get_scheduled_tasks() must return ScheduledTask with a positive interval")
    if not all(isinstance(cmd, app_commands.Command | app_commands.Group) for cmd in c.commands):
        problems.append("get_commands() must return discord.app_commands Command or Group objects")
    if not all(prefix and callable(h) for prefix, h in c.components.items()):
        problems.append("get_component_handlers() needs non-empty custom_id prefixes and callables")
    if not all(callable(r) for r in c.ownership.values()):
        problems.append("get_ownership_resolvers() values must be async callables")
    if problems:
        raise InvalidContribution(plugin_id, "; ".join(problems))


def _mismatch(what: str, declared: set[str], actual: set[str]) -> str | None:
    if declared == actual:
        return None
    parts = []
    if actual - declared:
        parts.append(f"registers undeclared {what} {sorted(actual - declared)}")
    if declared - actual:
        parts.append(f"declares {what} {sorted(declared - actual)} it does not register")
    return ", ".join(parts)


def _prefix_mismatch(what: str, declared: list[str], paths: set[str], base: str) -> str | None:
    prefixes = [base + p for p in declared]
    stray = sorted(p for p in paths if not any(p.startswith(prefix) for prefix in prefixes))
    unused = sorted(p for p in declared if not any(path.startswith(base + p) for path in paths))
    parts = []
    if stray:
        parts.append(f"serves {what} {stray} outside its declared prefixes {declared}")
    if unused:
        parts.append(f"declares {what} prefixes {unused} it does not serve")
    return ", ".join(parts) or None


def _check_declared(plugin: BasePlugin, c: Contributions) -> None:
    provides = plugin.manifest.provides
    problems = [
        _mismatch("models", set(provides.models), set(c.model_names)),
        _mismatch("discord commands", set(provides.discord_commands), {cmd.name for cmd in c.commands}),
        _mismatch("events", set(provides.events), {e.__name__ for e in c.event_types}),
        _mismatch("tasks", set(provides.tasks), {t.name for t in c.tasks}),
        _prefix_mismatch("routes", provides.routes, {p for _, p in c.api_routes()}, API_PREFIX),
        _prefix_mismatch("pages", provides.pages, {p for _, p in c.page_routes()}, ""),
    ]
    found = [p for p in problems if p]
    if found:
        raise InvalidContribution(plugin.plugin_id, "manifest 'provides' does not match: " + "; ".join(found))
