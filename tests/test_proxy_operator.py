"""The operator surface: `strangler status|flip|rollback|kill-switch|audit|apply-flags` run
as subprocesses, and the operator API served by a real uvicorn, on SQLite and PostgreSQL
(the proxy's own records)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import postgres_database, sqlite_url
from tests.servers import ROOT, Server, free_port, run_server

SEED = ROOT / "flags" / "flags.json"
STRANGLER = str(Path(sys.executable).with_name("strangler"))
ADMIN_TOKEN = "operator-test-token"
BACKENDS = [b for b in os.environ.get("STRANGLER_TEST_BACKENDS", "sqlite,postgres").split(",") if b]


@pytest.fixture(scope="module", params=BACKENDS)
def proxy_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for the proxy's own records; the first command migrates it."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("proxy-records"))
    else:
        with postgres_database() as url:
            yield url


@dataclass
class Operator:
    """`strangler` pointed at one live flag document and the proxy's records."""

    env: dict[str, str]
    flags_path: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [STRANGLER, *args], env=self.env, capture_output=True, text=True, timeout=60, cwd=ROOT
        )

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def fails(self, *args: str) -> str:
        """The one-line error of a refused command (and that nothing else was printed)."""
        result = self.run(*args)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr + result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]

    def status(self, *args: str) -> dict[str, Any]:
        return json.loads(self.ok("status", "--json", *args))

    def modes(self) -> dict[int, dict[str, str]]:
        return {org["organization_id"]: org["modes"] for org in self.status()["organizations"]}

    def audit(self, reason_prefix: str) -> list[dict[str, Any]]:
        entries = json.loads(self.ok("audit", "--json", "--limit", "1000"))
        return [e for e in entries if e["reason"].startswith(reason_prefix)]


def make_operator(tmp_path: Path, database_url: str) -> Operator:
    flags_path = tmp_path / "var" / "flags.json"
    env = {
        **os.environ,
        "STRANGLER_FLAGS_PATH": str(flags_path),
        "STRANGLER_SEED_FLAGS": str(SEED),
        "STRANGLER_DATABASE_URL": database_url,
        "STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN,
        "COLUMNS": "200",
    }
    return Operator(env, flags_path)


@pytest.fixture
def operator(tmp_path: Path, proxy_database_url: str) -> Operator:
    """On each backend: for what touches the audit log."""
    return make_operator(tmp_path, proxy_database_url)


@pytest.fixture
def local_operator(tmp_path: Path) -> Operator:
    """On a SQLite file of its own, with the live document already in place: for what
    does not depend on the database backend."""
    local = make_operator(tmp_path, sqlite_url(tmp_path))
    local.flags_path.parent.mkdir(parents=True)
    local.flags_path.write_bytes(SEED.read_bytes())
    return local


def unique(prefix: str, tmp_path: Path) -> str:
    return f"{prefix} {tmp_path.name}"


# -- the CLI --------------------------------------------------------------------------


def test_status_starts_all_legacy_from_the_seed(tmp_path: Path) -> None:
    operator = make_operator(tmp_path, sqlite_url(tmp_path))
    out = operator.ok("status")
    assert "kill switch: off" in out and "every organization is on legacy" in out
    assert operator.flags_path.read_text() == SEED.read_text()
    out = operator.ok("status", "--org", "41")
    assert "41" in out and "tournament-api" in out and "async-qualifier-discord" in out
    assert operator.status("--org", "41")["organizations"] == [
        {
            "organization_id": 41,
            "modes": {
                "tournament-api": "legacy",
                "async-qualifier-api": "legacy",
                "async-qualifier-discord": "legacy",
            },
        }
    ]


def test_flip_rollback_and_kill_switch_are_written_and_audited(
    local_operator: Operator, tmp_path: Path
) -> None:
    """The CLI end to end (the database backends are covered through the API below)."""
    operator = local_operator
    reason = unique("cli flow", tmp_path)
    # No proxy runs here, so the cutover gate is inconclusive: moves that let the plugin
    # answer are forced (the gate itself is under test in tests/test_gate*.py).
    assert "tournament-api organization 3: legacy -> live" in operator.ok(
        "flip", "tournament-api", "--org", "3", "--to", "live", "--reason", reason, "--force"
    )
    operator.ok("flip", "async-qualifier-api", "--org", "3", "--to", "shadow", "--reason", reason)
    operator.ok(
        "flip", "async-qualifier-discord", "--org", "5", "--to", "shadow=25,legacy=75", "--reason", reason
    )
    operator.ok("flip", "tournament-api", "--org", "7", "--to", "plugin", "--reason", reason, "--force")
    assert "already live; nothing written" in operator.ok(
        "flip", "tournament-api", "--org", "3", "--to", "live", "--reason", reason, "--force"
    )
    table = operator.ok("status")
    assert "shadow=25,legacy=75" in table and "plugin" in table and "kill switch: off" in table
    assert operator.modes()[3] == {
        "tournament-api": "live",
        "async-qualifier-api": "shadow",
        "async-qualifier-discord": "legacy",
    }

    operator.ok("rollback", "--org", "3", "--reason", reason)
    modes = operator.modes()
    assert set(modes[3].values()) == {"legacy"}, "every flag of organization 3 is back on legacy"
    assert (
        modes[7]["tournament-api"] == "plugin"
        and modes[5]["async-qualifier-discord"] == "shadow=25,legacy=75"
    )

    operator.ok("kill-switch", "on", "--reason", reason)
    assert "kill switch ON" in operator.ok("status")
    operator.ok("rollback", "--all", "--reason", reason)
    status = operator.status()
    assert status["kill_switch"] is True, "rollback moves organizations; the kill switch is its own lever"
    assert all(set(org["modes"].values()) == {"legacy"} for org in status["organizations"])
    operator.ok("kill-switch", "off", "--reason", reason)

    entries = operator.audit(reason)
    changes = [(e["flag"], e["organization_id"], e["from"], e["to"]) for e in reversed(entries)]
    assert changes == [
        ("tournament-api", 3, "legacy", "live"),
        ("async-qualifier-api", 3, "legacy", "shadow"),
        ("async-qualifier-discord", 5, "legacy", "shadow=25,legacy=75"),
        ("tournament-api", 7, "legacy", "plugin"),
        ("tournament-api", 3, "live", "legacy"),
        ("async-qualifier-api", 3, "shadow", "legacy"),
        ("kill-switch", None, "off", "on"),
        ("tournament-api", 7, "plugin", "legacy"),
        ("async-qualifier-discord", 5, "shadow=25,legacy=75", "legacy"),
        ("kill-switch", None, "on", "off"),
    ]
    gated = {(e["flag"], e["organization_id"], e["to"]): e["gate_verdict"] for e in entries}
    assert gated[("tournament-api", 3, "live")] == "inconclusive", "the forced move keeps its verdict"
    assert gated[("async-qualifier-api", 3, "shadow")] is None
    assert gated[("tournament-api", 3, "legacy")] is None, "rollback is never gated"
    assert all(e["actor"].startswith("cli") for e in entries)
    assert reason in operator.ok("audit", "--limit", "3")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["flip", "bogus", "--org", "3", "--to", "live", "--reason", "x"], "unknown flag 'bogus'"),
        (["flip", "tournament-api", "--org", "3", "--to", "turbo", "--reason", "x"], "unknown mode 'turbo'"),
        (["flip", "tournament-api", "--org", "0", "--to", "live", "--reason", "x"], "positive integer"),
        (["flip", "tournament-api", "--org", "3", "--to", "live", "--reason", "  "], "a reason is required"),
        (
            ["flip", "tournament-api", "--org", "3", "--to", "shadow=60,legacy=60", "--reason", "x"],
            "100 percent",
        ),
        (["rollback"], "give either --org N or --all"),
        (["rollback", "--org", "3", "--all"], "give either --org N or --all"),
        (["kill-switch", "maybe"], "on or off, not 'maybe'"),
        (["apply-flags", "/nonexistent/flags.json", "--reason", "x"], "cannot read /nonexistent/flags.json"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    local_operator: Operator, args: list[str], message: str
) -> None:
    operator = local_operator
    before = operator.flags_path.read_bytes(), operator.flags_path.stat().st_mtime_ns
    assert message in operator.fails(*args)
    assert (operator.flags_path.read_bytes(), operator.flags_path.stat().st_mtime_ns) == before


def test_an_unusable_database_is_one_line_and_writes_nothing(local_operator: Operator) -> None:
    operator = local_operator
    operator.env["STRANGLER_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    before = operator.flags_path.read_bytes(), operator.flags_path.stat().st_mtime_ns
    message = operator.fails("flip", "tournament-api", "--org", "3", "--to", "shadow", "--reason", "x")
    assert "the proxy's database postgres://postgres@127.0.0.1:" in message and "is not usable" in message
    assert (operator.flags_path.read_bytes(), operator.flags_path.stat().st_mtime_ns) == before


def test_a_wrong_document_is_refused_and_never_written(local_operator: Operator, tmp_path: Path) -> None:
    operator = local_operator
    before = operator.flags_path.read_bytes(), operator.flags_path.stat().st_mtime_ns
    bad = json.loads(SEED.read_text())
    bad["flags"]["tournament-api"]["targeting"] = {
        "if": [{"in": [{"var": "organization"}, ["3"]]}, "turbo", None]
    }
    candidate = tmp_path / "candidate.json"
    candidate.write_text(json.dumps(bad))
    assert "targeting names variant 'turbo'" in operator.fails("apply-flags", str(candidate), "--reason", "x")
    candidate.write_text('{"flags": ')
    assert "not valid JSON" in operator.fails("apply-flags", str(candidate), "--reason", "x")
    assert (operator.flags_path.read_bytes(), operator.flags_path.stat().st_mtime_ns) == before


def test_a_broken_live_file_is_not_built_on_until_replaced(local_operator: Operator, tmp_path: Path) -> None:
    operator = local_operator
    reason = unique("repair", tmp_path)
    operator.ok("flip", "tournament-api", "--org", "3", "--to", "shadow", "--reason", reason)
    operator.flags_path.write_text('{"flags": {"tournament-api": ')  # an editor saved half a file
    message = operator.fails("flip", "tournament-api", "--org", "4", "--to", "shadow", "--reason", reason)
    assert f"the flags file {operator.flags_path} is broken: it is not valid JSON" in message
    assert "strangler apply-flags" in message
    assert "is broken" in operator.fails("status")
    assert operator.flags_path.read_text() == '{"flags": {"tournament-api": '

    operator.ok("apply-flags", str(SEED), "--reason", reason)
    assert operator.flags_path.read_text() == SEED.read_text()
    assert operator.modes() == {}
    assert next((e["flag"], e["from"], e["to"]) for e in operator.audit(reason)) == (
        "*",
        "unreadable",
        "replaced",
    )


# Each worker process flips its share of organizations through the store, as the CLI and
# the API do; all start at once (a file appears) so their writes really overlap.
FLIP_WORKER = """
import asyncio, os, sys, time
from pathlib import Path
from proxy.database import ProxyDatabase
from proxy.flags.store import FlagStore
from proxy.modes import Mode, Surface
from proxy.settings import ProxySettings

async def main(go: Path, reason: str, orgs: list[int]) -> None:
    settings = ProxySettings()
    database = ProxyDatabase(settings.database_url)
    store = FlagStore.from_settings(settings, database)
    deadline = time.monotonic() + 30
    while not go.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    for org in orgs:
        mode = (Mode.SHADOW, Mode.LIVE, Mode.PLUGIN)[org % 3]
        actor = f"worker-{os.getpid()}"
        await store.flip(Surface.TOURNAMENT_API, org, mode, actor=actor, reason=f"{reason} {org}")
    await database.close()

asyncio.run(main(Path(sys.argv[1]), sys.argv[2], [int(org) for org in sys.argv[3:]]))
"""


def test_concurrent_flips_from_several_processes_lose_nothing(operator: Operator, tmp_path: Path) -> None:
    """20 flips from 4 processes at once: every one is in the document and the audit log."""
    reason = unique("concurrent", tmp_path)
    go = tmp_path / "go"
    orgs = list(range(101, 121))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", FLIP_WORKER, str(go), reason, *map(str, orgs[i::4])],
            env=operator.env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    go.touch()
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr

    modes = operator.modes()
    assert {org: modes[org]["tournament-api"] for org in orgs} == {
        org: ("shadow", "live", "plugin")[org % 3] for org in orgs
    }
    entries = operator.audit(reason)
    assert sorted(e["organization_id"] for e in entries) == orgs
    assert len({e["id"] for e in entries}) == 20
    assert len({e["actor"] for e in entries}) == 4


# -- the operator API -----------------------------------------------------------------


@pytest.fixture
def operator_api(operator: Operator, tmp_path: Path) -> Iterator[Server]:
    with run_server("tests.proxy_operator_support:app", operator.env, tmp_path) as server:
        yield server


@pytest.fixture
def local_operator_api(local_operator: Operator, tmp_path: Path) -> Iterator[Server]:
    with run_server("tests.proxy_operator_support:app", local_operator.env, tmp_path) as server:
        yield server


def api(server: Server, token: str | None = ADMIN_TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(base_url=server.url + "/_strangler/api", headers=headers, timeout=10)


def test_the_api_wants_the_admin_token(local_operator_api: Server) -> None:
    operator_api = local_operator_api
    for client in (api(operator_api, None), api(operator_api, "wrong"), api(operator_api, ADMIN_TOKEN + "x")):
        for method, path in [("GET", "/status"), ("POST", "/flip"), ("GET", "/audit"), ("PUT", "/document")]:
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, path)
            assert response.json() == {"detail": "a valid operator bearer token is required"}
            assert response.headers["www-authenticate"] == "Bearer"
    basic = httpx.get(
        operator_api.url + "/_strangler/api/status",
        headers={"Authorization": f"Basic {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert basic.status_code == 401


def test_the_api_flips_rolls_back_and_audits(
    operator_api: Server, operator: Operator, tmp_path: Path
) -> None:
    reason = unique("api flow", tmp_path)
    with api(operator_api) as client:
        assert client.get("/status").json() == {
            "kill_switch": False,
            "flags": ["tournament-api", "async-qualifier-api", "async-qualifier-discord"],
            "organizations": [],
        }
        flipped = client.post(
            "/flip", json={"flag": "tournament-api", "organization_id": 8, "mode": "live", "reason": reason}
        )
        assert flipped.status_code == 200
        assert flipped.json() == {
            "changed": True,
            "changes": [{"flag": "tournament-api", "organization_id": 8, "from": "legacy", "to": "live"}],
            "gate_verdict": "not_checked",
            "forced": False,
        }
        again = client.post(
            "/flip", json={"flag": "tournament-api", "organization_id": 8, "mode": "live", "reason": reason}
        )
        assert again.json()["changed"] is False
        client.post(
            "/flip",
            json={
                "flag": "async-qualifier-api",
                "organization_id": 9,
                "mode": "shadow=10,legacy=90",
                "reason": reason,
            },
        ).raise_for_status()
        status = client.get("/status", params={"organization_id": [10]}).json()
        assert [(o["organization_id"], o["modes"]["tournament-api"]) for o in status["organizations"]] == [
            (8, "live"),
            (9, "legacy"),
            (10, "legacy"),
        ]
        assert operator.modes()[8]["tournament-api"] == "live", "the CLI reads what the API wrote"
        document = client.get("/document").json()
        assert document["flags"]["tournament-api"]["targeting"]["if"][1] == "live"

        rolled = client.post("/rollback", json={"organization_id": 8, "reason": reason}).json()
        assert rolled["changes"] == [
            {"flag": "tournament-api", "organization_id": 8, "from": "live", "to": "legacy"}
        ]
        assert rolled["gate_verdict"] is None
        assert client.post("/kill-switch", json={"on": True, "reason": reason}).json()["changed"] is True
        assert client.get("/status").json()["kill_switch"] is True
        everything = client.post("/rollback", json={"all": True, "reason": reason}).json()
        assert everything["changes"] == [
            {
                "flag": "async-qualifier-api",
                "organization_id": 9,
                "from": "shadow=10,legacy=90",
                "to": "legacy",
            }
        ]
        client.post("/kill-switch", json={"on": False, "reason": reason}).raise_for_status()

        entries = [
            e for e in client.get("/audit", params={"limit": 1000}).json()["entries"] if e["reason"] == reason
        ]
        assert [(e["flag"], e["organization_id"], e["from"], e["to"]) for e in entries] == [
            ("kill-switch", None, "on", "off"),
            ("async-qualifier-api", 9, "shadow=10,legacy=90", "legacy"),
            ("kill-switch", None, "off", "on"),
            ("tournament-api", 8, "live", "legacy"),
            ("async-qualifier-api", 9, "legacy", "shadow=10,legacy=90"),
            ("tournament-api", 8, "legacy", "live"),
        ]
        assert all(e["actor"] == "api@127.0.0.1" and e["changed_at"] for e in entries)
        assert len(client.get("/audit", params={"limit": 2}).json()["entries"]) == 2


def test_the_api_refuses_bad_input_with_json_and_writes_nothing(
    local_operator_api: Server, local_operator: Operator
) -> None:
    operator = local_operator
    with api(local_operator_api) as client:
        client.get("/status").raise_for_status()
        before = operator.flags_path.read_bytes(), operator.flags_path.stat().st_mtime_ns
        flip = {"flag": "tournament-api", "organization_id": 3, "mode": "live", "reason": "r"}
        cases = [
            ("POST", "/flip", {**flip, "flag": "bogus"}, 400, "unknown flag 'bogus'"),
            ("POST", "/flip", {**flip, "mode": "turbo"}, 400, "unknown mode 'turbo'"),
            ("POST", "/flip", {**flip, "organization_id": -2}, 400, "positive integer"),
            ("POST", "/flip", {**flip, "reason": ""}, 400, "a reason is required"),
            ("POST", "/flip", {**flip, "mode": "live=50,plugin=60"}, 400, "100 percent"),
            ("POST", "/rollback", {}, 400, "organization_id"),
            ("POST", "/rollback", {"organization_id": 3, "all": True}, 400, "organization_id"),
            ("PUT", "/document", {"document": '{"flags": ', "reason": "r"}, 400, "not valid JSON"),
            (
                "PUT",
                "/document",
                {
                    "document": {
                        "flags": {
                            "kill-switch": {
                                "state": "ENABLED",
                                "variants": {"on": True, "off": False},
                                "defaultVariant": "maybe",
                            }
                        }
                    },
                    "reason": "r",
                },
                400,
                "defaultVariant 'maybe' is not one of its variants",
            ),
        ]
        for method, path, body, status, message in cases:
            response = client.request(method, path, json=body)
            assert response.status_code == status, (path, body, response.text)
            assert message in response.json()["detail"], response.text
        for method, path, body in [
            ("POST", "/flip", {"flag": "tournament-api"}),
            ("POST", "/flip", {**flip, "organization_id": "three"}),
            ("POST", "/kill-switch", {"on": "perhaps"}),
            ("GET", "/audit?limit=0", None),
        ]:
            response = client.request(method, path, json=body)
            assert response.status_code == 422, (path, response.text)
            assert isinstance(response.json()["detail"], list)
        response = client.post("/flip", content=b"{not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 422
        assert (operator.flags_path.read_bytes(), operator.flags_path.stat().st_mtime_ns) == before

        operator.flags_path.write_text("{")
        broken = client.post("/flip", json=flip)
        assert broken.status_code == 409 and "is broken" in broken.json()["detail"]
        assert client.get("/status").status_code == 409
        restored = client.put(
            "/document", json={"document": json.loads(SEED.read_text()), "reason": "restore"}
        )
        assert restored.status_code == 200 and restored.json()["changed"] is True
        assert client.post("/flip", json=flip).status_code == 200
