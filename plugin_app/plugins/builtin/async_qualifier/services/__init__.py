"""The async qualifier system's services. Every operation of the HTTP routes, the Discord
commands and the scheduled tasks is a method here taking plain arguments (a `core.models.User`,
an `AsyncQualifier`, a race, ids), independent of FastAPI; each checks its own permissions and
raises `core.errors` exceptions (404 "… not found or insufficient permissions", 403, 409, 400).

Copied from legacy_app. Build them all at once with
`AsyncQualifierServices.create(plugin.context)`: events go out through the plugin's context.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..events.publisher import EventPublisher
from ..repositories.async_qualifier_repository import AsyncQualifierRepository
from .clock import Clock, utc_now
from .leaderboard_service import LeaderboardService
from .qualifier_service import QualifierService
from .race_service import RaceService, RaceThread
from .review_service import ReviewService
from .scoring_service import ScoringService

__all__ = [
    "AsyncQualifierServices",
    "LeaderboardService",
    "QualifierService",
    "RaceService",
    "RaceThread",
    "ReviewService",
    "ScoringService",
]


@dataclass(frozen=True)
class AsyncQualifierServices:
    qualifiers: QualifierService
    races: RaceService
    reviews: ReviewService
    scoring: ScoringService
    leaderboards: LeaderboardService

    @classmethod
    def create(cls, events: EventPublisher, clock: Clock = utc_now) -> AsyncQualifierServices:
        repository = AsyncQualifierRepository()
        return cls(
            qualifiers=QualifierService(repository),
            races=RaceService(events, repository, clock),
            reviews=ReviewService(events, repository, clock),
            scoring=ScoringService(repository, clock),
            leaderboards=LeaderboardService(repository),
        )
