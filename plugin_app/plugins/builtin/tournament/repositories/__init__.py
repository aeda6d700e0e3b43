"""Data access of the tournament plugin."""

from .tournament_repository import MATCH_DETAIL, TournamentRepository

__all__ = ["MATCH_DETAIL", "TournamentRepository"]
