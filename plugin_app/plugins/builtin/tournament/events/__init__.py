"""The tournament plugin's events (`types`) and its listeners (`listeners`)."""

from .types import CrewAdded, CrewApproved, MatchFinished, MatchScheduled

EVENT_TYPES = (MatchScheduled, MatchFinished, CrewAdded, CrewApproved)

__all__ = ["EVENT_TYPES", "CrewAdded", "CrewApproved", "MatchFinished", "MatchScheduled"]
