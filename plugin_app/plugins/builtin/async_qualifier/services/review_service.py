"""Reviewing races (`async_race:review`: Admin, Async Reviewer).

- the queue lists a qualifier's non-reattempted races by id, filtered by status, review
  status and reviewer, `limit` 1..100;
- a review needs a finished, non-reattempted race (409 otherwise) that is not your own
  (403); it sets review_status (accepted or rejected), reviewed_by, reviewed_at and the
  notes, and may correct the time: start_time = end_time − corrected seconds, after which
  the permalink is re-scored. Publishes RaceApproved or RaceRejected; audited;
- a race's review can be read by reviewers and by the runner who ran it.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from core.authorization import is_member
from core.errors import Conflict, DomainError, Forbidden
from core.models import User

from ..events.publisher import EventPublisher
from ..events.types import RaceApproved, RaceRejected
from ..models.async_tournament import AsyncQualifier, AsyncQualifierRace, RaceStatus, ReviewStatus
from ..repositories.async_qualifier_repository import AsyncQualifierRepository
from .access import (
    Entity,
    can_review,
    not_found,
    require_reviewer,
)
from .audit import AuditAction, AuditTrail
from .clock import Clock, utc_now
from .scoring_service import ScoringService

MAX_QUEUE_LIMIT = 100
# A corrected time is positive and shorter than a week.
MAX_CORRECTED_SECONDS = 7 * 24 * 3600.0
REVIEW_DECISIONS = (ReviewStatus.ACCEPTED, ReviewStatus.REJECTED)


class ReviewService:
    def __init__(
        self,
        events: EventPublisher,
        repository: AsyncQualifierRepository | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._events = events
        self._repository = repository or AsyncQualifierRepository()
        self._audit = AuditTrail(self._repository)
        self._scoring = ScoringService(self._repository, clock)
        self._clock = clock

    async def review_queue(
        self,
        user: User,
        qualifier: AsyncQualifier,
        *,
        status: RaceStatus | None = None,
        review_status: ReviewStatus | None = None,
        reviewed_by_id: int | None = None,
        skip: int = 0,
        limit: int = 50,
    ) -> list[AsyncQualifierRace]:
        await require_reviewer(user, qualifier.organization_id, Entity.QUALIFIER)
        if not 1 <= limit <= MAX_QUEUE_LIMIT or skip < 0:
            raise DomainError(f"limit must be between 1 and {MAX_QUEUE_LIMIT}, skip at least 0")
        return await self._repository.review_queue(
            qualifier.id,
            status=status,
            review_status=review_status,
            reviewed_by_id=reviewed_by_id,
            skip=skip,
            limit=limit,
        )

    async def race_for_review(self, user: User, race_id: int) -> AsyncQualifierRace:
        """The race with its review, for reviewers and for its runner."""
        race = await self._repository.get_race(race_id)
        if race is None:
            raise not_found(Entity.RACE)
        organization_id = (await self._repository.qualifier_of(race)).organization_id
        is_runner = race.user_id == user.id and await is_member(user, organization_id)
        if not is_runner and not await can_review(user, organization_id):
            raise not_found(Entity.RACE)
        return race

    async def review_race(
        self,
        user: User,
        race: AsyncQualifierRace,
        *,
        review_status: ReviewStatus,
        reviewer_notes: str | None = None,
        elapsed_seconds_override: float | None = None,
    ) -> AsyncQualifierRace:
        qualifier = await self._repository.qualifier_of(race)
        await require_reviewer(user, qualifier.organization_id, Entity.RACE)
        if race.user_id == user.id:
            raise Forbidden("You cannot review your own race")
        if review_status not in REVIEW_DECISIONS:
            raise DomainError("review_status must be accepted or rejected")
        correcting = elapsed_seconds_override is not None
        if elapsed_seconds_override is not None and not 0 < elapsed_seconds_override <= MAX_CORRECTED_SECONDS:
            raise DomainError(f"elapsed_seconds_override must be in (0, {MAX_CORRECTED_SECONDS:.0f}]")
        async with in_transaction():
            if correcting:
                await self._repository.lock_permalink(race.permalink_id)
            current = await self._repository.lock_race(race.id)
            if current is None:
                raise not_found(Entity.RACE)
            if current.status != RaceStatus.FINISHED or current.reattempted:
                raise Conflict("Only finished, non-reattempted races can be reviewed")
            if correcting and (current.start_time is None or current.end_time is None):
                raise Conflict("Race has no recorded time to correct")
            changes: dict[str, object] = {
                "review_status": review_status,
                "reviewed_by_id": user.id,
                "reviewed_at": self._clock(),
            }
            if reviewer_notes is not None:
                changes["reviewer_notes"] = reviewer_notes
            details = f"Race {race.id} reviewed: {review_status.value}"
            if correcting:
                assert elapsed_seconds_override is not None and current.end_time is not None
                changes["start_time"] = current.end_time - timedelta(seconds=elapsed_seconds_override)
                details += f"; time corrected to {elapsed_seconds_override} seconds"
            await self._repository.update_race_if(race.id, changes)
            await self._audit.record(qualifier.id, user, AuditAction.REVIEW_RACE, details)
            if correcting:
                await self._scoring.rescore_permalink(race.permalink_id)
        reviewed = await self._repository.get_race(race.id)
        if reviewed is None:
            raise not_found(Entity.RACE)
        await self._publish(qualifier, reviewed, user, review_status)
        return reviewed

    async def _publish(
        self, qualifier: AsyncQualifier, race: AsyncQualifierRace, reviewer: User, decision: ReviewStatus
    ) -> None:
        common = {
            "organization_id": qualifier.organization_id,
            "qualifier_id": qualifier.id,
            "race_id": race.id,
            "racer_user_id": race.user_id,
            "reviewer_user_id": reviewer.id,
        }
        if decision == ReviewStatus.ACCEPTED:
            await self._events.publish(RaceApproved(**common))
        else:
            await self._events.publish(RaceRejected(**common, reason=race.reviewer_notes))
