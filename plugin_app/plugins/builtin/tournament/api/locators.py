"""Where each tournament route finds its organization, for the enablement gate.

The sources and their order are those of the proxy's route map (`proxy/route_map.yaml`,
surface `tournament-api`): the gate asks about the very organization the proxy routed the
request by, so where the plugin is enabled the route answers exactly as legacy_app does,
and where it is disabled it answers `404 {"detail": "Not Found"}` like an unknown route.
Entity kinds are resolved by this plugin's ownership resolvers (`api.routes`).

Each route declares its own locators (`dependencies=gate(...)`), so the plugin-wide list
(`TournamentPlugin.organization_locators`) is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import Depends

from plugin_app.application.plugins import FromBodyEntity, FromEntity, FromPath, FromQuery
from plugin_app.application.plugins.base import OrganizationLocator
from plugin_app.application.plugins.enablement import require_plugin_enabled

Locators = tuple[OrganizationLocator, ...]

ORGANIZATION_IN_PATH: Locators = (FromPath("organization_id"),)
ORGANIZATION_IN_QUERY: Locators = (FromQuery("organization_id"),)
QUERY_THEN_TOURNAMENT: Locators = (FromQuery("organization_id"), FromEntity("tournament", "tournament_id"))
TOURNAMENT_IN_PATH: Locators = (FromEntity("tournament", "tournament_id"),)
MATCH_IN_PATH: Locators = (FromEntity("match", "match_id"),)
CREW_IN_BODY: Locators = (FromBodyEntity("crew", "crew_id"),)


def _enabled_for(plugin_id: str, locators: Locators) -> list[Any]:
    return [Depends(require_plugin_enabled(plugin_id, locators))]


def route_gate(plugin_id: str) -> Callable[[Locators], list[Any]]:
    """`gate(locators)` -> the `dependencies=` of one route of `plugin_id`."""
    return partial(_enabled_for, plugin_id)
