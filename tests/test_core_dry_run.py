"""core/dry_run: signed dry-run requests against real servers (SQLite and PostgreSQL) -
legacy_app's REST writes and Discord commands, and a toy app on the platform skeleton
(tests/dry_run_support.py) whose routes fail, hang, stream and work after their answer.

A dry run must answer exactly as the real request would and leave every table as it was;
a header that does not verify must be ignored (the request commits)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.dry_run import REPLAY_WINDOW_S, Verdict, sign, verify
from tests.async_qualifier_support import AsyncApi, execute
from tests.discord_support import option, snowflake
from tests.dry_run_support import HEADER, dry_run_header, table_counts
from tests.factory import Caller, Factory, Org
from tests.legacy_discord_support import APPLICATION_ID, command, discord_env, ephemeral, eventually, received
from tests.plugin_support import plugin_app_server
from tests.servers import Server, run_server
from tests.tournament_support import TournamentApi

SECRET = "dry-run-test-secret"
CAPTURED = "X-Strangler-Dry-Run-Captured"
WAIT_S = 10.0


@pytest.fixture(scope="module")
def legacy(database_url: str, discord_api: Server, server_logs: Path) -> Iterator[Server]:
    env = discord_env(database_url, discord_api, scheduler_enabled="false", dry_run_secret=SECRET)
    with run_server("legacy_app.main:app", env, server_logs) as server:
        yield server


@pytest.fixture(scope="module")
def toy(database_url: str, server_logs: Path) -> Iterator[Server]:
    env = {
        "DATABASE_URL": database_url,
        "DISCORD_APPLICATION_ID": str(APPLICATION_ID),
        "DRY_RUN_SECRET": SECRET,
        "DRY_RUN_TIMEOUT_SECONDS": "1",
    }
    with run_server("tests.dry_run_support:app", env, server_logs) as server:
        yield server


@pytest.fixture(scope="module")
def plugin(database_url: str, server_logs: Path) -> Iterator[Server]:
    with plugin_app_server(
        database_url, server_logs, DRY_RUN_SECRET=SECRET, SCHEDULER_ENABLED="false"
    ) as server:
        yield server


@pytest.fixture
def tournaments(legacy: Server) -> Iterator[TournamentApi]:
    with TournamentApi(legacy.url) as api:
        yield api


@pytest.fixture
def qualifiers(legacy: Server) -> Iterator[AsyncApi]:
    with AsyncApi(legacy.url) as api:
        yield api


def target(path: str, params: dict[str, Any] | None = None) -> bytes:
    return str(httpx.URL(path, params=params)).encode("ascii")


def signed(
    method: str, path: str, params: dict[str, Any] | None = None, secret: str = SECRET
) -> dict[str, str]:
    return {HEADER: dry_run_header(secret, method, target(path, params))}


def comparable(body: Any) -> Any:
    """A body minus what may differ between a dry run and its real twin: generated ids
    (PostgreSQL sequences do not roll back) and timestamps."""
    if isinstance(body, dict):
        return {
            key: comparable(value)
            for key, value in body.items()
            if key != "id" and not key.endswith(("_at", "_time"))
        }
    if isinstance(body, list):
        return [comparable(item) for item in body]
    return body


def dry_then_real(
    client: httpx.Client, method: str, path: str, caller: Caller, factory: Factory, **kwargs: Any
) -> tuple[httpx.Response, httpx.Response]:
    """The request as a dry run (asserting every table is unchanged), then for real."""
    before = table_counts(factory)
    headers = {**caller.headers, **signed(method, path, kwargs.get("params"))}
    dry = client.request(method, path, headers=headers, **kwargs)
    assert dry.headers.get(HEADER) == "applied", dry.text
    assert table_counts(factory) == before
    real = client.request(method, path, headers=caller.headers, **kwargs)
    assert HEADER.lower() not in real.headers
    return dry, real


def assert_same_answer(dry: httpx.Response, real: httpx.Response) -> None:
    assert (dry.status_code, dry.headers["content-type"]) == (real.status_code, real.headers["content-type"])
    assert comparable(dry.json()) == comparable(real.json())


def dry_run_counts(base_url: str) -> dict[str, float]:
    """strangler_dry_run_requests_total by outcome, as the server exports it."""
    counts = {}
    for line in httpx.get(base_url + "/metrics", timeout=WAIT_S).text.splitlines():
        if line.startswith("strangler_dry_run_requests_total{"):
            labels, value = line.split(" ")
            counts[labels.split('"')[1]] = float(value)
    return counts


# --- the header ---------------------------------------------------------------------------


def test_the_proxys_copy_of_the_signing_function_matches_core() -> None:
    now = 1_800_000_000.7
    for method, path in [("POST", b"/api/x?organization_id=3&a=%20b"), ("delete", b"/discord/interactions")]:
        assert dry_run_header(SECRET, method, path, now=now) == sign(SECRET, method, path, now=now)
        header = sign(SECRET, method, path, now=now).encode()
        assert verify(header, secret=SECRET, method=method.upper(), target=path, now=now) is Verdict.VALID


@pytest.mark.parametrize(
    ("header", "secret", "method", "path", "now", "verdict"),
    [
        (b"v1:1800000000:" + b"0" * 64, "", "POST", b"/a", 1_800_000_000, Verdict.NO_SECRET),
        (b"nonsense", SECRET, "POST", b"/a", 1_800_000_000, Verdict.MALFORMED),
        (b"v2:1800000000:" + b"0" * 64, SECRET, "POST", b"/a", 1_800_000_000, Verdict.MALFORMED),
        (b"v1:-1800000000:" + b"0" * 64, SECRET, "POST", b"/a", 1_800_000_000, Verdict.MALFORMED),
        (b"v1:1800000000:" + b"0" * 63, SECRET, "POST", b"/a", 1_800_000_000, Verdict.MALFORMED),
        (b"v1:1800000000:" + b"g" * 64, SECRET, "POST", b"/a", 1_800_000_000, Verdict.MALFORMED),
        (b"v1:1800000000:\xff", SECRET, "POST", b"/a", 1_800_000_000, Verdict.MALFORMED),
        (b"v1:1800000000:" + b"0" * 64, SECRET, "POST", b"/a", 1_800_000_000, Verdict.BAD_SIGNATURE),
        ("signed", "other-secret", "POST", b"/a", 1_800_000_000, Verdict.BAD_SIGNATURE),
        ("signed", SECRET, "PUT", b"/a", 1_800_000_000, Verdict.BAD_SIGNATURE),
        ("signed", SECRET, "POST", b"/a?b=1", 1_800_000_000, Verdict.BAD_SIGNATURE),
        ("signed", SECRET, "POST", b"/a", 1_800_000_000 + REPLAY_WINDOW_S, Verdict.VALID),
        ("signed", SECRET, "POST", b"/a", 1_800_000_000 - REPLAY_WINDOW_S, Verdict.VALID),
        ("signed", SECRET, "POST", b"/a", 1_800_000_000 + REPLAY_WINDOW_S + 1, Verdict.EXPIRED),
        ("signed", SECRET, "POST", b"/a", 1_800_000_000 - REPLAY_WINDOW_S - 1, Verdict.EXPIRED),
    ],
)
def test_verdicts(
    header: bytes | str, secret: str, method: str, path: str, now: float, verdict: Verdict
) -> None:
    if header == "signed":  # signed for POST /a at 1_800_000_000 with SECRET
        header = dry_run_header(SECRET, "POST", b"/a", now=1_800_000_000).encode()
    assert verify(header, secret=secret, method=method, target=path, now=now) is verdict


# --- legacy_app's REST writes ------------------------------------------------------------


def test_dry_run_tournament_creation_answers_like_the_real_one_and_commits_nothing(
    tournaments: TournamentApi, factory: Factory
) -> None:
    org = Org.make(factory)
    path = f"/api/tournaments/organizations/{org.id}"
    body = {"name": factory.unique("cup"), "description": "dry"}
    counts = dry_run_counts(tournaments.base_url)
    dry, real = dry_then_real(tournaments.client, "POST", path, org.manager, factory, json=body)
    assert dry.status_code == 201
    assert dry.headers[CAPTURED] == "0"
    assert_same_answer(dry, real)
    listed = tournaments.client.get(path, headers=org.manager.headers).json()
    assert [t["name"] for t in listed] == [body["name"]]
    assert dry_run_counts(tournaments.base_url)["applied"] == counts["applied"] + 1


def test_dry_run_match_creation_with_query_string_and_nested_transactions(
    tournaments: TournamentApi, factory: Factory
) -> None:
    org = Org.make(factory)
    tournament = tournaments.create_tournament(org.manager, org.id, name=factory.unique("cup"))
    body = {
        "tournament_id": tournament["id"],
        "player_ids": [org.member.user_id, org.moderator.user_id],
        "title": "Round 1",
    }
    dry, real = dry_then_real(
        tournaments.client,
        "POST",
        "/api/tournaments/matches",
        org.manager,
        factory,
        params={"organization_id": org.id},
        json=body,
    )
    assert dry.status_code == 201
    assert_same_answer(dry, real)
    assert [m["id"] for m in tournaments.matches(org.manager, org.id)] == [real.json()["id"]]


def test_dry_run_of_a_refused_write_answers_the_same_refusal(
    tournaments: TournamentApi, factory: Factory
) -> None:
    org = Org.make(factory)
    path = f"/api/tournaments/organizations/{org.id}"
    dry, real = dry_then_real(tournaments.client, "POST", path, org.member, factory, json={"name": "nope"})
    assert dry.status_code == 403
    assert_same_answer(dry, real)


def test_dry_run_opening_an_async_race_commits_nothing(qualifiers: AsyncApi, factory: Factory) -> None:
    org = Org.make(factory)
    qualifier = qualifiers.qualifier(org.manager, org.id)
    pool = qualifiers.pool(org.manager, qualifier["id"], "Standard", permalinks=2)
    path = f"{AsyncApi.PREFIX}/{qualifier['id']}/races"
    dry, real = dry_then_real(
        qualifiers.client, "POST", path, org.member, factory, json={"pool_id": pool["id"]}
    )
    assert dry.status_code == 201
    assert_same_answer(dry, real)
    rows = execute(factory, "SELECT id FROM async_qualifier_races WHERE qualifier_id = ?", qualifier["id"])
    assert [row["id"] for row in rows] == [real.json()["id"]]


def test_plugin_app_honours_the_same_header_and_answers_like_legacy(
    legacy: Server, plugin: Server, factory: Factory
) -> None:
    org = Org.make(factory)
    path = f"/api/tournaments/organizations/{org.id}"
    body = {"name": factory.unique("cup")}
    before = table_counts(factory)
    answers = [
        httpx.post(server.url + path, json=body, headers={**org.manager.headers, **signed("POST", path)})
        for server in (legacy, plugin)
    ]
    assert table_counts(factory) == before
    assert [a.headers[HEADER] for a in answers] == ["applied", "applied"]
    assert_same_answer(*answers)


# --- legacy_app's Discord commands -------------------------------------------------------


def test_dry_run_async_start_replies_with_the_seed_but_opens_no_race_and_no_thread(
    legacy: Server, discord_api: Server, qualifiers: AsyncApi, factory: Factory
) -> None:
    org = Org.make(factory)
    channel = snowflake()
    qualifier = qualifiers.qualifier(org.manager, org.id, discord_channel_id=channel)
    qualifiers.pool(org.manager, qualifier["id"], "Standard", permalinks=1)
    payload = command("async_start", option("pool", "Standard"), user=org.member, channel=channel)
    seed = ephemeral("Your seed for pool 'Standard': https://seeds.example/Standard/0")
    races = "SELECT id FROM async_qualifier_races WHERE qualifier_id = ?"

    before = table_counts(factory)
    dry = httpx.post(
        legacy.url + "/discord/interactions",
        json=payload,
        headers=signed("POST", "/discord/interactions"),
        timeout=WAIT_S,
    )
    assert (dry.status_code, dry.json()) == (200, seed)
    # The thread the command opens after its reply was captured, not sent.
    assert (dry.headers[HEADER], dry.headers[CAPTURED]) == ("applied", "1")
    assert table_counts(factory) == before
    assert not received(discord_api, lambda r: str(channel) in r["path"])

    real = httpx.post(legacy.url + "/discord/interactions", json=payload, timeout=WAIT_S)
    assert (real.status_code, real.json()) == (200, seed)
    [race] = execute(factory, races, qualifier["id"])
    thread = eventually(
        lambda: execute(
            factory, "SELECT discord_thread_id FROM async_qualifier_races WHERE id = ?", race["id"]
        )[0]["discord_thread_id"],
        "the real race's thread",
    )
    assert thread
    assert len(received(discord_api, lambda r: r["path"] == f"/channels/{channel}/threads")) == 1


# --- headers that do not verify ----------------------------------------------------------


def _garbage(method: str, path: str) -> list[tuple[str, str]]:
    return [(HEADER, "nonsense")]


def _expired(method: str, path: str) -> list[tuple[str, str]]:
    return [(HEADER, dry_run_header(SECRET, method, path.encode(), now=time.time() - 2 * REPLAY_WINDOW_S))]


def _wrong_secret(method: str, path: str) -> list[tuple[str, str]]:
    return [(HEADER, dry_run_header("not-the-secret", method, path.encode()))]


def _other_path(method: str, path: str) -> list[tuple[str, str]]:
    return [(HEADER, dry_run_header(SECRET, method, (path + "?x=1").encode()))]


def _other_method(method: str, path: str) -> list[tuple[str, str]]:
    return [(HEADER, dry_run_header(SECRET, "PUT", path.encode()))]


def _twice(method: str, path: str) -> list[tuple[str, str]]:
    header = dry_run_header(SECRET, method, path.encode())
    return [(HEADER, header), (HEADER, header)]


@pytest.mark.parametrize(
    ("make_headers", "outcome"),
    [
        (_garbage, "ignored_malformed"),
        (_expired, "ignored_expired"),
        (_wrong_secret, "ignored_bad_signature"),
        (_other_path, "ignored_bad_signature"),
        (_other_method, "ignored_bad_signature"),
        (_twice, "ignored_malformed"),
    ],
)
def test_a_header_that_does_not_verify_is_ignored_and_the_write_commits(
    tournaments: TournamentApi, factory: Factory, make_headers: Any, outcome: str
) -> None:
    org = Org.make(factory)
    path = f"/api/tournaments/organizations/{org.id}"
    name = factory.unique("cup")
    counts = dry_run_counts(tournaments.base_url)
    headers = [*org.manager.headers.items(), *make_headers("POST", path)]
    response = tournaments.client.post(path, json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    assert HEADER.lower() not in response.headers
    listed = tournaments.client.get(path, headers=org.manager.headers).json()
    assert [t["name"] for t in listed] == [name]
    after = dry_run_counts(tournaments.base_url)
    assert after[outcome] == counts[outcome] + 1
    assert after["applied"] == counts["applied"]


# --- concurrency --------------------------------------------------------------------------


def test_interleaved_dry_runs_and_real_writes_do_not_interfere(
    tournaments: TournamentApi, factory: Factory
) -> None:
    org = Org.make(factory)
    path = f"/api/tournaments/organizations/{org.id}"
    requests = [
        (f"{kind}-{n}-{factory.unique('cup')}", kind == "dry") for n in range(10) for kind in ("real", "dry")
    ]

    def send(request: tuple[str, bool]) -> httpx.Response:
        name, dry = request
        headers = {**org.manager.headers, **(signed("POST", path) if dry else {})}
        with httpx.Client(base_url=tournaments.base_url, timeout=30) as client:
            return client.post(path, json={"name": name}, headers=headers)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        responses = list(pool.map(send, requests))

    for (name, dry), response in zip(requests, responses, strict=True):
        assert response.status_code == 201, response.text
        assert response.json()["name"] == name
        assert response.headers.get(HEADER) == ("applied" if dry else None)
    listed = sorted(t["name"] for t in tournaments.client.get(path, headers=org.manager.headers).json())
    assert listed == sorted(name for name, dry in requests if not dry)


# --- the boundary's edges, on the toy app -------------------------------------------------


def organizations_named(factory: Factory, *names: str) -> list[str]:
    marks = ", ".join("?" for _ in names)
    rows = execute(factory, f"SELECT name FROM organization WHERE name IN ({marks}) ORDER BY name", *names)
    return [row["name"] for row in rows]


def toy_dry(toy: Server, path: str, params: dict[str, Any], method: str = "POST") -> httpx.Response:
    return httpx.request(
        method, toy.url + path, params=params, headers=signed(method, path, params), timeout=WAIT_S
    )


def test_a_savepoint_survives_a_unique_violation_inside_a_dry_run(toy: Server, factory: Factory) -> None:
    name = factory.unique("twice")
    before = table_counts(factory)
    dry = toy_dry(toy, "/toy/organizations/twice", {"name": name})
    assert table_counts(factory) == before
    real = httpx.post(toy.url + "/toy/organizations/twice", params={"name": name}, timeout=WAIT_S)
    assert (
        (dry.status_code, dry.json())
        == (real.status_code, real.json())
        == (
            201,
            {"conflict": True, "after": f"{name}-after"},
        )
    )
    assert organizations_named(factory, name, f"{name}-after") == [name, f"{name}-after"]


def test_an_unhandled_error_answers_the_apps_500_and_rolls_back(toy: Server, factory: Factory) -> None:
    name = factory.unique("fail")
    dry = toy_dry(toy, "/toy/organizations/fail", {"name": name})
    assert (dry.status_code, dry.json(), dry.headers[HEADER]) == (
        500,
        {"detail": "Internal server error"},
        "applied",
    )
    assert organizations_named(factory, name) == []
    real = httpx.post(toy.url + "/toy/organizations/fail", params={"name": name}, timeout=WAIT_S)
    assert (real.status_code, real.json()) == (500, {"detail": "Internal server error"})
    assert organizations_named(factory, name) == [name]  # a real request commits before failing


def test_a_dry_run_past_its_budget_is_cancelled_rolled_back_and_answered_503(
    toy: Server, factory: Factory
) -> None:
    name, after = factory.unique("hang"), factory.unique("after-hang")
    dry = toy_dry(toy, "/toy/organizations/hang", {"name": name})
    assert (dry.status_code, dry.headers[HEADER]) == (503, "timed_out")
    assert dry.json() == {"detail": "The dry run did not finish within 1 s"}
    assert organizations_named(factory, name) == []
    # The transaction (on SQLite the write lock) is free again.
    real = httpx.post(toy.url + "/toy/organizations", params={"name": after}, timeout=WAIT_S)
    assert real.status_code == 201
    assert organizations_named(factory, after) == [after]
    assert dry_run_counts(toy.url)["timed_out"] >= 1


def test_a_real_write_waits_for_a_hanging_dry_run_and_commits_once(toy: Server, factory: Factory) -> None:
    hung, name = factory.unique("hang"), factory.unique("real")

    def dry_run() -> httpx.Response:
        return toy_dry(toy, "/toy/organizations/hang", {"name": hung})

    def real() -> tuple[httpx.Response, httpx.Response]:
        seen = httpx.get(toy.url + "/toy/in-dry-run", timeout=WAIT_S)
        return seen, httpx.post(toy.url + "/toy/organizations", params={"name": name}, timeout=WAIT_S)

    with ThreadPoolExecutor(max_workers=2) as pool:
        dry_future = pool.submit(dry_run)
        time.sleep(0.3)  # let the dry run open its transaction first (order only, not timing)
        seen, written = pool.submit(real).result()
        assert dry_future.result().status_code == 503
    assert seen.json() == {"dry_run": False}  # the dry run's context stays in its own request
    assert written.status_code == 201 and HEADER.lower() not in written.headers
    assert organizations_named(factory, hung, name) == [name]


def test_a_task_the_request_started_is_rolled_back_with_it(toy: Server, factory: Factory) -> None:
    dry_name, real_name = factory.unique("later"), factory.unique("later")
    dry = toy_dry(toy, "/toy/organizations/later", {"name": dry_name})
    assert (dry.status_code, dry.json(), dry.headers[HEADER]) == (202, {"accepted": dry_name}, "applied")
    real = httpx.post(toy.url + "/toy/organizations/later", params={"name": real_name}, timeout=WAIT_S)
    assert real.status_code == 202
    eventually(lambda: organizations_named(factory, real_name), "the real request's late write")
    assert organizations_named(factory, dry_name) == []


def test_a_discord_commands_work_after_its_reply_is_rolled_back_with_it(
    toy: Server, factory: Factory
) -> None:
    dry_name, real_name = factory.unique("later"), factory.unique("later")
    path = "/discord/interactions"

    def payload(name: str) -> dict[str, Any]:
        return command("toy_later", option("name", name), user=snowflake(), channel=snowflake())

    dry = httpx.post(toy.url + path, json=payload(dry_name), headers=signed("POST", path), timeout=WAIT_S)
    assert (dry.json(), dry.headers[HEADER]) == (ephemeral(f"creating {dry_name}"), "applied")
    real = httpx.post(toy.url + path, json=payload(real_name), timeout=WAIT_S)
    assert real.json() == ephemeral(f"creating {real_name}")
    eventually(lambda: organizations_named(factory, real_name), "the real command's late write")
    assert organizations_named(factory, dry_name) == []


def test_a_streamed_response_is_buffered_before_the_rollback(toy: Server, factory: Factory) -> None:
    name = factory.unique("stream")
    dry = toy_dry(toy, "/toy/organizations/stream", {"name": name})
    assert (dry.status_code, dry.json(), dry.headers[HEADER]) == (200, {"name": name}, "applied")
    assert organizations_named(factory, name) == []


def test_outbound_calls_are_captured_and_counted(toy: Server, factory: Factory) -> None:
    name = factory.unique("notify")
    dry = toy_dry(toy, "/toy/organizations/notify", {"name": name, "channel_id": snowflake()})
    assert (dry.status_code, dry.headers[HEADER], dry.headers[CAPTURED]) == (201, "applied", "1")
    assert organizations_named(factory, name) == []


def test_a_signed_read_is_a_dry_run_too(toy: Server) -> None:
    assert toy_dry(toy, "/toy/in-dry-run", {}, method="GET").json() == {"dry_run": True}
    assert httpx.get(toy.url + "/toy/in-dry-run", timeout=WAIT_S).json() == {"dry_run": False}
