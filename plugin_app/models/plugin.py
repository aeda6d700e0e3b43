"""The plugin system's records: installed plugins, per-organization enablement and
configuration, and each plugin migration's outcome."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class PluginType(StrEnum):
    BUILTIN = "builtin"
    EXTERNAL = "external"


# Model classes carry no docstrings: Tortoise 1.1 turns them into table comments without
# escaping them, and a quote or backtick then breaks the CREATE TABLE on SQLite.


# Plugin installation record; its config is the global configuration.
class Plugin(Model):
    id = fields.IntField(primary_key=True)
    plugin_id = fields.CharField(max_length=100, unique=True)
    name = fields.CharField(max_length=255)
    version = fields.CharField(max_length=50)
    type = fields.CharEnumField(PluginType, max_length=20)
    is_installed = fields.BooleanField(default=True)
    installed_at = fields.DatetimeField(null=True)
    installed_by = fields.ForeignKeyField(
        "core.User", related_name="installed_plugins", null=True, on_delete=fields.SET_NULL
    )
    config = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "plugins"


# Organization-level enablement and configuration (no row: the manifest default).
class OrganizationPlugin(Model):
    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "core.Organization", related_name="plugins", on_delete=fields.CASCADE
    )
    plugin_id = fields.CharField(max_length=100)
    enabled = fields.BooleanField(default=True)
    enabled_at = fields.DatetimeField(null=True)
    enabled_by = fields.ForeignKeyField(
        "core.User", related_name="enabled_plugins", null=True, on_delete=fields.SET_NULL
    )
    config = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "organization_plugins"
        unique_together = (("organization", "plugin_id"),)


# The last outcome of one plugin migration: applied, failed (with its error) or rolled back.
class PluginMigration(Model):
    id = fields.IntField(primary_key=True)
    plugin_id = fields.CharField(max_length=100)
    version = fields.CharField(max_length=50)
    migration_name = fields.CharField(max_length=255)
    applied_at = fields.DatetimeField(null=True)
    success = fields.BooleanField(default=True)
    error_message = fields.TextField(null=True)
    # Beyond the plan's fields: a rollback keeps the row (the history is worth keeping)
    # and says when it happened; applying the migration again clears it.
    rolled_back_at = fields.DatetimeField(null=True)

    class Meta:
        table = "plugin_migrations"
        unique_together = (("plugin_id", "migration_name"),)
