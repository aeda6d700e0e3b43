"""Request and response bodies of the tournament routes.

Responses are part of the contract plugin_app reproduces byte for byte: ids are ints,
datetimes ISO 8601 in UTC with a `Z` suffix (`UtcDatetimeOut`), nested lists sorted by id,
and every key always present (null when unset). Requests reject unknown keys. In a PATCH,
an absent key leaves the column as it is, and null is accepted only for nullable columns.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from plugin_app.application.schemas.field_types import (
    EntityId,
    LongText,
    Name,
    ShortText,
    Url,
    UtcDatetimeIn,
    UtcDatetimeOut,
)

from ...models import (
    Crew,
    CrewRole,
    Match,
    MatchPlayers,
    MatchSeed,
    MatchStatus,
    Tournament,
    TournamentPlayers,
)

MAX_PLAYERS_PER_MATCH = 64


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        """The fields the client sent (for partial updates)."""
        return self.model_dump(exclude_unset=True)


class NonNullUpdate(RequestBody):
    """A partial update of non-nullable columns: a key may be absent but not null."""

    @field_validator("*")
    @classmethod
    def _reject_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


# -- tournaments ----------------------------------------------------------------------


class TournamentCreate(RequestBody):
    name: Name
    description: LongText = ""
    is_active: bool = True
    tracker_enabled: bool = True
    require_racetime_link: bool = False
    speedgaming_enabled: bool = False
    onsite_tournament: bool = False


class TournamentUpdate(NonNullUpdate):
    name: Name | SkipJsonSchema[None] = None
    description: LongText | SkipJsonSchema[None] = None
    is_active: bool | SkipJsonSchema[None] = None
    tracker_enabled: bool | SkipJsonSchema[None] = None
    require_racetime_link: bool | SkipJsonSchema[None] = None
    speedgaming_enabled: bool | SkipJsonSchema[None] = None
    onsite_tournament: bool | SkipJsonSchema[None] = None


class TournamentOut(BaseModel):
    id: int
    organization_id: int
    name: str
    description: str
    is_active: bool
    tracker_enabled: bool
    require_racetime_link: bool
    speedgaming_enabled: bool
    onsite_tournament: bool
    created_at: UtcDatetimeOut
    updated_at: UtcDatetimeOut

    @classmethod
    def of(cls, tournament: Tournament) -> TournamentOut:
        return cls.model_validate(tournament, from_attributes=True)


class RegistrationOut(BaseModel):
    id: int
    tournament_id: int
    user_id: int

    @classmethod
    def of(cls, registration: TournamentPlayers) -> RegistrationOut:
        return cls.model_validate(registration, from_attributes=True)


# -- matches --------------------------------------------------------------------------


class MatchCreate(RequestBody):
    tournament_id: EntityId
    title: ShortText | None = None
    comment: LongText | None = None
    scheduled_at: UtcDatetimeIn | None = None
    stream_channel_id: EntityId | None = None
    player_ids: list[EntityId] = Field(default_factory=list, max_length=MAX_PLAYERS_PER_MATCH)

    def match_fields(self) -> dict[str, Any]:
        return self.model_dump(include={"title", "comment", "scheduled_at", "stream_channel_id"})


class MatchUpdate(RequestBody):
    """Every column here is nullable: null clears it."""

    title: ShortText | None = None
    comment: LongText | None = None
    scheduled_at: UtcDatetimeIn | None = None
    stream_channel_id: EntityId | None = None


class StatusChange(RequestBody):
    status: MatchStatus


class WinnerIn(RequestBody):
    user_id: EntityId


class SeedIn(RequestBody):
    url: Url
    description: LongText = ""


class CrewSignupIn(RequestBody):
    role: CrewRole
    user_id: EntityId | None = Field(
        default=None, description="Another member to add (needs match:update); default: the caller"
    )


class CrewRef(RequestBody):
    crew_id: EntityId


class MatchPlayerOut(BaseModel):
    id: int
    user_id: int
    finish_rank: int | None
    assigned_station: str | None

    @classmethod
    def of(cls, player: MatchPlayers) -> MatchPlayerOut:
        return cls.model_validate(player, from_attributes=True)


class CrewOut(BaseModel):
    id: int
    match_id: int
    user_id: int
    role: CrewRole
    approved: bool
    approved_by_id: int | None

    @classmethod
    def of(cls, crew: Crew) -> CrewOut:
        return cls.model_validate(crew, from_attributes=True)


class MatchSeedOut(BaseModel):
    id: int
    match_id: int
    url: str
    description: str

    @classmethod
    def of(cls, seed: MatchSeed) -> MatchSeedOut:
        return cls.model_validate(seed, from_attributes=True)


class MatchOut(BaseModel):
    id: int
    organization_id: int
    tournament_id: int
    stream_channel_id: int | None
    title: str | None
    comment: str | None
    status: MatchStatus | None = Field(description="The last of the status timestamps that is set")
    scheduled_at: UtcDatetimeOut | None
    checked_in_at: UtcDatetimeOut | None
    started_at: UtcDatetimeOut | None
    finished_at: UtcDatetimeOut | None
    confirmed_at: UtcDatetimeOut | None
    players: list[MatchPlayerOut]
    crew: list[CrewOut]
    seed: MatchSeedOut | None

    @classmethod
    def of(cls, match: Match) -> MatchOut:
        """`match` must come with its tournament, players, crew and seed loaded."""
        seed = match.seed  # prefetched: the seed or None
        return cls(
            id=match.id,
            organization_id=match.tournament.organization_id,
            tournament_id=match.tournament_id,
            stream_channel_id=match.stream_channel_id,
            title=match.title,
            comment=match.comment,
            status=match.status,
            scheduled_at=match.scheduled_at,
            checked_in_at=match.checked_in_at,
            started_at=match.started_at,
            finished_at=match.finished_at,
            confirmed_at=match.confirmed_at,
            players=[MatchPlayerOut.of(p) for p in sorted(match.players, key=lambda p: p.id)],
            crew=[CrewOut.of(c) for c in sorted(match.crew, key=lambda c: c.id)],
            seed=None if seed is None else MatchSeedOut.of(seed),
        )
