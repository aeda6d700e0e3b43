"""The proxy's own records (audit log, later the mismatches): a SQLite file by default,
the shared PostgreSQL in compose, under the Tortoise app label "proxy" with its own
migrations (proxy/migrations/) and its own tables (prefixed `proxy_`).

Tortoise keeps its connections in process-wide state. That is fine here because a
process that holds the proxy's database (the proxy, a `strangler` operator command)
holds no other: the proxy never imports core. Tests keep it that way by driving the CLI
and the servers as subprocesses.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

from proxy.settings import get_settings

PROXY_APP_LABEL = "proxy"
CONNECTION_NAME = "proxy"
PROXY_APPS: dict[str, dict[str, Any]] = {
    PROXY_APP_LABEL: {
        "models": ["proxy.flags.audit", "proxy.shadow.records"],
        "migrations": "proxy.migrations",
        "default_connection": CONNECTION_NAME,
    },
}
# Several processes write the SQLite file (the proxy, operator commands): wait, don't fail.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# One key for every proxy process migrating the same PostgreSQL database at once.
MIGRATION_ADVISORY_LOCK = 0x5354_5241_4E47  # "STRANG"
MIGRATION_LOCK_POLL_S = 0.02
SUPPORTED_SCHEMES = ("sqlite", "postgres", "asyncpg", "psycopg")


class DatabaseUnavailable(Exception):
    """The proxy's database cannot be opened (unreachable, missing, unsupported URL)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def proxy_tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {CONNECTION_NAME: _normalise(database_url)},
        "apps": PROXY_APPS,
        "use_tz": True,
        "timezone": "UTC",
    }


def _normalise(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or url.endswith(":memory:"):
        return url
    if "busy_timeout" not in parts.query:
        url += ("&" if parts.query else "?") + f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"
    return url


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite://") :].split("?", 1)[0]).expanduser()


@asynccontextmanager
async def _migration_lock(database_url: str) -> AsyncIterator[None]:
    """Serialise migrations across processes: two proxies (or operator commands) starting
    on a fresh database must not both create the tables."""
    scheme = urlsplit(database_url).scheme
    if scheme == "sqlite" and not database_url.endswith(":memory:"):
        lock_path = _sqlite_path(database_url).with_suffix(".migrate.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(MIGRATION_LOCK_POLL_S)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock
    elif scheme != "sqlite":
        parts = urlsplit(database_url)
        dsn = urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_ADVISORY_LOCK)
            yield
        finally:
            await conn.close()  # ends the session, which releases the lock
    else:
        yield


class ProxyDatabase:
    """The connection to the proxy's records; opened once per process, on first use."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._opened = False
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Migrate and connect, once; safe to call before every use."""
        if self._opened:
            return
        async with self._lock:
            if self._opened:
                return
            scheme = urlsplit(self.database_url).scheme
            if scheme not in SUPPORTED_SCHEMES:
                raise DatabaseUnavailable(
                    f"the proxy's database URL must start with sqlite:// or postgres://, not {scheme}://"
                )
            config = proxy_tortoise_config(self.database_url)
            try:
                if scheme == "sqlite" and not self.database_url.endswith(":memory:"):
                    _sqlite_path(self.database_url).parent.mkdir(parents=True, exist_ok=True)
                async with _migration_lock(self.database_url):
                    await tortoise_migrate(config=config, app_labels=[PROXY_APP_LABEL])
                    await Tortoise.close_connections()
                # Requests run in tasks that do not inherit the opener's context variables.
                await Tortoise.init(config=config, _enable_global_fallback=True)
            except Exception as exc:
                with suppress(Exception):
                    await Tortoise.close_connections()
                raise DatabaseUnavailable(
                    f"the proxy's database {_without_password(self.database_url)} is not usable: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self._opened = True

    async def close(self) -> None:
        async with self._lock:
            if self._opened:
                await Tortoise.close_connections()
                self._opened = False


# For Tortoise's CLI: `tortoise -c proxy.database.TORTOISE_ORM makemigrations proxy`
TORTOISE_ORM = proxy_tortoise_config(get_settings().database_url)
