"""Events of the tournament system, published on the app's event bus (the plugin context's
`events`) after the change they describe is committed. Other plugins may listen to them
(declare `requires: {tournament: ">=1.0,<2"}` and import these classes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.events import Event


@dataclass(frozen=True, kw_only=True)
class MatchScheduled(Event):
    """A match's scheduled_at was set to a new value (on creation or by an update)."""

    tournament_id: int
    match_id: int
    scheduled_at: datetime


@dataclass(frozen=True, kw_only=True)
class MatchFinished(Event):
    tournament_id: int
    match_id: int
    finished_at: datetime


@dataclass(frozen=True, kw_only=True)
class CrewAdded(Event):
    """A new crew signup (by the crew member or added by a manager); starts unapproved."""

    match_id: int
    crew_id: int
    user_id: int
    role: str


@dataclass(frozen=True, kw_only=True)
class CrewApproved(Event):
    match_id: int
    crew_id: int
    user_id: int
    approved_by_id: int
