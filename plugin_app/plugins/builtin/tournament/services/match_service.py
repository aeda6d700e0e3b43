"""Matches: scheduling, status, winner and seed.

- Status has no column: it is the last of scheduled → checked_in → started → finished →
  recorded whose timestamp is set (`Match.status`). Advancing sets that one timestamp to
  now (overwriting, no prerequisite); reverting clears it (a no-op when it is not set).
- A SpeedGaming tournament's schedule is read-only: create, update and revert are refused
  with 400 "schedule is managed by SpeedGaming"; advancing, the winner and the seed are not.
- Players of a new match must be members of the organization (400 listing those who are
  not); with `require_racetime_link`, every player needs a racetime id (400 listing those
  without). The match and its MatchPlayers rows are written in one transaction.
- The winner must be a player of the match (400 otherwise): rank 1, the others' cleared.
- Events, after commit: MatchScheduled whenever scheduled_at takes a new non-null value
  (creation, update, advance to scheduled); MatchFinished on advance to finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import DomainError, NotFound
from core.events import EventBus
from core.models import User

from ..events.types import MatchFinished, MatchScheduled
from ..models import Match, MatchSeed, MatchStatus
from ..repositories.tournament_repository import TournamentRepository
from .access import (
    Action,
    require,
    require_member,
    require_organization,
    require_same_organization,
    require_schedule_editable,
)
from .stream_channel_service import STREAM_CHANNEL_NOT_FOUND
from .tournament_service import TOURNAMENT_NOT_FOUND

MATCH_NOT_FOUND = "Match not found"


class MatchService:
    def __init__(self, repository: TournamentRepository, events: EventBus) -> None:
        self.repository = repository
        self.events = events

    async def list_matches(self, user: User, organization_id: int, tournament_id: int | None) -> list[Match]:
        await require_organization(self.repository, organization_id)
        await require_member(user, organization_id)
        return await self.repository.list_matches(organization_id, tournament_id)

    async def create(
        self,
        user: User,
        organization_id: int,
        tournament_id: int,
        fields: Mapping[str, Any],
        player_ids: Sequence[int],
    ) -> Match:
        tournament = await self.repository.get_tournament(tournament_id)
        if tournament is None:
            raise NotFound(TOURNAMENT_NOT_FOUND)
        require_same_organization(tournament.organization_id, organization_id, TOURNAMENT_NOT_FOUND)
        await require(user, organization_id, Action.MATCH_CREATE)
        require_schedule_editable(tournament)
        await self._require_stream_channel(organization_id, fields.get("stream_channel_id"))
        players = list(dict.fromkeys(player_ids))  # duplicates name one player once
        await self._require_eligible_players(organization_id, players, tournament.require_racetime_link)
        async with in_transaction():
            match = await self.repository.create_match(tournament.id, fields, players)
        if match.scheduled_at is not None:
            await self._publish_scheduled(organization_id, match.tournament_id, match.id, match.scheduled_at)
        return await self.detail(match.id)

    async def update(
        self, user: User, match_id: int, organization_id: int | None, changes: Mapping[str, Any]
    ) -> Match:
        match = await self.find(match_id, organization_id)
        organization = match.tournament.organization_id
        await require(user, organization, Action.MATCH_UPDATE)
        require_schedule_editable(match.tournament)
        await self._require_stream_channel(organization, changes.get("stream_channel_id"))
        async with in_transaction():
            locked = await self.repository.lock_match(match.id)
            previous = None if locked is None else locked.scheduled_at
            await self.repository.update_match(match.id, changes)
        scheduled_at = changes.get("scheduled_at")
        if scheduled_at is not None and scheduled_at != previous:
            await self._publish_scheduled(organization, match.tournament_id, match.id, scheduled_at)
        return await self.detail(match.id)

    async def advance(
        self, user: User, match_id: int, organization_id: int | None, status: MatchStatus
    ) -> Match:
        match = await self.find(match_id, organization_id)
        organization = match.tournament.organization_id
        await require(user, organization, Action.MATCH_UPDATE)
        now = datetime.now(UTC)
        await self.repository.set_match_timestamp(match.id, status.timestamp_field, now)
        if status is MatchStatus.SCHEDULED:
            await self._publish_scheduled(organization, match.tournament_id, match.id, now)
        elif status is MatchStatus.FINISHED:
            await self.events.publish(
                MatchFinished(
                    organization_id=organization,
                    tournament_id=match.tournament_id,
                    match_id=match.id,
                    finished_at=now,
                )
            )
        return await self.detail(match.id)

    async def revert(
        self, user: User, match_id: int, organization_id: int | None, status: MatchStatus
    ) -> Match:
        match = await self.find(match_id, organization_id)
        await require(user, match.tournament.organization_id, Action.MATCH_UPDATE)
        require_schedule_editable(match.tournament)
        await self.repository.set_match_timestamp(match.id, status.timestamp_field, None)
        return await self.detail(match.id)

    async def set_winner(
        self, user: User, match_id: int, organization_id: int | None, winner_id: int
    ) -> Match:
        match = await self.find(match_id, organization_id)
        await require(user, match.tournament.organization_id, Action.MATCH_UPDATE)
        if not await self.repository.is_match_player(match.id, winner_id):
            raise DomainError("User is not a player of this match")
        async with in_transaction():
            await self.repository.set_winner(match.id, winner_id)
        return await self.detail(match.id)

    async def put_seed(
        self, user: User, match_id: int, organization_id: int | None, url: str, description: str
    ) -> MatchSeed:
        match = await self.find(match_id, organization_id)
        await require(user, match.tournament.organization_id, Action.MATCH_UPDATE)
        try:
            return await self._upsert_seed(match.id, url, description)
        except IntegrityError:
            # Another writer (e.g. the other app on a shared SQLite file) created it first.
            return await self._upsert_seed(match.id, url, description)

    async def delete_seed(self, user: User, match_id: int, organization_id: int | None) -> None:
        match = await self.find(match_id, organization_id)
        await require(user, match.tournament.organization_id, Action.MATCH_UPDATE)
        await self.repository.delete_seed(match.id)

    async def find(self, match_id: int, organization_id: int | None) -> Match:
        """The match with its tournament, or 404 when missing or in another organization."""
        match = await self.repository.get_match(match_id)
        if match is None:
            raise NotFound(MATCH_NOT_FOUND)
        require_same_organization(match.tournament.organization_id, organization_id, MATCH_NOT_FOUND)
        return match

    async def detail(self, match_id: int) -> Match:
        match = await self.repository.get_match_detail(match_id)
        if match is None:  # deleted by a concurrent request since we looked it up
            raise NotFound(MATCH_NOT_FOUND)
        return match

    async def _upsert_seed(self, match_id: int, url: str, description: str) -> MatchSeed:
        async with in_transaction():
            await self.repository.lock_match(match_id)
            return await self.repository.upsert_seed(match_id, url, description)

    async def _require_stream_channel(self, organization_id: int, channel_id: int | None) -> None:
        if channel_id is None:
            return
        channel = await self.repository.get_stream_channel(channel_id)
        if channel is None or channel.organization_id != organization_id:
            raise NotFound(STREAM_CHANNEL_NOT_FOUND)

    async def _require_eligible_players(
        self, organization_id: int, player_ids: list[int], require_racetime_link: bool
    ) -> None:
        members = await self.repository.member_user_ids(organization_id, player_ids)
        outsiders = sorted(set(player_ids) - members)
        if outsiders:
            listed = ", ".join(str(user_id) for user_id in outsiders)
            raise DomainError(f"Players are not members of the organization: {listed}")
        if not require_racetime_link:
            return
        unlinked = [u for u in await self.repository.users(player_ids) if not u.racetime_id]
        if unlinked:
            listed = ", ".join(f"{u.discord_username} (id {u.id})" for u in unlinked)
            raise DomainError(f"Players without a linked racetime.gg account: {listed}")

    async def _publish_scheduled(
        self, organization_id: int, tournament_id: int, match_id: int, scheduled_at: datetime
    ) -> None:
        await self.events.publish(
            MatchScheduled(
                organization_id=organization_id,
                tournament_id=tournament_id,
                match_id=match_id,
                scheduled_at=scheduled_at,
            )
        )
