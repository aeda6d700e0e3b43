"""Bounded field types for request models and parameters.

Everything a client sends is bounded to what the databases accept, so malformed input is
a 422 and never a database error: ids fit the 32-bit id columns, text has a length limit
and no NUL or unpaired surrogate (PostgreSQL and SQLite's UTF-8 reject them), datetimes
are timezone-aware and representable in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, Field, PlainSerializer, StringConstraints

from core.ownership import Resolver

# Id columns are INTEGER (32-bit signed) on both databases.
MAX_ID = 2**31 - 1


def is_valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


def only_valid_ids(resolver: Resolver) -> Resolver:
    """An ownership resolver that answers None for ids no id column can hold, without
    asking the database (PostgreSQL would raise on an out-of-range integer)."""

    async def resolve(entity_id: int) -> int | None:
        return await resolver(entity_id) if is_valid_id(entity_id) else None

    return resolve


def _database_safe_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no unpaired surrogates)") from None
    return value


def _as_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("must be representable in UTC") from None


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z` suffix; microseconds only when non-zero."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


EntityId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
OrganizationQuery = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="Must be the organization of the entity the route names"),
]
RequiredOrganizationQuery = Annotated[int, Query(ge=1, le=MAX_ID)]


_SAFE_TEXT = AfterValidator(_database_safe_text)


def _text(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Name = Annotated[str, _text(200, min_length=1), _SAFE_TEXT]
ShortText = Annotated[str, _text(200), _SAFE_TEXT]
LongText = Annotated[str, _text(10_000), _SAFE_TEXT]
Url = Annotated[str, _text(500, min_length=1), _SAFE_TEXT]
OptionalUrl = Annotated[str, _text(500), _SAFE_TEXT]

UtcDatetimeIn = Annotated[AwareDatetime, AfterValidator(_as_utc)]
UtcDatetimeOut = Annotated[datetime, PlainSerializer(iso_utc, return_type=str)]
