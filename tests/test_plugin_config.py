"""Plugin configuration: organization > global > schema defaults, every stored config
validated against the manifest's JSON Schema, violations answered as a 422 listing each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import Permission, Role
from tests.factory import Factory
from tests.plugin_support import EXAMPLE_PLUGINS, PluginAdmin, plugin_app_server, post
from tests.servers import Server


@pytest.fixture(scope="module")
def server(database_url: str, server_logs: Path) -> Iterator[Server]:
    with plugin_app_server(database_url, server_logs, EXAMPLE_PLUGINS) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: Server, factory: Factory) -> Iterator[PluginAdmin]:
    admin = PluginAdmin(server, factory.user(permission=Permission.ADMIN).headers)
    yield admin
    # The database outlives this module: leave hello's global config as it was found.
    admin.ok("PUT", "/hello/config", json={"config": {}})


def greet(server: Server, factory: Factory, org: int, name: str) -> str:
    member = factory.user(org=org, roles=[Role.ADMIN])
    response = post(server, f"/api/hello/organizations/{org}/greetings", {"name": name}, member.headers)
    assert response.status_code == 201, response.text
    return response.json()["text"]


def test_organization_over_global_over_defaults(server: Server, admin: PluginAdmin, factory: Factory) -> None:
    tuned, plain = factory.organization(), factory.organization()
    for org in (tuned, plain):
        assert admin.enable("hello", org).status_code == 200
    view = admin.ok("GET", "/hello/config")
    assert view["defaults"] == {"greeting": "Hello", "punctuation": "!", "max_name_length": 40}
    assert greet(server, factory, plain, "Ann") == "Hello, Ann!"

    admin.ok("PUT", "/hello/config", json={"config": {"greeting": "Hi"}})
    org_view = admin.ok("PUT", f"/hello/organizations/{tuned}/config", json={"config": {"punctuation": "."}})
    assert org_view["organization"] == {"punctuation": "."}
    assert org_view["effective"] == {"greeting": "Hi", "punctuation": ".", "max_name_length": 40}

    assert greet(server, factory, tuned, "Ann") == "Hi, Ann."
    assert greet(server, factory, plain, "Bob") == "Hi, Bob!"


def test_setting_config_leaves_enablement_alone(server: Server, admin: PluginAdmin, factory: Factory) -> None:
    org = factory.organization()
    admin.ok("PUT", f"/hello/organizations/{org}/config", json={"config": {"greeting": "Yo"}})
    [row] = [o for o in admin.ok("GET", "/hello/organizations?limit=500") if o["organization_id"] == org]
    assert (row["enabled"], row["explicit"]) == (False, False)


def test_schema_violations_are_listed_as_a_422(admin: PluginAdmin, factory: Factory) -> None:
    global_before = admin.ok("GET", "/hello/config")["global"]
    response = admin.call("PUT", "/hello/config", json={"config": {"greeting": 5, "punctuation": "~"}})
    assert response.status_code == 422
    details = {tuple(d["loc"]): d for d in response.json()["detail"]}
    assert set(details) == {("body", "config", "greeting"), ("body", "config", "punctuation")}
    assert details[("body", "config", "greeting")]["type"] == "json_schema.type"
    assert details[("body", "config", "punctuation")]["type"] == "json_schema.enum"
    assert "'~' is not one of" in details[("body", "config", "punctuation")]["msg"]

    org = factory.organization()
    unknown_key = admin.call("PUT", f"/hello/organizations/{org}/config", json={"config": {"colour": "red"}})
    assert unknown_key.status_code == 422
    [detail] = unknown_key.json()["detail"]
    assert detail["loc"] == ["body", "config"] and "'colour'" in detail["msg"]
    too_small = admin.call(
        "PUT", f"/hello/organizations/{org}/config", json={"config": {"max_name_length": 0}}
    )
    assert too_small.json()["detail"][0]["type"] == "json_schema.minimum"
    # Nothing invalid was stored.
    assert admin.ok("GET", f"/hello/organizations/{org}/config")["organization"] == {}
    assert admin.ok("GET", "/hello/config")["global"] == global_before


def test_config_of_an_unknown_plugin_is_a_404(admin: PluginAdmin) -> None:
    response = admin.call("GET", "/nowhere/config")
    assert (response.status_code, response.json()) == (404, {"detail": "Plugin 'nowhere' not found"})
