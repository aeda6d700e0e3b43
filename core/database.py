"""Database start-up: the Tortoise configuration, Tortoise's built-in migrations, and
the context every process (app, CLI, test) opens the database through."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as tortoise_migrate

# The core tables are owned by core's own migrations; each app adds its own app labels.
CORE_APPS: dict[str, dict[str, Any]] = {
    "core": {"models": ["core.models"], "migrations": "core.migrations"},
}

# SQLite is shared by two processes in the embedded default: wait for the writer rather
# than failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_database_url(url: str) -> str:
    """Make a SQLite URL safe for several processes and create its folder."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or url.endswith(":memory:"):
        return url
    path = url[len("sqlite://") :].split("?", 1)[0]
    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if "busy_timeout" not in (parts.query or ""):
        url += ("&" if parts.query else "?") + f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"
    return url


def connection_config(database_url: str) -> str | dict[str, Any]:
    """The connection for a DSN; SQLite goes through core's BEGIN IMMEDIATE engine."""
    url = normalise_database_url(database_url)
    if not url.startswith("sqlite://"):
        return url
    expanded = expand_db_url(url)
    expanded["engine"] = "core.sqlite_engine"
    return expanded


def tortoise_config(database_url: str, apps: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A Tortoise config with the core apps plus `apps`, all on one connection."""
    all_apps = {**CORE_APPS, **apps}
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {label: {**spec, "default_connection": "default"} for label, spec in all_apps.items()},
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(config: dict[str, Any], app_labels: list[str] | None = None) -> None:
    """Apply every pending migration of the apps that have a migrations package."""
    labels = app_labels or [label for label, spec in config["apps"].items() if spec.get("migrations")]
    await tortoise_migrate(config=config, app_labels=labels)
    await Tortoise.close_connections()


@asynccontextmanager
async def open_database(config: dict[str, Any], *, run_migrations: bool = True) -> AsyncIterator[None]:
    """Migrate (when asked), connect, and close on the way out."""
    if run_migrations:
        await migrate(config)
    # Requests run in tasks that do not inherit the lifespan's context variables, so the
    # app's connections must be reachable through Tortoise's process-wide fallback.
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        yield
    finally:
        await Tortoise.close_connections()
