"""Events of the async qualifier system. Published after the change they describe is committed."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True, kw_only=True)
class RaceSubmitted(Event):
    """A runner finished a race (a time was submitted) or updated their submission."""

    qualifier_id: int
    race_id: int
    permalink_id: int
    racer_user_id: int
    elapsed_seconds: float | None


@dataclass(frozen=True, kw_only=True)
class RaceApproved(Event):
    qualifier_id: int
    race_id: int
    racer_user_id: int
    reviewer_user_id: int


@dataclass(frozen=True, kw_only=True)
class RaceRejected(Event):
    qualifier_id: int
    race_id: int
    racer_user_id: int
    reviewer_user_id: int
    reason: str | None
