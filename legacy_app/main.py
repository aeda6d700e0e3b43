"""legacy_app: the monolith as it is today. ASGI app: `legacy_app.main:app`."""

from __future__ import annotations

from fastapi import FastAPI

from core.web import create_platform_app
from legacy_app.api import install_api
from legacy_app.database import TORTOISE_APPS


def create_app() -> FastAPI:
    app = create_platform_app(
        title="Tournament platform (legacy)",
        tortoise_apps=TORTOISE_APPS,
        migrate_labels=["core", *TORTOISE_APPS],
    )
    install_api(app)
    return app


app = create_app()
