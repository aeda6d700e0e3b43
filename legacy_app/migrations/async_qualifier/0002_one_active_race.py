"""At most one pending or in-progress race per (qualifier, user), enforced by the database.

Both apps write these rows, so the rule must hold across processes and under concurrent
requests; a partial unique index does that on SQLite and PostgreSQL alike (same syntax).
Tortoise's UniqueConstraint(condition=...) is PostgreSQL-only, hence raw SQL.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEX = "uidx_async_qualifier_races_one_active"


class Migration(migrations.Migration):
    dependencies = [("async_qualifier", "0001_initial")]

    operations = [
        ops.RunSQL(
            f'CREATE UNIQUE INDEX "{INDEX}" ON "async_qualifier_races" ("qualifier_id", "user_id") '
            "WHERE \"status\" IN ('pending', 'in_progress')",
            reverse_sql=f'DROP INDEX "{INDEX}"',
        ),
    ]
