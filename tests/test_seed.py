"""`strangler seed` on a fresh database: the demo data set, and a leaderboard whose scores
follow the spec's rule exactly — recomputed here independently from the stored races."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.databases import postgres_database, sqlite_url
from tests.servers import ROOT, Server, run_server

RACES_SQL = """
SELECT r.id, r.user_id, r.permalink_id, p.pool_id, r.status, r.reattempted, r.start_time, r.end_time
FROM async_qualifier_races r JOIN async_qualifier_permalinks p ON p.id = r.permalink_id
WHERE r.qualifier_id = {qid}
"""
TOKEN = re.compile(r"^│ (\S+)\s+│ (.+?)\s+│ (stk_\S+)", re.M)


def run_seed(database_url: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "strangler.cli", "seed"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {user: token for user, _, token in TOKEN.findall(result.stdout)}


def fetch(database_url: str, sql: str) -> list[dict[str, Any]]:
    if database_url.startswith("sqlite://"):
        with sqlite3.connect(database_url.removeprefix("sqlite://")) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql)]

    async def query() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            return [dict(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(query())


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def expected_leaderboard(
    races: list[dict[str, Any]], runs_per_pool: int, pools: list[int]
) -> dict[int, float]:
    """The spec's scoring and leaderboard rules, written out again from the text."""
    counted = [r for r in races if not r["reattempted"]]
    scores: dict[int, float] = {}
    for permalink in {r["permalink_id"] for r in counted}:
        mine = [r for r in counted if r["permalink_id"] == permalink]
        finished = sorted(
            (as_datetime(r["end_time"]) - as_datetime(r["start_time"])).total_seconds()
            for r in mine
            if r["status"] == "finished"
        )
        if not finished:
            continue
        par = sum(finished[:5]) / len(finished[:5])
        for r in mine:
            if r["status"] == "finished":
                elapsed = (as_datetime(r["end_time"]) - as_datetime(r["start_time"])).total_seconds()
                scores[r["id"]] = min(max((2 - elapsed / par) * 100, 0), 105)
            elif r["status"] in ("forfeit", "disqualified"):
                scores[r["id"]] = 0.0
    board: dict[int, float] = {}
    for user in {r["user_id"] for r in races}:
        slots: list[float] = []
        for pool in pools:
            best = sorted(
                (
                    scores.get(r["id"], 0.0)
                    for r in counted
                    if r["user_id"] == user
                    and r["pool_id"] == pool
                    and r["status"] in ("finished", "forfeit", "disqualified")
                ),
                reverse=True,
            )
            slots += (best + [0.0] * runs_per_pool)[:runs_per_pool]
        board[user] = sum(slots) / len(slots)
    return board


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Server, dict[str, str]]]:
    def serve(url: str) -> Iterator[tuple[str, Server, dict[str, str]]]:
        tokens = run_seed(url)
        with run_server(
            "legacy_app.main:app", {"DATABASE_URL": url}, tmp_path_factory.mktemp("logs")
        ) as server:
            yield url, server, tokens

    if request.param == "sqlite":
        yield from serve(sqlite_url(tmp_path_factory.mktemp("seed")))
    else:
        with postgres_database() as url:
            yield from serve(url)


def test_seed_creates_every_kind_of_demo_data(seeded: tuple[str, Server, dict[str, str]]) -> None:
    url, _, tokens = seeded
    counts = {
        t: fetch(url, f'SELECT COUNT(*) AS n FROM "{t}"')[0]["n"]
        for t in (
            "organization",
            "organizationmember",
            "tournament",
            "match",
            "matchplayers",
            "crew",
            "async_qualifiers",
            "async_qualifier_pools",
            "async_qualifier_permalinks",
        )
    }
    assert counts["organization"] >= 3
    assert all(n > 0 for n in counts.values()), counts
    roles = {row["roles"] for row in fetch(url, "SELECT roles FROM organizationmember")}
    for role in ("Admin", "Tournament Manager", "Async Reviewer", "Moderator"):
        assert any(role in str(r) for r in roles)
    statuses = {
        (r["status"], bool(r["reattempted"]))
        for r in fetch(url, "SELECT status, reattempted FROM async_qualifier_races")
    }
    assert {("finished", False), ("forfeit", False), ("finished", True)} <= statuses
    assert "operator" in tokens and len(tokens) >= 10
    # Only hashes are stored.
    stored = {r["token_hash"] for r in fetch(url, "SELECT token_hash FROM api_tokens")}
    assert not any(token in stored for token in tokens.values())


def test_seeded_leaderboard_follows_the_scoring_rule(seeded: tuple[str, Server, dict[str, str]]) -> None:
    url, server, tokens = seeded
    headers = {"Authorization": f"Bearer {tokens['operator']}"}
    qualifiers = fetch(url, "SELECT id, runs_per_pool FROM async_qualifiers ORDER BY id")
    assert len(qualifiers) == 2
    for qualifier in qualifiers:
        response = httpx.get(
            f"{server.url}/api/async-qualifiers/{qualifier['id']}/leaderboard", headers=headers
        )
        assert response.status_code == 200, response.text
        entries = response.json()["entries"]
        pools = [
            p["id"]
            for p in fetch(
                url, f"SELECT id FROM async_qualifier_pools WHERE qualifier_id = {qualifier['id']}"
            )
        ]
        expected = expected_leaderboard(
            fetch(url, RACES_SQL.format(qid=qualifier["id"])), qualifier["runs_per_pool"], pools
        )
        assert {e["user_id"] for e in entries} == set(expected)
        for entry in entries:
            assert entry["score"] == pytest.approx(expected[entry["user_id"]], abs=1e-3)
        scores = [e["score"] for e in entries]
        assert scores == sorted(scores, reverse=True)
        assert len(set(scores)) > 3, "the demo leaderboard should not be trivial"


def test_seeding_again_adds_nothing_and_replaces_the_tokens(
    seeded: tuple[str, Server, dict[str, str]],
) -> None:
    url, server, old_tokens = seeded
    before = fetch(url, "SELECT COUNT(*) AS n FROM async_qualifier_races")[0]["n"]
    new_tokens = run_seed(url)
    assert fetch(url, "SELECT COUNT(*) AS n FROM async_qualifier_races")[0]["n"] == before
    path = "/api/async-qualifiers/1/leaderboard"
    assert (
        httpx.get(
            server.url + path, headers={"Authorization": f"Bearer {old_tokens['operator']}"}
        ).status_code
        == 401
    )
    assert (
        httpx.get(
            server.url + path, headers={"Authorization": f"Bearer {new_tokens['operator']}"}
        ).status_code
        == 200
    )
    old_tokens.update(new_tokens)  # later tests in this module use the live ones
