"""The tournament plugin's models; they are defined in `.tournament` (the module Tortoise
is given) and re-exported here, the path to import them from."""

from .tournament import (
    STATUS_TIMESTAMP_FIELDS,
    Crew,
    CrewRole,
    Match,
    MatchPlayers,
    MatchSeed,
    MatchStatus,
    StreamChannel,
    Tournament,
    TournamentPlayers,
)

__all__ = [
    "STATUS_TIMESTAMP_FIELDS",
    "Crew",
    "CrewRole",
    "Match",
    "MatchPlayers",
    "MatchSeed",
    "MatchStatus",
    "StreamChannel",
    "Tournament",
    "TournamentPlayers",
]
