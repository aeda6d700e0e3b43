"""Test data in the core tables (users, organizations, members, guilds, tokens), written
straight to the test database; everything of the two systems goes through their HTTP APIs."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise import Tortoise
from tortoise.backends.base import executor as tortoise_executor

from core.auth import issue_token
from core.database import tortoise_config
from core.models import DiscordGuild, Organization, OrganizationMember, Permission, Role, User

T = TypeVar("T")
_counter = itertools.count(1)


@dataclass(frozen=True)
class Caller:
    """A user and a bearer token for them."""

    user_id: int
    token: str
    discord_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Factory:
    """Owns a private event loop thread with Tortoise connected to the core tables."""

    def __init__(self, database_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        # Tortoise caches prepared INSERTs per connection *name*; a run that moves from
        # SQLite to PostgreSQL in one process would otherwise reuse SQLite's placeholders.
        tortoise_executor.EXECUTOR_CACHE.clear()
        self.run(Tortoise.init(config=tortoise_config(database_url, {}), _enable_global_fallback=True))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def close(self) -> None:
        self.run(Tortoise.close_connections())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(_counter)}-{id(self) % 10_000}"

    def organization(self, name: str | None = None) -> int:
        async def make() -> int:
            return (await Organization.create(name=name or self.unique("org"))).id

        return self.run(make())

    def user(
        self,
        *,
        permission: Permission = Permission.USER,
        racetime_id: str | None = "rt",
        org: int | None = None,
        roles: list[str] | None = None,
    ) -> Caller:
        """A user with a token; a member of `org` with `roles` when `org` is given."""

        async def make() -> Caller:
            n = next(_counter)
            discord_id = 10_000_000 + n * 7919 + id(self) % 1000
            user = await User.create(
                discord_username=f"user{n}",
                discord_id=discord_id,
                racetime_id=None if racetime_id is None else f"{racetime_id}{n}",
                permission=permission,
            )
            if org is not None:
                await OrganizationMember.create(organization_id=org, user=user, roles=roles or [])
            return Caller(user_id=user.id, token=await issue_token(user), discord_id=discord_id)

        return self.run(make())

    def guild(self, org: int, guild_id: int) -> None:
        self.run(DiscordGuild.create(organization_id=org, guild_id=guild_id))


@dataclass(frozen=True)
class Org:
    """An organization with one caller per role, plus callers outside it."""

    id: int
    admin: Caller
    manager: Caller  # Tournament Manager
    reviewer: Caller  # Async Reviewer
    moderator: Caller
    member: Caller  # a member with no role
    outsider: Caller  # not a member
    global_admin: Caller  # permission ADMIN, not a member

    @classmethod
    def make(cls, factory: Factory) -> Org:
        org = factory.organization()
        return cls(
            id=org,
            admin=factory.user(org=org, roles=[Role.ADMIN]),
            manager=factory.user(org=org, roles=[Role.TOURNAMENT_MANAGER]),
            reviewer=factory.user(org=org, roles=[Role.ASYNC_REVIEWER]),
            moderator=factory.user(org=org, roles=[Role.MODERATOR]),
            member=factory.user(org=org),
            outsider=factory.user(),
            global_admin=factory.user(permission=Permission.ADMIN),
        )

    def runners(self, factory: Factory, count: int) -> list[Caller]:
        """Fresh members without a role."""
        return [factory.user(org=self.id) for _ in range(count)]
