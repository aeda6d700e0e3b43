from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from plugin_app.models.plugin import PluginType
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="OrganizationPlugin",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="plugins",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("plugin_id", fields.CharField(max_length=100)),
                ("enabled", fields.BooleanField(default=True)),
                ("enabled_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "enabled_by",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="enabled_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="enabled_plugins",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("config", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "organization_plugins",
                "app": "plugins",
                "unique_together": (("organization", "plugin_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Plugin",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("plugin_id", fields.CharField(unique=True, max_length=100)),
                ("name", fields.CharField(max_length=255)),
                ("version", fields.CharField(max_length=50)),
                (
                    "type",
                    fields.CharEnumField(
                        description="BUILTIN: builtin\nEXTERNAL: external",
                        enum_type=PluginType,
                        max_length=20,
                    ),
                ),
                ("is_installed", fields.BooleanField(default=True)),
                ("installed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "installed_by",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="installed_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="installed_plugins",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("config", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "plugins", "app": "plugins", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PluginMigration",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("plugin_id", fields.CharField(max_length=100)),
                ("version", fields.CharField(max_length=50)),
                ("migration_name", fields.CharField(max_length=255)),
                ("applied_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("success", fields.BooleanField(default=True)),
                ("error_message", fields.TextField(null=True, unique=False)),
                ("rolled_back_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "plugin_migrations",
                "app": "plugins",
                "unique_together": (("plugin_id", "migration_name"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
