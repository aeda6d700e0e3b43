"""EventProvider: the events a plugin publishes and the listeners it subscribes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

from core.events import Event


class EventListener(NamedTuple):
    """Subscribe `handler` to `event_type` (and its subclasses) on the app's EventBus."""

    event_type: type[Event]
    handler: Callable[[Any], Awaitable[None]]


class EventProvider(ABC):
    @abstractmethod
    def get_event_types(self) -> Sequence[type[Event]]:
        """Event classes this plugin publishes (subclasses of core.events.Event)."""

    def get_event_listeners(self) -> Sequence[EventListener]:
        """Listeners to subscribe; each hears only events of organizations where it is enabled."""
        return ()
