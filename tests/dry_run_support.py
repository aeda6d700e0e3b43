"""Support for tests/test_core_dry_run.py: the proxy's side of the dry-run header (copied
from core/dry_run/__init__.py's contract, as the proxy must copy it), row counts of every
table, and a small app on the platform skeleton whose routes write to the core tables and
then misbehave - fail, hang, stream, keep working after their answer - so the boundary's
edges can be driven over HTTP. ASGI app: `tests.dry_run_support:app`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import discord
from fastapi import status
from fastapi.responses import StreamingResponse
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.dry_run import current_dry_run
from core.models import Organization
from core.web import create_platform_app
from tests.factory import Factory

HEADER = "X-Strangler-Dry-Run"


def dry_run_header(secret: str, method: str, target: bytes, *, now: float | None = None) -> str:
    """What the proxy sends; the contract's copy, not an import of core."""
    ts = int(time.time() if now is None else now)
    msg = f"v1:{ts}:{method.upper()}:".encode("ascii") + target
    return f"v1:{ts}:" + hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def table_counts(factory: Factory) -> dict[str, int]:
    """Rows in every table of the test database: a dry run must leave all of them as they were."""

    async def count() -> dict[str, int]:
        connection = connections.get("default")
        if connection.capabilities.dialect == "sqlite":
            listing = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        else:
            listing = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        tables = [row["name"] for row in await connection.execute_query_dict(listing)]
        counts = {}
        for table in tables:
            [row] = await connection.execute_query_dict(f'SELECT COUNT(*) AS n FROM "{table}"')
            counts[table] = int(row["n"])
        return counts

    return factory.run(count())


# --- the toy app -----------------------------------------------------------------------

app = create_platform_app(title="Dry-run toy", tortoise_apps={}, migrate_labels=["core"])
_background: set[asyncio.Task[Any]] = set()


@app.get("/toy/in-dry-run")
async def in_dry_run() -> dict[str, bool]:
    return {"dry_run": current_dry_run() is not None}


@app.post("/toy/organizations", status_code=status.HTTP_201_CREATED)
async def create(name: str) -> dict[str, Any]:
    async with in_transaction():
        organization = await Organization.create(name=name)
    return {"id": organization.id, "name": organization.name}


@app.post("/toy/organizations/twice", status_code=status.HTTP_201_CREATED)
async def create_twice(name: str) -> dict[str, Any]:
    """Survives a unique violation in its own transaction (a savepoint in a dry run)."""
    await Organization.create(name=name)
    try:
        async with in_transaction():
            await Organization.create(name=name)
        conflict = False
    except IntegrityError:
        conflict = True
    after = await Organization.create(name=f"{name}-after")
    return {"conflict": conflict, "after": after.name}


@app.post("/toy/organizations/fail")
async def create_then_fail(name: str) -> None:
    await Organization.create(name=name)
    raise RuntimeError("the toy route failed on purpose after writing")


@app.post("/toy/organizations/hang")
async def create_then_hang(name: str) -> None:
    await Organization.create(name=name)
    await asyncio.sleep(60)


@app.post("/toy/organizations/notify", status_code=status.HTTP_201_CREATED)
async def create_and_notify(name: str, channel_id: int) -> dict[str, str]:
    await Organization.create(name=name)
    await app.state.notifier.send_message(channel_id, f"{name} exists")
    return {"name": name}


@app.post("/toy/organizations/later", status_code=status.HTTP_202_ACCEPTED)
async def create_later(name: str) -> dict[str, str]:
    """Answers at once; a task it starts writes afterwards."""

    async def write() -> None:
        await asyncio.sleep(0.2)
        await Organization.create(name=name)

    task = asyncio.create_task(write())
    _background.add(task)
    task.add_done_callback(_background.discard)
    if (dry_run := current_dry_run()) is not None:
        dry_run.finish_before_rollback(task)
    return {"accepted": name}


@app.state.discord.tree.command(name="toy_later", description="Replies, then writes")
async def toy_later(interaction: discord.Interaction, name: str) -> None:
    await interaction.response.send_message(content=f"creating {name}", ephemeral=True)
    await asyncio.sleep(0.2)
    await Organization.create(name=name)


@app.post("/toy/organizations/stream")
async def create_while_streaming(name: str) -> StreamingResponse:
    """The write happens while the body streams out."""

    async def body() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        organization = await Organization.create(name=name)
        yield organization.name.encode()
        yield b'"}'

    return StreamingResponse(body(), media_type="application/json")
