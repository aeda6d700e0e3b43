"""RouteProvider: the plugin's JSON API, and how the proxy finds its entities' organizations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from fastapi import APIRouter

from core.ownership import Resolver


class RouteProvider(ABC):
    @abstractmethod
    def get_api_router(self) -> APIRouter:
        """The plugin's API, mounted under /api; it answers only where the plugin is enabled."""

    def get_ownership_resolvers(self) -> Mapping[str, Resolver]:
        """Entity kind -> `async (id) -> organization id | None`, served at /_strangler/owner."""
        return {}
