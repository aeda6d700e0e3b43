"""The comparator catches real differences, and only those: plugin builds with one
behaviour changed, run as the shadow-mode plugin behind the real proxy (on SQLite and
PostgreSQL), produce mismatches on exactly the routes the change affects.

Each build is a copy of the plugin_app package with one edit (tests/shadow_support.
changed_plugin), served with the real `core`; no fault injection in production code:

- a status code: `PATCH /api/tournaments/{tid}` answers 202 instead of 200. Over the whole
  parity scenario (every route and command), the mismatches are exactly the successful
  updates of a tournament, each differing in status alone.
- scoring: par from the fastest four finishes instead of five. Shadow mode compares
  writes as dry runs, so the change shows where a write re-scores and answers with the
  score: a review that corrects a time. Six finishers on one seed, pinned times, then
  reads and writes around them: mismatches on exactly that review, in `$.score`. The
  same steps against the status-code build (whose scoring is unchanged) match throughout.

That the unchanged build produces no mismatch over the whole scenario is
tests/test_proxy_shadow_data.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.parity_comparison import Channel, Exchange
from tests.parity_scenario import run_scenario
from tests.parity_support import Cast, ScenarioDatabase, twin_databases
from tests.shadow_support import Stack, changed_plugin, proxied_side, shadow_stack

PATCH_TOURNAMENT = "PATCH /api/tournaments/{tid}"
PATCH_REVIEW = "PATCH /api/async-qualifiers/races/{rid}/review"
STATUS_CHANGE = (
    "plugins/builtin/tournament/api/tournament_routes.py",
    '@router.patch("/tournaments/{tournament_id}",',
    '@router.patch("/tournaments/{tournament_id}", status_code=202,',
)
PAR_CHANGE = (
    "plugins/builtin/async_qualifier/services/scoring_service.py",
    "PAR_SAMPLE_SIZE = 5",
    "PAR_SAMPLE_SIZE = 4",
)
FINISH_SECONDS = (1000, 1100, 1200, 1300, 1400, 2000)
BASE = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Outcome:
    mismatches: list[dict[str, Any]]
    counts: dict[str, float]
    scenario: list[Exchange]  # the parity scenario's exchanges (empty when not run)
    par_steps: list[tuple[str, int]]  # (route, status) of the six-finisher steps


def _run(
    database_url: str, log_dir: Path, cast: Cast, build: Path, change: tuple[str, str, str], parity: bool
) -> Outcome:
    env = changed_plugin(build, *change)
    modes = {cast.home: "shadow", cast.away: "shadow"}
    with shadow_stack(
        database_url, log_dir, modes, plugin_app="tests.shadow_apps:changed_plugin_app", plugin_env=env
    ) as stack:
        exchanges: list[Exchange] = []
        if parity:
            side = proxied_side("changed", stack, cast)
            try:
                run_scenario(side)
            finally:
                side.close()
            exchanges = side.exchanges
        steps = six_finishers(stack, cast)
        stack.wait_until_idle()
        return Outcome(stack.mismatches(), stack.shadow_counts(), exchanges, steps)


def six_finishers(stack: Stack, cast: Cast) -> list[tuple[str, int]]:
    """Six runners finish one seed (times pinned), the qualifier is re-scored, a reviewer
    corrects the slowest time, and the results are read."""
    database = ScenarioDatabase(stack.database_url)
    steps: list[tuple[str, int]] = []
    with stack.scenario_client() as client:

        def call(route: str, method: str, path: str, caller: Any, expect: int, json: Any = None) -> Any:
            response = client.request(method, path, json=json, headers=caller.headers)
            assert response.status_code == expect, (method, path, response.status_code, response.text)
            steps.append((route, response.status_code))
            return response.json() if response.content else None

        qualifier = call(
            "POST /api/async-qualifiers/organizations/{org}",
            "POST",
            f"/api/async-qualifiers/organizations/{cast.home}",
            cast.manager,
            201,
            {"name": "Par Qualifier", "runs_per_pool": 1, "max_reattempts": 0},
        )["id"]
        pool = call(
            "POST /api/async-qualifiers/{qid}/pools",
            "POST",
            f"/api/async-qualifiers/{qualifier}/pools",
            cast.manager,
            201,
            {"name": "Par Pool"},
        )["id"]
        call(
            "POST /api/async-qualifiers/pools/{pid}/permalinks",
            "POST",
            f"/api/async-qualifiers/pools/{pool}/permalinks",
            cast.manager,
            201,
            {"url": "https://seeds.example/par/1"},
        )
        runners = [cast.runner1, cast.runner2, cast.runner3, cast.runner4, cast.unlinked, cast.moderator]
        races = []
        for runner, seconds in zip(runners, FINISH_SECONDS, strict=True):
            race = call(
                "POST /api/async-qualifiers/{qid}/races",
                "POST",
                f"/api/async-qualifiers/{qualifier}/races",
                runner,
                201,
                {"pool_id": pool},
            )["id"]
            for action in ("start", "finish"):
                call(
                    f"POST /api/async-qualifiers/races/{{rid}}/{action}",
                    "POST",
                    f"/api/async-qualifiers/races/{race}/{action}",
                    runner,
                    200,
                )
            database.execute(
                "UPDATE async_qualifier_races SET start_time = ?, end_time = ? WHERE id = ?",
                BASE,
                BASE + timedelta(seconds=seconds),
                race,
            )
            races.append(race)
        call(
            "POST /api/async-qualifiers/{qid}/recalculate",
            "POST",
            f"/api/async-qualifiers/{qualifier}/recalculate",
            cast.manager,
            200,
        )
        call(
            "GET /api/async-qualifiers/{qid}/leaderboard",
            "GET",
            f"/api/async-qualifiers/{qualifier}/leaderboard",
            cast.runner1,
            200,
        )
        call(
            PATCH_REVIEW,
            "PATCH",
            f"/api/async-qualifiers/races/{races[-1]}/review",
            cast.reviewer,
            200,
            {"review_status": "accepted", "elapsed_seconds_override": 1900},
        )
        for race in (races[0], races[-1]):
            call(
                "GET /api/async-qualifiers/races/{rid}/review",
                "GET",
                f"/api/async-qualifiers/races/{race}/review",
                cast.reviewer,
                200,
            )
        call(
            "GET /api/async-qualifiers/{qid}/leaderboard",
            "GET",
            f"/api/async-qualifiers/{qualifier}/leaderboard",
            cast.runner1,
            200,
        )
    return steps


@pytest.fixture(scope="module")
def outcomes(
    database_url: str, server_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Outcome]]:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    folder = tmp_path_factory.mktemp(f"shadow-changes-{backend}")
    status_build, par_build = folder / "status-build", folder / "par-build"
    status_build.mkdir()
    par_build.mkdir()
    with twin_databases(backend, folder) as (first, second, cast), ThreadPoolExecutor(2) as pool:
        status = pool.submit(_run, first, server_logs, cast, status_build, STATUS_CHANGE, True)
        par = pool.submit(_run, second, server_logs, cast, par_build, PAR_CHANGE, False)
        yield {"status": status.result(), "par": par.result()}


def test_a_changed_status_code_mismatches_on_exactly_that_route(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["status"]
    assert {m["route"] for m in outcome.mismatches} == {PATCH_TOURNAMENT}
    for mismatch in outcome.mismatches:
        assert [d["path"] for d in mismatch["differences"]] == ["status"]
        assert (mismatch["legacy"]["status"], mismatch["plugin"]["status"]) == (200, 202)
    # One mismatch per successful update in the scenario: each one's dry runs succeed too.
    updates = [
        e
        for e in outcome.scenario
        if e.channel == Channel.HTTP
        and (e.method, e.route) == ("PATCH", "/api/tournaments/{tid}")
        and e.status == 200
    ]
    assert updates and len(outcome.mismatches) == len(updates)
    assert outcome.counts["compared"] > 300 and outcome.counts["errors"] == 0
    assert outcome.counts["mismatched"] == len(updates)


def test_par_from_four_finishes_mismatches_on_exactly_the_rescoring_review(
    outcomes: dict[str, Outcome],
) -> None:
    outcome = outcomes["par"]
    assert [m["route"] for m in outcome.mismatches] == [PATCH_REVIEW]
    [mismatch] = outcome.mismatches
    differences = {d["path"]: d for d in mismatch["differences"]}
    assert "$.score" in differences
    # fastest five: par 1200 s, 1900 s scores 41.67; fastest four: par 1150 s, 34.78
    assert round(differences["$.score"]["legacy"], 2) == 41.67
    assert round(differences["$.score"]["plugin"], 2) == 34.78
    assert len(outcome.par_steps) == outcome.counts["compared"] and outcome.counts["errors"] == 0


def test_the_same_steps_match_on_a_build_whose_scoring_is_unchanged(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["status"]
    routes = {route for route, _ in outcome.par_steps}
    assert PATCH_REVIEW in routes
    assert not [m for m in outcome.mismatches if m["route"] in routes]
