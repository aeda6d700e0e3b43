"""Scoring of a permalink: a pure rule (`score_permalink`) and its persistence.

The rule, from the spec:
1. take the permalink's races that are finished and not reattempted, by elapsed time
   (end − start); review status does not matter (rejected runs still count);
2. par = mean elapsed seconds of the fastest ≤ 5 of them; no finisher → stop;
3. every non-reattempted finished, forfeit or disqualified race gets a score:
   finished → clamp((2 − elapsed/par) × 100, 0, 105), otherwise 0.

Scores and par are stored unrounded. Means use `math.fsum`, so the result does not
depend on the order rows come back in. It runs after a finish, a time correction in
review and a re-attempt, on demand, and hourly (scheduled task). Copied from legacy_app.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from core.models import User

from ..models.async_tournament import COMPLETED_STATUSES, AsyncQualifier, RaceStatus
from ..repositories.async_qualifier_repository import AsyncQualifierRepository
from .access import Entity, require_manager
from .audit import AuditAction, AuditTrail
from .clock import Clock, utc_now

MAX_SCORE = 105.0
MIN_SCORE = 0.0
PAR_SAMPLE_SIZE = 5

# Whether the plugin serves an organization (the scheduled re-score skips the others).
OrganizationFilter = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True)
class RaceResult:
    """What scoring needs to know of one race."""

    race_id: int
    status: RaceStatus
    elapsed_seconds: float | None
    reattempted: bool = False


@dataclass(frozen=True)
class PermalinkScores:
    par_time: float
    scores: dict[int, float]  # race id → score


def race_score(elapsed_seconds: float, par_time: float) -> float:
    """clamp((2 − elapsed/par) × 100, 0, 105)."""
    if par_time <= 0:
        # Degenerate par (the fastest runs took no time): only as-fast runs match it.
        return MAX_SCORE if elapsed_seconds <= 0 else MIN_SCORE
    return min(MAX_SCORE, max(MIN_SCORE, (2 - elapsed_seconds / par_time) * 100))


def par_time(finish_times: Iterable[float]) -> float | None:
    """Mean of the fastest ≤ 5 elapsed times, or None without any."""
    fastest = sorted(finish_times)[:PAR_SAMPLE_SIZE]
    return math.fsum(fastest) / len(fastest) if fastest else None


def score_permalink(results: Iterable[RaceResult]) -> PermalinkScores | None:
    """Par and the score of every counted race of one permalink; None when nobody finished."""
    counted = [r for r in results if not r.reattempted and r.status in COMPLETED_STATUSES]
    finished = [r for r in counted if r.status == RaceStatus.FINISHED and r.elapsed_seconds is not None]
    par = par_time(r.elapsed_seconds for r in finished if r.elapsed_seconds is not None)
    if par is None:
        return None
    scores = {
        r.race_id: race_score(r.elapsed_seconds, par)
        if r.status == RaceStatus.FINISHED and r.elapsed_seconds is not None
        else MIN_SCORE
        for r in counted
    }
    return PermalinkScores(par_time=par, scores=scores)


class ScoringService:
    def __init__(self, repository: AsyncQualifierRepository | None = None, clock: Clock = utc_now) -> None:
        self._repository = repository or AsyncQualifierRepository()
        self._audit = AuditTrail(self._repository)
        self._clock = clock

    async def rescore_permalink(self, permalink_id: int) -> float | None:
        """Recompute and store par and scores of one permalink; returns the par (None: no finisher).

        Takes the permalink's row lock first: a caller that changes one of its races in the
        same transaction must take that lock (`lock_permalink`) before the change, so two
        concurrent finishes never interleave their re-scoring.
        """
        async with in_transaction():
            if await self._repository.lock_permalink(permalink_id) is None:
                return None
            races = await self._repository.scoring_races(permalink_id)
            result = score_permalink(
                RaceResult(r.id, RaceStatus(r.status), r.elapsed_seconds, r.reattempted) for r in races
            )
            if result is None:
                return None
            now = self._clock()
            await self._repository.save_par(permalink_id, result.par_time, now)
            for race in races:
                race.score = result.scores[race.id]
                race.score_updated_at = now
            await self._repository.save_scores(races)
            return result.par_time

    async def rescore_qualifier(self, qualifier: AsyncQualifier) -> int:
        """Re-score every permalink (each in its own transaction); returns how many have a par."""
        scored = 0
        for permalink_id in await self._repository.permalink_ids(qualifier.id):
            if await self.rescore_permalink(permalink_id) is not None:
                scored += 1
        return scored

    async def rescore_all(self, include: OrganizationFilter | None = None) -> int:
        """Every qualifier (of the organizations `include` accepts), for the hourly task;
        returns how many permalinks have a par."""
        qualifiers = await self._repository.all_qualifiers()
        return sum(
            [
                await self.rescore_qualifier(q)
                for q in qualifiers
                if include is None or await include(q.organization_id)
            ]
        )

    async def recalculate(self, user: User, qualifier: AsyncQualifier) -> int:
        """A manager's on-demand re-score (`POST /{qid}/recalculate`, `/async_calculate_scores`)."""
        await require_manager(user, qualifier.organization_id, Entity.QUALIFIER)
        scored = await self.rescore_qualifier(qualifier)
        await self._audit.record(
            qualifier.id,
            user,
            AuditAction.RECALCULATE_SCORES,
            f"Recalculated scores ({scored} permalinks scored)",
        )
        return scored
