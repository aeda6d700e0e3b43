"""The async qualifier system's services. Every operation of the HTTP routes, the Discord
commands and the scheduled tasks is a method here taking plain arguments (a `core.models.User`,
an `AsyncQualifier`, a race, ids), independent of FastAPI; each checks its own permissions and
raises `core.errors` exceptions (404 "… not found or insufficient permissions", 403, 409, 400).

Build them all at once with `AsyncQualifierServices.create(app.state.events)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.events import EventBus
from legacy_app.application.repositories.async_qualifier_repository import AsyncQualifierRepository
from legacy_app.application.services.async_qualifiers.clock import Clock, utc_now
from legacy_app.application.services.async_qualifiers.leaderboard_service import LeaderboardService
from legacy_app.application.services.async_qualifiers.qualifier_service import QualifierService
from legacy_app.application.services.async_qualifiers.race_service import RaceService, RaceThread
from legacy_app.application.services.async_qualifiers.review_service import ReviewService
from legacy_app.application.services.async_qualifiers.scoring_service import ScoringService

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
    def create(cls, events: EventBus, clock: Clock = utc_now) -> AsyncQualifierServices:
        repository = AsyncQualifierRepository()
        return cls(
            qualifiers=QualifierService(repository),
            races=RaceService(events, repository, clock),
            reviews=ReviewService(events, repository, clock),
            scoring=ScoringService(repository, clock),
            leaderboards=LeaderboardService(repository),
        )
