"""DEPRECATED: import from plugin_app.plugins.builtin.tournament.services (plan 2.3)."""

from plugin_app.compat import reexport_moved

__all__ = reexport_moved(
    __name__,
    "plugin_app.plugins.builtin.tournament.services",
    ["TournamentService", "MatchService", "CrewService", "StreamChannelService"],
)
