"""Which organization a request belongs to.

From the route's sources in order (proxy.route_map): a path parameter, a query
parameter, or an entity the request names, whose owner is asked of legacy_app (the
source of truth while the migration runs) at `GET /_strangler/owner/{kind}/{id}`.

Owner answers are cached in a bounded LRU (`capacity` entries, STRANGLER_ENTITY_CACHE_SIZE,
50,000 by default: about 10 MB). Entities never change organization, so a positive answer
never expires. A 404 is remembered for `negative_ttl_s` only, because the entity may be
created a moment later. A failed lookup (legacy down or slow) is not remembered at all.
Concurrent lookups of one entity share one request. Whatever cannot be found is None,
which the caller routes to legacy: never a guess.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

import orjson

from proxy.errors import BackendError
from proxy.forwarding import Forwarder
from proxy.metrics import LookupResult, ProxyMetrics
from proxy.modes import Backend
from proxy.route_map import EntityKind, FromEntityInBody, FromEntityParam, FromPath, FromQuery, RouteMatch

OWNER_LOOKUP_TIMEOUT_S = 2.0
EntityKey = tuple[EntityKind, int]


class OrganizationDirectory:
    def __init__(
        self,
        forwarder: Forwarder,
        metrics: ProxyMetrics,
        *,
        capacity: int,
        negative_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._forwarder = forwarder
        self._metrics = metrics
        self._capacity = capacity
        self._negative_ttl_s = negative_ttl_s
        self._clock = clock
        self._owners: OrderedDict[EntityKey, int] = OrderedDict()
        self._unknown: dict[EntityKey, float] = {}  # key -> when the 404 expires
        self._in_flight: dict[EntityKey, asyncio.Task[int | None]] = {}

    def __len__(self) -> int:
        return len(self._owners)

    async def owner(self, kind: EntityKind, entity_id: int) -> int | None:
        key = (kind, entity_id)
        organization = self._owners.get(key)
        if organization is not None:
            self._owners.move_to_end(key)
            self._metrics.owner_lookup(LookupResult.CACHED)
            return organization
        expires = self._unknown.get(key)
        if expires is not None:
            if expires > self._clock():
                self._metrics.owner_lookup(LookupResult.CACHED)
                return None
            del self._unknown[key]
        # The lookup runs as its own task: a caller that is cancelled (its client left)
        # does not cancel it for the others waiting on the same entity.
        lookup = self._in_flight.get(key)
        if lookup is None:
            lookup = asyncio.get_running_loop().create_task(self._ask_legacy(kind, entity_id))
            self._in_flight[key] = lookup
            lookup.add_done_callback(lambda _: self._in_flight.pop(key, None))
        return await asyncio.shield(lookup)

    async def _ask_legacy(self, kind: EntityKind, entity_id: int) -> int | None:
        key = (kind, entity_id)
        try:
            status, body = await self._forwarder.get_json(
                Backend.LEGACY, f"/_strangler/owner/{kind}/{entity_id}", OWNER_LOOKUP_TIMEOUT_S
            )
        except BackendError as exc:
            self._metrics.backend_error(Backend.LEGACY, exc.kind)
            self._metrics.owner_lookup(LookupResult.ERROR)
            return None
        organization = body.get("organization_id") if status == 200 and isinstance(body, dict) else None
        if isinstance(organization, int) and not isinstance(organization, bool):
            self._remember(key, organization)
            self._metrics.owner_lookup(LookupResult.FOUND)
            return organization
        self._metrics.owner_lookup(LookupResult.NOT_FOUND if status == 404 else LookupResult.ERROR)
        if status == 404:
            if len(self._unknown) >= self._capacity:
                self._unknown.clear()
            self._unknown[key] = self._clock() + self._negative_ttl_s
        return None

    def _remember(self, key: EntityKey, organization: int) -> None:
        self._owners[key] = organization
        if len(self._owners) > self._capacity:
            self._owners.popitem(last=False)

    async def for_request(self, match: RouteMatch, query_string: bytes, body: bytes | None) -> int | None:
        """The organization of an HTTP request, from its route's sources in order."""
        for source in match.route.sources:
            if isinstance(source, FromPath):
                return match.params[source.name]
            if isinstance(source, FromQuery):
                organization = _int(_query(query_string).get(source.name))
                if organization is not None:
                    return organization
            elif isinstance(source, FromEntityParam):
                organization = await self.owner(source.kind, match.params[source.param])
                if organization is not None:
                    return organization
            elif isinstance(source, FromEntityInBody):
                entity_id = _int(_json_field(body, source.field))
                if entity_id is not None:
                    organization = await self.owner(source.kind, entity_id)
                    if organization is not None:
                        return organization
        return None

    async def for_ids(self, candidates: list[tuple[EntityKind, int]]) -> int | None:
        """The first owner found among `candidates` (a Discord channel, then its guild)."""
        for kind, entity_id in candidates:
            organization = await self.owner(kind, entity_id)
            if organization is not None:
                return organization
        return None


def _query(query_string: bytes) -> Mapping[str, str]:
    return dict(parse_qsl(query_string.decode("latin-1")))


def _json_field(body: bytes | None, name: str) -> object:
    if not body:
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return document.get(name) if isinstance(document, dict) else None


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
