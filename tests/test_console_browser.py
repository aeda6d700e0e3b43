"""Issue 7's acceptance for the console, in headless Chromium (Debian's chromium) against a
real stack: legacy_app, a deliberately changed plugin_app and the proxy (its own records
in a SQLite file and its flags in a file, both in tmp), on SQLite and on PostgreSQL.

An operator logs in at /_strangler/ (a wrong token first: back to the login form with the
401 said), adds a seeded organization to the grid, moves its tournament-api to shadow with
a reason; traffic for that organization (reads and writes) then goes through the proxy and
the console shows it: the requests, the mismatch rate, the mismatch in the diff viewer.
The gate refuses a move to live on the console (too few samples). The operator rolls the
organization back and finds both changes, newest first, in the console's audit log.

The plugin build answers `PATCH /api/tournaments/{tid}` with 202 instead of 200 (the
shadow tests' changed build: tests/shadow_support.changed_plugin), so a mismatch is certain.
Without chromium this test fails - it does not skip: scripts/test installs chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser_support import CHROMIUM_ARGS, chromium
from tests.factory import Factory, Org
from tests.shadow_support import ADMIN_TOKEN, Stack, app_servers, changed_plugin, shadow_proxy

FLAG = "tournament-api"
PATCH_TOURNAMENT = "PATCH /api/tournaments/{tid}"
TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Console:
    stack: Stack
    org: Org
    screenshots: Path


@pytest.fixture(scope="module")
def console(
    database_url: str, factory: Factory, server_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    changed = changed_plugin(
        folder,
        "plugins/builtin/tournament/api/tournament_routes.py",
        '@router.patch("/tournaments/{tournament_id}",',
        '@router.patch("/tournaments/{tournament_id}", status_code=202,',
    )
    org = Org.make(factory)
    with (
        app_servers(
            database_url, server_logs, plugin_app="tests.shadow_apps:changed_plugin_app", plugin_env=changed
        ) as backends,
        # Every organization starts on legacy; the operator moves this one on the console.
        shadow_proxy(backends, folder, {}) as stack,
    ):
        yield Console(stack, org, folder)


def send_traffic(stack: Stack, org: Org) -> None:
    """Reads and writes of the organization's tournaments, each answered in shadow mode;
    returns once every mirror they caused has finished."""
    with stack.scenario_client() as client:
        created = client.post(
            f"/api/tournaments/organizations/{org.id}",
            json={"name": "Console Cup"},
            headers=org.manager.headers,
        )
        assert created.status_code == 201, created.text
        assert created.headers["x-strangler-mode"] == "shadow"
        listed = client.get(f"/api/tournaments/organizations/{org.id}", headers=org.member.headers)
        assert listed.status_code == 200 and [t["name"] for t in listed.json()] == ["Console Cup"]
        patched = client.patch(
            f"/api/tournaments/{created.json()['id']}",
            params={"organization_id": org.id},
            json={"name": "Console Cup, renamed"},
            headers=org.manager.headers,
        )
        assert patched.status_code == 200, patched.text  # legacy answered; the plugin's 202 is the mismatch


def mode_served(stack: Stack, org: Org) -> str:
    response = httpx.get(
        f"{stack.proxy.url}/api/tournaments/organizations/{org.id}", headers=org.member.headers, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.headers["x-strangler-mode"]


@pytest.mark.browser
def test_an_operator_shadows_an_organization_sees_its_mismatch_and_rolls_it_back(console: Console) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    stack, org = console.stack, console.org
    assert mode_served(stack, org) == "legacy"

    def confirm_change(page: Page, reason: str) -> None:
        dialog = page.locator("#change-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Reason").fill(reason)
        dialog.get_by_role("button", name="Confirm").click()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            console_errors: list[str] = []
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.goto(f"{stack.proxy.url}/_strangler/")

            # A wrong token: the API says 401 and the console stays on the login form, saying so.
            page.get_by_label("Operator token").fill("not-the-token")
            page.get_by_role("button", name="Log in").click()
            expect(page.locator("#login-message")).to_contain_text("401")
            expect(page.locator("#console")).to_be_hidden()

            page.get_by_label("Operator token").fill(ADMIN_TOKEN)
            page.get_by_role("button", name="Log in").click()
            expect(page.locator("#console")).to_be_visible()
            expect(page.locator("#kill-switch-state")).to_contain_text("off")

            # The flag document names no organization yet: the operator adds this one.
            page.get_by_label("Add an organization id to the grid").fill(str(org.id))
            page.get_by_role("button", name="Add", exact=True).click()
            row = page.locator(f'#grid tbody tr[data-organization="{org.id}"]')
            cell = row.locator(f'td[data-flag="{FLAG}"]')
            expect(cell.locator(".mode")).to_have_text("legacy")

            # Move it to shadow, with a reason.
            cell.get_by_role("button", name=f"Change the mode of {FLAG}").click()
            page.locator("#change-mode").select_option("shadow")
            expect(page.locator("#change-summary")).to_contain_text("from legacy to shadow")
            confirm_change(page, "console test: shadow the tournament API")
            expect(page.locator("#change-dialog")).to_be_hidden()
            expect(cell.locator(".mode")).to_have_text("shadow")
            expect(page.locator("#notice")).to_contain_text("legacy → shadow")

            send_traffic(stack, org)

            # Its traffic, its mismatch rate and the mismatch itself appear on the console.
            page.get_by_role("button", name="Refresh").click()
            expect(cell.locator(".traffic")).to_have_text(re.compile(r"^[1-9]\d* requests$"))
            expect(cell.locator(".rate")).to_have_text(re.compile(r"% mismatched \([1-9]\d* of [1-9]\d*\)$"))
            verdict = cell.locator("button.verdict")
            expect(verdict).to_have_text(re.compile(r"^gate: (pass|fail|inconclusive)$"))
            mismatch = page.locator(f'#mismatches tbody tr[data-organization="{org.id}"]').first
            expect(mismatch).to_contain_text(PATCH_TOURNAMENT)
            expect(mismatch).to_contain_text("200 / 202")
            mismatch.get_by_role("button", name="Show the diff").click()
            expect(page.locator("#diff")).to_be_visible()
            expect(page.locator("#diff-meta")).to_contain_text("/api/tournaments/")
            expect(page.locator("#diff-differences")).to_contain_text("status")
            expect(page.locator("#diff-legacy")).to_contain_text("HTTP 200")
            expect(page.locator("#diff-plugin")).to_contain_text("HTTP 202")
            expect(page.locator("#diff-unified")).to_contain_text("+HTTP 202 application/json")

            # The gate's numbers behind the cell's verdict.
            verdict.click()
            expect(page.locator('#gate-budgets tbody tr[data-budget="mismatch_rate"]')).to_be_visible()

            # The gate refuses a move to live on so few samples; the console says why and offers force.
            cell.get_by_role("button", name=f"Change the mode of {FLAG}").click()
            page.locator("#change-mode").select_option("live")
            confirm_change(page, "console test: try live")
            expect(page.locator("#change-error")).to_contain_text("409")
            expect(page.locator("#force-field")).to_be_visible()
            expect(page.locator('#change-budgets tbody tr[data-budget="latency_p50"]')).to_be_visible()
            page.get_by_role("button", name="Cancel").click()
            expect(cell.locator(".mode")).to_have_text("shadow")

            # Roll the organization back, with a reason.
            row.get_by_role("button", name=f"Roll back organization {org.id}").click()
            expect(page.locator("#change-summary")).to_contain_text(f"{FLAG} shadow")
            confirm_change(page, "console test: roll back")
            expect(page.locator("#change-dialog")).to_be_hidden()
            expect(cell.locator(".mode")).to_have_text("legacy")
            assert mode_served(stack, org) == "legacy"

            # Both changes in the audit log, newest first; the refused move left no entry.
            entries = page.locator("#audit tbody tr")
            expect(entries).to_have_count(2)
            for entry, transition, reason in (
                (entries.nth(0), "shadow → legacy", "console test: roll back"),
                (entries.nth(1), "legacy → shadow", "console test: shadow the tournament API"),
            ):
                expect(entry.locator("td").nth(2)).to_have_text(FLAG)
                expect(entry.locator("td").nth(3)).to_have_text(str(org.id))
                expect(entry.locator("td.transition")).to_have_text(transition)
                expect(entry.locator("td.reason")).to_have_text(reason)
                expect(entry.locator("td").nth(1)).to_contain_text("api@")

            # The kill switch, with a confirmation and a reason.
            page.get_by_role("button", name="Turn the kill switch on").click()
            confirm_change(page, "console test: kill switch")
            expect(page.locator("#kill-switch-state")).to_contain_text("ON")
            expect(entries.nth(0).locator("td.transition")).to_have_text("off → on")
            page.get_by_role("button", name="Turn the kill switch off").click()
            confirm_change(page, "console test: kill switch off")
            expect(page.locator("#kill-switch-state")).to_contain_text("off")
            expect(entries).to_have_count(4)
            page.screenshot(path=str(console.screenshots / "console.png"), full_page=True)
            assert console_errors == []
        finally:
            browser.close()


def test_the_console_page_needs_no_token_but_everything_it_calls_does(console: Console) -> None:
    proxy = console.stack.proxy.url
    page = httpx.get(f"{proxy}/_strangler/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self' covers it
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="console/console.js"' in page.text
    for asset, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        served = httpx.get(f"{proxy}/_strangler/console/{asset}", timeout=10)
        assert served.status_code == 200 and served.headers["content-type"].startswith(kind)
    moved = httpx.get(f"{proxy}/_strangler", timeout=10)
    assert moved.is_redirect and moved.headers["location"].endswith("/_strangler/")
    refused = httpx.get(f"{proxy}/_strangler/api/status", timeout=10)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "a valid operator bearer token is required"}
