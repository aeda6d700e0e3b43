"""Request and response bodies of the async qualifier routes.

Copied from legacy_app: responses are a contract this plugin reproduces byte for byte:
- ids are ints (Discord snowflakes too); datetimes ISO 8601 in UTC with a `Z` suffix
  (`UtcDatetimeOut`); every key is always present (null when unset);
- scores, estimates and par times are stored unrounded and served rounded to 3 decimal
  places (`round(x, 3)`); `elapsed_seconds` is served exactly (microsecond resolution);
- lists are sorted: qualifiers, pools and races by id; leaderboard entries by score
  descending, then user id.
Requests reject unknown keys. In a PATCH an absent key leaves the column as it is, and
null is accepted only for nullable columns.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from plugin_app.application.schemas.field_types import (
    EntityId,
    LongText,
    Name,
    OptionalUrl,
    Url,
    UtcDatetimeOut,
)

from ..models.async_tournament import (
    AsyncQualifier,
    AsyncQualifierPermalink,
    AsyncQualifierRace,
    RaceStatus,
    ReviewStatus,
)
from ..services.leaderboard_service import Leaderboard, LeaderboardEntry
from ..services.qualifier_service import PoolSummary, QualifierDetail
from ..services.review_service import MAX_CORRECTED_SECONDS

SCORE_DECIMALS = 3
MAX_SNOWFLAKE = 2**63 - 1  # BIGINT
MAX_RUNS_PER_POOL = 100
MAX_REATTEMPTS = 1000


def _rounded(value: float) -> float:
    return round(value, SCORE_DECIMALS)


Score = Annotated[float, PlainSerializer(_rounded, return_type=float)]
Snowflake = Annotated[int, Field(ge=1, le=MAX_SNOWFLAKE)]
RunsPerPool = Annotated[int, Field(ge=1, le=MAX_RUNS_PER_POOL)]
MaxReattempts = Annotated[int, Field(ge=-1, le=MAX_REATTEMPTS, description="-1 unlimited, 0 none")]
CorrectedSeconds = Annotated[float, Field(gt=0, le=MAX_CORRECTED_SECONDS)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        """The fields the client sent (for partial updates)."""
        return self.model_dump(exclude_unset=True)


# -- qualifiers, pools, permalinks ------------------------------------------------------


class QualifierCreate(RequestBody):
    name: Name
    description: LongText = ""
    is_active: bool = True
    hide_results: bool = False
    discord_channel_id: Snowflake | None = None
    runs_per_pool: RunsPerPool = 1
    max_reattempts: MaxReattempts = -1


class QualifierUpdate(RequestBody):
    name: Name | None = None
    description: LongText | None = None
    is_active: bool | None = None
    hide_results: bool | None = None
    discord_channel_id: Snowflake | None = None
    runs_per_pool: RunsPerPool | None = None
    max_reattempts: MaxReattempts | None = None

    @model_validator(mode="after")
    def _null_only_where_nullable(self) -> QualifierUpdate:
        nulls = sorted(
            k for k in self.model_fields_set if getattr(self, k) is None and k != "discord_channel_id"
        )
        if nulls:
            raise ValueError(f"may not be null: {', '.join(nulls)}")
        return self


class QualifierOut(BaseModel):
    id: int
    organization_id: int
    name: str
    description: str
    is_active: bool
    hide_results: bool
    discord_channel_id: int | None
    runs_per_pool: int
    max_reattempts: int

    @classmethod
    def of(cls, q: AsyncQualifier) -> QualifierOut:
        return cls(
            id=q.id,
            organization_id=q.organization_id,
            name=q.name,
            description=q.description,
            is_active=q.is_active,
            hide_results=q.hide_results,
            discord_channel_id=q.discord_channel_id,
            runs_per_pool=q.runs_per_pool,
            max_reattempts=q.max_reattempts,
        )


class PoolCreate(RequestBody):
    name: Name
    description: LongText = ""


class PoolOut(BaseModel):
    id: int
    qualifier_id: int
    name: str
    description: str
    permalink_count: int

    @classmethod
    def of(cls, summary: PoolSummary) -> PoolOut:
        pool = summary.pool
        return cls(
            id=pool.id,
            qualifier_id=pool.qualifier_id,
            name=pool.name,
            description=pool.description,
            permalink_count=summary.permalink_count,
        )


class QualifierDetailOut(QualifierOut):
    pools: list[PoolOut]

    @classmethod
    def of_detail(cls, detail: QualifierDetail) -> QualifierDetailOut:
        base = QualifierOut.of(detail.qualifier).model_dump()
        return cls(**base, pools=[PoolOut.of(p) for p in detail.pools])


class PermalinkCreate(RequestBody):
    url: Url
    notes: LongText = ""


class PermalinkOut(BaseModel):
    id: int
    pool_id: int
    url: str
    notes: str
    par_time: Score | None
    par_updated_at: UtcDatetimeOut | None

    @classmethod
    def of(cls, p: AsyncQualifierPermalink) -> PermalinkOut:
        return cls(
            id=p.id,
            pool_id=p.pool_id,
            url=p.url,
            notes=p.notes,
            par_time=p.par_time,
            par_updated_at=p.par_updated_at,
        )


# -- races ------------------------------------------------------------------------------


class RaceCreate(RequestBody):
    """Exactly one of the two: a pool (the lowest-id permalink not yet played is handed
    out) or a specific permalink."""

    pool_id: EntityId | None = None
    permalink_id: EntityId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RaceCreate:
        if (self.pool_id is None) == (self.permalink_id is None):
            raise ValueError("give exactly one of pool_id and permalink_id")
        return self


class SubmissionUpdate(RequestBody):
    """Absent or null: left as it is. A review request needs a reason (sent now or before)."""

    runner_vod_url: OptionalUrl | None = None
    runner_notes: LongText | None = None
    review_requested_by_user: bool | None = None
    review_request_reason: LongText | None = None


class ReviewDecision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReviewUpdate(RequestBody):
    review_status: ReviewDecision
    reviewer_notes: LongText | None = None
    elapsed_seconds_override: CorrectedSeconds | None = Field(
        default=None, description="Corrected time: start_time becomes end_time minus this many seconds"
    )


class RaceOut(BaseModel):
    id: int
    qualifier_id: int
    pool_id: int
    permalink_id: int
    permalink_url: str
    user_id: int
    status: RaceStatus
    reattempted: bool
    start_time: UtcDatetimeOut | None
    end_time: UtcDatetimeOut | None
    elapsed_seconds: float | None
    score: Score | None
    score_updated_at: UtcDatetimeOut | None
    discord_thread_id: int | None
    thread_open_time: UtcDatetimeOut | None
    thread_timeout_time: UtcDatetimeOut | None
    runner_vod_url: str | None
    runner_notes: str | None
    review_requested_by_user: bool
    review_request_reason: str | None
    review_status: ReviewStatus
    reviewed_by_id: int | None
    reviewed_at: UtcDatetimeOut | None
    reviewer_notes: str | None

    @classmethod
    def of(cls, r: AsyncQualifierRace) -> RaceOut:
        """`r` must come with its permalink (the repository's race queries fetch it)."""
        return cls(
            id=r.id,
            qualifier_id=r.qualifier_id,
            pool_id=r.permalink.pool_id,
            permalink_id=r.permalink_id,
            permalink_url=r.permalink.url,
            user_id=r.user_id,
            status=r.status,
            reattempted=r.reattempted,
            start_time=r.start_time,
            end_time=r.end_time,
            elapsed_seconds=r.elapsed_seconds,
            score=r.score,
            score_updated_at=r.score_updated_at,
            discord_thread_id=r.discord_thread_id,
            thread_open_time=r.thread_open_time,
            thread_timeout_time=r.thread_timeout_time,
            runner_vod_url=r.runner_vod_url,
            runner_notes=r.runner_notes,
            review_requested_by_user=r.review_requested_by_user,
            review_request_reason=r.review_request_reason,
            review_status=r.review_status,
            reviewed_by_id=r.reviewed_by_id,
            reviewed_at=r.reviewed_at,
            reviewer_notes=r.reviewer_notes,
        )


# -- leaderboard and scoring ------------------------------------------------------------


class LeaderboardEntryOut(BaseModel):
    user_id: int
    discord_username: str
    score: Score
    estimate: Score
    finished_count: int
    unattempted_count: int
    forfeited_count: int

    @classmethod
    def of(cls, e: LeaderboardEntry) -> LeaderboardEntryOut:
        return cls(
            user_id=e.user_id,
            discord_username=e.discord_username,
            score=e.score,
            estimate=e.estimate,
            finished_count=e.finished_count,
            unattempted_count=e.unattempted_count,
            forfeited_count=e.forfeited_count,
        )


class LeaderboardOut(BaseModel):
    qualifier_id: int
    runs_per_pool: int
    pool_count: int
    results_hidden: bool = Field(description="True when hide_results filtered the list to your own entry")
    entries: list[LeaderboardEntryOut]

    @classmethod
    def of(cls, board: Leaderboard) -> LeaderboardOut:
        return cls(
            qualifier_id=board.qualifier_id,
            runs_per_pool=board.runs_per_pool,
            pool_count=board.pool_count,
            results_hidden=board.results_hidden,
            entries=[LeaderboardEntryOut.of(e) for e in board.entries],
        )


class RecalculateOut(BaseModel):
    qualifier_id: int
    permalinks_scored: int = Field(description="Permalinks with at least one finisher (a par)")
