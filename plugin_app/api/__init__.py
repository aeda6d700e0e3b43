"""plugin_app's own HTTP API (plugin management); the plugins' APIs are mounted by the
plugin system at start-up."""

from __future__ import annotations

from fastapi import FastAPI

from plugin_app.api import admin_plugins

ROUTE_MODULES = (admin_plugins,)


def install_api(app: FastAPI) -> None:
    for module in ROUTE_MODULES:
        app.include_router(module.router, prefix="/api")
