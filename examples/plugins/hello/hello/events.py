"""Events the plugin publishes; other plugins may listen (declare `requires: {hello: ...}`)."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True, kw_only=True)
class GreetingCreated(Event):
    greeting_id: int
    text: str
