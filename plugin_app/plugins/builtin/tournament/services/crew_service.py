"""Crew signups (commentator, tracker, restreamer) and their approval.

- Signing yourself up is open to any member of the match's organization; adding another
  user ("admin-add") takes `match:update`, and that user must be a member (404 otherwise).
  Either way the signup starts unapproved.
- A signup is idempotent per (match, user, role): the check and the insert run under a
  lock on the match row, and the table's unique constraint backs it up (a lost race
  returns the row the other writer created). A repeat returns the existing signup as it is.
- Approve (`match:update`) sets approved and approved_by; approving an approved signup
  changes nothing. Unapprove clears both.
- SpeedGaming tournaments refuse signup, admin-add and approve; unapprove is allowed.
- Events, after commit: CrewAdded for a new signup, CrewApproved when one becomes approved.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import NotFound
from core.events import EventBus
from core.models import User

from ..events.types import CrewAdded, CrewApproved
from ..models import Crew, CrewRole
from ..repositories.tournament_repository import TournamentRepository
from .access import (
    Action,
    require,
    require_member,
    require_same_organization,
    require_schedule_editable,
)
from .match_service import MatchService
from .tournament_service import USER_NOT_FOUND

CREW_NOT_FOUND = "Crew signup not found"


class CrewService:
    def __init__(self, repository: TournamentRepository, events: EventBus) -> None:
        self.repository = repository
        self.events = events
        self.matches = MatchService(repository, events)

    async def sign_up(
        self, user: User, match_id: int, organization_id: int | None, role: CrewRole, crew_user_id: int | None
    ) -> Crew:
        match = await self.matches.find(match_id, organization_id)
        organization = match.tournament.organization_id
        target = user.id if crew_user_id is None else crew_user_id
        if target == user.id:
            await require_member(user, organization)
        else:
            await require(user, organization, Action.MATCH_UPDATE)
        require_schedule_editable(match.tournament)
        if target != user.id and not await self.repository.member_user_ids(organization, [target]):
            raise NotFound(USER_NOT_FOUND)
        try:
            crew, created = await self._find_or_create(match.id, target, role)
        except IntegrityError:
            crew, created = await self._find_or_create(match.id, target, role)
        if created:
            await self.events.publish(
                CrewAdded(
                    organization_id=organization,
                    match_id=match.id,
                    crew_id=crew.id,
                    user_id=target,
                    role=role.value,
                )
            )
        return crew

    async def approve(self, user: User, crew_id: int, organization_id: int | None) -> Crew:
        crew = await self.find(crew_id, organization_id)
        organization = crew.match.tournament.organization_id
        await require(user, organization, Action.MATCH_UPDATE)
        require_schedule_editable(crew.match.tournament)
        if await self.repository.approve_crew(crew.id, user.id):
            await self.events.publish(
                CrewApproved(
                    organization_id=organization,
                    match_id=crew.match_id,
                    crew_id=crew.id,
                    user_id=crew.user_id,
                    approved_by_id=user.id,
                )
            )
        return await self.find(crew.id, None)

    async def unapprove(self, user: User, crew_id: int, organization_id: int | None) -> Crew:
        crew = await self.find(crew_id, organization_id)
        await require(user, crew.match.tournament.organization_id, Action.MATCH_UPDATE)
        await self.repository.unapprove_crew(crew.id)
        return await self.find(crew.id, None)

    async def find(self, crew_id: int, organization_id: int | None) -> Crew:
        """The signup with its match and tournament, or 404 (also for another organization)."""
        crew = await self.repository.get_crew(crew_id)
        if crew is None:
            raise NotFound(CREW_NOT_FOUND)
        require_same_organization(crew.match.tournament.organization_id, organization_id, CREW_NOT_FOUND)
        return crew

    async def _find_or_create(self, match_id: int, user_id: int, role: CrewRole) -> tuple[Crew, bool]:
        async with in_transaction():
            await self.repository.lock_match(match_id)
            existing = await self.repository.find_crew(match_id, user_id, role)
            if existing is not None:
                return existing, False
            return await self.repository.create_crew(match_id, user_id, role), True
