"""plugin_app: core + the plugin system + built-in plugins. ASGI app: `plugin_app.main:app`."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from core.web import create_platform_app
from plugin_app.api import install_api
from plugin_app.application.plugins.system import PluginSystem
from plugin_app.database import MIGRATE_LABELS, PLUGIN_TABLES_APP
from plugin_app.pages import install_pages
from plugin_app.settings import get_plugin_settings


def _log_plugin_events() -> None:
    """Show the plugin system's start-up story (loaded, rejected and why) on stderr even when
    the server's own log level hides application INFO lines."""
    logger = logging.getLogger("plugin_app")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def create_app() -> FastAPI:
    _log_plugin_events()
    # Plugins are loaded before the app exists: Tortoise must know their model modules
    # when create_platform_app builds its config.
    plugins = PluginSystem.load(get_plugin_settings())
    app = create_platform_app(
        title="Tournament platform (plugins)",
        tortoise_apps={**PLUGIN_TABLES_APP, **plugins.registry.tortoise_apps()},
        migrate_labels=list(MIGRATE_LABELS),
        lifespan_hooks=[plugins.lifespan],
    )
    app.state.plugins = plugins
    plugins.mount_routes(app)
    install_api(app)
    install_pages(app)
    return app


app = create_app()
