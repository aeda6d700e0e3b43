"""The monolith's HTTP API, assembled in one place."""

from __future__ import annotations

from fastapi import FastAPI

from legacy_app.api.routes import async_qualifiers, stream_channels, tournaments

ROUTE_MODULES = (tournaments, stream_channels, async_qualifiers)


def install_api(app: FastAPI) -> None:
    for module in ROUTE_MODULES:
        app.include_router(module.router, prefix="/api")
        module.register_ownership(app.state.ownership)
