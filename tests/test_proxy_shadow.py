"""Shadow traffic through the real proxy, legacy_app and plugin_app (on SQLite and
PostgreSQL, the proxy's own records too): the mirror runs off the response path, a slow,
timed-out, full or down mirrored side never reaches the client, writes are mirrored only
as dry runs the apps honour, mismatches are kept redacted and size-capped and shown as
readable diffs by the API and the CLI, noise is learned from legacy compared with itself,
and everything is counted per flag and mode.

The plugin build here answers `PATCH /api/tournaments/{tid}` with 202 instead of 200 (a
copy of plugin_app with that one change, tests/shadow_support.changed_plugin), so a real
mismatch has a known place; tests/test_proxy_shadow_changes.py checks that the comparator
finds exactly such changes and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from proxy.route_map import DEFAULT_ROUTE_MAP
from tests.databases import postgres_database
from tests.discord_support import command_data, interaction
from tests.factory import Caller, Factory, Org
from tests.legacy_discord_support import APPLICATION_ID
from tests.parity_support import ScenarioDatabase
from tests.servers import ROOT, free_port, run_server
from tests.shadow_support import (
    Backends,
    Stack,
    app_env,
    app_servers,
    changed_plugin,
    shadow_counts,
    shadow_proxy,
    shadow_series,
)

PATCH_TOURNAMENT = "PATCH /api/tournaments/{tid}"
CREATE_TOURNAMENT = "POST /api/tournaments/organizations/{org}"
SLOW_PLUGIN_S = 2.0
GUILD = 1_390_000_000_000_000_001


@dataclass(frozen=True)
class People:
    shadow: Org  # every flag in shadow mode
    live: Org  # every flag in live mode


@dataclass
class Proxies:
    main: Stack  # ignore rules stripped, noise learned from the first two probes of a route
    unlearned: Stack  # ignore rules stripped, no noise learning
    slow: Stack  # plugin answers 2 s late; mirrors time out after 1 s; 2 in flight at most
    down: Stack  # nothing listens where plugin should be
    limited: Stack  # signs dry runs with a secret the apps do not share; keeps 200 bytes of an answer
    records_url: str  # the main proxy's own database


@pytest.fixture(scope="module")
def people(factory: Factory) -> People:
    people = People(Org.make(factory), Org.make(factory))
    factory.guild(people.shadow.id, GUILD)
    return people


@contextmanager
def _records_database(database_url: str, folder: Path) -> Iterator[str]:
    """The proxy's records on the same kind of database as the apps'."""
    if database_url.startswith("sqlite"):
        yield f"sqlite://{folder / 'main-proxy-records.sqlite3'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="module")
def proxies(
    database_url: str, server_logs: Path, people: People, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxies]:
    folder = tmp_path_factory.mktemp("shadow-proxies")
    stripped = folder / "route_map_without_ignore_rules.yaml"
    stripped.write_text(yaml.safe_dump(_without_ignore_rules(yaml.safe_load(DEFAULT_ROUTE_MAP.read_text()))))
    changed = changed_plugin(
        folder,
        "plugins/builtin/tournament/api/tournament_routes.py",
        '@router.patch("/tournaments/{tournament_id}",',
        '@router.patch("/tournaments/{tournament_id}", status_code=202,',
    )
    modes = {people.shadow.id: "shadow", people.live.id: "live"}
    with ExitStack() as stack:
        records_url = stack.enter_context(_records_database(database_url, folder))
        backends = stack.enter_context(
            app_servers(
                database_url,
                server_logs,
                plugin_app="tests.shadow_apps:changed_plugin_app",
                plugin_env=changed,
            )
        )
        slow_env = {**app_env(database_url, backends.discord), "SHADOW_DELAY_S": str(SLOW_PLUGIN_S)}
        slow_plugin = stack.enter_context(
            run_server("tests.shadow_apps:slow_plugin_app", slow_env, server_logs)
        )
        slow_backends = Backends(backends.legacy, slow_plugin, backends.discord, database_url)
        stripped_map = {"STRANGLER_ROUTE_MAP": str(stripped)}
        configurations: dict[str, tuple[Backends, dict[str, Any]]] = {
            "main": (
                backends,
                {
                    **stripped_map,
                    "STRANGLER_DATABASE_URL": records_url,
                    "STRANGLER_SHADOW_NOISE_WARMUP": "2",
                    "STRANGLER_SHADOW_NOISE_PROBE_EVERY": "0",
                    "STRANGLER_SHADOW_NOISE_MIN_HITS": "2",
                    "STRANGLER_SHADOW_RECORD_BODY_BYTES": "2048",
                },
            ),
            "unlearned": (
                backends,
                {
                    **stripped_map,
                    "STRANGLER_SHADOW_NOISE_WARMUP": "0",
                    "STRANGLER_SHADOW_NOISE_PROBE_EVERY": "0",
                },
            ),
            "slow": (
                slow_backends,
                {"STRANGLER_SHADOW_MAX_IN_FLIGHT": "2", "STRANGLER_SHADOW_REQUEST_TIMEOUT": "1.0"},
            ),
            "down": (backends, {"plugin_url": f"http://127.0.0.1:{free_port()}"}),
            "limited": (
                backends,
                {"DRY_RUN_SECRET": "not-the-apps-secret", "STRANGLER_SHADOW_CAPTURE_BYTES": "200"},
            ),
        }

        def start(name: str) -> Stack:
            where, env = configurations[name]
            plugin_url = env.pop("plugin_url", None)
            return stack.enter_context(
                shadow_proxy(where, server_logs, modes, plugin_url=plugin_url, proxy_env=env)
            )

        with ThreadPoolExecutor(len(configurations)) as pool:
            started = dict(zip(configurations, pool.map(start, configurations), strict=True))
        yield Proxies(**started, records_url=records_url)


def _without_ignore_rules(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _without_ignore_rules(value) for key, value in node.items() if key != "ignore"}
    if isinstance(node, list):
        return [_without_ignore_rules(item) for item in node]
    return node


def _create_tournament(stack: Stack, org: Org, caller: Caller | None = None, **body: Any) -> httpx.Response:
    with stack.scenario_client() as client:
        return client.post(
            f"/api/tournaments/organizations/{org.id}",
            json={"name": f"cup-{os.urandom(4).hex()}", **body},
            headers=(caller or org.manager).headers,
        )


def _tournaments(stack: Stack, org: Org) -> int:
    """Rows in the apps' database, read past both apps and the proxy."""
    count = "SELECT COUNT(*) AS n FROM tournament WHERE organization_id = ?"
    return int(ScenarioDatabase(stack.database_url).execute(count, org.id)[0]["n"])


# -- reads and writes are compared ------------------------------------------------------------


def test_a_read_is_mirrored_and_compared(proxies: Proxies, people: People) -> None:
    main = proxies.main
    before = shadow_series(main.metrics(), "matched")
    with main.scenario_client() as client:
        for path in ("/api/tournaments/organizations/{}", "/api/async-qualifiers/organizations/{}"):
            response = client.get(path.format(people.shadow.id), headers=people.shadow.member.headers)
            assert response.status_code == 200 and response.headers["x-strangler-mode"] == "shadow"
    after = shadow_series(main.metrics(), "matched")
    for flag in ("tournament-api", "async-qualifier-api"):
        key = (("flag", flag), ("mode", "shadow"))
        assert after[key] == before[key] + 1


def test_a_changed_answer_is_a_mismatch_kept_redacted_and_capped(proxies: Proxies, people: People) -> None:
    main, org = proxies.main, people.shadow
    tournament = _create_tournament(main, org).json()["id"]
    secret_name = "stk_" + "LeakedToken" * 2
    body = {"name": secret_name, "description": f"{secret_name} " + "d" * 5000}
    with main.scenario_client() as client:
        response = client.patch(
            f"/api/tournaments/{tournament}",
            params={"organization_id": org.id},
            json=body,
            headers=org.manager.headers,
        )
    assert response.status_code == 200  # shadow: legacy answered the client
    [mismatch] = main.mismatches(flag="tournament-api", organization_id=org.id)
    assert (
        mismatch["route"] == PATCH_TOURNAMENT and mismatch["kind"] == "write" and mismatch["mode"] == "shadow"
    )
    assert (
        mismatch["method"] == "PATCH"
        and mismatch["path"] == f"/api/tournaments/{tournament}?organization_id={org.id}"
    )
    assert (mismatch["primary_status"], mismatch["legacy"]["status"], mismatch["plugin"]["status"]) == (
        200,
        200,
        202,
    )
    assert {"path": "status", "kind": "status", "legacy": 200, "plugin": 202} in mismatch["differences"]
    everything = json.dumps(mismatch)
    assert secret_name not in everything and org.manager.token not in everything
    assert "stk_[redacted]" in mismatch["legacy"]["body"] and mismatch["caller"].startswith("sha256:")
    for side in ("legacy", "plugin"):
        assert mismatch[side]["body_truncated"] and len(mismatch[side]["body"].encode()) <= 2048
    assert mismatch["unified_diff"].startswith("--- legacy\n+++ plugin")
    assert "-HTTP 200 application/json" in mismatch["unified_diff"]
    assert "+HTTP 202 application/json" in mismatch["unified_diff"]
    assert mismatch["legacy"]["seconds"] > 0 and mismatch["plugin"]["seconds"] > 0


def test_in_live_mode_plugin_answers_and_legacy_is_compared(proxies: Proxies, people: People) -> None:
    main, org = proxies.main, people.live
    tournament = _create_tournament(main, org).json()["id"]
    with main.scenario_client() as client:
        response = client.patch(
            f"/api/tournaments/{tournament}",
            params={"organization_id": org.id},
            json={"description": "x"},
            headers=org.admin.headers,
        )
    assert response.status_code == 202 and response.headers["x-strangler-backend"] == "plugin"
    [mismatch] = main.mismatches(organization_id=org.id)
    assert mismatch["mode"] == "live" and mismatch["primary_status"] == 202
    assert (mismatch["legacy"]["status"], mismatch["plugin"]["status"]) == (200, 202)


def test_the_cli_shows_mismatches_as_a_readable_diff(proxies: Proxies, people: People) -> None:
    org = people.shadow
    tournament = _create_tournament(proxies.main, org).json()["id"]
    with proxies.main.scenario_client() as client:
        client.patch(
            f"/api/tournaments/{tournament}",
            params={"organization_id": org.id},
            json={"name": "stk_clitoken123"},
            headers=org.manager.headers,
        )
    env = {**os.environ, "STRANGLER_DATABASE_URL": proxies.records_url, "COLUMNS": "200"}
    command = [
        sys.executable,
        "-m",
        "strangler.cli",
        "mismatches",
        "--flag",
        "tournament-api",
        "--org",
        str(org.id),
    ]
    shown = subprocess.run(
        [*command, "--limit", "1"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"PATCH /api/tournaments/{tournament}" in out and PATCH_TOURNAMENT in out
    assert re.search(r"status\s*│\s*status\s*│\s*200\s*│\s*202", out), out
    assert "--- legacy" in out and "+++ plugin" in out and "-HTTP 200" in out and "+HTTP 202" in out
    assert "stk_clitoken123" not in out
    side_by_side = subprocess.run(
        [*command, "--limit", "1", "--side-by-side"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert side_by_side.returncode == 0
    assert '"name": "stk_[redacted]"' in side_by_side.stdout and "stk_clitoken123" not in side_by_side.stdout
    as_json = subprocess.run(
        [*command, "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    records = json.loads(as_json.stdout)
    assert records and all(r["flag"] == "tournament-api" and r["organization_id"] == org.id for r in records)
    unknown = subprocess.run(
        [*command[:4], "--flag", "nope"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert unknown.returncode == 1 and "unknown flag" in unknown.stderr


def test_the_api_wants_the_operator_token(proxies: Proxies) -> None:
    for path in ("/mismatches", "/shadow", "/shadow/latency?flag=tournament-api&organization_id=1"):
        assert httpx.get(proxies.main.proxy.url + "/_strangler/api" + path, timeout=10).status_code == 401
    assert (
        httpx.get(
            proxies.main.proxy.url + "/_strangler/api/mismatches?flag=nope",
            headers={"Authorization": "Bearer shadow-tests-admin-token"},
            timeout=10,
        ).status_code
        == 400
    )


# -- noise --------------------------------------------------------------------------------


def test_noise_is_learned_from_legacy_compared_with_itself(proxies: Proxies, people: People) -> None:
    """Without its ignore rules, creating a tournament twice as dry runs gives two clocks'
    `created_at` (and, on PostgreSQL, two sequences' `id`): a mismatch unless learned."""
    org = people.shadow
    _create_tournament(proxies.unlearned, org)
    [unlearned] = [
        m for m in proxies.unlearned.mismatches(organization_id=org.id) if m["route"] == CREATE_TOURNAMENT
    ]
    assert {"$.created_at", "$.updated_at"} <= {d["path"] for d in unlearned["differences"]}

    main = proxies.main
    for _ in range(3):  # probed, probed, then judged with the standing noise alone
        _create_tournament(main, org)
    assert not [m for m in main.mismatches(organization_id=org.id) if m["route"] == CREATE_TOURNAMENT]
    learned = main.admin("/shadow")["noise"][CREATE_TOURNAMENT]
    assert learned["probes"] == 2 and learned["comparisons"] >= 3
    assert {"$.created_at", "$.updated_at"} <= set(learned["noise"])


# -- the client never waits for, or suffers from, the mirror ------------------------------


def test_a_slow_mirrored_side_never_delays_the_client(proxies: Proxies, people: People) -> None:
    slow, org = proxies.slow, people.shadow
    slow.wait_until_idle()
    response = slow.client.get(f"/api/tournaments/organizations/{org.id}", headers=org.member.headers)
    assert response.status_code == 200
    # The answer is here while its mirror (2 s behind) is still running.
    assert slow.in_flight() == 1
    slow.wait_until_idle()
    errors = shadow_series(slow.metrics(), "errors")
    assert errors[(("flag", "tournament-api"), ("mode", "shadow"), ("reason", "timeout"))] >= 1


def test_a_full_mirror_queue_drops_and_counts(proxies: Proxies, people: People) -> None:
    slow, org = proxies.slow, people.shadow
    slow.wait_until_idle()
    path = f"{slow.proxy.url}/api/async-qualifiers/organizations/{org.id}"
    with ThreadPoolExecutor(6) as pool:
        statuses = list(
            pool.map(lambda _: httpx.get(path, headers=org.member.headers, timeout=10).status_code, range(6))
        )
    assert statuses == [200] * 6
    dropped = shadow_series(slow.metrics(), "dropped")[(("flag", "async-qualifier-api"), ("mode", "shadow"))]
    assert dropped >= 1
    slow.wait_until_idle()


def test_a_down_mirrored_side_never_turns_into_a_client_error(proxies: Proxies, people: People) -> None:
    down, org = proxies.down, people.shadow
    with down.scenario_client() as client:
        listed = client.get(f"/api/tournaments/organizations/{org.id}", headers=org.member.headers)
        created = client.post(
            f"/api/tournaments/organizations/{org.id}", json={"name": "down"}, headers=org.manager.headers
        )
        payload = interaction(
            2,
            command_data("async_calculate_scores"),
            application_id=APPLICATION_ID,
            user_id=org.member.discord_id,
            channel_id=GUILD + 7,
            guild_id=GUILD,
        )
        body = json.dumps(payload).encode()
        replied = client.post("/discord/interactions", content=body, headers=down.signer.headers(body))
    assert (listed.status_code, created.status_code, replied.status_code) == (200, 201, 200)
    assert replied.json()["type"] == 4  # legacy's own reply
    errors = shadow_series(down.metrics(), "errors")
    assert errors[(("flag", "tournament-api"), ("mode", "shadow"), ("reason", "unavailable"))] >= 1
    assert errors[(("flag", "tournament-api"), ("mode", "shadow"), ("reason", "dry_run_unavailable"))] >= 1
    assert (
        errors[(("flag", "async-qualifier-discord"), ("mode", "shadow"), ("reason", "dry_run_unavailable"))]
        >= 1
    )
    assert shadow_counts(down.metrics())["compared"] == 0


def test_a_side_that_does_not_honour_our_dry_runs_gets_no_writes(proxies: Proxies, people: People) -> None:
    wrong, org = proxies.limited, people.shadow
    before = _tournaments(wrong, org)
    created = _create_tournament(wrong, org)
    assert created.status_code == 201
    assert _tournaments(wrong, org) == before + 1  # the primary's row alone
    errors = shadow_series(wrong.metrics(), "errors")
    assert errors[(("flag", "tournament-api"), ("mode", "shadow"), ("reason", "dry_run_unavailable"))] == 1


# -- metrics and latency pairs ------------------------------------------------------------------


def test_metrics_and_latency_pairs_are_kept_per_flag_mode_and_organization(
    proxies: Proxies, people: People
) -> None:
    main = proxies.main
    with main.scenario_client() as client:
        for org in (people.shadow, people.live):
            client.get(f"/api/async-qualifiers/organizations/{org.id}", headers=org.member.headers)
            client.post(
                f"/api/async-qualifiers/organizations/{org.id}",
                json={"name": f"q-{org.id}"},
                headers=org.manager.headers,
            )
    metrics = main.metrics()
    compared = shadow_series(metrics, "compared")
    for mode in ("shadow", "live"):
        assert compared[(("flag", "async-qualifier-api"), ("mode", mode))] >= 2
    # Every flag x mode series exists; no series carries an organization or a route.
    assert len(compared) == 6 and "organization=" not in "".join(
        re.findall(r"^strangler_shadow_.*$", metrics, re.M)
    )
    for backend in ("legacy", "plugin"):
        series = f'strangler_shadow_latency_seconds_count{{backend="{backend}",flag="async-qualifier-api"}}'
        count = re.search(rf"^{re.escape(series)} ([0-9.e+]+)$", metrics, re.M)
        assert count and float(count.group(1)) >= 4
    pairs = main.admin("/shadow/latency", flag="async-qualifier-api", organization_id=people.live.id)["pairs"]
    assert {p["kind"] for p in pairs} == {"read", "dry_run"}
    assert all(p["legacy_s"] > 0 and p["plugin_s"] > 0 for p in pairs)
    reads = main.admin(
        "/shadow/latency", flag="async-qualifier-api", organization_id=people.live.id, kind="read"
    )
    assert reads["pairs"] and all(p["kind"] == "read" for p in reads["pairs"])


def test_mirrors_leave_the_apps_database_as_the_primary_wrote_it(proxies: Proxies, people: People) -> None:
    """The whole-scenario check is tests/test_proxy_shadow_data.py; here, one write each way."""
    org = people.shadow
    before = _tournaments(proxies.main, org)
    for stack in (proxies.main, proxies.unlearned, proxies.slow):
        assert _create_tournament(stack, org).status_code == 201
    proxies.slow.wait_until_idle()
    assert _tournaments(proxies.main, org) == before + 3


def test_an_answer_over_the_capture_limit_reaches_the_client_whole_and_is_not_compared(
    proxies: Proxies, people: People
) -> None:
    limited, org = proxies.limited, people.shadow
    for n in range(3):
        _create_tournament(proxies.main, org, description=f"long enough {n} " * 20)
    path = f"/api/tournaments/organizations/{org.id}"
    direct = httpx.get(limited.backends.legacy.url + path, headers=org.member.headers, timeout=10)
    with limited.scenario_client() as client:
        through = client.get(path, headers=org.member.headers)
    assert len(direct.content) > 200 and through.content == direct.content
    errors = shadow_series(limited.metrics(), "errors")
    assert errors[(("flag", "tournament-api"), ("mode", "shadow"), ("reason", "too_large"))] >= 1


def test_a_mirrored_request_body_larger_than_the_streaming_threshold_is_sent_whole(
    proxies: Proxies, people: People
) -> None:
    """Bodies over 64 KB stream to the primary; a mirrored one is kept to be sent again."""
    main, org = proxies.main, people.shadow
    before = shadow_series(main.metrics(), "compared")[(("flag", "tournament-api"), ("mode", "shadow"))]
    oversized = _create_tournament(main, org, description="y" * 70_000)
    assert oversized.status_code == 422  # over the description's limit, on both sides alike
    after = shadow_series(main.metrics(), "compared")[(("flag", "tournament-api"), ("mode", "shadow"))]
    assert after == before + 1
    assert not [m for m in main.mismatches(organization_id=org.id) if m["primary_status"] == 422]
