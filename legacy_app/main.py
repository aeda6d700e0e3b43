"""legacy_app: the monolith as it is today. ASGI app: `legacy_app.main:app`."""

from __future__ import annotations

from fastapi import FastAPI

from core.web import create_platform_app
from legacy_app.api import install_api
from legacy_app.application.services.async_qualifiers import AsyncQualifierServices
from legacy_app.database import TORTOISE_APPS
from legacy_app.discordbot import install_commands
from legacy_app.tasks import scheduler_lifespan


def create_app() -> FastAPI:
    app = create_platform_app(
        title="Tournament platform (legacy)",
        tortoise_apps=TORTOISE_APPS,
        migrate_labels=["core", *TORTOISE_APPS],
        lifespan_hooks=[scheduler_lifespan],
    )
    # One set of services for the routes, the Discord commands and the scheduled tasks.
    app.state.async_qualifier_services = AsyncQualifierServices.create(app.state.events)
    install_api(app)
    install_commands(app)
    return app


app = create_app()
