"""Plugin code that runs outside its own routes: events across plugins (plan 4.1 "Event
Integration") — the hello plugin publishes GreetingCreated on the app's EventBus and the
echo plugin (which requires hello) hears it, only for organizations where echo is enabled —
and scheduled tasks, run by the app's scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import Permission, Role
from tests.factory import Factory
from tests.plugin_support import (
    EXAMPLE_PLUGINS,
    PluginAdmin,
    get,
    plugin_app_server,
    post,
    wait_for,
    write_echo_plugin,
)
from tests.servers import Server


@pytest.fixture(scope="module")
def server(
    database_url: str, server_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("plugins")
    write_echo_plugin(folder)
    with plugin_app_server(database_url, server_logs, EXAMPLE_PLUGINS, folder) as running:
        yield running


def test_a_plugins_event_is_heard_by_another_plugin_where_enabled(server: Server, factory: Factory) -> None:
    admin = PluginAdmin(server, factory.user(permission=Permission.ADMIN).headers)
    listening, silent = factory.organization(), factory.organization()
    for org in (listening, silent):
        assert admin.enable("hello", org).status_code == 200
    assert admin.enable("echo", listening).status_code == 200

    ids = {}
    for org in (silent, listening):
        member = factory.user(org=org, roles=[Role.ADMIN])
        created = post(server, f"/api/hello/organizations/{org}/greetings", {"name": "Ann"}, member.headers)
        assert created.status_code == 201, created.text
        ids[org] = created.json()["id"]

    # EventBus.publish runs the listeners before the publishing request returns.
    heard = get(server, "/api/echo/heard").json()
    assert {"organization_id": listening, "greeting_id": ids[listening]} in heard
    assert all(h["organization_id"] != silent for h in heard)


def test_scheduled_tasks_run(server: Server) -> None:
    # hello's heartbeat runs every second; its count shows the scheduler is running it.
    wait_for(lambda: get(server, "/api/hello/status").json()["heartbeats"] >= 1, what="a heartbeat")
