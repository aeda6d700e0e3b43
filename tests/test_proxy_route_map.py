"""proxy.route_map: the map lists every HTTP route of the apps and every Discord command
of the spec, and nothing else; a wrong map document is refused with a message that
names the entry."""

from __future__ import annotations

import importlib
import re

import pytest

from proxy.modes import Surface
from proxy.route_map import (
    EntityKind,
    FromEntityInBody,
    FromEntityParam,
    FromPath,
    FromQuery,
    RouteMap,
    RouteMapError,
)

SPEC_DISCORD_COMMANDS = {
    "async_post_embed",
    "async_start",
    "async_finish",
    "async_forfeit",
    "async_extend_timeout",
    "async_calculate_scores",
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# The migrated systems' routes; plugin_app's own admin API (/api/admin/plugins) is no
# migration surface: it has no legacy twin, and operators reach it on plugin_app itself.
SYSTEM_PREFIXES = ("/api/tournaments", "/api/stream-channels", "/api/async-qualifiers")


def _normalized(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


def _api_routes(module: str) -> set[tuple[str, str]]:
    app = importlib.import_module(module).create_app()
    return {
        (method.upper(), _normalized(path))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(SYSTEM_PREFIXES)
        for method in operations
        if method in HTTP_METHODS
    }


@pytest.mark.parametrize("module", ["legacy_app.main", "plugin_app.main"])
def test_the_map_lists_exactly_the_apps_api_routes(module: str) -> None:
    route_map = RouteMap.load()
    served = _api_routes(module)
    mapped = {
        (method, _normalized(route.template)) for route in route_map.http_routes for method in route.methods
    }
    assert served, f"{module} serves no /api routes"
    assert served - mapped == set(), "routes the map does not list (they would always go to legacy)"
    assert mapped - served == set(), "map entries no app route answers"
    for method, template in served:
        concrete = template.replace("{}", "7")
        assert route_map.match_http(method, concrete) is not None, f"{method} {concrete}"


def test_the_map_lists_the_spec_discord_commands() -> None:
    route_map = RouteMap.load()
    commands = {name for surface in route_map.discord_surfaces for name in surface.commands}
    assert commands == SPEC_DISCORD_COMMANDS
    surface = route_map.discord_command("async_start")
    assert surface is not None and surface.surface is Surface.ASYNC_QUALIFIER_DISCORD
    assert surface.sources == (EntityKind.DISCORD_CHANNEL, EntityKind.DISCORD_GUILD)
    assert route_map.discord_component("async_start:12") is surface
    assert route_map.discord_component("toy:press") is None


def test_each_route_names_where_its_organization_comes_from() -> None:
    route_map = RouteMap.load()
    by_template = {route.template: route for route in route_map.http_routes}
    assert by_template["/api/tournaments/organizations/{org}"].sources == (FromPath("org"),)
    assert by_template["/api/tournaments/{tid}"].sources == (
        FromQuery("organization_id"),
        FromEntityParam(EntityKind.TOURNAMENT, "tid"),
    )
    assert by_template["/api/tournaments/crew/approve"].sources == (
        FromEntityInBody(EntityKind.CREW, "crew_id"),
    )
    assert by_template["/api/async-qualifiers/races/{rid}/review"].sources == (
        FromEntityParam(EntityKind.RACE, "rid"),
    )
    assert {route.surface for route in route_map.http_routes} == {
        Surface.TOURNAMENT_API,
        Surface.ASYNC_QUALIFIER_API,
    }


def test_matching_takes_integer_ids_only() -> None:
    route_map = RouteMap.load()
    match = route_map.match_http("POST", "/api/async-qualifiers/41/races")
    assert match is not None and match.params == {"qid": 41}
    assert route_map.match_http("POST", "/api/async-qualifiers/pools/51/permalinks").params == {"pid": 51}  # type: ignore[union-attr]
    for method, path in [
        ("GET", "/api/async-qualifiers/abc"),
        ("GET", "/api/async-qualifiers/٣"),  # a digit, but not an ASCII one
        ("GET", "/api/async-qualifiers/41/"),
        ("PUT", "/api/async-qualifiers/41"),
        ("GET", "/api"),
        ("GET", "/"),
    ]:
        assert route_map.match_http(method, path) is None, path


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"http": [{"surface": "nope", "routes": []}]}, "unknown surface 'nope'"),
        (
            {"http": [{"surface": "tournament-api", "routes": [{"methods": ["GET"], "paths": ["/a/{x}"]}]}]},
            "/a/{x}: no organization source",
        ),
        (
            {
                "http": [
                    {
                        "surface": "tournament-api",
                        "routes": [
                            {"methods": ["GET"], "paths": ["/a/{x}"], "organization": [{"path": "y"}]}
                        ],
                    }
                ]
            },
            "/a/{x}: no path parameter {y}",
        ),
        (
            {
                "http": [
                    {
                        "surface": "tournament-api",
                        "routes": [
                            {
                                "methods": ["GET"],
                                "paths": ["/a/{x}"],
                                "organization": [{"entity": "planet", "param": "x"}],
                            }
                        ],
                    }
                ]
            },
            "unknown entity kind 'planet'",
        ),
        (
            {
                "http": [
                    {
                        "surface": "tournament-api",
                        "routes": [
                            {"methods": ["GET"], "paths": ["/a/{x}"], "organization": [{"path": "x"}]},
                            {
                                "methods": ["GET", "POST"],
                                "paths": ["/a/{x}"],
                                "organization": [{"path": "x"}],
                            },
                        ],
                    }
                ]
            },
            "GET /a/{x} is listed twice",
        ),
        ({"discord": [{"surface": "async-qualifier-discord", "commands": ["a"]}]}, "no organization source"),
    ],
)
def test_a_wrong_map_is_refused_naming_the_entry(document: dict, message: str) -> None:
    with pytest.raises(RouteMapError, match=re.escape(message)):
        RouteMap.from_document(document)
