from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("proxy", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="MismatchRecord",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ("flag", fields.CharField(db_index=True, max_length=100)),
                ("mode", fields.CharField(max_length=20)),
                ("organization_id", fields.BigIntField(null=True, db_index=True)),
                ("kind", fields.CharField(max_length=20)),
                ("route", fields.CharField(max_length=300)),
                ("method", fields.CharField(max_length=16)),
                ("path", fields.TextField(unique=False)),
                ("caller", fields.CharField(null=True, max_length=40)),
                ("primary_status", fields.IntField()),
                ("legacy_status", fields.IntField()),
                ("plugin_status", fields.IntField()),
                ("legacy_content_type", fields.CharField(null=True, max_length=200)),
                ("plugin_content_type", fields.CharField(null=True, max_length=200)),
                ("legacy_body", fields.TextField(unique=False)),
                ("plugin_body", fields.TextField(unique=False)),
                ("legacy_body_truncated", fields.BooleanField(default=False)),
                ("plugin_body_truncated", fields.BooleanField(default=False)),
                ("request_body", fields.TextField(null=True, unique=False)),
                ("differences", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("ignored", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("legacy_seconds", fields.FloatField()),
                ("plugin_seconds", fields.FloatField()),
            ],
            options={"table": "proxy_shadow_mismatch", "app": "proxy", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
