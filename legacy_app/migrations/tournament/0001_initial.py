from tortoise import migrations
from tortoise.migrations import operations as ops
from legacy_app.models.match_schedule import CrewRole
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="StreamChannel",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="stream_channels",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(unique=True, max_length=200)),
                ("stream_url", fields.CharField(default="", max_length=500)),
                ("is_active", fields.BooleanField(default=True)),
            ],
            options={"table": "streamchannel", "app": "tournament", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Tournament",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tournaments",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                ("description", fields.TextField(default="", unique=False)),
                ("is_active", fields.BooleanField(default=True)),
                ("tracker_enabled", fields.BooleanField(default=True)),
                ("require_racetime_link", fields.BooleanField(default=False)),
                ("speedgaming_enabled", fields.BooleanField(default=False)),
                ("onsite_tournament", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "tournament", "app": "tournament", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Match",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "tournament",
                    fields.ForeignKeyField(
                        "tournament.Tournament",
                        source_field="tournament_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="matches",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "stream_channel",
                    fields.ForeignKeyField(
                        "tournament.StreamChannel",
                        source_field="stream_channel_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="matches",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("title", fields.CharField(null=True, max_length=200)),
                ("comment", fields.TextField(null=True, unique=False)),
                ("scheduled_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("checked_in_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("finished_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("confirmed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "match", "app": "tournament", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Crew",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "match",
                    fields.ForeignKeyField(
                        "tournament.Match",
                        source_field="match_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="crew",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="crew_signups",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "role",
                    fields.CharEnumField(
                        description="COMMENTATOR: commentator\nTRACKER: tracker\nRESTREAMER: restreamer",
                        enum_type=CrewRole,
                        max_length=20,
                    ),
                ),
                ("approved", fields.BooleanField(default=False)),
                (
                    "approved_by",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="approved_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="crew_approvals",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={
                "table": "crew",
                "app": "tournament",
                "unique_together": (("match", "user", "role"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MatchPlayers",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "match",
                    fields.ForeignKeyField(
                        "tournament.Match",
                        source_field="match_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="players",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="match_entries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("finish_rank", fields.IntField(null=True)),
                ("assigned_station", fields.CharField(null=True, max_length=50)),
            ],
            options={
                "table": "matchplayers",
                "app": "tournament",
                "unique_together": (("match", "user"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MatchSeed",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "match",
                    fields.OneToOneField(
                        "tournament.Match",
                        source_field="match_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="seed",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("url", fields.CharField(max_length=500)),
                ("description", fields.TextField(default="", unique=False)),
            ],
            options={"table": "matchseed", "app": "tournament", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TournamentPlayers",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "tournament",
                    fields.ForeignKeyField(
                        "tournament.Tournament",
                        source_field="tournament_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="players",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tournament_registrations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
            ],
            options={"table": "tournamentplayers", "app": "tournament", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
