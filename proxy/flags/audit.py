"""The audit log of flag changes, in the proxy's own database: when, who, which flag,
which organization, from, to, why, and the gate's verdict (none for rollbacks and moves
towards legacy, which are never gated)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from proxy.database import CONNECTION_NAME, ProxyDatabase
from proxy.flags.document import Change
from proxy.flags.gate import GateVerdict

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


class FlagChangeRecord(Model):
    id = fields.BigIntField(primary_key=True)
    changed_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.CharField(max_length=200)
    flag = fields.CharField(max_length=100)
    # None for the kill switch, which is not per organization.
    organization_id = fields.BigIntField(null=True, db_index=True)
    before = fields.CharField(max_length=200)
    after = fields.CharField(max_length=200)
    reason = fields.TextField()
    gate_verdict = fields.CharField(max_length=20, null=True)
    forced = fields.BooleanField(default=False)

    class Meta:
        table = "proxy_flag_change"
        app = "proxy"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    changed_at: datetime
    actor: str
    flag: str
    organization_id: int | None
    before: str
    after: str
    reason: str
    gate_verdict: GateVerdict | None
    forced: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "changed_at": self.changed_at.isoformat(),
            "actor": self.actor,
            "flag": self.flag,
            "organization_id": self.organization_id,
            "from": self.before,
            "to": self.after,
            "reason": self.reason,
            "gate_verdict": self.gate_verdict.value if self.gate_verdict else None,
            "forced": self.forced,
        }


class AuditLog:
    def __init__(self, database: ProxyDatabase) -> None:
        self.database = database

    @asynccontextmanager
    async def recording(
        self,
        changes: Sequence[Change],
        *,
        actor: str,
        reason: str,
        gate_verdict: GateVerdict | None,
        forced: bool,
    ) -> AsyncIterator[None]:
        """Append `changes` in a transaction that commits only if the body (the file
        replacement) succeeds, so the log holds exactly the changes that happened."""
        await self.database.open()
        async with in_transaction(CONNECTION_NAME) as connection:
            await FlagChangeRecord.bulk_create(
                [
                    FlagChangeRecord(
                        actor=actor,
                        flag=change.flag,
                        organization_id=change.organization_id,
                        before=change.before,
                        after=change.after,
                        reason=reason,
                        gate_verdict=gate_verdict.value if gate_verdict else None,
                        forced=forced,
                    )
                    for change in changes
                ],
                using_db=connection,
            )
            yield

    async def recent(self, limit: int = DEFAULT_LIMIT) -> list[AuditEntry]:
        """The latest `limit` entries, newest first."""
        await self.database.open()
        records = await FlagChangeRecord.all().order_by("-id").limit(max(1, min(limit, MAX_LIMIT)))
        return [
            AuditEntry(
                id=record.id,
                changed_at=record.changed_at,
                actor=record.actor,
                flag=record.flag,
                organization_id=record.organization_id,
                before=record.before,
                after=record.after,
                reason=record.reason,
                gate_verdict=GateVerdict(record.gate_verdict) if record.gate_verdict else None,
                forced=record.forced,
            )
            for record in records
        ]
