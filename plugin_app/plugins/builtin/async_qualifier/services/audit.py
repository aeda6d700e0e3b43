"""The audit trail of manager (and system) actions, one row per action in
`async_qualifier_audit_logs`. Written in the same transaction as the action it records."""

from __future__ import annotations

from enum import StrEnum

from core.models import User

from ..repositories.async_qualifier_repository import AsyncQualifierRepository


class AuditAction(StrEnum):
    CREATE_QUALIFIER = "create_qualifier"
    UPDATE_QUALIFIER = "update_qualifier"
    CREATE_POOL = "create_pool"
    CREATE_PERMALINK = "create_permalink"
    RECALCULATE_SCORES = "recalculate_scores"
    REVIEW_RACE = "review_race"
    FORFEIT_RACE = "forfeit_race"  # a manager forfeiting another runner's race
    EXTEND_TIMEOUT = "extend_timeout"
    AUTO_FORFEIT = "auto_forfeit"  # the system, at a pending race's timeout
    TIMEOUT_WARNING = "timeout_warning"  # the system, 10 minutes before that timeout


class AuditTrail:
    def __init__(self, repository: AsyncQualifierRepository) -> None:
        self._repository = repository

    async def record(self, qualifier_id: int, actor: User | None, action: AuditAction, details: str) -> None:
        """`actor` None means the system itself (a scheduled task)."""
        await self._repository.add_audit_log(
            qualifier_id, None if actor is None else actor.id, action.value, details
        )
