"""AsyncQualifier models (tables `async_qualifiers`, `async_qualifier_pools`,
`async_qualifier_permalinks`, `async_qualifier_races`, `async_qualifier_audit_logs`).

Copied from legacy_app (the migration duplicates it on purpose): table and column names,
the app label "async_qualifier", indexes and constraints are a contract, since both apps
read and write these very rows. The tables are owned by legacy_app's migrations
(`strangler migrate`); this plugin ships none and never alters them. A partial unique index
there keeps at most one pending or in-progress race per (qualifier, user), whichever app
writes. No docstrings on the model classes: Tortoise writes them into table comments.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from core.models import Organization, User

# Room for a future status without a schema change of the column's width.
ENUM_COLUMN_LENGTH = 20
URL_LENGTH = 2000
NAME_LENGTH = 200


class RaceStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    FORFEIT = "forfeit"
    DISQUALIFIED = "disqualified"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


ACTIVE_STATUSES = (RaceStatus.PENDING, RaceStatus.IN_PROGRESS)
# The statuses that occupy a leaderboard slot and receive a score.
COMPLETED_STATUSES = (RaceStatus.FINISHED, RaceStatus.FORFEIT, RaceStatus.DISQUALIFIED)


class AsyncQualifier(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", related_name="async_qualifiers", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=NAME_LENGTH)
    description = fields.TextField(default="")
    is_active = fields.BooleanField(default=True)
    hide_results = fields.BooleanField(default=False)
    discord_channel_id = fields.BigIntField(unique=True, null=True)
    runs_per_pool = fields.IntField(default=1)
    max_reattempts = fields.IntField(default=-1)  # -1 unlimited, 0 none

    organization_id: int

    class Meta:
        table = "async_qualifiers"


class AsyncQualifierPool(Model):
    id = fields.IntField(primary_key=True)
    qualifier: fields.ForeignKeyRelation[AsyncQualifier] = fields.ForeignKeyField(
        "async_qualifier.AsyncQualifier", related_name="pools", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=NAME_LENGTH)
    description = fields.TextField(default="")

    qualifier_id: int

    class Meta:
        table = "async_qualifier_pools"
        unique_together = (("qualifier", "name"),)


class AsyncQualifierPermalink(Model):
    id = fields.IntField(primary_key=True)
    pool: fields.ForeignKeyRelation[AsyncQualifierPool] = fields.ForeignKeyField(
        "async_qualifier.AsyncQualifierPool", related_name="permalinks", on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=URL_LENGTH)
    notes = fields.TextField(default="")
    par_time = fields.FloatField(null=True)  # seconds
    par_updated_at = fields.DatetimeField(null=True)

    pool_id: int

    class Meta:
        table = "async_qualifier_permalinks"


class AsyncQualifierRace(Model):
    id = fields.IntField(primary_key=True)
    qualifier: fields.ForeignKeyRelation[AsyncQualifier] = fields.ForeignKeyField(
        "async_qualifier.AsyncQualifier", related_name="races", on_delete=fields.CASCADE
    )
    permalink: fields.ForeignKeyRelation[AsyncQualifierPermalink] = fields.ForeignKeyField(
        "async_qualifier.AsyncQualifierPermalink", related_name="races", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="async_qualifier_races", on_delete=fields.CASCADE
    )
    discord_thread_id = fields.BigIntField(null=True, db_index=True)
    thread_open_time = fields.DatetimeField(null=True)
    thread_timeout_time = fields.DatetimeField(null=True)
    start_time = fields.DatetimeField(null=True)
    end_time = fields.DatetimeField(null=True)
    status = fields.CharEnumField(RaceStatus, default=RaceStatus.PENDING, max_length=ENUM_COLUMN_LENGTH)
    reattempted = fields.BooleanField(default=False)
    runner_notes = fields.TextField(null=True)
    runner_vod_url = fields.CharField(max_length=URL_LENGTH, null=True)
    score = fields.FloatField(null=True)
    score_updated_at = fields.DatetimeField(null=True)
    review_status = fields.CharEnumField(
        ReviewStatus, default=ReviewStatus.PENDING, max_length=ENUM_COLUMN_LENGTH
    )
    reviewed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="async_qualifier_reviews", null=True, on_delete=fields.SET_NULL
    )
    reviewed_at = fields.DatetimeField(null=True)
    reviewer_notes = fields.TextField(null=True)
    review_requested_by_user = fields.BooleanField(default=False)
    review_request_reason = fields.TextField(null=True)

    qualifier_id: int
    permalink_id: int
    user_id: int
    reviewed_by_id: int | None

    class Meta:
        table = "async_qualifier_races"
        indexes = (("qualifier_id", "user_id", "status"),)

    @property
    def elapsed(self) -> timedelta | None:
        """end − start, or None while either is unset."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    @property
    def elapsed_seconds(self) -> float | None:
        elapsed = self.elapsed
        return None if elapsed is None else elapsed.total_seconds()


class AsyncQualifierAuditLog(Model):
    id = fields.IntField(primary_key=True)
    qualifier: fields.ForeignKeyRelation[AsyncQualifier] = fields.ForeignKeyField(
        "async_qualifier.AsyncQualifier", related_name="audit_logs", on_delete=fields.CASCADE
    )
    # Null for actions of the system itself (scheduled tasks).
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="async_qualifier_audit_logs", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=50)
    details = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    qualifier_id: int
    user_id: int | None

    class Meta:
        table = "async_qualifier_audit_logs"
