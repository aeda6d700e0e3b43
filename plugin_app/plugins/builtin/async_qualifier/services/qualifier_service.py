"""Qualifiers, their pools and permalinks: reading (members), managing (managers), and the
lookups Discord commands start from (a channel's qualifier, a pool by name, the card)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import Conflict, DomainError
from core.models import User

from ..models.async_tournament import AsyncQualifier, AsyncQualifierPermalink, AsyncQualifierPool
from ..repositories.async_qualifier_repository import AsyncQualifierRepository
from .access import (
    Entity,
    not_found,
    require_manager,
    require_member,
    require_same_organization,
)
from .audit import AuditAction, AuditTrail

# What a manager may set on a qualifier (the columns besides id and organization).
QUALIFIER_FIELDS = frozenset(
    {
        "name",
        "description",
        "is_active",
        "hide_results",
        "discord_channel_id",
        "runs_per_pool",
        "max_reattempts",
    }
)
CHANNEL_IN_USE = "This Discord channel is already linked to another async qualifier"


@dataclass(frozen=True)
class PoolSummary:
    pool: AsyncQualifierPool
    permalink_count: int


@dataclass(frozen=True)
class QualifierDetail:
    qualifier: AsyncQualifier
    pools: list[PoolSummary]  # by id


@dataclass(frozen=True)
class QualifierCard:
    """What `/async_post_embed` shows; the footer reads "Qualifier ID: {qualifier_id}"."""

    qualifier_id: int
    name: str
    description: str
    is_active: bool
    runs_per_pool: int
    max_reattempts: int
    pool_names: list[str]  # by pool id


class QualifierService:
    def __init__(self, repository: AsyncQualifierRepository | None = None) -> None:
        self._repository = repository or AsyncQualifierRepository()
        self._audit = AuditTrail(self._repository)

    # -- reading --------------------------------------------------------------------------

    async def list_for_organization(self, user: User, organization_id: int) -> list[AsyncQualifier]:
        await require_member(user, organization_id, Entity.ORGANIZATION)
        if not await self._repository.organization_exists(organization_id):
            raise not_found(Entity.ORGANIZATION)
        return await self._repository.list_qualifiers(organization_id)

    async def get(self, user: User, qualifier_id: int, organization_id: int | None = None) -> AsyncQualifier:
        """The qualifier, for a member of its organization (and of `organization_id` when given)."""
        qualifier = await self._repository.get_qualifier(qualifier_id)
        if qualifier is None:
            raise not_found(Entity.QUALIFIER)
        require_same_organization(qualifier.organization_id, organization_id, Entity.QUALIFIER)
        await require_member(user, qualifier.organization_id, Entity.QUALIFIER)
        return qualifier

    async def detail(self, user: User, qualifier: AsyncQualifier) -> QualifierDetail:
        await require_member(user, qualifier.organization_id, Entity.QUALIFIER)
        return await self._detail(qualifier)

    async def get_pool(self, user: User, pool_id: int) -> AsyncQualifierPool:
        """The pool (with its qualifier), for a member of the qualifier's organization."""
        pool = await self._repository.get_pool(pool_id)
        if pool is None:
            raise not_found(Entity.POOL)
        await require_member(user, pool.qualifier.organization_id, Entity.POOL)
        return pool

    # -- Discord's entry points (no caller check: the command checks what it does) -------

    async def by_discord_channel(self, discord_channel_id: int) -> AsyncQualifier | None:
        return await self._repository.qualifier_by_channel(discord_channel_id)

    async def pool_named(self, qualifier: AsyncQualifier, name: str) -> AsyncQualifierPool | None:
        return await self._repository.pool_by_name(qualifier.id, name)

    async def card(self, qualifier: AsyncQualifier) -> QualifierCard:
        pools = await self._repository.list_pools(qualifier.id)
        return QualifierCard(
            qualifier_id=qualifier.id,
            name=qualifier.name,
            description=qualifier.description,
            is_active=qualifier.is_active,
            runs_per_pool=qualifier.runs_per_pool,
            max_reattempts=qualifier.max_reattempts,
            pool_names=[p.name for p in pools],
        )

    # -- managing -------------------------------------------------------------------------

    async def create(
        self,
        user: User,
        organization_id: int,
        *,
        name: str,
        description: str = "",
        is_active: bool = True,
        hide_results: bool = False,
        discord_channel_id: int | None = None,
        runs_per_pool: int = 1,
        max_reattempts: int = -1,
    ) -> AsyncQualifier:
        await require_manager(user, organization_id, Entity.ORGANIZATION)
        if not await self._repository.organization_exists(organization_id):
            raise not_found(Entity.ORGANIZATION)
        fields = {
            "name": name,
            "description": description,
            "is_active": is_active,
            "hide_results": hide_results,
            "discord_channel_id": discord_channel_id,
            "runs_per_pool": runs_per_pool,
            "max_reattempts": max_reattempts,
        }
        if discord_channel_id is not None and await self._repository.channel_in_use(discord_channel_id):
            raise Conflict(CHANNEL_IN_USE)
        try:
            async with in_transaction():
                qualifier = await self._repository.create_qualifier(organization_id, fields)
                await self._audit.record(
                    qualifier.id, user, AuditAction.CREATE_QUALIFIER, f"Created qualifier '{name}'"
                )
        except IntegrityError:
            raise Conflict(CHANNEL_IN_USE) from None
        return qualifier

    async def update(
        self, user: User, qualifier: AsyncQualifier, changes: Mapping[str, Any]
    ) -> AsyncQualifier:
        """Set the given fields (a PATCH: absent fields stay as they are)."""
        await require_manager(user, qualifier.organization_id, Entity.QUALIFIER)
        unknown = set(changes) - QUALIFIER_FIELDS
        if unknown:
            raise DomainError(f"Unknown qualifier fields: {', '.join(sorted(unknown))}")
        channel = changes.get("discord_channel_id")
        if channel is not None and await self._repository.channel_in_use(
            channel, except_qualifier_id=qualifier.id
        ):
            raise Conflict(CHANNEL_IN_USE)
        try:
            async with in_transaction():
                await self._repository.update_qualifier(qualifier.id, changes)
                if changes:
                    await self._audit.record(
                        qualifier.id,
                        user,
                        AuditAction.UPDATE_QUALIFIER,
                        f"Updated fields: {', '.join(sorted(changes))}",
                    )
        except IntegrityError:
            raise Conflict(CHANNEL_IN_USE) from None
        updated = await self._repository.get_qualifier(qualifier.id)
        if updated is None:
            raise not_found(Entity.QUALIFIER)
        return updated

    async def delete(self, user: User, qualifier: AsyncQualifier) -> None:
        """Deletes the qualifier with its pools, permalinks, races and audit trail."""
        await require_manager(user, qualifier.organization_id, Entity.QUALIFIER)
        await self._repository.delete_qualifier(qualifier.id)

    async def create_pool(
        self, user: User, qualifier: AsyncQualifier, name: str, description: str = ""
    ) -> AsyncQualifierPool:
        await require_manager(user, qualifier.organization_id, Entity.QUALIFIER)
        name_taken = f"A pool named '{name}' already exists in this qualifier"
        if await self._repository.pool_exists(qualifier.id, name):
            raise Conflict(name_taken)
        try:
            async with in_transaction():
                pool = await self._repository.create_pool(qualifier.id, name, description)
                await self._audit.record(
                    qualifier.id, user, AuditAction.CREATE_POOL, f"Created pool '{name}'"
                )
        except IntegrityError:
            raise Conflict(name_taken) from None
        return pool

    async def create_permalink(
        self, user: User, pool: AsyncQualifierPool, url: str, notes: str = ""
    ) -> AsyncQualifierPermalink:
        qualifier = await pool.qualifier
        await require_manager(user, qualifier.organization_id, Entity.POOL)
        async with in_transaction():
            permalink = await self._repository.create_permalink(pool.id, url, notes)
            await self._audit.record(
                qualifier.id, user, AuditAction.CREATE_PERMALINK, f"Created permalink in pool '{pool.name}'"
            )
        return permalink

    async def _detail(self, qualifier: AsyncQualifier) -> QualifierDetail:
        counts = await self._repository.permalink_counts(qualifier.id)
        pools = await self._repository.list_pools(qualifier.id)
        return QualifierDetail(qualifier, [PoolSummary(p, counts.get(p.id, 0)) for p in pools])
