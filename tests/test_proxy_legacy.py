"""The proxy in front of the real apps, on SQLite and PostgreSQL: legacy_app and plugin_app
on one database, plugin_app's answers labelled `X-Served-By: plugin` by the test (so who
answered is the app's word, not the proxy's headers). Organizations come from the apps'
real owner endpoint (a match, a Discord guild); flips go through the operator API, the
one write path."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from proxy.modes import Surface
from tests.discord_support import command_data, snowflake
from tests.discord_support import interaction as discord_interaction
from tests.factory import Caller, Factory
from tests.proxy_support import DiscordSigner, flag_document, run_proxy, served_by, write_flags
from tests.servers import Server, run_server

ADMIN_TOKEN = "proxy-legacy-test-admin-token"
FLIPS = 20
APPLICATION_ID = 1_000_000_000_000_000_001  # core's default discord_application_id


@pytest.fixture(scope="module")
def plugin_server(database_url: str, server_logs: Path) -> Iterator[Server]:
    env = {"DATABASE_URL": database_url, "ECHO_NAME": "plugin"}
    with run_server("tests.proxy_support:labelled_plugin_app", env, server_logs) as server:
        yield server


@pytest.fixture(scope="module")
def signer() -> DiscordSigner:
    return DiscordSigner()


@pytest.fixture(scope="module")
def flags_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flags") / "flags.json"
    write_flags(path, flag_document())
    return path


@pytest.fixture(scope="module")
def proxy(
    legacy_server: Server, plugin_server: Server, signer: DiscordSigner, flags_path: Path, server_logs: Path
) -> Iterator[Server]:
    with run_proxy(
        server_logs,
        legacy_url=legacy_server.url,
        plugin_url=plugin_server.url,
        flags_path=flags_path,
        extra_env={"STRANGLER_DISCORD_PUBLIC_KEY": signer.public_key, "STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN},
    ) as server:
        yield server


def _answered_by(response: httpx.Response) -> str:
    return "plugin" if served_by(response) == "plugin" else "legacy"


def _flip(proxy: Server, flag: Surface, organization: int, mode: str) -> httpx.Response:
    response = httpx.post(
        proxy.url + "/_strangler/api/flip",
        # Routing is under test, not the cutover gate (tests/test_gate*.py): force past it.
        json={
            "flag": flag.value,
            "organization_id": organization,
            "mode": mode,
            "reason": "proxy test",
            "force": True,
        },
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response


def _admin(factory: Factory, organization: int) -> Caller:
    return factory.user(org=organization, roles=["Admin"])


def test_real_requests_reach_the_app_their_organization_is_on(proxy: Server, factory: Factory) -> None:
    migrated, staying = factory.organization(), factory.organization()
    _flip(proxy, Surface.TOURNAMENT_API, migrated, "plugin")
    for organization, expected in ((migrated, "plugin"), (staying, "legacy")):
        response = httpx.post(
            proxy.url + f"/api/tournaments/organizations/{organization}",
            json={"name": factory.unique("cup")},
            headers=_admin(factory, organization).headers,
        )
        assert response.status_code == 201, response.text
        assert _answered_by(response) == expected

    # A match names no organization in its path: its owner is asked of legacy_app.
    admin = _admin(factory, migrated)
    tournament = httpx.post(
        proxy.url + f"/api/tournaments/organizations/{migrated}",
        json={"name": factory.unique("cup")},
        headers=admin.headers,
    ).json()
    match = httpx.post(
        proxy.url + "/api/tournaments/matches",
        params={"organization_id": migrated},
        json={"tournament_id": tournament["id"], "title": "semi-final"},
        headers=admin.headers,
    )
    assert match.status_code == 201, match.text
    response = httpx.patch(
        proxy.url + f"/api/tournaments/matches/{match.json()['id']}",
        json={"title": "final"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "final"
    assert _answered_by(response) == "plugin"
    _flip(proxy, Surface.TOURNAMENT_API, migrated, "legacy")
    response = httpx.post(
        proxy.url + f"/api/tournaments/matches/{match.json()['id']}/advance-status",
        json={"status": "checked_in"},
        headers=admin.headers,
    )
    assert _answered_by(response) == "legacy"


def test_discord_interactions_follow_their_guilds_organization(
    proxy: Server, factory: Factory, signer: DiscordSigner
) -> None:
    migrated, staying = factory.organization(), factory.organization()
    migrated_guild, staying_guild = snowflake(), snowflake()
    factory.guild(migrated, migrated_guild)
    factory.guild(staying, staying_guild)
    _flip(proxy, Surface.ASYNC_QUALIFIER_DISCORD, migrated, "plugin")
    for guild, expected in ((migrated_guild, "plugin"), (staying_guild, "legacy")):
        payload = discord_interaction(
            2, command_data("async_calculate_scores"), application_id=APPLICATION_ID, guild_id=guild
        )
        body = json.dumps(payload).encode()
        response = httpx.post(proxy.url + "/discord/interactions", content=body, headers=signer.headers(body))
        assert response.status_code == 200, response.text
        assert _answered_by(response) == expected


def test_flips_under_a_stream_of_writes_lose_and_duplicate_nothing(proxy: Server, factory: Factory) -> None:
    organization = factory.organization()
    admin = _admin(factory, organization)
    path = f"/api/stream-channels/organizations/{organization}"
    answered: list[tuple[str, int, str]] = []
    stop = threading.Event()

    def write() -> None:
        with httpx.Client(base_url=proxy.url, headers=admin.headers, timeout=30) as client:
            while not stop.is_set():
                name = factory.unique("channel")
                response = client.post(path, json={"name": name})
                answered.append((name, response.status_code, _answered_by(response)))

    writer = threading.Thread(target=write)
    writer.start()
    delays: list[float] = []
    stale_reads: list[int] = []  # requests after the API answered that still saw the old mode
    try:
        for flip in range(FLIPS):
            mode = "plugin" if flip % 2 == 0 else "legacy"
            _flip(proxy, Surface.TOURNAMENT_API, organization, mode)
            started, polls = time.perf_counter(), 1
            while httpx.get(proxy.url + path, headers=admin.headers).headers["x-strangler-mode"] != mode:
                assert time.perf_counter() - started < 5
                polls += 1
            delays.append(time.perf_counter() - started)
            stale_reads.append(polls - 1)
            time.sleep(0.05)
    finally:
        stop.set()
        writer.join(timeout=30)
    print(
        f"\n{len(answered)} writes over {FLIPS} operator-API flips; "
        f"first request after the API answered routed the new way in {stale_reads.count(0)}/{FLIPS} flips; "
        f"flip-to-effect max {max(delays) * 1000:.1f} ms"
    )

    assert answered and all(status == 201 for _, status, _ in answered), [a for a in answered if a[1] != 201]
    listed = [channel["name"] for channel in httpx.get(proxy.url + path, headers=admin.headers).json()]
    assert sorted(listed) == sorted(name for name, _, _ in answered)  # each write exactly once
    assert {backend for _, _, backend in answered} == {"legacy", "plugin"}
