"""The in-process event bus. An app owns one instance; handlers run after the publisher's
work, and a failing handler is logged, never propagated to the publisher."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event; `organization_id` lets listeners filter per tenant."""

    organization_id: int
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def name(self) -> str:
        return type(self).__name__


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = defaultdict(list)
        self.published: list[Event] = []  # the last few, for diagnostics and tests
        self._keep = 200

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        if handler not in self._handlers[event_type]:
            self._handlers[event_type].append(handler)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        if handler in self._handlers[event_type]:
            self._handlers[event_type].remove(handler)

    async def publish(self, event: Event) -> None:
        self.published.append(event)
        del self.published[: -self._keep]
        for event_type, handlers in list(self._handlers.items()):
            if not isinstance(event, event_type):
                continue
            for handler in list(handlers):
                try:
                    await handler(event)
                except Exception:
                    log.exception("event handler %r failed on %s", handler, event.name)
