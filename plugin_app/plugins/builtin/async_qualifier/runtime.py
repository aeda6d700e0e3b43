"""What the routes, Discord commands and scheduled tasks use of the loaded plugin.

They are built once at start-up, before the database opens and before the plugin has its
context, so they hold this and reach the services and the notifier only when they run
(from `on_load` on). `AsyncQualifierPlugin` is the one implementation.
"""

from __future__ import annotations

from typing import Protocol

from core.discord import DiscordNotifier

from .services import AsyncQualifierServices


class AsyncQualifierRuntime(Protocol):
    @property
    def services(self) -> AsyncQualifierServices: ...

    @property
    def notifier(self) -> DiscordNotifier: ...

    async def is_enabled(self, organization_id: int) -> bool: ...
