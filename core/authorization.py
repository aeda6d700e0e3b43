"""Role → action authorization. Actions are `resource:op` strings."""

from __future__ import annotations

from core.models import OrganizationMember, Role, User

READ_OP = "read"

# `*` in the op position grants every op of that resource; a bare `*` grants everything.
ROLE_GRANTS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"*"}),
    Role.TOURNAMENT_MANAGER: frozenset({"tournament:*", "match:*", "async_tournament:*"}),
    Role.ASYNC_REVIEWER: frozenset({"async_race:review", "tournament:read", "match:read"}),
    Role.MODERATOR: frozenset({f"*:{READ_OP}"}),
}


def role_grants(role: Role, action: str) -> bool:
    resource, _, op = action.partition(":")
    grants = ROLE_GRANTS[role]
    return bool({"*", action, f"{resource}:*", f"*:{op}"} & grants)


def roles_grant(roles: list[str], action: str) -> bool:
    known = [Role(r) for r in roles if r in Role._value2member_map_]
    return any(role_grants(role, action) for role in known)


async def member_roles(user: User, organization_id: int) -> list[str] | None:
    """The user's roles in the organization, or None when not a member."""
    member = await OrganizationMember.get_or_none(user_id=user.id, organization_id=organization_id)
    return None if member is None else list(member.roles or [])


async def is_member(user: User, organization_id: int) -> bool:
    return user.is_global_admin or await member_roles(user, organization_id) is not None


async def can(user: User, organization_id: int, action: str) -> bool:
    """Global ADMIN and above may do anything; otherwise the member's roles decide."""
    if user.is_global_admin:
        return True
    roles = await member_roles(user, organization_id)
    return roles is not None and roles_grant(roles, action)
