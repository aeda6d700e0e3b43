"""Data access of the async qualifier system: every query the services and the ownership
resolvers run against `async_qualifiers`, `async_qualifier_pools`,
`async_qualifier_permalinks`, `async_qualifier_races` and `async_qualifier_audit_logs`.

`lock_*` methods take a row lock (`SELECT … FOR NO KEY UPDATE`) on PostgreSQL and must be
called inside `in_transaction()`; they serialise the read-then-write steps under one parent
row (re-scoring a permalink, counting re-attempts). SQLite has no row locks, and Tortoise
runs one transaction at a time per process there.

Copied from legacy_app: both apps run the same queries against the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tortoise.expressions import Subquery
from tortoise.functions import Count

from core.models import Organization, User

from ..models.async_tournament import (
    ACTIVE_STATUSES,
    COMPLETED_STATUSES,
    AsyncQualifier,
    AsyncQualifierAuditLog,
    AsyncQualifierPermalink,
    AsyncQualifierPool,
    AsyncQualifierRace,
    RaceStatus,
    ReviewStatus,
)


class AsyncQualifierRepository:
    # -- organizations and users -------------------------------------------------------

    async def organization_exists(self, organization_id: int) -> bool:
        return await Organization.filter(id=organization_id).exists()

    async def usernames(self, user_ids: Iterable[int]) -> dict[int, str]:
        rows = await User.filter(id__in=list(user_ids)).values_list("id", "discord_username")
        return {int(user_id): name for user_id, name in rows}

    # -- qualifiers ---------------------------------------------------------------------

    async def get_qualifier(self, qualifier_id: int) -> AsyncQualifier | None:
        return await AsyncQualifier.get_or_none(id=qualifier_id)

    async def lock_qualifier(self, qualifier_id: int) -> AsyncQualifier | None:
        return await AsyncQualifier.select_for_update(no_key=True).get_or_none(id=qualifier_id)

    async def qualifier_by_channel(self, discord_channel_id: int) -> AsyncQualifier | None:
        return await AsyncQualifier.get_or_none(discord_channel_id=discord_channel_id)

    async def channel_in_use(self, discord_channel_id: int, except_qualifier_id: int | None = None) -> bool:
        query = AsyncQualifier.filter(discord_channel_id=discord_channel_id)
        if except_qualifier_id is not None:
            query = query.exclude(id=except_qualifier_id)
        return await query.exists()

    async def list_qualifiers(self, organization_id: int) -> list[AsyncQualifier]:
        return await AsyncQualifier.filter(organization_id=organization_id).order_by("id")

    async def all_qualifiers(self) -> list[AsyncQualifier]:
        return await AsyncQualifier.all().order_by("id")

    async def create_qualifier(self, organization_id: int, fields: Mapping[str, Any]) -> AsyncQualifier:
        return await AsyncQualifier.create(organization_id=organization_id, **fields)

    async def update_qualifier(self, qualifier_id: int, changes: Mapping[str, Any]) -> None:
        if changes:
            await AsyncQualifier.filter(id=qualifier_id).update(**changes)

    async def delete_qualifier(self, qualifier_id: int) -> None:
        await AsyncQualifier.filter(id=qualifier_id).delete()

    # -- pools and permalinks -------------------------------------------------------------

    async def get_pool(self, pool_id: int) -> AsyncQualifierPool | None:
        return await AsyncQualifierPool.get_or_none(id=pool_id).select_related("qualifier")

    async def pool_by_name(self, qualifier_id: int, name: str) -> AsyncQualifierPool | None:
        return await AsyncQualifierPool.get_or_none(qualifier_id=qualifier_id, name=name)

    async def list_pools(self, qualifier_id: int) -> list[AsyncQualifierPool]:
        return await AsyncQualifierPool.filter(qualifier_id=qualifier_id).order_by("id")

    async def pool_exists(self, qualifier_id: int, name: str) -> bool:
        return await AsyncQualifierPool.filter(qualifier_id=qualifier_id, name=name).exists()

    async def create_pool(self, qualifier_id: int, name: str, description: str) -> AsyncQualifierPool:
        return await AsyncQualifierPool.create(qualifier_id=qualifier_id, name=name, description=description)

    async def permalink_counts(self, qualifier_id: int) -> dict[int, int]:
        rows = (
            await AsyncQualifierPermalink.filter(pool__qualifier_id=qualifier_id)
            .annotate(n=Count("id"))
            .group_by("pool_id")
            .values_list("pool_id", "n")
        )
        return {int(pool_id): int(n) for pool_id, n in rows}

    async def get_permalink(self, permalink_id: int) -> AsyncQualifierPermalink | None:
        return await AsyncQualifierPermalink.get_or_none(id=permalink_id).select_related("pool")

    async def lock_permalink(self, permalink_id: int) -> AsyncQualifierPermalink | None:
        return await AsyncQualifierPermalink.select_for_update(no_key=True).get_or_none(id=permalink_id)

    async def permalink_ids(self, qualifier_id: int) -> list[int]:
        rows = (
            await AsyncQualifierPermalink.filter(pool__qualifier_id=qualifier_id)
            .order_by("id")
            .values_list("id", flat=True)
        )
        return [int(r) for r in rows]

    async def create_permalink(self, pool_id: int, url: str, notes: str) -> AsyncQualifierPermalink:
        return await AsyncQualifierPermalink.create(pool_id=pool_id, url=url, notes=notes)

    async def save_par(self, permalink_id: int, par_time: float, at: datetime) -> None:
        await AsyncQualifierPermalink.filter(id=permalink_id).update(par_time=par_time, par_updated_at=at)

    async def first_unplayed_permalink(self, pool_id: int, user_id: int) -> AsyncQualifierPermalink | None:
        """The pool's lowest-id permalink the user has no race on (reattempted ones included)."""
        played = AsyncQualifierRace.filter(user_id=user_id, permalink__pool_id=pool_id).values("permalink_id")
        return (
            await AsyncQualifierPermalink.filter(pool_id=pool_id)
            .exclude(id__in=Subquery(played))
            .order_by("id")
            .select_related("pool")
            .first()
        )

    async def has_played(self, user_id: int, permalink_id: int) -> bool:
        return await AsyncQualifierRace.filter(user_id=user_id, permalink_id=permalink_id).exists()

    # -- races --------------------------------------------------------------------------

    async def get_race(self, race_id: int) -> AsyncQualifierRace | None:
        return await AsyncQualifierRace.get_or_none(id=race_id).select_related("permalink", "qualifier")

    async def qualifier_of(self, race: AsyncQualifierRace) -> AsyncQualifier:
        """The race's qualifier, whether or not it was fetched with the race."""
        related = race.qualifier
        return related if isinstance(related, AsyncQualifier) else await related

    async def race_by_thread(self, discord_thread_id: int) -> AsyncQualifierRace | None:
        return (
            await AsyncQualifierRace.filter(discord_thread_id=discord_thread_id)
            .order_by("-id")
            .select_related("permalink", "qualifier")
            .first()
        )

    async def active_race(self, qualifier_id: int, user_id: int) -> AsyncQualifierRace | None:
        return (
            await AsyncQualifierRace.filter(
                qualifier_id=qualifier_id, user_id=user_id, status__in=ACTIVE_STATUSES
            )
            .order_by("id")
            .select_related("permalink", "qualifier")
            .first()
        )

    async def runs_in_pool(self, user_id: int, pool_id: int) -> int:
        """The user's races in the pool that still count (not reattempted), any status."""
        return await AsyncQualifierRace.filter(
            user_id=user_id, permalink__pool_id=pool_id, reattempted=False
        ).count()

    async def reattempt_count(self, qualifier_id: int, user_id: int) -> int:
        return await AsyncQualifierRace.filter(
            qualifier_id=qualifier_id, user_id=user_id, reattempted=True
        ).count()

    async def create_race(self, **fields: Any) -> AsyncQualifierRace:
        return await AsyncQualifierRace.create(**fields)

    async def lock_race(self, race_id: int) -> AsyncQualifierRace | None:
        return await AsyncQualifierRace.select_for_update(no_key=True).get_or_none(id=race_id)

    async def update_race_if(
        self,
        race_id: int,
        changes: Mapping[str, Any],
        *,
        status_in: Iterable[RaceStatus] | None = None,
        reattempted: bool | None = None,
    ) -> bool:
        """Apply `changes` only while the race still matches the conditions (compare-and-set)."""
        query = AsyncQualifierRace.filter(id=race_id)
        if status_in is not None:
            query = query.filter(status__in=list(status_in))
        if reattempted is not None:
            query = query.filter(reattempted=reattempted)
        return await query.update(**changes) > 0

    async def scoring_races(self, permalink_id: int) -> list[AsyncQualifierRace]:
        """The permalink's non-reattempted finished, forfeit and disqualified races."""
        return await AsyncQualifierRace.filter(
            permalink_id=permalink_id, reattempted=False, status__in=COMPLETED_STATUSES
        ).order_by("id")

    async def save_scores(self, races: list[AsyncQualifierRace]) -> None:
        """Write back `score` and `score_updated_at` of `races` (set by the caller)."""
        if races:
            await AsyncQualifierRace.bulk_update(races, fields=["score", "score_updated_at"], batch_size=200)

    async def leaderboard_races(self, qualifier_id: int) -> list[dict[str, Any]]:
        """Slot candidates: non-reattempted completed races, with their pool."""
        return (
            await AsyncQualifierRace.filter(
                qualifier_id=qualifier_id, reattempted=False, status__in=COMPLETED_STATUSES
            )
            .order_by("id")
            .values("id", "user_id", "status", "score", "permalink__pool_id")
        )

    async def participant_ids(self, qualifier_id: int) -> list[int]:
        rows = (
            await AsyncQualifierRace.filter(qualifier_id=qualifier_id)
            .distinct()
            .values_list("user_id", flat=True)
        )
        return sorted({int(r) for r in rows})

    async def review_queue(
        self,
        qualifier_id: int,
        *,
        status: RaceStatus | None,
        review_status: ReviewStatus | None,
        reviewed_by_id: int | None,
        skip: int,
        limit: int,
    ) -> list[AsyncQualifierRace]:
        query = AsyncQualifierRace.filter(qualifier_id=qualifier_id, reattempted=False)
        if status is not None:
            query = query.filter(status=status)
        if review_status is not None:
            query = query.filter(review_status=review_status)
        if reviewed_by_id is not None:
            query = query.filter(reviewed_by_id=reviewed_by_id)
        return await query.order_by("id").offset(skip).limit(limit).select_related("permalink", "qualifier")

    async def pending_races_timing_out_before(self, moment: datetime) -> list[AsyncQualifierRace]:
        """Pending races whose thread timeout is set and not later than `moment`."""
        return (
            await AsyncQualifierRace.filter(status=RaceStatus.PENDING, thread_timeout_time__lte=moment)
            .order_by("thread_timeout_time", "id")
            .select_related("permalink", "qualifier")
        )

    # -- ownership (for the proxy) ----------------------------------------------------------

    async def organization_of_qualifier(self, qualifier_id: int) -> int | None:
        return await self._first_org(AsyncQualifier.filter(id=qualifier_id), "organization_id")

    async def organization_of_pool(self, pool_id: int) -> int | None:
        return await self._first_org(AsyncQualifierPool.filter(id=pool_id), "qualifier__organization_id")

    async def organization_of_permalink(self, permalink_id: int) -> int | None:
        return await self._first_org(
            AsyncQualifierPermalink.filter(id=permalink_id), "pool__qualifier__organization_id"
        )

    async def organization_of_race(self, race_id: int) -> int | None:
        return await self._first_org(AsyncQualifierRace.filter(id=race_id), "qualifier__organization_id")

    async def organization_of_channel(self, discord_channel_id: int) -> int | None:
        return await self._first_org(
            AsyncQualifier.filter(discord_channel_id=discord_channel_id), "organization_id"
        )

    async def organization_of_race_thread(self, discord_thread_id: int) -> int | None:
        """The organization of the race `race_by_thread` finds (for the Discord gate)."""
        return await self._first_org(
            AsyncQualifierRace.filter(discord_thread_id=discord_thread_id).order_by("-id"),
            "qualifier__organization_id",
        )

    @staticmethod
    async def _first_org(query: Any, path: str) -> int | None:
        value = await query.first().values_list(path, flat=True)
        return None if value is None else int(value)

    # -- audit log ----------------------------------------------------------------------

    async def add_audit_log(self, qualifier_id: int, user_id: int | None, action: str, details: str) -> None:
        await AsyncQualifierAuditLog.create(
            qualifier_id=qualifier_id, user_id=user_id, action=action, details=details
        )

    async def audit_log_exists(self, qualifier_id: int, action: str, details: str) -> bool:
        return await AsyncQualifierAuditLog.filter(
            qualifier_id=qualifier_id, action=action, details=details
        ).exists()
