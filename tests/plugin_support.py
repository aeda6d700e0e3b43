"""Test support for the plugin system: plugins written into temporary external-plugin
folders, plugin_app servers started on them, and a client for the admin API.

The example plugin (examples/plugins/hello) is loaded from its folder; everything else a
test needs — plugins with dependencies, conflicts, broken manifests, migrations that fail —
is written by `write_plugin` into a folder passed to the server via STRANGLER_PLUGIN_DIRS.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from tortoise.connection import get_connection

from tests.factory import Factory
from tests.servers import ROOT, Server, run_server

EXAMPLE_PLUGINS = ROOT / "examples" / "plugins" / "hello"
PLUGIN_APP = "plugin_app.main:app"
DISCORD_APPLICATION_ID = 1_234_567_890_123_456_700
TIMEOUT_S = 10.0
# Tables of the plugin system itself and Tortoise's migration bookkeeping: a plugin
# rollback legitimately writes to these, and to nothing else of the shared schema.
PLUGIN_BOOKKEEPING = frozenset(
    {"plugins", "organization_plugins", "plugin_migrations", "tortoise_migrations"}
)


# --- plugins on disk ----------------------------------------------------------------------


def manifest(plugin_id: str, **fields: Any) -> dict[str, Any]:
    """A valid external manifest; `fields` override or add."""
    return {
        "id": plugin_id,
        "name": plugin_id.replace("_", " ").title(),
        "version": "1.0.0",
        "type": "external",
        "category": "test",
        "provides": {"routes": [f"/{plugin_id}"]},
        **fields,
    }


def ping_plugin_code(plugin_id: str) -> str:
    """A plugin with one route, `GET /api/<id>/organizations/{org}/ping`."""
    return f'''
from fastapi import APIRouter

from plugin_app.application.plugins import BasePlugin, RouteProvider


class PingPlugin(BasePlugin, RouteProvider):
    def get_api_router(self) -> APIRouter:
        router = APIRouter(prefix="/{plugin_id}")

        @router.get("/organizations/{{org}}/ping")
        async def ping(org: int) -> dict:
            return {{"plugin": "{plugin_id}", "organization_id": org}}

        return router
'''


def write_plugin(
    folder: Path,
    plugin_id: str,
    *,
    manifest_data: dict[str, Any] | str | None = None,
    code: str | None = None,
    files: dict[str, str] | None = None,
    package_name: str | None = None,
) -> Path:
    """Write a plugin package `folder/<package_name or id>/` and return its path."""
    package = folder / (package_name or plugin_id)
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    data = manifest(plugin_id) if manifest_data is None else manifest_data
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    (package / "manifest.yaml").write_text(text)
    (package / "plugin.py").write_text(
        textwrap.dedent(code if code is not None else ping_plugin_code(plugin_id))
    )
    for name, content in (files or {}).items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return package


ForeignKey = tuple[str, str, str]  # (field, "app.Model", related_name)


def organization_key(related_name: str) -> ForeignKey:
    return ("organization", "core.Organization", related_name)


def create_model_migration(
    app_label: str,
    name: str,
    table: str,
    *,
    dependencies: list[tuple[str, str]],
    foreign_key: ForeignKey | None = None,
) -> str:
    """A hand-written Tortoise migration creating one table (in the style makemigrations writes)."""
    relation = ""
    if foreign_key:
        field, target, related_name = foreign_key
        relation = (
            f"('{field}', fields.ForeignKeyField('{target}', source_field='{field}_id', db_constraint=True, "
            f"to_field='id', related_name='{related_name}', on_delete=OnDelete.CASCADE)),"
        )
    return f"""
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = {dependencies!r}

    operations = [
        ops.CreateModel(
            name={name!r},
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                {relation}
                ('amount', fields.IntField(default=0)),
            ],
            options={{'table': {table!r}, 'app': {app_label!r}, 'pk_attr': 'id'}},
            bases=['Model'],
        ),
    ]
"""


def model_module(*models: tuple[str, str, ForeignKey | None]) -> str:
    """Model classes (name, table, foreign key) matching create_model_migration."""
    parts = ["from tortoise import fields\nfrom tortoise.models import Model\n"]
    for name, table, foreign_key in models:
        relation = ""
        if foreign_key:
            field, target, related_name = foreign_key
            relation = (
                f"    {field} = fields.ForeignKeyField({target!r}, related_name={related_name!r}, "
                "on_delete=fields.CASCADE)\n"
            )
        parts.append(
            f"\n\nclass {name}(Model):\n"
            "    id = fields.IntField(primary_key=True)\n"
            f"{relation}"
            "    amount = fields.IntField(default=0)\n\n"
            "    class Meta:\n"
            f"        table = {table!r}\n"
        )
    return "".join(parts)


# --- servers ------------------------------------------------------------------------------


def plugin_env(database_url: str, *plugin_dirs: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "STRANGLER_PLUGIN_DIRS": os.pathsep.join(str(d) for d in plugin_dirs),
        "STRANGLER_PLUGIN_ENTRY_POINTS": "false",
        "DISCORD_APPLICATION_ID": str(DISCORD_APPLICATION_ID),
        **extra,
    }


@contextmanager
def plugin_app_server(database_url: str, log_dir: Path, *plugin_dirs: Path, **extra: str) -> Iterator[Server]:
    with run_server(PLUGIN_APP, plugin_env(database_url, *plugin_dirs, **extra), log_dir) as server:
        yield server


def wait_for(check: Callable[[], Any], *, timeout: float = TIMEOUT_S, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- the admin API --------------------------------------------------------------------------


@dataclass
class PluginAdmin:
    """A global admin driving /api/admin/plugins."""

    server: Server
    headers: dict[str, str]

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.server.url}/api/admin/plugins{path}"
        return httpx.request(method, url, headers=self.headers, timeout=TIMEOUT_S, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def plugins(self) -> dict[str, dict[str, Any]]:
        """Plugin id -> its listing (the one holding the id, not a rejected duplicate)."""
        return {p["id"]: p for p in reversed(self.ok("GET", "")["plugins"])}

    def enable(self, plugin_id: str, organization_id: int) -> httpx.Response:
        return self.call("POST", f"/{plugin_id}/organizations/{organization_id}/enable")

    def disable(self, plugin_id: str, organization_id: int) -> httpx.Response:
        return self.call("POST", f"/{plugin_id}/organizations/{organization_id}/disable")


def get(server: Server, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers, timeout=TIMEOUT_S)


def post(
    server: Server, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(server.url + path, json=body, headers=headers, timeout=TIMEOUT_S)


# --- the database, read directly -------------------------------------------------------------


def table_names(factory: Factory) -> set[str]:
    async def names() -> set[str]:
        connection = get_connection("default")
        if connection.capabilities.dialect == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        else:
            sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        _, rows = await connection.execute_query(sql)
        return {row["name"] for row in rows}

    return factory.run(names())


def table_snapshot(factory: Factory, tables: set[str]) -> dict[str, str]:
    """Every row of each table, canonical JSON per table, to compare before and after."""

    async def snapshot() -> dict[str, str]:
        connection = get_connection("default")
        result = {}
        for table in sorted(tables):
            _, rows = await connection.execute_query(f'SELECT * FROM "{table}"')
            canonical = sorted(json.dumps(dict(row), sort_keys=True, default=str) for row in rows)
            result[table] = json.dumps(canonical)
        return result

    return factory.run(snapshot())


# --- plugins shared by several test modules ---------------------------------------------------

ECHO_CODE = """
from fastapi import APIRouter

from plugin_app.application.plugins import BasePlugin, EventListener, EventProvider, RouteProvider
from plugin_app.plugins.external.hello.events import GreetingCreated


class EchoPlugin(BasePlugin, EventProvider, RouteProvider):
    \"\"\"Hears the hello plugin's GreetingCreated events (a listener across plugins).\"\"\"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.heard = []

    def get_event_types(self):
        return []

    def get_event_listeners(self):
        return [EventListener(GreetingCreated, self.hear)]

    async def hear(self, event):
        self.heard.append({"organization_id": event.organization_id, "greeting_id": event.greeting_id})

    def get_api_router(self):
        router = APIRouter(prefix="/echo")

        @router.get("/heard")
        async def heard():
            return self.heard

        @router.get("/organizations/{org}/ping")
        async def ping(org: int):
            return {"plugin": "echo", "organization_id": org}

        return router
"""


def write_echo_plugin(folder: Path) -> None:
    """`echo` requires hello (>=1.0,<2) and listens to its GreetingCreated events."""
    write_plugin(
        folder, "echo", manifest_data=manifest("echo", requires={"hello": ">=1.0,<2"}), code=ECHO_CODE
    )


def write_defaulted_plugin(folder: Path) -> None:
    """`defaulted`: a ping plugin enabled for every organization without a row."""
    write_plugin(folder, "defaulted", manifest_data=manifest("defaulted", enabled_by_default=True))
