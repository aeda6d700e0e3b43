"""Who may touch the tournament system, and the order of the checks.

Every operation resolves the organization first (from the path, or from the entity it
names), then checks the caller. The order is fixed so both apps answer alike:

1. the entity does not exist, or `?organization_id=` names another organization → 404
   (a caller never learns that an entity belongs to another tenant through the query);
2. the caller is not allowed → 403 `{"detail": "Insufficient permissions"}`;
3. the rules of the domain (SpeedGaming, racetime links, …) → 400.

Reads need membership of the organization (any role, or none); writes need the action
(`core.authorization.can`): `tournament:*` and `match:*` go to Admin and Tournament
Manager, `stream_channel:*` to Admin only. Global ADMIN and above may do anything.
"""

from __future__ import annotations

from enum import StrEnum

from core.authorization import can, is_member
from core.errors import DomainError, Forbidden, NotFound
from core.models import User

from ..models import Tournament
from ..repositories.tournament_repository import TournamentRepository

INSUFFICIENT_PERMISSIONS = "Insufficient permissions"
SPEEDGAMING_READ_ONLY = "schedule is managed by SpeedGaming"


class Action(StrEnum):
    TOURNAMENT_CREATE = "tournament:create"
    TOURNAMENT_UPDATE = "tournament:update"
    TOURNAMENT_DELETE = "tournament:delete"
    MATCH_CREATE = "match:create"
    MATCH_UPDATE = "match:update"
    STREAM_CHANNEL_CREATE = "stream_channel:create"
    STREAM_CHANNEL_UPDATE = "stream_channel:update"
    STREAM_CHANNEL_DELETE = "stream_channel:delete"


async def require_organization(repository: TournamentRepository, organization_id: int) -> None:
    """A route that names its organization in the path answers 404 for an unknown one."""
    if not await repository.organization_exists(organization_id):
        raise NotFound("Organization not found")


async def require(user: User, organization_id: int, action: Action) -> None:
    if not await can(user, organization_id, action):
        raise Forbidden(INSUFFICIENT_PERMISSIONS)


async def require_member(user: User, organization_id: int) -> None:
    if not await is_member(user, organization_id):
        raise Forbidden(INSUFFICIENT_PERMISSIONS)


def require_same_organization(entity_organization_id: int, requested: int | None, not_found: str) -> None:
    """An explicit `?organization_id=` must name the entity's own organization."""
    if requested is not None and requested != entity_organization_id:
        raise NotFound(not_found)


def require_schedule_editable(tournament: Tournament) -> None:
    """SpeedGaming owns the schedule of such tournaments; local edits would be overwritten."""
    if tournament.speedgaming_enabled:
        raise DomainError(SPEEDGAMING_READ_ONLY)
