"""Shared fixtures: a fresh database per backend (SQLite and PostgreSQL) for the whole run,
migrated once, and real servers on loopback ports started on it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.database import migrate, tortoise_config
from tests.databases import postgres_database, sqlite_url
from tests.factory import Factory, Org
from tests.servers import Server, run_server

BACKENDS = [b for b in os.environ.get("STRANGLER_TEST_BACKENDS", "sqlite,postgres").split(",") if b]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With STRANGLER_TEST_DATABASE_ONLY=1 keep only the tests that run on `database_url`:
    scripts/test runs the PostgreSQL pass of those beside a full SQLite pass, so every
    test runs once and the two backends share the machine's two cores."""
    if os.environ.get("STRANGLER_TEST_DATABASE_ONLY") != "1":
        return
    keep = [item for item in items if "database_url" in getattr(item, "fixturenames", ())]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def migrate_shared_schema(database_url: str) -> None:
    """What `strangler migrate` does: the core tables and the two systems' tables."""
    from legacy_app.database import TORTOISE_APPS

    asyncio.run(migrate(tortoise_config(database_url, TORTOISE_APPS)))


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("sqlite"))
        migrate_shared_schema(url)
        yield url
    else:
        with postgres_database() as url:
            migrate_shared_schema(url)
            yield url


@pytest.fixture(scope="session")
def factory(database_url: str) -> Iterator[Factory]:
    made = Factory(database_url)
    yield made
    made.close()


@pytest.fixture
def org(factory: Factory) -> Org:
    """A fresh organization with one caller per role, for one test."""
    return Org.make(factory)


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def legacy_server(database_url: str, server_logs: Path) -> Iterator[Server]:
    with run_server("legacy_app.main:app", {"DATABASE_URL": database_url}, server_logs) as server:
        yield server


@pytest.fixture(scope="module")
def discord_api(server_logs: Path) -> Iterator[Server]:
    """A stand-in for Discord's REST API (the only stand-in the tests use); one per module,
    so each module reads only the calls its own servers made."""
    with run_server(
        "tests.discord_support:fake_discord_app", {}, server_logs, health_path="/_fake/healthz"
    ) as server:
        yield server
