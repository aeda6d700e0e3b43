"""Events of the async qualifier system (`types`), and what they are published through."""

from .publisher import EventPublisher
from .types import RaceApproved, RaceRejected, RaceSubmitted

EVENT_TYPES = (RaceSubmitted, RaceApproved, RaceRejected)

__all__ = ["EVENT_TYPES", "EventPublisher", "RaceApproved", "RaceRejected", "RaceSubmitted"]
