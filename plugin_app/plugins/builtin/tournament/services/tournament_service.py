"""Tournaments and player registration.

Registration (`register`) is idempotent per (tournament, user): the table has no unique
constraint, so the check and the insert run in one transaction under a lock on the
tournament row, and a repeat returns the registration that already exists. A member may
register or unregister themselves; doing it for another user takes `tournament:update`,
and that user must be a member of the organization (404 otherwise). Unregistering someone
who is not registered is a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.transactions import in_transaction

from core.errors import NotFound
from core.models import User

from ..models import Tournament, TournamentPlayers
from ..repositories.tournament_repository import TournamentRepository
from .access import (
    Action,
    require,
    require_member,
    require_organization,
    require_same_organization,
)

TOURNAMENT_NOT_FOUND = "Tournament not found"
USER_NOT_FOUND = "User not found"


class TournamentService:
    def __init__(self, repository: TournamentRepository) -> None:
        self.repository = repository

    async def list_tournaments(self, user: User, organization_id: int) -> list[Tournament]:
        await require_organization(self.repository, organization_id)
        await require_member(user, organization_id)
        return await self.repository.list_tournaments(organization_id)

    async def create(self, user: User, organization_id: int, fields: Mapping[str, Any]) -> Tournament:
        await require_organization(self.repository, organization_id)
        await require(user, organization_id, Action.TOURNAMENT_CREATE)
        return await self.repository.create_tournament(organization_id, fields)

    async def update(
        self, user: User, tournament_id: int, organization_id: int | None, changes: Mapping[str, Any]
    ) -> Tournament:
        tournament = await self.find(tournament_id, organization_id)
        await require(user, tournament.organization_id, Action.TOURNAMENT_UPDATE)
        return await self.repository.update_tournament(tournament, changes)

    async def delete(self, user: User, tournament_id: int, organization_id: int | None) -> None:
        tournament = await self.find(tournament_id, organization_id)
        await require(user, tournament.organization_id, Action.TOURNAMENT_DELETE)
        await self.repository.delete_tournament(tournament.id)

    async def list_players(
        self, user: User, tournament_id: int, organization_id: int | None
    ) -> list[TournamentPlayers]:
        tournament = await self.find(tournament_id, organization_id)
        await require_member(user, tournament.organization_id)
        return await self.repository.list_registrations(tournament.id)

    async def register(
        self, user: User, tournament_id: int, player_id: int, organization_id: int | None
    ) -> TournamentPlayers:
        tournament = await self.find(tournament_id, organization_id)
        await self._require_may_register(user, tournament, player_id)
        async with in_transaction():
            await self.repository.lock_tournament(tournament.id)
            existing = await self.repository.find_registration(tournament.id, player_id)
            if existing is not None:
                return existing
            return await self.repository.create_registration(tournament.id, player_id)

    async def unregister(
        self, user: User, tournament_id: int, player_id: int, organization_id: int | None
    ) -> None:
        tournament = await self.find(tournament_id, organization_id)
        if player_id == user.id:
            await require_member(user, tournament.organization_id)
        else:
            await require(user, tournament.organization_id, Action.TOURNAMENT_UPDATE)
        await self.repository.delete_registrations(tournament.id, player_id)

    async def find(self, tournament_id: int, organization_id: int | None) -> Tournament:
        """The tournament, or 404 when missing or not in the requested organization."""
        tournament = await self.repository.get_tournament(tournament_id)
        if tournament is None:
            raise NotFound(TOURNAMENT_NOT_FOUND)
        require_same_organization(tournament.organization_id, organization_id, TOURNAMENT_NOT_FOUND)
        return tournament

    async def _require_may_register(self, user: User, tournament: Tournament, player_id: int) -> None:
        if player_id == user.id:
            await require_member(user, tournament.organization_id)
            return
        await require(user, tournament.organization_id, Action.TOURNAMENT_UPDATE)
        if not await self.repository.member_user_ids(tournament.organization_id, [player_id]):
            raise NotFound(USER_NOT_FOUND)
