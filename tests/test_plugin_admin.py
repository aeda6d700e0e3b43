"""Plugin management for global admins: the JSON API under /api/admin/plugins (401 without
a token, 403 for everyone but global admins) and the page at /admin?view=plugins, driven
in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.models import Permission, Role
from tests.browser_support import CHROMIUM_ARGS, chromium
from tests.factory import Factory
from tests.plugin_support import EXAMPLE_PLUGINS, PluginAdmin, get, plugin_app_server
from tests.servers import Server

ADMIN_CALLS = [
    ("GET", "/api/admin/plugins", None),
    ("GET", "/api/admin/plugins/hello", None),
    ("GET", "/api/admin/plugins/hello/organizations", None),
    ("POST", "/api/admin/plugins/hello/organizations/{org}/enable", None),
    ("POST", "/api/admin/plugins/hello/organizations/{org}/disable", None),
    ("GET", "/api/admin/plugins/hello/config", None),
    ("PUT", "/api/admin/plugins/hello/config", {"config": {}}),
    ("GET", "/api/admin/plugins/hello/organizations/{org}/config", None),
    ("PUT", "/api/admin/plugins/hello/organizations/{org}/config", {"config": {}}),
    ("GET", "/api/admin/plugins/hello/migrations", None),
    ("POST", "/api/admin/plugins/hello/migrations/rollback", {"to": None}),
]


@pytest.fixture(scope="module")
def server(database_url: str, server_logs: Path) -> Iterator[Server]:
    with plugin_app_server(database_url, server_logs, EXAMPLE_PLUGINS) as running:
        yield running


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_only_global_admins_may_manage_plugins(
    server: Server, factory: Factory, method: str, path: str, body: object
) -> None:
    org = factory.organization()
    url = server.url + path.format(org=org)
    anonymous = httpx.request(method, url, json=body)
    assert (anonymous.status_code, anonymous.json()) == (401, {"detail": "Missing bearer token"})
    bad_token = httpx.request(method, url, json=body, headers={"Authorization": "Bearer stk_nope"})
    assert bad_token.status_code == 401
    for caller in (
        factory.user(),
        factory.user(org=org, roles=[Role.ADMIN]),
        factory.user(permission=Permission.MODERATOR),
    ):
        refused = httpx.request(method, url, json=body, headers=caller.headers)
        assert refused.status_code == 403, refused.text
        assert refused.json() == {"detail": "Plugin management needs global admin permission"}


def test_the_listing_shows_version_status_and_migrations(server: Server, factory: Factory) -> None:
    admin = PluginAdmin(server, factory.user(permission=Permission.SUPERADMIN).headers)
    hello = admin.ok("GET", "/hello")
    assert (hello["version"], hello["status"], hello["type"], hello["rejection"]) == (
        "1.2.0",
        "active",
        "external",
        None,
    )
    assert hello["provides"]["discord_commands"] == ["hello"]
    assert [m["migration_name"] for m in hello["migrations"] if m["success"]] == ["0001_initial"]


def test_the_admin_page_is_served(server: Server) -> None:
    page = get(server, "/admin?view=plugins")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/api/admin/plugins" in page.text and "sessionStorage" in page.text
    assert get(server, "/admin?view=bogus").status_code == 422


@pytest.mark.browser
def test_an_admin_enables_a_plugin_on_the_page_and_its_routes_answer(
    server: Server, factory: Factory
) -> None:
    from playwright.sync_api import expect, sync_playwright

    admin = factory.user(permission=Permission.ADMIN)
    org = factory.organization(factory.unique("page-org"))
    member = factory.user(org=org, roles=[Role.ADMIN])
    greetings = f"/api/hello/organizations/{org}/greetings"
    assert get(server, greetings, member.headers).status_code == 404

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{server.url}/admin?view=plugins")
            page.fill("#token", admin.token)
            page.click("#save-token")
            hello_row = page.locator('#plugins tr[data-plugin="hello"]')
            expect(hello_row).to_contain_text("1.2.0")
            expect(hello_row).to_contain_text("active")
            hello_row.locator("button.manage").click()

            org_row = page.locator(f'#organizations tr[data-organization="{org}"]')
            expect(org_row.locator(".state")).to_have_text("disabled (default)")
            org_row.locator("button.toggle").click()
            expect(org_row.locator(".state")).to_have_text("enabled")

            page.fill("#global-config", '{"greeting": 5}')
            page.click("#save-global-config")
            expect(page.locator("#global-config-errors")).to_contain_text(
                "config.greeting: 5 is not of type 'string'"
            )
        finally:
            browser.close()

    assert get(server, greetings, member.headers).status_code == 200
