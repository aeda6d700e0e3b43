"""The skeleton both apps are built on: settings, database lifespan, error handlers,
metrics, the dry-run boundary, the event bus, the ownership endpoint and Discord
(interactions and outbound messages). Each app adds its own routers and commands."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from core.database import migrate, open_database, tortoise_config
from core.discord import discord_lifespan, install_discord
from core.dry_run import install_dry_run
from core.errors import install_error_handlers
from core.events import EventBus
from core.metrics import install_metrics
from core.ownership import OwnershipResolvers, ownership_router
from core.settings import get_settings

LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_platform_app(
    *,
    title: str,
    tortoise_apps: Mapping[str, Mapping[str, Any]],
    migrate_labels: Sequence[str],
    lifespan_hooks: Sequence[LifespanHook] = (),
) -> FastAPI:
    """A FastAPI app on the shared database.

    `migrate_labels` are the Tortoise app labels whose migrations this app applies at
    start-up; tables it only maps onto (owned by another schema) are left alone.
    """
    settings = get_settings()
    config = tortoise_config(settings.database_url, tortoise_apps)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await migrate(config, list(migrate_labels))
        async with open_database(config, run_migrations=False), AsyncExitStack() as stack:
            # Discord first: the app's own hooks (the scheduler) send through its notifier.
            for hook in (discord_lifespan, *lifespan_hooks):
                await stack.enter_async_context(hook(app))
            yield

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.settings = settings
    app.state.tortoise_config = config
    app.state.events = EventBus()
    app.state.ownership = OwnershipResolvers()
    install_error_handlers(app)
    install_metrics(app)
    install_dry_run(app, settings)
    app.include_router(ownership_router(app.state.ownership))
    install_discord(app, settings)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
