from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="FlagChangeRecord",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("changed_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ("actor", fields.CharField(max_length=200)),
                ("flag", fields.CharField(max_length=100)),
                ("organization_id", fields.BigIntField(null=True, db_index=True)),
                ("before", fields.CharField(max_length=200)),
                ("after", fields.CharField(max_length=200)),
                ("reason", fields.TextField(unique=False)),
                ("gate_verdict", fields.CharField(null=True, max_length=20)),
                ("forced", fields.BooleanField(default=False)),
            ],
            options={"table": "proxy_flag_change", "app": "proxy", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
