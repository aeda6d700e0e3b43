"""Fresh databases for a test run: a SQLite file, or a new PostgreSQL database on the
machine's server (127.0.0.1:5432, trust auth), dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

POSTGRES_ADMIN_DSN = os.environ.get("STRANGLER_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")


def sqlite_url(directory: Path) -> str:
    return f"sqlite://{directory / 'strangler-test.sqlite3'}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the local PostgreSQL; dropped on exit."""
    name = f"strangler_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
