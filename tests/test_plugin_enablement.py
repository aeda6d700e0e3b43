"""Per-organization enablement (plan 4.1 "Page/Route Integration"): a plugin's routes,
pages and Discord commands answer only where it is enabled — elsewhere exactly as if it
were absent — with dependency checks on enable and disable, and `enabled_by_default`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.models import Permission, Role
from tests.discord_support import command_data, interaction, option, snowflake
from tests.factory import Factory
from tests.plugin_support import (
    DISCORD_APPLICATION_ID,
    EXAMPLE_PLUGINS,
    PluginAdmin,
    get,
    plugin_app_server,
    post,
    write_defaulted_plugin,
    write_echo_plugin,
)
from tests.servers import Server

ABSENT = (404, {"detail": "Not Found"})


@pytest.fixture(scope="module")
def server(
    database_url: str, server_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("plugins")
    write_echo_plugin(folder)
    write_defaulted_plugin(folder)
    with plugin_app_server(database_url, server_logs, EXAMPLE_PLUGINS, folder) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: Server, factory: Factory) -> PluginAdmin:
    return PluginAdmin(server, factory.user(permission=Permission.ADMIN).headers)


def answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


def test_routes_answer_only_where_the_plugin_is_enabled(
    server: Server, admin: PluginAdmin, factory: Factory
) -> None:
    org, other = factory.organization(), factory.organization()
    member = factory.user(org=org, roles=[Role.ADMIN])
    greetings = f"/api/hello/organizations/{org}/greetings"

    assert answer(get(server, greetings, member.headers)) == ABSENT
    assert answer(get(server, "/api/hello/no-such-route", member.headers)) == ABSENT  # the same answer

    assert admin.enable("hello", org).status_code == 200
    assert answer(get(server, greetings, member.headers)) == (200, [])
    created = post(server, greetings, {"name": "Ann"}, member.headers)
    assert created.status_code == 201, created.text
    greeting_id = created.json()["id"]
    greeting = f"/api/hello/greetings/{greeting_id}"  # organization found through the entity
    assert get(server, greeting, member.headers).status_code == 200
    # The plugin's ownership resolver answers the proxy's question too.
    assert get(server, f"/_strangler/owner/greeting/{greeting_id}").json() == {"organization_id": org}
    assert get(server, f"/hello/organizations/{org}").status_code == 200  # a page
    assert answer(get(server, f"/api/hello/organizations/{other}/greetings", member.headers)) == ABSENT

    assert admin.disable("hello", org).status_code == 200
    assert answer(get(server, greetings, member.headers)) == ABSENT
    assert answer(post(server, greetings, {"name": "Bo"}, member.headers)) == ABSENT
    assert answer(get(server, greeting, member.headers)) == ABSENT
    assert answer(get(server, f"/hello/organizations/{org}")) == ABSENT


def test_authorization_is_still_enforced_where_enabled(
    server: Server, admin: PluginAdmin, factory: Factory
) -> None:
    org = factory.organization()
    assert admin.enable("hello", org).status_code == 200
    greetings = f"/api/hello/organizations/{org}/greetings"
    assert get(server, greetings).status_code == 401
    assert get(server, greetings, factory.user().headers).status_code == 403
    moderator = factory.user(org=org, roles=[Role.MODERATOR])
    assert get(server, greetings, moderator.headers).status_code == 200
    assert post(server, greetings, {"name": "Cy"}, moderator.headers).status_code == 403


def test_enabled_by_default_means_enabled_without_a_row(
    server: Server, admin: PluginAdmin, factory: Factory
) -> None:
    org = factory.organization()
    ping = f"/api/defaulted/organizations/{org}/ping"
    assert answer(get(server, ping)) == (200, {"plugin": "defaulted", "organization_id": org})
    [row] = [o for o in admin.ok("GET", "/defaulted/organizations?limit=500") if o["organization_id"] == org]
    assert row == {"organization_id": org, "name": row["name"], "enabled": True, "explicit": None}
    assert admin.disable("defaulted", org).json()["changed"] is True
    assert answer(get(server, ping)) == ABSENT
    assert admin.enable("defaulted", org).json()["changed"] is True
    assert get(server, ping).status_code == 200


def test_enabling_needs_the_dependencies_enabled_there(
    server: Server, admin: PluginAdmin, factory: Factory
) -> None:
    org = factory.organization()
    refused = admin.enable("echo", org)
    assert refused.status_code == 409
    assert "requires ['hello']" in refused.json()["detail"]
    assert answer(get(server, f"/api/echo/organizations/{org}/ping")) == ABSENT

    assert admin.enable("hello", org).status_code == 200
    assert admin.enable("echo", org).status_code == 200
    assert get(server, f"/api/echo/organizations/{org}/ping").status_code == 200


def test_disabling_is_refused_while_a_dependent_is_enabled(
    server: Server, admin: PluginAdmin, factory: Factory
) -> None:
    org = factory.organization()
    assert admin.enable("hello", org).status_code == 200
    assert admin.enable("echo", org).status_code == 200
    refused = admin.disable("hello", org)
    assert refused.status_code == 409
    assert "['echo']" in refused.json()["detail"]
    assert get(server, f"/api/hello/organizations/{org}/greetings", admin.headers).status_code == 200

    assert admin.disable("echo", org).status_code == 200
    assert admin.disable("hello", org).status_code == 200
    assert answer(get(server, f"/api/hello/organizations/{org}/greetings", admin.headers)) == ABSENT


def test_admin_switches_name_what_is_missing(admin: PluginAdmin, factory: Factory) -> None:
    org = factory.organization()
    assert answer(admin.enable("hello", 987_654_321)) == (404, {"detail": "Organization 987654321 not found"})
    assert answer(admin.enable("no_such_plugin", org)) == (
        404,
        {"detail": "Plugin 'no_such_plugin' not found"},
    )


def test_discord_commands_answer_only_where_enabled(
    server: Server, admin: PluginAdmin, factory: Factory
) -> None:
    org = factory.organization()
    guild_id = snowflake()
    factory.guild(org, guild_id)
    payload = interaction(
        2,
        command_data("hello", option("name", "Ann")),
        application_id=DISCORD_APPLICATION_ID,
        guild_id=guild_id,
    )

    def reply() -> dict[str, Any]:
        response = post(server, "/discord/interactions", payload)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    assert reply() == {"tts": False, "content": "This command is not available here.", "flags": 64}
    assert admin.enable("hello", org).status_code == 200
    assert reply()["content"] == "Hello, Ann!"
