"""The tournament plugin's API, assembled in one place: the router the plugin system
mounts under `/api`, and the ownership resolvers (entity kind -> organization) that the
enablement gate and the proxy (`/_strangler/owner/{kind}/{id}`) use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fastapi import APIRouter

from core.ownership import Resolver
from plugin_app.application.schemas.field_types import only_valid_ids

from ..repositories.tournament_repository import TournamentRepository
from .stream_channel_routes import add_stream_channel_routes
from .tournament_routes import add_tournament_routes

if TYPE_CHECKING:
    from ..plugin import TournamentPlugin


def build_router(plugin: TournamentPlugin) -> APIRouter:
    # One router that both route modules add to: the plugin system reads a plugin's routes
    # off its router to check them against the manifest, and does not look into routers
    # included into it (FastAPI 0.165 includes those lazily).
    router = APIRouter()
    add_tournament_routes(router, plugin)
    add_stream_channel_routes(router, plugin)
    return router


def ownership_resolvers() -> Mapping[str, Resolver]:
    """Kinds `tournament`, `match`, `crew` and `stream_channel`, as legacy_app registers
    them: entity id -> organization id (None if unknown or not a storable id)."""
    repository = TournamentRepository()
    lookups = {
        "tournament": repository.tournament_organization,
        "match": repository.match_organization,
        "crew": repository.crew_organization,
        "stream_channel": repository.stream_channel_organization,
    }
    return {kind: only_valid_ids(lookup) for kind, lookup in lookups.items()}
