"""Which organization an entity belongs to, for the proxy's routing decisions.

Each system registers a resolver per entity kind (`match`, `race`, `discord_channel`, …);
the router answers `GET /_strangler/owner/{kind}/{id}` with `{"organization_id": n}`.
The proxy only calls this over HTTP and caches the answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from core.errors import NotFound
from core.models import DiscordGuild

MAX_BIGINT = 2**63 - 1

Resolver = Callable[[int], Awaitable[int | None]]


class OwnershipResolvers:
    def __init__(self) -> None:
        self._resolvers: dict[str, Resolver] = {"discord_guild": _guild_organization}

    def register(self, kind: str, resolver: Resolver) -> None:
        self._resolvers[kind] = resolver

    def kinds(self) -> list[str]:
        return sorted(self._resolvers)

    async def resolve(self, kind: str, entity_id: int) -> int | None:
        resolver = self._resolvers.get(kind)
        # No stored id lies outside a signed 64-bit integer; don't send one to the database.
        if resolver is None or not 0 < entity_id <= MAX_BIGINT:
            return None
        return await resolver(entity_id)


async def _guild_organization(guild_id: int) -> int | None:
    """A guild may serve several organizations; only an unambiguous one is an answer."""
    org_ids = await DiscordGuild.filter(guild_id=guild_id).values_list("organization_id", flat=True)
    return org_ids[0] if len(set(org_ids)) == 1 else None


def ownership_router(resolvers: OwnershipResolvers) -> APIRouter:
    router = APIRouter(prefix="/_strangler/owner", include_in_schema=False)

    @router.get("/{kind}/{entity_id}")
    async def owner(kind: str, entity_id: int) -> dict[str, int]:
        organization_id = await resolvers.resolve(kind, entity_id)
        if organization_id is None:
            raise NotFound(f"No organization for {kind} {entity_id}")
        return {"organization_id": organization_id}

    return router
