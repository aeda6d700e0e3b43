"""DEPRECATED: import from plugin_app.plugins.builtin.async_qualifier.models (plan phase 3)."""

from plugin_app.compat import reexport_moved

__all__ = reexport_moved(
    __name__,
    "plugin_app.plugins.builtin.async_qualifier.models",
    [
        "AsyncQualifier",
        "AsyncQualifierPool",
        "AsyncQualifierPermalink",
        "AsyncQualifierRace",
        "AsyncQualifierAuditLog",
        "RaceStatus",
        "ReviewStatus",
        "ACTIVE_STATUSES",
        "COMPLETED_STATUSES",
    ],
)
