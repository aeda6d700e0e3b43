from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="Greeting",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="hello_greetings",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="hello_greetings",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                ("text", fields.CharField(max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "hello_greetings", "app": "plugin_hello", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="HookCall",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("hook", fields.CharField(max_length=20)),
                ("organization_id", fields.IntField(null=True)),
                ("config", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "hello_hook_calls", "app": "plugin_hello", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
