"""Tournament system models (Tortoise app label `tournament`), copied from legacy_app.

Tables `tournament`, `match`, `matchplayers`, `tournamentplayers`, `streamchannel`, `crew`
and `matchseed`. They belong to legacy_app's migrations: this plugin maps onto the same
rows under the same app label, table and column names, and never creates or alters them
(its PluginModels has no migrations). Constraints are declared exactly as legacy's, so
Tortoise's view of the tables matches what is in the database. Model classes carry no
docstrings: Tortoise would write them into table comments.

A match has no status column; `Match.status` derives it from the timestamps (see
`MatchStatus`). `tournamentplayers` deliberately has no unique constraint (the spec's
schema): registration is made idempotent by the service, under a row lock.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from core.models import Organization, User


class MatchStatus(StrEnum):
    """A match's progress, in order; each value names the timestamp that marks it."""

    SCHEDULED = "scheduled"
    CHECKED_IN = "checked_in"
    STARTED = "started"
    FINISHED = "finished"
    RECORDED = "recorded"

    @property
    def timestamp_field(self) -> str:
        return STATUS_TIMESTAMP_FIELDS[self]


STATUS_TIMESTAMP_FIELDS: dict[MatchStatus, str] = {
    MatchStatus.SCHEDULED: "scheduled_at",
    MatchStatus.CHECKED_IN: "checked_in_at",
    MatchStatus.STARTED: "started_at",
    MatchStatus.FINISHED: "finished_at",
    MatchStatus.RECORDED: "confirmed_at",
}


class CrewRole(StrEnum):
    COMMENTATOR = "commentator"
    TRACKER = "tracker"
    RESTREAMER = "restreamer"


class Tournament(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", related_name="tournaments", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    is_active = fields.BooleanField(default=True)
    tracker_enabled = fields.BooleanField(default=True)
    require_racetime_link = fields.BooleanField(default=False)
    speedgaming_enabled = fields.BooleanField(default=False)
    onsite_tournament = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int

    class Meta:
        table = "tournament"


class StreamChannel(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", related_name="stream_channels", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200, unique=True)
    stream_url = fields.CharField(max_length=500, default="")
    is_active = fields.BooleanField(default=True)

    organization_id: int

    class Meta:
        table = "streamchannel"


class Match(Model):
    id = fields.IntField(primary_key=True)
    tournament: fields.ForeignKeyRelation[Tournament] = fields.ForeignKeyField(
        "tournament.Tournament", related_name="matches", on_delete=fields.CASCADE
    )
    stream_channel: fields.ForeignKeyNullableRelation[StreamChannel] = fields.ForeignKeyField(
        "tournament.StreamChannel", related_name="matches", null=True, on_delete=fields.SET_NULL
    )
    title = fields.CharField(max_length=200, null=True)
    comment = fields.TextField(null=True)
    scheduled_at = fields.DatetimeField(null=True)
    checked_in_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    confirmed_at = fields.DatetimeField(null=True)

    tournament_id: int
    stream_channel_id: int | None
    players: fields.ReverseRelation[MatchPlayers]
    crew: fields.ReverseRelation[Crew]
    seed: fields.BackwardOneToOneRelation[MatchSeed]

    class Meta:
        table = "match"

    @property
    def status(self) -> MatchStatus | None:
        """The last status in order whose timestamp is set; None before any is."""
        latest = None
        for status in MatchStatus:
            if getattr(self, status.timestamp_field) is not None:
                latest = status
        return latest


class MatchPlayers(Model):
    id = fields.IntField(primary_key=True)
    match: fields.ForeignKeyRelation[Match] = fields.ForeignKeyField(
        "tournament.Match", related_name="players", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="match_entries", on_delete=fields.CASCADE
    )
    finish_rank = fields.IntField(null=True)
    assigned_station = fields.CharField(max_length=50, null=True)

    match_id: int
    user_id: int

    class Meta:
        table = "matchplayers"
        unique_together = (("match", "user"),)


class TournamentPlayers(Model):
    id = fields.IntField(primary_key=True)
    tournament: fields.ForeignKeyRelation[Tournament] = fields.ForeignKeyField(
        "tournament.Tournament", related_name="players", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="tournament_registrations", on_delete=fields.CASCADE
    )

    tournament_id: int
    user_id: int

    class Meta:
        table = "tournamentplayers"


class Crew(Model):
    id = fields.IntField(primary_key=True)
    match: fields.ForeignKeyRelation[Match] = fields.ForeignKeyField(
        "tournament.Match", related_name="crew", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="crew_signups", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(CrewRole, max_length=20)
    approved = fields.BooleanField(default=False)
    approved_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="crew_approvals", null=True, on_delete=fields.SET_NULL
    )

    match_id: int
    user_id: int
    approved_by_id: int | None

    class Meta:
        table = "crew"
        unique_together = (("match", "user", "role"),)


class MatchSeed(Model):
    id = fields.IntField(primary_key=True)
    match: fields.OneToOneRelation[Match] = fields.OneToOneField(
        "tournament.Match", related_name="seed", on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=500)
    description = fields.TextField(default="")

    match_id: int

    class Meta:
        table = "matchseed"
