"""Plugin migrations (plan 4.1 "Model Integration"): a plugin's own migrations are applied
at start-up in load order and tracked in plugin_migrations; a failing one rejects only that
plugin; each can be rolled back, and a rollback never touches the shared tables or rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import Permission, Role
from tests.factory import Factory
from tests.plugin_support import (
    PLUGIN_BOOKKEEPING,
    PluginAdmin,
    create_model_migration,
    get,
    manifest,
    model_module,
    organization_key,
    plugin_app_server,
    post,
    table_names,
    table_snapshot,
    write_plugin,
)
from tests.servers import Server

LEDGER_CODE = """
from fastapi import APIRouter
from pydantic import BaseModel

from plugin_app.application.plugins import BasePlugin, ModelProvider, PluginModels, RouteProvider

from .models import LedgerEntry


class EntryIn(BaseModel):
    amount: int


class LedgerPlugin(BasePlugin, ModelProvider, RouteProvider):
    def get_models(self):
        return PluginModels(app_label="plugin_ledger", modules=(".models",), migrations=".migrations")

    def get_api_router(self):
        router = APIRouter(prefix="/ledger")

        @router.get("/organizations/{org}/entries")
        async def entries(org: int):
            return [e.amount for e in await LedgerEntry.filter(organization_id=org).order_by("id")]

        @router.post("/organizations/{org}/entries", status_code=201)
        async def add(org: int, body: EntryIn):
            entry = await LedgerEntry.create(organization_id=org, amount=body.amount)
            return {"id": entry.id, "amount": entry.amount}

        return router
"""

BROKEN_CODE = """
from plugin_app.application.plugins import BasePlugin, ModelProvider, PluginModels


class BrokenPlugin(BasePlugin, ModelProvider):
    def get_models(self):
        return PluginModels(app_label="plugin_broken", modules=(".models",), migrations=".migrations")
"""

FAILING_MIGRATION = """
from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("plugin_broken", "0001_initial")]

    operations = [ops.RunSQL("INSERT INTO no_such_table_anywhere VALUES (1)")]
"""

TALLY_CODE = """
from fastapi import APIRouter

from plugin_app.application.plugins import BasePlugin, ModelProvider, PluginModels, RouteProvider

from .models import Tally


class TallyPlugin(BasePlugin, ModelProvider, RouteProvider):
    \"\"\"Its table has a foreign key to the ledger plugin's: a relation across plugins.\"\"\"

    def get_models(self):
        return PluginModels(app_label="plugin_tally", modules=(".models",), migrations=".migrations")

    def get_api_router(self):
        router = APIRouter(prefix="/tally")

        @router.post("/organizations/{org}/entries/{entry_id}", status_code=201)
        async def mark(org: int, entry_id: int):
            tally = await Tally.create(entry_id=entry_id, amount=1)
            await tally.fetch_related("entry")
            return {"entry_amount": tally.entry.amount, "entry_organization_id": tally.entry.organization_id}

        return router
"""

LEDGER_TABLES = {"ledger_entries", "ledger_notes", "tally_marks"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plugins")
    entry_key = organization_key("ledger_entries")
    write_plugin(
        folder,
        "ledger",
        manifest_data=manifest(
            "ledger", provides={"models": ["LedgerEntry", "LedgerNote"], "routes": ["/ledger"]}
        ),
        code=LEDGER_CODE,
        files={
            "models.py": model_module(
                ("LedgerEntry", "ledger_entries", entry_key), ("LedgerNote", "ledger_notes", None)
            ),
            "migrations/__init__.py": "",
            "migrations/0001_initial.py": create_model_migration(
                "plugin_ledger",
                "LedgerEntry",
                "ledger_entries",
                dependencies=[("core", "0001_initial")],
                foreign_key=entry_key,
            ),
            "migrations/0002_notes.py": create_model_migration(
                "plugin_ledger",
                "LedgerNote",
                "ledger_notes",
                dependencies=[("plugin_ledger", "0001_initial")],
            ),
        },
    )
    tally_key = ("entry", "plugin_ledger.LedgerEntry", "tallies")
    write_plugin(
        folder,
        "tally",
        manifest_data=manifest(
            "tally", requires={"ledger": ">=1.0"}, provides={"models": ["Tally"], "routes": ["/tally"]}
        ),
        code=TALLY_CODE,
        files={
            "models.py": model_module(("Tally", "tally_marks", tally_key)),
            "migrations/__init__.py": "",
            "migrations/0001_initial.py": create_model_migration(
                "plugin_tally",
                "Tally",
                "tally_marks",
                dependencies=[("plugin_ledger", "0001_initial")],
                foreign_key=tally_key,
            ),
        },
    )
    write_plugin(
        folder,
        "broken",
        manifest_data=manifest("broken", provides={"models": ["BrokenItem"]}),
        code=BROKEN_CODE,
        files={
            "models.py": model_module(("BrokenItem", "broken_items", None)),
            "migrations/__init__.py": "",
            "migrations/0001_initial.py": create_model_migration(
                "plugin_broken", "BrokenItem", "broken_items", dependencies=[("core", "0001_initial")]
            ),
            "migrations/0002_fail.py": FAILING_MIGRATION,
        },
    )
    return folder


@pytest.fixture(scope="module")
def server(database_url: str, server_logs: Path, folder: Path) -> Iterator[Server]:
    with plugin_app_server(database_url, server_logs, folder) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: Server, factory: Factory) -> PluginAdmin:
    return PluginAdmin(server, factory.user(permission=Permission.ADMIN).headers)


def test_migrations_are_applied_and_tracked(admin: PluginAdmin, factory: Factory) -> None:
    records = admin.ok("GET", "/ledger/migrations")
    assert [(r["migration_name"], r["success"], r["version"]) for r in records] == [
        ("0001_initial", True, "1.0.0"),
        ("0002_notes", True, "1.0.0"),
    ]
    assert all(r["applied_at"] and r["rolled_back_at"] is None for r in records)
    assert table_names(factory) >= LEDGER_TABLES


def test_plugin_models_relate_to_core_and_to_other_plugins(
    server: Server, admin: PluginAdmin, factory: Factory
) -> None:
    org = factory.organization()
    for plugin_id in ("ledger", "tally"):
        assert admin.enable(plugin_id, org).status_code == 200
    created = post(server, f"/api/ledger/organizations/{org}/entries", {"amount": 7})
    assert created.status_code == 201
    assert get(server, f"/api/ledger/organizations/{org}/entries").json() == [7]
    # A foreign key to core's organization table: an unknown organization is refused.
    missing = post(server, "/api/ledger/organizations/987654321/entries", {"amount": 1})
    assert missing.status_code in (404, 409)
    # tally's table points at ledger's: the relation is followed through the ORM.
    marked = post(server, f"/api/tally/organizations/{org}/entries/{created.json()['id']}")
    assert (marked.status_code, marked.json()) == (201, {"entry_amount": 7, "entry_organization_id": org})


def test_a_failing_migration_rejects_only_that_plugin(server: Server, admin: PluginAdmin) -> None:
    broken = admin.plugins()["broken"]
    assert broken["status"] == "rejected"
    assert broken["rejection"]["kind"] == "migration_failed"
    assert "0002_fail" in broken["rejection"]["message"]
    records = {r["migration_name"]: r for r in admin.ok("GET", "/broken/migrations")}
    assert records["0001_initial"]["success"] is True
    assert records["0002_fail"]["success"] is False
    assert "no_such_table_anywhere" in records["0002_fail"]["error_message"]
    assert admin.plugins()["ledger"]["status"] == "active"
    assert get(server, "/healthz").status_code == 200
    assert "Plugin 'broken' rejected (migration_failed)" in server.log()


def test_rollback_is_refused_for_what_cannot_be_rolled_back(admin: PluginAdmin) -> None:
    unknown = admin.call("POST", "/tally/migrations/rollback", json={"to": "0009_nothing"})
    assert unknown.status_code == 409 and "0009_nothing" in unknown.json()["detail"]
    assert admin.call("POST", "/nowhere/migrations/rollback", json={}).status_code == 404
    assert admin.plugins()["tally"]["status"] == "active"


def test_rollback_leaves_the_shared_tables_untouched(
    database_url: str, server_logs: Path, folder: Path, server: Server, admin: PluginAdmin, factory: Factory
) -> None:
    org = factory.organization()
    factory.user(org=org, roles=[Role.ADMIN])  # rows in the shared tables that must survive
    assert admin.enable("ledger", org).status_code == 200
    assert post(server, f"/api/ledger/organizations/{org}/entries", {"amount": 3}).status_code == 201
    shared = table_names(factory) - LEDGER_TABLES - PLUGIN_BOOKKEEPING
    assert {"user", "organization", "organizationmember", "api_tokens"} <= shared
    before = table_snapshot(factory, shared)

    refused = admin.call("POST", "/ledger/migrations/rollback", json={"to": None})
    assert refused.status_code == 409 and "['tally']" in refused.json()["detail"]
    assert admin.ok("POST", "/tally/migrations/rollback", json={})["rolled_back"] == ["0001_initial"]
    assert "tally_marks" not in table_names(factory)

    partial = admin.ok("POST", "/ledger/migrations/rollback", json={"to": "0001_initial"})
    assert partial == {"plugin_id": "ledger", "rolled_back": ["0002_notes"], "status": "rejected"}
    tables = table_names(factory)
    assert "ledger_notes" not in tables and "ledger_entries" in tables
    ledger = admin.plugins()["ledger"]
    assert ledger["rejection"]["kind"] == "rolled_back"
    response = get(server, f"/api/ledger/organizations/{org}/entries")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})

    full = admin.ok("POST", "/ledger/migrations/rollback", json={"to": None})
    assert full["rolled_back"] == ["0001_initial"]
    assert not LEDGER_TABLES & table_names(factory)
    records = admin.ok("GET", "/ledger/migrations")
    assert all(r["rolled_back_at"] for r in records)

    assert table_snapshot(factory, shared) == before

    # The next start applies them again and clears the rollback marks.
    with plugin_app_server(database_url, server_logs, folder) as restarted:
        again = PluginAdmin(restarted, admin.headers)
        assert all(
            r["success"] and r["rolled_back_at"] is None for r in again.ok("GET", "/ledger/migrations")
        )
        assert get(restarted, f"/api/ledger/organizations/{org}/entries").json() == []
    assert table_snapshot(factory, shared) == before
