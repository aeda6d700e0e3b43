"""What the services publish events through: the plugin's context (`PluginContext.publish`),
so events reach the app's bus, and listeners hear them only where they are enabled."""

from __future__ import annotations

from typing import Protocol

from core.events import Event


class EventPublisher(Protocol):
    async def publish(self, event: Event) -> None: ...
