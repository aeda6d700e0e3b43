"""plugin_app's Tortoise apps: its own tables (label "plugins", migrations in
plugin_app/migrations) plus whatever the loaded plugins declare. The shared schema (core,
tournament, async_qualifier) is created by core's and legacy_app's migrations; plugin_app
only applies "core", "plugins" and the plugins' own `plugin_<id>` migrations."""

from __future__ import annotations

from typing import Any

from core.database import tortoise_config
from core.settings import get_settings

PLUGIN_TABLES_APP: dict[str, dict[str, Any]] = {
    "plugins": {"models": ["plugin_app.models.plugin"], "migrations": "plugin_app.migrations"},
}
MIGRATE_LABELS = ("core", "plugins")


def __getattr__(name: str) -> Any:
    """`TORTOISE_ORM`, for Tortoise's CLI only (`tortoise -c plugin_app.database.TORTOISE_ORM
    makemigrations plugin_hello`): built on first use, since it loads every plugin."""
    if name != "TORTOISE_ORM":
        raise AttributeError(name)
    from plugin_app.application.plugins.system import PluginSystem
    from plugin_app.settings import get_plugin_settings

    system = PluginSystem.load(get_plugin_settings())
    return tortoise_config(
        get_settings().database_url, {**PLUGIN_TABLES_APP, **system.registry.tortoise_apps()}
    )
