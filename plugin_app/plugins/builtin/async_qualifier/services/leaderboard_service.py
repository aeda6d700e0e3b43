"""The qualifier's leaderboard: a pure rule (`build_entries`) and the service that feeds it.

Every user with a race in the qualifier (any status) gets `runs_per_pool` slots per pool,
filled with their best-scored non-reattempted finished/forfeit/disqualified races of that
pool (a race not yet scored counts as 0; equal scores: lower race id first). Empty slots
count 0.

- score = mean over all slots (0 when the qualifier has no pool);
- estimate = mean over the slots holding a finished race (0 when there is none);
- finished_count, unattempted_count (empty slots), forfeited_count (forfeit or
  disqualified slots);
- sorted by score descending, then user id ascending.

hide_results: managers and reviewers always see every entry; other members see only
their own entry, and `results_hidden` tells them the list was filtered.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.models import User

from ..models.async_tournament import COMPLETED_STATUSES, AsyncQualifier, RaceStatus
from ..repositories.async_qualifier_repository import AsyncQualifierRepository
from .access import (
    Entity,
    can_manage,
    can_review,
    require_member,
)

FORFEITED_STATUSES = (RaceStatus.FORFEIT, RaceStatus.DISQUALIFIED)


@dataclass(frozen=True)
class SlotRace:
    """A race that may fill a slot."""

    race_id: int
    user_id: int
    pool_id: int
    status: RaceStatus
    score: float | None
    reattempted: bool = False


@dataclass(frozen=True)
class LeaderboardEntry:
    user_id: int
    discord_username: str
    score: float
    estimate: float
    finished_count: int
    unattempted_count: int
    forfeited_count: int


@dataclass(frozen=True)
class Leaderboard:
    qualifier_id: int
    runs_per_pool: int
    pool_count: int
    results_hidden: bool
    entries: list[LeaderboardEntry]


def _best_first(race: SlotRace) -> tuple[float, int]:
    return (-(race.score or 0.0), race.race_id)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def fill_slots(
    pool_ids: Sequence[int], runs_per_pool: int, races: Iterable[SlotRace]
) -> list[SlotRace | None]:
    """One user's slots, pool by pool (in `pool_ids` order), best race first, None when empty."""
    by_pool: dict[int, list[SlotRace]] = defaultdict(list)
    for race in races:
        if not race.reattempted and race.status in COMPLETED_STATUSES:
            by_pool[race.pool_id].append(race)
    slots: list[SlotRace | None] = []
    for pool_id in pool_ids:
        best: list[SlotRace | None] = list(sorted(by_pool[pool_id], key=_best_first)[:runs_per_pool])
        slots.extend(best + [None] * (runs_per_pool - len(best)))
    return slots


def entry_for(user_id: int, username: str, slots: Sequence[SlotRace | None]) -> LeaderboardEntry:
    filled = [s for s in slots if s is not None]
    finished = [s for s in filled if s.status == RaceStatus.FINISHED]
    return LeaderboardEntry(
        user_id=user_id,
        discord_username=username,
        score=_mean([0.0 if s is None else s.score or 0.0 for s in slots]),
        estimate=_mean([s.score or 0.0 for s in finished]),
        finished_count=len(finished),
        unattempted_count=len(slots) - len(filled),
        forfeited_count=sum(1 for s in filled if s.status in FORFEITED_STATUSES),
    )


def build_entries(
    pool_ids: Sequence[int],
    runs_per_pool: int,
    participants: Mapping[int, str],
    races: Iterable[SlotRace],
) -> list[LeaderboardEntry]:
    """Every participant's entry, sorted by score descending, then user id."""
    by_user: dict[int, list[SlotRace]] = defaultdict(list)
    for race in races:
        by_user[race.user_id].append(race)
    entries = [
        entry_for(user_id, username, fill_slots(pool_ids, runs_per_pool, by_user[user_id]))
        for user_id, username in participants.items()
    ]
    return sorted(entries, key=lambda e: (-e.score, e.user_id))


class LeaderboardService:
    def __init__(self, repository: AsyncQualifierRepository | None = None) -> None:
        self._repository = repository or AsyncQualifierRepository()

    async def leaderboard(self, user: User, qualifier: AsyncQualifier) -> Leaderboard:
        """The leaderboard as `user` may see it (members only; see hide_results above)."""
        await require_member(user, qualifier.organization_id, Entity.QUALIFIER)
        pool_ids = [p.id for p in await self._repository.list_pools(qualifier.id)]
        entries = await self._entries(qualifier, pool_ids)
        hidden = qualifier.hide_results and not (
            await can_manage(user, qualifier.organization_id)
            or await can_review(user, qualifier.organization_id)
        )
        if hidden:
            entries = [e for e in entries if e.user_id == user.id]
        return Leaderboard(
            qualifier_id=qualifier.id,
            runs_per_pool=qualifier.runs_per_pool,
            pool_count=len(pool_ids),
            results_hidden=hidden,
            entries=entries,
        )

    async def entries(self, qualifier: AsyncQualifier) -> list[LeaderboardEntry]:
        """Every entry, unfiltered (no permission check: for callers that already did one)."""
        return await self._entries(qualifier, [p.id for p in await self._repository.list_pools(qualifier.id)])

    async def _entries(self, qualifier: AsyncQualifier, pool_ids: list[int]) -> list[LeaderboardEntry]:
        participant_ids = await self._repository.participant_ids(qualifier.id)
        usernames = await self._repository.usernames(participant_ids)
        races = [
            SlotRace(
                race_id=row["id"],
                user_id=row["user_id"],
                pool_id=row["permalink__pool_id"],
                status=RaceStatus(row["status"]),
                score=row["score"],
            )
            for row in await self._repository.leaderboard_races(qualifier.id)
        ]
        participants = {uid: usernames.get(uid, "") for uid in participant_ids}
        return build_entries(pool_ids, qualifier.runs_per_pool, participants, races)
