"""DEPRECATED: import from plugin_app.plugins.builtin.tournament.models (plan 2.2)."""

from plugin_app.compat import reexport_moved

__all__ = reexport_moved(
    __name__,
    "plugin_app.plugins.builtin.tournament.models",
    [
        "Tournament",
        "Match",
        "MatchPlayers",
        "TournamentPlayers",
        "StreamChannel",
        "Crew",
        "MatchSeed",
        "MatchStatus",
        "CrewRole",
    ],
)
