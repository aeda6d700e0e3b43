"""Mismatch records in the proxy's own database (table `proxy_shadow_mismatch`, app label
"proxy", migration proxy/migrations/0002_shadow_mismatches.py), so every replica writes
to one place and the console, the CLI and the API read them all.

The table is bounded: after every `PRUNE_EVERY` inserts of a process, rows beyond the
newest `retention` are deleted.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from proxy.database import ProxyDatabase
from proxy.shadow.mismatch import Mismatch, RequestKind

DEFAULT_LIMIT = 20
MAX_LIMIT = 500
DEFAULT_RETENTION = 10_000
PRUNE_EVERY = 100


class MismatchRecord(Model):
    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    flag = fields.CharField(max_length=100, db_index=True)
    mode = fields.CharField(max_length=20)
    organization_id = fields.BigIntField(null=True, db_index=True)
    kind = fields.CharField(max_length=20)
    route = fields.CharField(max_length=300)
    method = fields.CharField(max_length=16)
    path = fields.TextField()
    caller = fields.CharField(max_length=40, null=True)
    primary_status = fields.IntField()
    legacy_status = fields.IntField()
    plugin_status = fields.IntField()
    legacy_content_type = fields.CharField(max_length=200, null=True)
    plugin_content_type = fields.CharField(max_length=200, null=True)
    legacy_body = fields.TextField()
    plugin_body = fields.TextField()
    legacy_body_truncated = fields.BooleanField(default=False)
    plugin_body_truncated = fields.BooleanField(default=False)
    request_body = fields.TextField(null=True)
    differences = fields.JSONField()
    ignored = fields.JSONField()
    legacy_seconds = fields.FloatField()
    plugin_seconds = fields.FloatField()

    class Meta:
        table = "proxy_shadow_mismatch"
        app = "proxy"


_COLUMNS = (
    "flag",
    "mode",
    "organization_id",
    "route",
    "method",
    "path",
    "caller",
    "primary_status",
    "legacy_status",
    "plugin_status",
    "legacy_content_type",
    "plugin_content_type",
    "legacy_body",
    "plugin_body",
    "legacy_body_truncated",
    "plugin_body_truncated",
    "request_body",
    "differences",
    "ignored",
    "legacy_seconds",
    "plugin_seconds",
)


class MismatchLog:
    def __init__(self, database: ProxyDatabase, retention: int = DEFAULT_RETENTION) -> None:
        self.database = database
        self.retention = retention
        self._inserted = 0

    async def record(self, mismatch: Mismatch) -> int:
        await self.database.open()
        row = await MismatchRecord.create(
            kind=mismatch.kind.value, **{name: getattr(mismatch, name) for name in _COLUMNS}
        )
        self._inserted += 1
        if self._inserted % PRUNE_EVERY == 0:
            await MismatchRecord.filter(id__lte=row.id - self.retention).delete()
        return row.id

    async def recent(
        self, limit: int = DEFAULT_LIMIT, *, flag: str | None = None, organization_id: int | None = None
    ) -> list[Mismatch]:
        """The latest mismatches, newest first, optionally of one flag and organization."""
        await self.database.open()
        query = MismatchRecord.all()
        if flag is not None:
            query = query.filter(flag=flag)
        if organization_id is not None:
            query = query.filter(organization_id=organization_id)
        records = await query.order_by("-id").limit(max(1, min(limit, MAX_LIMIT)))
        return [
            Mismatch(
                id=record.id,
                created_at=record.created_at,
                kind=RequestKind(record.kind),
                **{name: getattr(record, name) for name in _COLUMNS},
            )
            for record in records
        ]
