"""A runner's races: opening one (handing out a seed), the state machine, re-attempts,
submissions, and the manager/system actions on a pending race's Discord thread.

    pending ──start──▶ in_progress ──finish──▶ finished
       └──────forfeit──────┴──▶ forfeit            (disqualified: set by no route yet)

- a user has at most one pending or in-progress race per qualifier (checked here, and
  guaranteed by a partial unique index, so two simultaneous requests open one race);
- start, finish, re-attempt and submission: the owner only; forfeit: the owner, or a
  manager of the qualifier (audited); a race in the wrong state is 409;
- a pool is available while the user's non-reattempted races in it number fewer than
  `runs_per_pool`; the seed handed out is the pool's lowest-id permalink the user has no
  race on (reattempted races count as played), so every app hands out the same one;
- re-attempt: own finished or forfeit race, not already reattempted, while the user's
  reattempted races in the qualifier number fewer than `max_reattempts` (-1 unlimited,
  0 none); its score is cleared and the permalink re-scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.authorization import is_member
from core.errors import Conflict, DomainError
from core.models import User

from ..events.publisher import EventPublisher
from ..events.types import RaceSubmitted
from ..models.async_tournament import (
    ACTIVE_STATUSES,
    AsyncQualifier,
    AsyncQualifierPermalink,
    AsyncQualifierPool,
    AsyncQualifierRace,
    RaceStatus,
)
from ..repositories.async_qualifier_repository import AsyncQualifierRepository
from .access import (
    Entity,
    can_manage,
    can_review,
    not_found,
    require_manager,
    require_member,
)
from .audit import AuditAction, AuditTrail
from .clock import Clock, utc_now
from .scoring_service import ScoringService

ACTIVE_RACE_EXISTS = "You already have an active race in this qualifier"
QUALIFIER_INACTIVE = "This async qualifier is not active"
# A pending race's thread times out this long after it opened unless a timeout is set.
DEFAULT_THREAD_TIMEOUT = timedelta(minutes=20)
MAX_EXTENSION_MINUTES = 24 * 60
REATTEMPTABLE = (RaceStatus.FINISHED, RaceStatus.FORFEIT)


@dataclass(frozen=True)
class RaceThread:
    """The Discord thread a race is run in."""

    discord_thread_id: int
    opened_at: datetime
    timeout_at: datetime | None = None


def _wrong_state(action: str, race: AsyncQualifierRace) -> Conflict:
    return Conflict(f"Race cannot be {action}: it is {RaceStatus(race.status).value}")


class RaceService:
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

    # -- lookups --------------------------------------------------------------------------

    async def find_race(self, user: User, race_id: int) -> AsyncQualifierRace:
        """The race, for its owner (a member), a manager or a reviewer of its organization."""
        race = await self._repository.get_race(race_id)
        if race is None:
            raise not_found(Entity.RACE)
        organization_id = (await self._qualifier_of(race)).organization_id
        if race.user_id == user.id and await is_member(user, organization_id):
            return race
        if await can_manage(user, organization_id) or await can_review(user, organization_id):
            return race
        raise not_found(Entity.RACE)

    async def active_race(self, user: User, qualifier: AsyncQualifier) -> AsyncQualifierRace | None:
        """The user's pending or in-progress race in the qualifier, if any."""
        return await self._repository.active_race(qualifier.id, user.id)

    async def race_by_thread(self, discord_thread_id: int) -> AsyncQualifierRace | None:
        return await self._repository.race_by_thread(discord_thread_id)

    async def pending_races_timing_out_before(self, moment: datetime) -> list[AsyncQualifierRace]:
        return await self._repository.pending_races_timing_out_before(moment)

    # -- opening a race -------------------------------------------------------------------

    async def open_race(
        self,
        user: User,
        qualifier: AsyncQualifier,
        *,
        pool_id: int | None = None,
        permalink_id: int | None = None,
        thread: RaceThread | None = None,
    ) -> AsyncQualifierRace:
        """Open a pending race on a seed of the pool (or on the given permalink)."""
        await require_member(user, qualifier.organization_id, Entity.QUALIFIER)
        if (pool_id is None) == (permalink_id is None):
            raise DomainError("Give exactly one of pool_id and permalink_id")
        permalink: AsyncQualifierPermalink | None = None
        if permalink_id is not None:
            permalink = await self._repository.get_permalink(permalink_id)
            if permalink is None or permalink.pool.qualifier_id != qualifier.id:
                raise not_found(Entity.PERMALINK)
            pool = permalink.pool
        else:
            assert pool_id is not None
            found = await self._repository.get_pool(pool_id)
            if found is None or found.qualifier_id != qualifier.id:
                raise not_found(Entity.POOL)
            pool = found
        if not qualifier.is_active:
            raise DomainError(QUALIFIER_INACTIVE)
        try:
            async with in_transaction():
                race = await self._open(user, qualifier, pool, permalink, thread)
        except IntegrityError:
            # The partial unique index caught a concurrent open by the same user.
            raise Conflict(ACTIVE_RACE_EXISTS) from None
        return await self._reload(race.id)

    async def open_race_in_pool_named(
        self, user: User, qualifier: AsyncQualifier, pool_name: str, *, thread: RaceThread | None = None
    ) -> AsyncQualifierRace:
        """`/async_start pool:<name>`."""
        await require_member(user, qualifier.organization_id, Entity.QUALIFIER)
        pool = await self._repository.pool_by_name(qualifier.id, pool_name)
        if pool is None:
            raise not_found(Entity.POOL)
        return await self.open_race(user, qualifier, pool_id=pool.id, thread=thread)

    async def available_pools(self, user: User, qualifier: AsyncQualifier) -> list[AsyncQualifierPool]:
        """The pools the user may open a race in now (the Start button's choices), by id: fewer
        counted runs than `runs_per_pool` and a seed left they have not played. Refused as a
        whole, with `open_race`'s errors, while the qualifier is inactive or the user has an
        active race."""
        await require_member(user, qualifier.organization_id, Entity.QUALIFIER)
        if not qualifier.is_active:
            raise DomainError(QUALIFIER_INACTIVE)
        if await self._repository.active_race(qualifier.id, user.id) is not None:
            raise Conflict(ACTIVE_RACE_EXISTS)
        available = []
        for pool in await self._repository.list_pools(qualifier.id):
            if await self._repository.runs_in_pool(user.id, pool.id) >= qualifier.runs_per_pool:
                continue
            if await self._repository.first_unplayed_permalink(pool.id, user.id) is not None:
                available.append(pool)
        return available

    async def _open(
        self,
        user: User,
        qualifier: AsyncQualifier,
        pool: AsyncQualifierPool,
        permalink: AsyncQualifierPermalink | None,
        thread: RaceThread | None,
    ) -> AsyncQualifierRace:
        if await self._repository.active_race(qualifier.id, user.id) is not None:
            raise Conflict(ACTIVE_RACE_EXISTS)
        if await self._repository.runs_in_pool(user.id, pool.id) >= qualifier.runs_per_pool:
            raise DomainError(
                f"Pool '{pool.name}' is not available: you have used all {qualifier.runs_per_pool} "
                "of its runs"
            )
        if permalink is None:
            permalink = await self._repository.first_unplayed_permalink(pool.id, user.id)
            if permalink is None:
                raise DomainError(f"No seed of pool '{pool.name}' is left that you have not played")
        elif await self._repository.has_played(user.id, permalink.id):
            raise DomainError("You have already played this permalink")
        fields: dict[str, Any] = {
            "qualifier_id": qualifier.id,
            "permalink_id": permalink.id,
            "user_id": user.id,
            "status": RaceStatus.PENDING,
        }
        if thread is not None:
            fields |= self._thread_fields(thread)
        return await self._repository.create_race(**fields)

    async def attach_thread(self, race: AsyncQualifierRace, thread: RaceThread) -> AsyncQualifierRace:
        """Record the Discord thread a race runs in (the bot opens it after the race)."""
        await self._repository.update_race_if(race.id, self._thread_fields(thread))
        return await self._reload(race.id)

    @staticmethod
    def _thread_fields(thread: RaceThread) -> dict[str, Any]:
        return {
            "discord_thread_id": thread.discord_thread_id,
            "thread_open_time": thread.opened_at,
            "thread_timeout_time": thread.timeout_at or thread.opened_at + DEFAULT_THREAD_TIMEOUT,
        }

    # -- the runner's state machine ---------------------------------------------------------

    async def start_race(self, user: User, race: AsyncQualifierRace) -> AsyncQualifierRace:
        await self._require_owner(user, race)
        changes = {"status": RaceStatus.IN_PROGRESS, "start_time": self._clock()}
        if not await self._repository.update_race_if(race.id, changes, status_in=[RaceStatus.PENDING]):
            raise _wrong_state("started", await self._reload(race.id))
        return await self._reload(race.id)

    async def finish_race(self, user: User, race: AsyncQualifierRace) -> AsyncQualifierRace:
        """Finish and re-score the permalink; publishes RaceSubmitted."""
        await self._require_owner(user, race)
        async with in_transaction():
            await self._repository.lock_permalink(race.permalink_id)
            changes = {"status": RaceStatus.FINISHED, "end_time": self._clock()}
            if not await self._repository.update_race_if(
                race.id, changes, status_in=[RaceStatus.IN_PROGRESS]
            ):
                raise _wrong_state("finished", await self._reload(race.id))
            await self._scoring.rescore_permalink(race.permalink_id)
        finished = await self._reload(race.id)
        await self._publish_submitted(finished)
        return finished

    async def forfeit_race(self, user: User, race: AsyncQualifierRace) -> AsyncQualifierRace:
        """Forfeit a pending or in-progress race: its owner, or a manager (audited)."""
        qualifier = await self._qualifier_of(race)
        by_owner = race.user_id == user.id and await is_member(user, qualifier.organization_id)
        if not by_owner:
            await require_manager(user, qualifier.organization_id, Entity.RACE)
        async with in_transaction():
            if not await self._repository.update_race_if(
                race.id, {"status": RaceStatus.FORFEIT}, status_in=ACTIVE_STATUSES
            ):
                raise _wrong_state("forfeited", await self._reload(race.id))
            if not by_owner:
                await self._audit.record(
                    qualifier.id,
                    user,
                    AuditAction.FORFEIT_RACE,
                    f"Forfeited race {race.id} of user {race.user_id}",
                )
        return await self._reload(race.id)

    async def finish_active_race(self, user: User, qualifier: AsyncQualifier) -> AsyncQualifierRace:
        """`/async_finish`: finish the user's active race."""
        return await self.finish_race(user, await self._require_active(user, qualifier))

    async def forfeit_active_race(self, user: User, qualifier: AsyncQualifier) -> AsyncQualifierRace:
        """`/async_forfeit`: forfeit the user's active race."""
        return await self.forfeit_race(user, await self._require_active(user, qualifier))

    async def reattempt_race(self, user: User, race: AsyncQualifierRace) -> AsyncQualifierRace:
        """Take an own finished/forfeit race out of scoring, within max_reattempts."""
        await self._require_owner(user, race)
        qualifier = await self._qualifier_of(race)
        if qualifier.max_reattempts == 0:
            raise DomainError("Re-attempts are not allowed in this async qualifier")
        async with in_transaction():
            # Lock order (qualifier, permalink, race) is the same everywhere; the qualifier
            # lock serialises the quota check of concurrent re-attempts.
            await self._repository.lock_qualifier(qualifier.id)
            await self._repository.lock_permalink(race.permalink_id)
            current = await self._repository.lock_race(race.id)
            if current is None:
                raise not_found(Entity.RACE)
            if current.reattempted:
                raise Conflict("Race has already been reattempted")
            if current.status not in REATTEMPTABLE:
                raise _wrong_state("reattempted", current)
            used = await self._repository.reattempt_count(qualifier.id, user.id)
            if 0 < qualifier.max_reattempts <= used:
                raise DomainError(
                    f"You have used all {qualifier.max_reattempts} re-attempts of this qualifier"
                )
            changes = {"reattempted": True, "score": None, "score_updated_at": self._clock()}
            await self._repository.update_race_if(
                race.id, changes, status_in=REATTEMPTABLE, reattempted=False
            )
            await self._scoring.rescore_permalink(race.permalink_id)
        return await self._reload(race.id)

    async def update_submission(
        self,
        user: User,
        race: AsyncQualifierRace,
        *,
        runner_vod_url: str | None = None,
        runner_notes: str | None = None,
        review_requested_by_user: bool | None = None,
        review_request_reason: str | None = None,
    ) -> AsyncQualifierRace:
        """The owner's VOD, notes and review request (None leaves a field as it is)."""
        await self._require_owner(user, race)
        reason = review_request_reason if review_request_reason is not None else race.review_request_reason
        if review_requested_by_user and not (reason and reason.strip()):
            raise DomainError("A review request needs a review_request_reason")
        changes = {
            key: value
            for key, value in {
                "runner_vod_url": runner_vod_url,
                "runner_notes": runner_notes,
                "review_requested_by_user": review_requested_by_user,
                "review_request_reason": review_request_reason,
            }.items()
            if value is not None
        }
        if not changes:
            return await self._reload(race.id)
        await self._repository.update_race_if(race.id, changes)
        updated = await self._reload(race.id)
        await self._publish_submitted(updated)
        return updated

    # -- managers and the system --------------------------------------------------------------

    async def extend_timeout(self, user: User, race: AsyncQualifierRace, minutes: int) -> AsyncQualifierRace:
        """`/async_extend_timeout`: a pending race's timeout moves `minutes` later (or to
        thread-open time + 20 + `minutes` when unset). Managers only; audited."""
        qualifier = await self._qualifier_of(race)
        await require_manager(user, qualifier.organization_id, Entity.RACE)
        if not 1 <= minutes <= MAX_EXTENSION_MINUTES:
            raise DomainError(f"minutes must be between 1 and {MAX_EXTENSION_MINUTES}")
        async with in_transaction():
            current = await self._repository.lock_race(race.id)
            if current is None:
                raise not_found(Entity.RACE)
            if current.status != RaceStatus.PENDING:
                raise _wrong_state("extended", current)
            base = current.thread_timeout_time or (
                (current.thread_open_time or self._clock()) + DEFAULT_THREAD_TIMEOUT
            )
            timeout = base + timedelta(minutes=minutes)
            await self._repository.update_race_if(race.id, {"thread_timeout_time": timeout})
            await self._audit.record(
                qualifier.id,
                user,
                AuditAction.EXTEND_TIMEOUT,
                f"Extended race {race.id} by {minutes} minutes",
            )
        return await self._reload(race.id)

    async def forfeit_timed_out(self, race: AsyncQualifierRace) -> bool:
        """The timeout task: forfeit a pending race whose timeout has passed (audited as the
        system). False when it started, ended or was extended meanwhile."""
        now = self._clock()
        async with in_transaction():
            current = await self._repository.lock_race(race.id)
            if (
                current is None
                or current.status != RaceStatus.PENDING
                or current.thread_timeout_time is None
                or current.thread_timeout_time > now
            ):
                return False
            await self._repository.update_race_if(race.id, {"status": RaceStatus.FORFEIT})
            await self._audit.record(
                current.qualifier_id,
                None,
                AuditAction.AUTO_FORFEIT,
                f"Race {race.id} timed out while pending",
            )
        return True

    async def claim_timeout_warning(self, race: AsyncQualifierRace, lead: timedelta) -> datetime | None:
        """The timeout task: record (audited as the system) that the runner of a pending race
        is being warned of its timeout, when that timeout is less than `lead` away. Returns
        the timeout to warn of, or None when it is not due or was already claimed - by this
        or another process; the claim is keyed by the timeout, so an extension re-arms it.
        Claim before sending: at most one warning goes out per timeout."""
        now = self._clock()
        async with in_transaction():
            current = await self._repository.lock_race(race.id)
            if current is None or current.status != RaceStatus.PENDING:
                return None
            timeout = current.thread_timeout_time
            if timeout is None or not now < timeout <= now + lead:
                return None
            at = timeout.astimezone(UTC)
            details = f"Warned race {race.id} of its timeout at {at:%Y-%m-%d %H:%M:%S} UTC"
            action = AuditAction.TIMEOUT_WARNING
            if await self._repository.audit_log_exists(current.qualifier_id, action.value, details):
                return None
            await self._audit.record(current.qualifier_id, None, action, details)
        return timeout

    # -- helpers --------------------------------------------------------------------------

    async def _require_owner(self, user: User, race: AsyncQualifierRace) -> None:
        qualifier = await self._qualifier_of(race)
        if race.user_id != user.id or not await is_member(user, qualifier.organization_id):
            raise not_found(Entity.RACE)

    async def _require_active(self, user: User, qualifier: AsyncQualifier) -> AsyncQualifierRace:
        await require_member(user, qualifier.organization_id, Entity.QUALIFIER)
        race = await self._repository.active_race(qualifier.id, user.id)
        if race is None:
            raise not_found(Entity.ACTIVE_RACE)
        return race

    async def _reload(self, race_id: int) -> AsyncQualifierRace:
        race = await self._repository.get_race(race_id)
        if race is None:
            raise not_found(Entity.RACE)
        return race

    async def _qualifier_of(self, race: AsyncQualifierRace) -> AsyncQualifier:
        return await self._repository.qualifier_of(race)

    async def _publish_submitted(self, race: AsyncQualifierRace) -> None:
        qualifier = await self._qualifier_of(race)
        await self._events.publish(
            RaceSubmitted(
                organization_id=qualifier.organization_id,
                qualifier_id=qualifier.id,
                race_id=race.id,
                permalink_id=race.permalink_id,
                racer_user_id=race.user_id,
                elapsed_seconds=race.elapsed_seconds,
            )
        )
