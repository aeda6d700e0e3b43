"""Where a request names its organization, for the enablement gate in front of a plugin's
routes. A locator that finds nothing passes the question on; when none finds an
organization the route itself answers (its own 404 or 422), exactly as it would anyway."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import Request

from core.ownership import OwnershipResolvers

# Organization ids are INTEGER columns on both databases. A number outside that range names
# no organization and must not reach a query (PostgreSQL and SQLite raise on it): the
# locator finds nothing, and the route answers it as it would anyway (422 or 404).
MAX_ORGANIZATION_ID = 2**31 - 1


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        try:
            return int(value)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            return None
    return None


def _as_organization_id(value: object) -> int | None:
    number = _as_int(value)
    return number if number is not None and 1 <= number <= MAX_ORGANIZATION_ID else None


@dataclass(frozen=True)
class FromPath:
    """A path parameter that is an organization id (`/organizations/{org}`)."""

    param: str

    async def locate(self, request: Request, ownership: OwnershipResolvers) -> int | None:
        return _as_organization_id(request.path_params.get(self.param))


@dataclass(frozen=True)
class FromQuery:
    """A query parameter that is an organization id (`?organization_id=`)."""

    param: str

    async def locate(self, request: Request, ownership: OwnershipResolvers) -> int | None:
        return _as_organization_id(request.query_params.get(self.param))


@dataclass(frozen=True)
class FromEntity:
    """A path parameter naming an entity whose organization an ownership resolver knows."""

    kind: str
    param: str

    async def locate(self, request: Request, ownership: OwnershipResolvers) -> int | None:
        entity_id = _as_int(request.path_params.get(self.param))
        return None if entity_id is None else await ownership.resolve(self.kind, entity_id)


@dataclass(frozen=True)
class FromBodyEntity:
    """A JSON body field naming an entity (`{"crew_id": 5}`), resolved like FromEntity.

    Starlette caches the body on the request, so the endpoint still reads it afterwards.
    """

    kind: str
    field: str

    async def locate(self, request: Request, ownership: OwnershipResolvers) -> int | None:
        if request.method in ("GET", "HEAD", "DELETE"):
            return None
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return None
        entity_id = _as_int(body.get(self.field)) if isinstance(body, dict) else None
        return None if entity_id is None else await ownership.resolve(self.kind, entity_id)


OrganizationLocator = FromPath | FromQuery | FromEntity | FromBodyEntity

# The conventions of the domain's routes: `/organizations/{org}` and `?organization_id=`.
DEFAULT_LOCATORS: tuple[OrganizationLocator, ...] = (
    FromPath("org"),
    FromPath("organization_id"),
    FromQuery("organization_id"),
)


async def locate_organization(
    request: Request, locators: tuple[OrganizationLocator, ...], ownership: OwnershipResolvers
) -> int | None:
    """The first organization a locator finds, or None."""
    for locator in locators:
        organization_id = await locator.locate(request, ownership)
        if organization_id is not None:
            return organization_id
    return None
