"""DEPRECATED: import from plugin_app.plugins.builtin.tournament.repositories (plan 2.4)."""

from plugin_app.compat import reexport_moved

__all__ = reexport_moved(
    __name__, "plugin_app.plugins.builtin.tournament.repositories", ["TournamentRepository", "MATCH_DETAIL"]
)
