"""DEPRECATED: import from plugin_app.plugins.builtin.async_qualifier.services (plan phase 3)."""

from plugin_app.compat import reexport_moved

__all__ = reexport_moved(
    __name__,
    "plugin_app.plugins.builtin.async_qualifier.services",
    [
        "AsyncQualifierServices",
        "LeaderboardService",
        "QualifierService",
        "RaceService",
        "RaceThread",
        "ReviewService",
        "ScoringService",
    ],
)
