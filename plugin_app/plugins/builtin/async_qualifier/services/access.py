"""Who may touch the async qualifier system.

The spec fixes one answer for "does not exist" and "you may not": 404
`{"detail": "<Entity> not found or insufficient permissions"}`, so a caller never learns
that an entity exists in an organization they cannot act in. The exceptions are rules
about an entity the caller can see: reviewing your own race is 403, a race in the wrong
state is 409, any other rule of the domain is 400.

- taking part (open a race, read qualifiers and the leaderboard): membership of the
  organization (any role, or none);
- managing (qualifiers, pools, permalinks, recalculation, other runners' forfeits,
  timeout extensions): `async_tournament:manage` (Admin, Tournament Manager);
- reviewing: `async_race:review` (Admin, Async Reviewer).
Global ADMIN and above may do anything.
"""

from __future__ import annotations

from enum import StrEnum

from core.authorization import can, is_member
from core.errors import NotFound
from core.models import User


class AsyncAction(StrEnum):
    MANAGE = "async_tournament:manage"
    REVIEW = "async_race:review"


class Entity(StrEnum):
    """How each entity is named in the 404 detail."""

    ORGANIZATION = "Organization"
    QUALIFIER = "Async qualifier"
    POOL = "Pool"
    PERMALINK = "Permalink"
    RACE = "Race"
    ACTIVE_RACE = "Active race"


def not_found(entity: Entity) -> NotFound:
    return NotFound(f"{entity} not found or insufficient permissions")


async def can_manage(user: User, organization_id: int) -> bool:
    return await can(user, organization_id, AsyncAction.MANAGE)


async def can_review(user: User, organization_id: int) -> bool:
    return await can(user, organization_id, AsyncAction.REVIEW)


async def require_member(user: User, organization_id: int, entity: Entity) -> None:
    if not await is_member(user, organization_id):
        raise not_found(entity)


async def require_manager(user: User, organization_id: int, entity: Entity) -> None:
    if not await can_manage(user, organization_id):
        raise not_found(entity)


async def require_reviewer(user: User, organization_id: int, entity: Entity) -> None:
    if not await can_review(user, organization_id):
        raise not_found(entity)


def require_same_organization(entity_organization_id: int, requested: int | None, entity: Entity) -> None:
    """An explicit `?organization_id=` must name the entity's own organization."""
    if requested is not None and requested != entity_organization_id:
        raise not_found(entity)
