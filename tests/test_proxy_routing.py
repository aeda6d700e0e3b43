"""proxy.main + route_map + organization + decisions: in each mode the right backend serves
each organization; the organization comes from the path, the query, the entity the
request names or its body; what cannot be placed goes to legacy; flips, rollbacks and the
kill switch take effect for the next requests. Real servers: two echo apps (legacy, with
an owner table, and plugin) behind a real proxy reading a real flag file."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from proxy.modes import Surface
from tests.proxy_support import flag_document, run_echo, run_proxy, served_by, wait_for, write_flags
from tests.servers import Server

LEGACY_ORG, SHADOW_ORG, LIVE_ORG, PLUGIN_ORG, SPLIT_ORG = 1, 2, 3, 4, 5
EXPECTED = {LEGACY_ORG: "legacy", SHADOW_ORG: "legacy", LIVE_ORG: "plugin", PLUGIN_ORG: "plugin"}
MODES = {LEGACY_ORG: "legacy", SHADOW_ORG: "shadow", LIVE_ORG: "live", PLUGIN_ORG: "plugin"}

# Entities the legacy echo's owner endpoint knows (kind:id -> organization).
OWNERS = {
    "tournament:31": PLUGIN_ORG,
    "match:11": PLUGIN_ORG,
    "match:12": LEGACY_ORG,
    "crew:21": PLUGIN_ORG,
    "async_qualifier:41": LIVE_ORG,
    "pool:51": PLUGIN_ORG,
    "race:61": PLUGIN_ORG,
}
BASE_ASSIGNMENTS = {Surface.TOURNAMENT_API: MODES, Surface.ASYNC_QUALIFIER_API: MODES}


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy-routing-logs")


@pytest.fixture(scope="module")
def flags_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flags") / "flags.json"
    write_flags(path, flag_document(BASE_ASSIGNMENTS))
    return path


@pytest.fixture(scope="module")
def proxy(logs: Path, flags_path: Path) -> Iterator[Server]:
    with (
        run_echo("legacy", logs, OWNERS) as legacy,
        run_echo("plugin", logs) as plugin,
        run_proxy(logs, legacy_url=legacy.url, plugin_url=plugin.url, flags_path=flags_path) as server,
    ):
        yield server


@pytest.fixture
def base_flags(proxy: Server, flags_path: Path) -> Iterator[None]:
    """Every test starts from (and leaves) the base document in force."""
    _restore_base(proxy, flags_path)
    yield
    _restore_base(proxy, flags_path)


def _restore_base(proxy: Server, flags_path: Path) -> None:
    write_flags(flags_path, flag_document(BASE_ASSIGNMENTS))
    expected = {**EXPECTED, SPLIT_ORG: "legacy"}
    wait_for(
        lambda: all(
            _backend(proxy, f"/api/{system}/organizations/{organization}") == backend
            for system in ("tournaments", "async-qualifiers")
            for organization, backend in expected.items()
        )
    )


def _backend(proxy: Server, path: str, **options: object) -> str:
    return served_by(httpx.request(str(options.pop("method", "GET")), proxy.url + path, **options))  # type: ignore[arg-type]


@pytest.mark.usefixtures("base_flags")
@pytest.mark.parametrize("organization", list(MODES))
def test_each_mode_sends_each_organization_to_its_primary(proxy: Server, organization: int) -> None:
    for path in (
        f"/api/tournaments/organizations/{organization}",
        f"/api/tournaments/organizations/{organization}/matches",
        f"/api/stream-channels/organizations/{organization}",
        f"/api/async-qualifiers/organizations/{organization}",
    ):
        response = httpx.get(proxy.url + path)
        assert served_by(response) == EXPECTED[organization], path
        assert response.headers["x-strangler-backend"] == EXPECTED[organization]
        assert response.headers["x-strangler-mode"] == MODES[organization]


@pytest.mark.usefixtures("base_flags")
def test_the_organization_comes_from_query_entity_and_body(proxy: Server) -> None:
    plugin_bound = [
        ("PATCH", f"/api/tournaments/9?organization_id={PLUGIN_ORG}", {}),
        ("POST", f"/api/tournaments/matches?organization_id={PLUGIN_ORG}", {"json": {"title": "m"}}),
        ("DELETE", "/api/tournaments/31", {}),  # no query: the tournament's owner
        ("GET", "/api/tournaments/31/players", {}),
        ("POST", "/api/tournaments/31/players/8", {}),
        ("PATCH", "/api/tournaments/matches/11", {"json": {"title": "x"}}),
        ("POST", "/api/tournaments/matches/11/advance-status", {"json": {"status": "started"}}),
        ("PUT", "/api/tournaments/matches/11/seed", {"json": {"url": "u"}}),
        ("POST", "/api/tournaments/crew/approve", {"json": {"crew_id": 21}}),
        ("POST", "/api/tournaments/crew/unapprove", {"content": b'{"crew_id": "21"}'}),
        ("GET", "/api/async-qualifiers/41", {}),  # live: plugin answers
        ("POST", "/api/async-qualifiers/41/races", {"json": {"pool_id": 51}}),
        ("POST", "/api/async-qualifiers/pools/51/permalinks", {"json": {"url": "u"}}),
        ("POST", "/api/async-qualifiers/races/61/finish", {}),
        ("PATCH", "/api/async-qualifiers/races/61/review", {"json": {}}),
    ]
    for method, path, options in plugin_bound:
        assert _backend(proxy, path, method=method, **options) == "plugin", f"{method} {path}"


@pytest.mark.usefixtures("base_flags")
def test_what_cannot_be_placed_goes_to_legacy(proxy: Server) -> None:
    legacy_bound = [
        ("PATCH", "/api/tournaments/matches/999", {}),  # the owner does not know it
        ("PATCH", "/api/tournaments/matches/12", {}),  # an organization in legacy mode
        ("POST", "/api/tournaments/crew/approve", {"json": {"crew_id": 999}}),
        ("POST", "/api/tournaments/crew/approve", {"content": b"not json"}),
        ("POST", "/api/tournaments/crew/approve", {"json": {"crew_id": True}}),
        ("PATCH", "/api/tournaments/9?organization_id=abc", {}),
        ("GET", "/api/tournaments/31", {}),  # not a route of the map (no GET)
        ("GET", f"/api/tournaments/organizations/{PLUGIN_ORG}/unknown", {}),
        ("GET", "/metrics-of-the-app", {}),
        ("GET", "/", {}),
    ]
    for method, path, options in legacy_bound:
        assert _backend(proxy, path, method=method, **options) == "legacy", f"{method} {path}"
    metrics = httpx.get(proxy.url + "/metrics").text
    assert re.search(
        r'strangler_decisions_total\{flag="tournament-api",mode="legacy",reason="no_organization"\} [1-9]',
        metrics,
    )
    assert re.search(
        r'strangler_decisions_total\{flag="none",mode="legacy",reason="unrouted"\} [1-9]', metrics
    )


@pytest.mark.usefixtures("base_flags")
def test_a_flip_takes_effect_for_the_next_requests(proxy: Server, flags_path: Path) -> None:
    path = f"/api/tournaments/organizations/{LEGACY_ORG}"
    assert _backend(proxy, path) == "legacy"
    flipped = {**BASE_ASSIGNMENTS, Surface.TOURNAMENT_API: {**MODES, LEGACY_ORG: "plugin"}}
    write_flags(flags_path, flag_document(flipped))
    delay = wait_for(lambda: _backend(proxy, path) == "plugin")
    print(f"\nflip-to-effect through the flag file (poll every 100 ms): {delay * 1000:.0f} ms")
    assert all(_backend(proxy, path) == "plugin" for _ in range(20))
    # The other surface of that organization is a separate flag: untouched.
    assert _backend(proxy, f"/api/async-qualifiers/organizations/{LEGACY_ORG}") == "legacy"


@pytest.mark.usefixtures("base_flags")
def test_rolling_back_one_organization_leaves_the_others(proxy: Server, flags_path: Path) -> None:
    rolled_back = {surface: {**modes, PLUGIN_ORG: "legacy"} for surface, modes in BASE_ASSIGNMENTS.items()}
    write_flags(flags_path, flag_document(rolled_back))
    wait_for(lambda: _backend(proxy, f"/api/tournaments/organizations/{PLUGIN_ORG}") == "legacy")
    assert _backend(proxy, f"/api/async-qualifiers/organizations/{PLUGIN_ORG}") == "legacy"
    assert (
        _backend(proxy, "/api/tournaments/matches/11/winner", method="POST") == "legacy"
    )  # cached owner, new mode
    for organization in (LEGACY_ORG, SHADOW_ORG, LIVE_ORG):
        assert _backend(proxy, f"/api/tournaments/organizations/{organization}") == EXPECTED[organization]


@pytest.mark.usefixtures("base_flags")
def test_the_kill_switch_sends_everything_to_legacy(proxy: Server, flags_path: Path) -> None:
    write_flags(flags_path, flag_document(BASE_ASSIGNMENTS, kill_switch=True))
    delay = wait_for(lambda: _backend(proxy, f"/api/tournaments/organizations/{PLUGIN_ORG}") == "legacy")
    print(f"\nkill-switch-to-effect: {delay * 1000:.0f} ms")
    for organization in MODES:
        response = httpx.get(proxy.url + f"/api/async-qualifiers/organizations/{organization}")
        assert served_by(response) == "legacy"
        assert response.headers["x-strangler-mode"] == "legacy"
    assert _backend(proxy, "/api/tournaments/matches/11", method="PATCH") == "legacy"
    metrics = httpx.get(proxy.url + "/metrics").text
    assert re.search(
        r'strangler_decisions_total\{flag="tournament-api",mode="legacy",reason="kill_switch"\} [1-9]',
        metrics,
    )
    write_flags(flags_path, flag_document(BASE_ASSIGNMENTS))
    wait_for(lambda: _backend(proxy, f"/api/tournaments/organizations/{PLUGIN_ORG}") == "plugin")


@pytest.mark.usefixtures("base_flags")
def test_a_percentage_split_keeps_each_caller_on_one_side(proxy: Server, flags_path: Path) -> None:
    split = {
        **BASE_ASSIGNMENTS,
        Surface.TOURNAMENT_API: {**MODES, SPLIT_ORG: [("legacy", 50), ("plugin", 50)]},
    }
    write_flags(flags_path, flag_document(split))
    path = f"/api/tournaments/organizations/{SPLIT_ORG}"
    wait_for(lambda: _backend(proxy, path, headers={"Authorization": "Bearer probe-0"}) != "")
    wait_for(lambda: _backend(proxy, f"/api/tournaments/organizations/{PLUGIN_ORG}") == "plugin")
    time.sleep(0.3)  # the document above is the one in force once both rules show
    sides: dict[str, str] = {}
    for caller in range(40):
        headers = {"Authorization": f"Bearer caller-token-{caller}"}
        seen = {_backend(proxy, path, headers=headers) for _ in range(3)}
        assert len(seen) == 1, f"caller {caller} moved between backends: {seen}"
        sides[f"caller-{caller}"] = seen.pop()
    assert set(sides.values()) == {"legacy", "plugin"}


@pytest.mark.usefixtures("base_flags")
def test_a_broken_flag_file_leaves_the_last_good_flags_in_force(proxy: Server, flags_path: Path) -> None:
    write_flags(flags_path, '{"flags": {"tournament-api": ')
    time.sleep(0.5)  # several polls of the broken file
    assert _backend(proxy, f"/api/tournaments/organizations/{PLUGIN_ORG}") == "plugin"
    assert _backend(proxy, f"/api/tournaments/organizations/{LEGACY_ORG}") == "legacy"
    health = httpx.get(proxy.url + "/_strangler/healthz").json()
    assert health["status"] == "ok"


@pytest.mark.usefixtures("base_flags")
def test_a_value_that_is_not_a_mode_means_legacy(proxy: Server, flags_path: Path) -> None:
    document = flag_document(BASE_ASSIGNMENTS)
    flag = document["flags"]["async-qualifier-api"]
    flag["variants"]["banana"] = "banana"
    flag["targeting"] = {"if": [{"==": [{"var": "organization"}, str(PLUGIN_ORG)]}, "banana", None]}
    write_flags(flags_path, document)
    wait_for(lambda: _backend(proxy, f"/api/async-qualifiers/organizations/{PLUGIN_ORG}") == "legacy")
    metrics = httpx.get(proxy.url + "/metrics").text
    assert re.search(
        r'strangler_decisions_total\{flag="async-qualifier-api",mode="legacy",reason="unknown_variant"\}',
        metrics,
    )


@pytest.mark.usefixtures("base_flags")
def test_metrics_label_only_organizations_under_migration(proxy: Server) -> None:
    for organization in range(100, 130):  # legacy organizations: counted under "other"
        httpx.get(proxy.url + f"/api/tournaments/organizations/{organization}")
    httpx.get(proxy.url + f"/api/tournaments/organizations/{PLUGIN_ORG}")
    metrics = httpx.get(proxy.url + "/metrics").text
    labels = set(re.findall(r'strangler_requests_total\{[^}]*organization="([^"]+)"', metrics))
    # Only organizations that were ever routed in a non-legacy mode get a series of their own.
    assert labels <= {"other", *map(str, (LEGACY_ORG, SHADOW_ORG, LIVE_ORG, PLUGIN_ORG, SPLIT_ORG))}
    assert {"other", str(PLUGIN_ORG)} <= labels
    assert re.search(
        r'strangler_request_duration_seconds_count\{backend="plugin",flag="tournament-api",mode="plugin",'
        rf'organization="{PLUGIN_ORG}"\}} [1-9]',
        metrics,
    )
    assert "process_resident_memory_bytes" in metrics
    assert re.search(r'strangler_owner_lookups_total\{result="found"\}', metrics)
