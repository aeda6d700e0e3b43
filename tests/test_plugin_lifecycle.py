"""Lifecycle hooks (plan 4.1 "Plugin Lifecycle"): on_load at start-up, on_enable and
on_disable when an admin switches a plugin for an organization, on_unload at shutdown.

The example plugin records every hook call in its own table; `GET /api/hello/hooks` shows
them. The database is shared with other test modules, so each test looks at the calls made
after the point it starts from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.models import Permission
from plugin_app.application.plugins.manifest import read_manifest
from tests.factory import Factory
from tests.plugin_support import EXAMPLE_PLUGINS, PluginAdmin, get, plugin_app_server
from tests.servers import Server

HELLO_DEFAULTS = read_manifest(
    EXAMPLE_PLUGINS / "hello" / "manifest.yaml", plugin_hint="hello"
).config_defaults()


def hook_calls(server: Server, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = get(server, "/api/hello/hooks", headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_hooks_are_called_at_their_moments(database_url: str, server_logs: Path, factory: Factory) -> None:
    admin_headers = factory.user(permission=Permission.ADMIN).headers
    org = factory.organization()

    with plugin_app_server(database_url, server_logs, EXAMPLE_PLUGINS) as server:
        admin = PluginAdmin(server, admin_headers)
        before = hook_calls(server, admin_headers)
        assert before[-1]["hook"] == "on_load", "on_load runs at start-up, before anything is served"

        assert admin.enable("hello", org).json()["changed"] is True
        assert admin.enable("hello", org).json()["changed"] is False  # already enabled: no hook
        assert admin.disable("hello", org).json()["changed"] is True
        calls = hook_calls(server, admin_headers)[len(before) :]
        assert calls == [
            {"hook": "on_enable", "organization_id": org, "config": HELLO_DEFAULTS},
            {"hook": "on_disable", "organization_id": org, "config": None},
        ]
        seen = len(before) + len(calls)

    with plugin_app_server(database_url, server_logs, EXAMPLE_PLUGINS) as server:
        after_restart = [c["hook"] for c in hook_calls(server, admin_headers)[seen:]]
        assert after_restart == ["on_unload", "on_load"], "on_unload at shutdown, on_load at the next start"


def test_on_enable_receives_the_organizations_resolved_config(
    database_url: str, server_logs: Path, factory: Factory
) -> None:
    admin_headers = factory.user(permission=Permission.ADMIN).headers
    org = factory.organization()
    with plugin_app_server(database_url, server_logs, EXAMPLE_PLUGINS) as server:
        admin = PluginAdmin(server, admin_headers)
        admin.ok("PUT", f"/hello/organizations/{org}/config", json={"config": {"greeting": "Howdy"}})
        before = len(hook_calls(server, admin_headers))
        assert admin.enable("hello", org).status_code == 200
        [call] = hook_calls(server, admin_headers)[before:]
        assert call == {
            "hook": "on_enable",
            "organization_id": org,
            "config": {**HELLO_DEFAULTS, "greeting": "Howdy"},
        }
