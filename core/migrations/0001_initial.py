from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops

from core.models import Permission


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Organization",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("name", fields.CharField(unique=True, max_length=200)),
                ("description", fields.TextField(default="", unique=False)),
                ("is_active", fields.BooleanField(default=True)),
            ],
            options={"table": "organization", "app": "core", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DiscordGuild",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("guild_id", fields.BigIntField()),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="discord_guilds",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
            ],
            options={
                "table": "discordguild",
                "app": "core",
                "unique_together": (("organization", "guild_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="User",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("discord_id", fields.BigIntField(null=True, unique=True)),
                ("discord_username", fields.CharField(max_length=100)),
                ("racetime_id", fields.CharField(null=True, max_length=50)),
                ("permission", fields.IntField(default=Permission.USER)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "user", "app": "core", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ApiToken",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="api_tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(default="", max_length=100)),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("is_active", fields.BooleanField(default=True)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("last_used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "api_tokens", "app": "core", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OrganizationMember",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="members",
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
                        related_name="memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("roles", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={
                "table": "organizationmember",
                "app": "core",
                "unique_together": (("organization", "user"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
