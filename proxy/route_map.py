"""The route map: which migration surface (flag) decides a request, and where its
organization comes from. The map itself is data (`route_map.yaml`); this module loads,
checks and matches it.

Each entry (or a whole surface) may also list `ignore` rules for shadow comparison
(proxy.shadow): JSON paths whose differences between legacy's and plugin's answers are
never a mismatch, such as ids a rolled-back dry run drew from a sequence.

Matching is by path segments, not regular expressions: a literal segment must be equal,
a `{param}` segment must be an integer id. Candidates are indexed by (second path
segment, segment count), so a request is compared with a handful of templates at most.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from proxy.modes import Surface
from proxy.shadow.comparison import NO_RULES, IgnoreRules
from proxy.shadow.json_path import JsonPathError

DEFAULT_ROUTE_MAP = Path(__file__).with_name("route_map.yaml")


class EntityKind(StrEnum):
    """Entity kinds the apps' `GET /_strangler/owner/{kind}/{id}` answers for."""

    TOURNAMENT = "tournament"
    MATCH = "match"
    CREW = "crew"
    STREAM_CHANNEL = "stream_channel"
    ASYNC_QUALIFIER = "async_qualifier"
    POOL = "pool"
    PERMALINK = "permalink"
    RACE = "race"
    DISCORD_CHANNEL = "discord_channel"
    DISCORD_GUILD = "discord_guild"


class RouteMapError(ValueError):
    """The route map document is wrong; the message names the entry."""


@dataclass(frozen=True)
class FromPath:
    """The path parameter `name` is the organization id."""

    name: str


@dataclass(frozen=True)
class FromQuery:
    """The query parameter `name` is the organization id."""

    name: str


@dataclass(frozen=True)
class FromEntityParam:
    """The path parameter `param` names an entity of `kind`."""

    kind: EntityKind
    param: str


@dataclass(frozen=True)
class FromEntityInBody:
    """The JSON body's `field` names an entity of `kind`."""

    kind: EntityKind
    field: str


OrganizationSource = FromPath | FromQuery | FromEntityParam | FromEntityInBody


@dataclass(frozen=True)
class HttpRoute:
    surface: Surface
    methods: frozenset[str]
    template: str
    sources: tuple[OrganizationSource, ...]
    ignore: IgnoreRules = NO_RULES
    segments: tuple[str, ...] = field(init=False)
    _literals: tuple[tuple[int, str], ...] = field(init=False, repr=False)
    _parameters: tuple[tuple[int, str], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        segments = tuple(self.template.split("/"))
        object.__setattr__(self, "segments", segments)
        object.__setattr__(
            self, "_literals", tuple((i, s) for i, s in enumerate(segments) if not s.startswith("{"))
        )
        object.__setattr__(
            self, "_parameters", tuple((i, s[1:-1]) for i, s in enumerate(segments) if s.startswith("{"))
        )

    @property
    def parameters(self) -> set[str]:
        return {name for _, name in self._parameters}

    @property
    def needs_body(self) -> bool:
        return any(isinstance(source, FromEntityInBody) for source in self.sources)

    def match(self, segments: Sequence[str]) -> dict[str, int] | None:
        """The integer path parameters, if `segments` (as many as ours) fit the template."""
        for index, literal in self._literals:
            if segments[index] != literal:
                return None
        params: dict[str, int] = {}
        for index, name in self._parameters:
            actual = segments[index]
            if not (actual.isascii() and actual.isdigit()):
                return None
            params[name] = int(actual)
        return params


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    params: dict[str, int]


@dataclass(frozen=True)
class DiscordSurface:
    surface: Surface
    commands: frozenset[str]
    component_prefixes: tuple[str, ...]
    sources: tuple[EntityKind, ...]
    ignore: IgnoreRules = NO_RULES


@dataclass
class RouteMap:
    http_routes: list[HttpRoute]
    discord_surfaces: list[DiscordSurface]
    _index: dict[tuple[str, int], list[HttpRoute]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        for route in self.http_routes:
            for method in route.methods:
                if (method, route.template) in seen:
                    raise RouteMapError(f"{method} {route.template} is listed twice")
                seen.add((method, route.template))
            self._index.setdefault(_index_key(route.segments), []).append(route)
        commands = [name for surface in self.discord_surfaces for name in surface.commands]
        if len(commands) != len(set(commands)):
            raise RouteMapError("a Discord command is listed under two surfaces")

    @classmethod
    def load(cls, path: Path = DEFAULT_ROUTE_MAP) -> RouteMap:
        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise RouteMapError(f"cannot read the route map {path}: {exc}") from exc
        return cls.from_document(document)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> RouteMap:
        http_routes = [
            route
            for group in document.get("http", [])
            for route in _http_routes(group, group.get("routes", []))
        ]
        discord = [_discord_surface(entry) for entry in document.get("discord", [])]
        return cls(http_routes, discord)

    def match_http(self, method: str, path: str) -> RouteMatch | None:
        segments = path.split("/")
        candidates = self._index.get(_index_key(segments))
        if not candidates:
            return None
        for route in candidates:
            if method in route.methods:
                params = route.match(segments)
                if params is not None:
                    return RouteMatch(route, params)
        return None

    def discord_command(self, name: str) -> DiscordSurface | None:
        for surface in self.discord_surfaces:
            if name in surface.commands:
                return surface
        return None

    def discord_component(self, custom_id: str) -> DiscordSurface | None:
        for surface in self.discord_surfaces:
            if custom_id.startswith(surface.component_prefixes):
                return surface
        return None


def _index_key(segments: Sequence[str]) -> tuple[str, int]:
    # segments[0] is "" (the path starts with "/"); [1] is "api", [2] the system.
    return (segments[2] if len(segments) > 2 else "", len(segments))


def _surface(value: Any, where: str) -> Surface:
    try:
        return Surface(value)
    except ValueError:
        raise RouteMapError(
            f"{where}: unknown surface {value!r} (known: {[s.value for s in Surface]})"
        ) from None


def _kind(value: Any, where: str) -> EntityKind:
    try:
        return EntityKind(value)
    except ValueError:
        raise RouteMapError(f"{where}: unknown entity kind {value!r}") from None


def _ignore_rules(entry: Mapping[str, Any], where: str) -> IgnoreRules:
    texts = entry.get("ignore") or []
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise RouteMapError(f"{where}: `ignore` is a list of JSON paths")
    try:
        return IgnoreRules.parse(texts)
    except JsonPathError as exc:
        raise RouteMapError(f"{where}: {exc}") from None


def _http_routes(group: Mapping[str, Any], entries: Iterable[Mapping[str, Any]]) -> Iterable[HttpRoute]:
    surface = _surface(group.get("surface"), "http")
    group_ignore = _ignore_rules(group, str(surface))
    for entry in entries:
        methods = frozenset(method.upper() for method in entry.get("methods", []))
        paths = entry.get("paths") or []
        if not methods or not paths:
            raise RouteMapError(f"{surface}: every entry needs methods and paths ({entry!r})")
        for template in paths:
            if not template.startswith("/"):
                raise RouteMapError(f"{surface}: {template!r} must start with '/'")
            params = {segment[1:-1] for segment in template.split("/") if segment.startswith("{")}
            sources = tuple(
                _http_source(source, params, template) for source in entry.get("organization", [])
            )
            if not sources:
                raise RouteMapError(f"{template}: no organization source")
            yield HttpRoute(
                surface, methods, template, sources, group_ignore + _ignore_rules(entry, template)
            )


def _http_source(source: Mapping[str, Any], params: set[str], template: str) -> OrganizationSource:
    def param(name: str) -> str:
        if name not in params:
            raise RouteMapError(f"{template}: no path parameter {{{name}}}")
        return name

    if "path" in source:
        return FromPath(param(source["path"]))
    if "query" in source:
        return FromQuery(str(source["query"]))
    if "entity" in source and "param" in source:
        return FromEntityParam(_kind(source["entity"], template), param(source["param"]))
    if "entity" in source and "body" in source:
        return FromEntityInBody(_kind(source["entity"], template), str(source["body"]))
    raise RouteMapError(f"{template}: unknown organization source {source!r}")


def _discord_surface(entry: Mapping[str, Any]) -> DiscordSurface:
    surface = _surface(entry.get("surface"), "discord")
    sources = tuple(_kind(kind, str(surface)) for kind in entry.get("organization", []))
    if not sources:
        raise RouteMapError(f"discord {surface}: no organization source")
    return DiscordSurface(
        surface=surface,
        commands=frozenset(entry.get("commands", [])),
        component_prefixes=tuple(entry.get("component_prefixes", [])),
        sources=sources,
        ignore=_ignore_rules(entry, f"discord {surface}"),
    )
