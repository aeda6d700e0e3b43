"""The scoring and leaderboard rules of legacy_app's async qualifiers, as pure functions
(the HTTP tests in test_legacy_async_qualifiers.py check the same rules end to end)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legacy_app.application.services.async_qualifiers.leaderboard_service import (
    LeaderboardEntry,
    SlotRace,
    build_entries,
    fill_slots,
)
from legacy_app.application.services.async_qualifiers.scoring_service import (
    MAX_SCORE,
    RaceResult,
    par_time,
    race_score,
    score_permalink,
)
from legacy_app.models.async_tournament import RaceStatus

FINISHED = RaceStatus.FINISHED
FORFEIT = RaceStatus.FORFEIT
DISQUALIFIED = RaceStatus.DISQUALIFIED


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (1.0, 100.0),  # elapsed = par
        (0.95, 105.0),  # the clamp's upper edge
        (0.5, 105.0),
        (1.2, 80.0),
        (1.5, 50.0),
        (2.0, 0.0),
        (3.0, 0.0),
    ],
)
def test_worked_examples(ratio: float, expected: float) -> None:
    assert race_score(ratio * 120.0, 120.0) == pytest.approx(expected)


def test_par_is_the_mean_of_the_fastest_five() -> None:
    assert par_time([300, 100, 140, 110, 500, 130, 120]) == 120.0
    assert par_time([90, 110]) == 100.0
    assert par_time([]) is None


def test_permalink_scores_follow_the_rule() -> None:
    results = [
        RaceResult(1, FINISHED, 100.0),
        RaceResult(2, FINISHED, 110.0),
        RaceResult(3, FINISHED, 120.0),
        RaceResult(4, FINISHED, 130.0),
        RaceResult(5, FINISHED, 140.0),
        RaceResult(6, FINISHED, 180.0),  # 1.5 × par
        RaceResult(7, FINISHED, 240.0),  # 2 × par
        RaceResult(8, FORFEIT, None),
        RaceResult(9, DISQUALIFIED, 90.0),  # a disqualified time never sets par
        RaceResult(10, RaceStatus.IN_PROGRESS, None),
        RaceResult(11, RaceStatus.PENDING, None),
    ]
    scored = score_permalink(results)
    assert scored is not None
    assert scored.par_time == 120.0
    assert scored.scores == pytest.approx(
        {1: 105.0, 2: 105.0, 3: 100.0, 4: 275 / 3, 5: 250 / 3, 6: 50.0, 7: 0.0, 8: 0.0, 9: 0.0}
    )


def test_reattempted_races_leave_par_and_scoring() -> None:
    results = [
        RaceResult(1, FINISHED, 10.0, reattempted=True),
        RaceResult(2, FINISHED, 100.0),
        RaceResult(3, FORFEIT, None, reattempted=True),
    ]
    scored = score_permalink(results)
    assert scored is not None
    assert scored.par_time == 100.0
    assert scored.scores == {2: 100.0}


def test_no_finisher_means_no_scoring() -> None:
    assert score_permalink([RaceResult(1, FORFEIT, None)]) is None
    assert score_permalink([RaceResult(1, FINISHED, 50.0, reattempted=True)]) is None


@given(
    par=st.floats(min_value=1.0, max_value=1e5),
    a=st.floats(min_value=0.0, max_value=1e6),
    b=st.floats(min_value=0.0, max_value=1e6),
)
def test_scores_are_bounded_and_never_reward_a_slower_run(par: float, a: float, b: float) -> None:
    fast, slow = sorted((a, b))
    assert 0.0 <= race_score(slow, par) <= race_score(fast, par) <= MAX_SCORE


def _race(race_id: int, user: int, pool: int, status: RaceStatus, score: float | None) -> SlotRace:
    return SlotRace(race_id=race_id, user_id=user, pool_id=pool, status=status, score=score)


def test_slots_take_the_best_races_per_pool_and_leave_the_rest_empty() -> None:
    races = [
        _race(1, 1, 10, FINISHED, 60.0),
        _race(2, 1, 10, FINISHED, 90.0),
        _race(3, 1, 10, FINISHED, 75.0),
        _race(4, 1, 20, FORFEIT, None),
        SlotRace(race_id=5, user_id=1, pool_id=20, status=FINISHED, score=105.0, reattempted=True),
        _race(6, 1, 20, RaceStatus.IN_PROGRESS, None),
    ]
    slots = fill_slots([10, 20, 30], 2, races)
    assert [None if s is None else s.race_id for s in slots] == [2, 3, 4, None, None, None]


def test_entry_score_estimate_and_counts() -> None:
    races = [
        _race(1, 7, 10, FINISHED, 90.0),
        _race(2, 7, 10, FORFEIT, 0.0),
        _race(3, 7, 20, FINISHED, 60.0),
        _race(4, 7, 30, DISQUALIFIED, None),
    ]
    (entry,) = build_entries([10, 20, 30], 2, {7: "runner"}, races)
    assert entry == LeaderboardEntry(
        user_id=7,
        discord_username="runner",
        score=150.0 / 6,
        estimate=75.0,
        finished_count=2,
        unattempted_count=2,
        forfeited_count=2,
    )


def test_entries_sort_by_score_then_user_id() -> None:
    races = [_race(1, 5, 10, FINISHED, 50.0), _race(2, 3, 10, FINISHED, 100.0)]
    participants = {9: "idle", 5: "half", 3: "full", 4: "idle too"}
    entries = build_entries([10], 1, participants, races)
    assert [(e.user_id, e.score) for e in entries] == [(3, 100.0), (5, 50.0), (4, 0.0), (9, 0.0)]


def test_a_qualifier_without_pools_scores_zero() -> None:
    (entry,) = build_entries([], 1, {1: "x"}, [])
    assert (entry.score, entry.estimate, entry.unattempted_count) == (0.0, 0.0, 0)
