"""Issue 3's acceptance, with the real built-in plugins: in headless Chromium (Debian's
chromium), a global admin enables the tournament plugin for an organization on the admin
page at /admin?view=plugins, and that organization's tournament routes then answer.

Built-in plugins are enabled by default, so the test first disables the plugin for the
organization through the admin API and sees its routes answer 404 (as if absent) while
another organization's still answer. It runs on a fresh database in the parity starting
state (tests/parity_support.py), so the page's organization list is short and known.

Without chromium this test fails - it does not skip: scripts/test installs chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser_support import CHROMIUM_ARGS, chromium
from tests.parity_support import Cast, seeded_database
from tests.plugin_support import PluginAdmin, plugin_app_server
from tests.servers import Server

PLUGIN = "tournament"
NOT_FOUND = {"detail": "Not Found"}


@pytest.fixture(scope="module")
def app(
    database_url: str, server_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Cast]]:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    with (
        seeded_database(backend, tmp_path_factory.mktemp(f"admin-page-{backend}")) as (url, cast),
        plugin_app_server(url, server_logs, SCHEDULER_ENABLED="false") as server,
    ):
        yield server, cast


def tournaments(server: Server, organization_id: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/tournaments/organizations/{organization_id}", headers=headers, timeout=10
    )


@pytest.mark.browser
def test_enabling_a_builtin_plugin_on_the_admin_page_makes_its_routes_answer(
    app: tuple[Server, Cast],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, cast = app
    admin = PluginAdmin(server, cast.global_admin.headers)
    assert admin.plugins()[PLUGIN]["status"] == "active"
    switched = admin.disable(PLUGIN, cast.home)
    assert switched.status_code == 200 and switched.json()["enabled"] is False, switched.text
    for path in (
        f"/api/tournaments/organizations/{cast.home}",
        f"/api/stream-channels/organizations/{cast.home}",
        f"/api/tournaments/organizations/{cast.home}/matches",
    ):
        absent = httpx.get(server.url + path, headers=cast.admin.headers, timeout=10)
        assert (absent.status_code, absent.json()) == (404, NOT_FOUND), path
    assert tournaments(server, cast.away, cast.away_admin.headers).status_code == 200  # elsewhere still on

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{server.url}/admin?view=plugins")
            page.fill("#token", cast.global_admin.token)
            page.click("#save-token")
            row = page.locator(f'#plugins tr[data-plugin="{PLUGIN}"]')
            expect(row).to_contain_text("1.0.0")
            expect(row).to_contain_text("active")
            row.locator("button.manage").click()
            organization = page.locator(f'#organizations tr[data-organization="{cast.home}"]')
            expect(organization.locator(".state")).to_have_text("disabled")
            organization.locator("button.toggle").click()
            expect(organization.locator(".state")).to_have_text("enabled")
            expect(page.locator("#organizations-error")).to_have_text("")
        finally:
            browser.close()

    answered = tournaments(server, cast.home, cast.admin.headers)
    assert (answered.status_code, answered.json()) == (200, [])
    created = httpx.post(
        f"{server.url}/api/tournaments/organizations/{cast.home}",
        headers=cast.admin.headers,
        json={"name": "Enabled Cup"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    assert [t["name"] for t in tournaments(server, cast.home, cast.admin.headers).json()] == ["Enabled Cup"]
