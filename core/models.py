"""Core models (tables `user`, `organization`, `organizationmember`, `discordguild`, `api_tokens`).

Table and column names are a contract: legacy_app and plugin_app read and write the same rows.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from tortoise import fields
from tortoise.models import Model


class Permission(IntEnum):
    USER = 0
    MODERATOR = 50
    ADMIN = 100
    SUPERADMIN = 200


class Role(StrEnum):
    ADMIN = "Admin"
    TOURNAMENT_MANAGER = "Tournament Manager"
    ASYNC_REVIEWER = "Async Reviewer"
    MODERATOR = "Moderator"


class User(Model):
    id = fields.IntField(primary_key=True)
    discord_id = fields.BigIntField(unique=True, null=True)
    discord_username = fields.CharField(max_length=100)
    racetime_id = fields.CharField(max_length=50, null=True)
    permission = fields.IntField(default=Permission.USER)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user"

    @property
    def is_global_admin(self) -> bool:
        return self.permission >= Permission.ADMIN


class Organization(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    description = fields.TextField(default="")
    is_active = fields.BooleanField(default=True)

    class Meta:
        table = "organization"


class OrganizationMember(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", related_name="members", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="memberships", on_delete=fields.CASCADE
    )
    roles = fields.JSONField(default=list)

    class Meta:
        table = "organizationmember"
        unique_together = (("organization", "user"),)


class DiscordGuild(Model):
    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField()
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", related_name="discord_guilds", on_delete=fields.CASCADE
    )

    class Meta:
        table = "discordguild"
        unique_together = (("organization", "guild_id"),)


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="api_tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100, default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    is_active = fields.BooleanField(default=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "api_tokens"
