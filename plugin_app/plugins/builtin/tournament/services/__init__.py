"""The tournament system's services: tournaments and registrations, matches (schedule,
status, winner, seed), crew signups, and stream channels. Each checks access itself
(see `access`), so every entry point gets the same rules. Copied from legacy_app, whose
answers these must reproduce exactly."""

from .crew_service import CrewService
from .match_service import MatchService
from .stream_channel_service import StreamChannelService
from .tournament_service import TournamentService

__all__ = ["CrewService", "MatchService", "StreamChannelService", "TournamentService"]
