"""The async qualifier system's models (app label "async_qualifier"), mapped onto the tables
legacy_app's migrations own."""

from .async_tournament import (
    ACTIVE_STATUSES,
    COMPLETED_STATUSES,
    AsyncQualifier,
    AsyncQualifierAuditLog,
    AsyncQualifierPermalink,
    AsyncQualifierPool,
    AsyncQualifierRace,
    RaceStatus,
    ReviewStatus,
)

__all__ = [
    "ACTIVE_STATUSES",
    "COMPLETED_STATUSES",
    "AsyncQualifier",
    "AsyncQualifierAuditLog",
    "AsyncQualifierPermalink",
    "AsyncQualifierPool",
    "AsyncQualifierRace",
    "RaceStatus",
    "ReviewStatus",
]
