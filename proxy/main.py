"""The routing proxy, a plain ASGI app: `proxy.main:app`.

    /metrics                  the proxy's Prometheus metrics
    /_strangler/healthz       the proxy's own health (the apps' /healthz is proxied like any path)
    /_strangler/...           the operator API (proxy.operator.api), when installed
    POST /discord/interactions  Discord interactions: signature checked, PING answered here,
                              commands and components routed per organization
    anything else             routed by the route map and the flags, forwarded to one backend

No framework sits on the forwarding path: a FastAPI catch-all in front of the same proxy
measured 35-65% fewer requests/s here. FastAPI serves the operator API only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

from proxy.asgi import (
    BodyOverLimit,
    ClientDisconnected,
    Headers,
    Receive,
    Scope,
    Send,
    header_value,
    read_body,
    send_json,
    stream_body,
)
from proxy.decisions import (
    ANONYMOUS_CALLER,
    LEGACY_ERROR,
    LEGACY_KILL_SWITCH,
    LEGACY_NO_ORGANIZATION,
    LEGACY_UNROUTED,
    Decision,
    DecisionEngine,
)
from proxy.discord_routing import PONG, Interaction, InteractionType
from proxy.discord_signature import SignatureVerifier
from proxy.errors import InvalidSignature, NotFound, ProxyError, RequestTooLarge, send_error
from proxy.forwarding import BUFFER_LIMIT, CLIENT_CLOSED_REQUEST, Forwarder, ForwardingLimits
from proxy.gate.evaluation import CutoverGate
from proxy.gate.runtime import GateRuntime
from proxy.metrics import ProxyMetrics
from proxy.modes import Backend, Mode, Surface
from proxy.organization import OrganizationDirectory
from proxy.records import ProxyRecords
from proxy.route_map import DiscordSurface, HttpRoute, RouteMap
from proxy.settings import ProxySettings, get_settings
from proxy.shadow.capture import ResponseCapture
from proxy.shadow.comparison import IgnoreRules
from proxy.shadow.latency import PairedLatencies
from proxy.shadow.metrics import ShadowMetrics
from proxy.shadow.mirror import (
    MirroredRequest,
    ShadowLimits,
    ShadowTraffic,
    discord_route,
    http_route,
    request_kind,
)
from proxy.shadow.noise import NoiseSettings

logger = logging.getLogger(__name__)

DISCORD_PATH = "/discord/interactions"
STRANGLER_PREFIX = "/_strangler"
_BACKEND_HEADER = {backend: (b"x-strangler-backend", backend.value.encode()) for backend in Backend}
_MODE_HEADER = {mode: (b"x-strangler-mode", mode.value.encode()) for mode in Mode}

# What the mirror needs to know of a request's route, asked for only when it is mirrored:
# the route's name (method + template, or Discord command) and its ignore rules.
ShadowRoute = Callable[[], tuple[str, IgnoreRules]]


class ProxyApp:
    def __init__(self, settings: ProxySettings | None = None) -> None:
        self.settings = settings = settings or get_settings()
        self.route_map = RouteMap.load(settings.route_map_path)
        self.metrics = ProxyMetrics()
        self.gate = GateRuntime(settings, self.metrics.registry, self.metrics.requests)
        self.forwarder = Forwarder(
            {Backend.LEGACY: settings.legacy_url, Backend.PLUGIN: settings.plugin_url},
            ForwardingLimits(
                connect_timeout_s=settings.connect_timeout_s,
                read_timeout_s=settings.read_timeout_s,
                max_connections=settings.max_backend_connections,
                max_body_bytes=settings.max_body_bytes,
            ),
        )
        self.directory = OrganizationDirectory(
            self.forwarder,
            self.metrics,
            capacity=settings.entity_cache_size,
            negative_ttl_s=settings.entity_not_found_ttl_s,
        )
        self.decisions = DecisionEngine(settings, self.metrics.registry)
        self.verifier = SignatureVerifier(
            [
                ("STRANGLER_DISCORD_PUBLIC_KEY", settings.discord_public_key),
                ("STRANGLER_DISCORD_BRIDGE_PUBLIC_KEY", settings.discord_bridge_public_key),
            ]
        )
        self.records = ProxyRecords(
            settings.database_url, mismatch_retention=settings.shadow_mismatch_retention
        )
        self.shadow: ShadowTraffic | None = None
        if settings.shadow_enabled:
            self.shadow = ShadowTraffic(
                self.forwarder,
                ShadowMetrics(self.metrics.registry),
                secret=settings.dry_run_secret,
                limits=ShadowLimits(
                    max_in_flight=settings.shadow_max_in_flight,
                    timeout_s=settings.shadow_timeout_s,
                    request_timeout_s=settings.shadow_request_timeout_s,
                    capture_bytes=settings.shadow_capture_bytes,
                    record_body_bytes=settings.shadow_record_body_bytes,
                ),
                noise=NoiseSettings(
                    warmup=settings.shadow_noise_warmup,
                    probe_every=settings.shadow_noise_probe_every,
                    min_hits=settings.shadow_noise_min_hits,
                ),
                latencies=PairedLatencies(capacity=settings.shadow_latency_pairs),
                mismatch_log=self.records.mismatches,
                observer=self.gate.recorder,
            )
        self.gate.assemble(
            self.forwarder, self.shadow.latencies if self.shadow else None, self.records, self.decisions
        )
        self.operator_api = OperatorApi(
            settings, self.decisions, self.records, self.shadow, self.gate.cutover
        )
        self._max_body = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(STRANGLER_PREFIX + "/") or path == STRANGLER_PREFIX:
                await self._strangler(scope, receive, send)
            elif path == "/metrics":
                # Rendering takes milliseconds per organization under migration (the gate's
                # fine histograms); in a thread, the requests in flight are not held up for all of it.
                payload = await asyncio.to_thread(self.metrics.render)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
                    }
                )
                await send({"type": "http.response.body", "body": payload})
            elif path == DISCORD_PATH and scope["method"] == "POST":
                await self._interaction(scope, receive, send)
            else:
                await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    # -- the hot path ----------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        match = self.route_map.match_http(scope["method"], scope["path"])
        try:
            length = _content_length(scope)
            if length is not None and length > self._max_body:
                raise RequestTooLarge(self._max_body)
            has_body = (length is not None and length > 0) or header_value(
                scope, b"transfer-encoding"
            ) is not None
            body: bytes | AsyncIterator[bytes] | None = None
            buffered: bytes | None = None
            if has_body:
                if (match is not None and match.route.needs_body) or (
                    length is not None and length <= BUFFER_LIMIT
                ):
                    body = buffered = await read_body(receive, self._max_body)
                else:
                    body = stream_body(receive, self._max_body)
        except (BodyOverLimit, RequestTooLarge):
            await send_error(send, RequestTooLarge(self._max_body))
            return
        except ClientDisconnected:
            return

        surface = match.route.surface if match is not None else None
        organization, decision = await self._decide(
            surface,
            lambda: self.directory.for_request(match, scope["query_string"], buffered),  # type: ignore[arg-type]
            lambda: _bearer_caller(scope),
        )
        if decision.mode.mirror is not None and self.shadow is not None and isinstance(body, AsyncIterator):
            # A mirrored request is sent again later: its body is kept (within the limit).
            try:
                body = await read_body(receive, self._max_body)
            except BodyOverLimit:
                await send_error(send, RequestTooLarge(self._max_body))
                return
            except ClientDisconnected:
                return
        route = partial(_http_shadow_route, scope["method"], match.route) if match is not None else None
        await self._forward(scope, body, send, surface, organization, decision, started, route)

    async def _decide(
        self,
        surface: Surface | None,
        find_organization: Callable[[], Awaitable[int | None]],
        caller: Callable[[], str],
    ) -> tuple[int | None, Decision]:
        """The mode a request is served in, and its organization when it was found."""
        if surface is None:
            return None, LEGACY_UNROUTED
        try:
            if self.decisions.kill_switch_on():
                return None, LEGACY_KILL_SWITCH
            organization = await find_organization()
            if organization is None:
                return None, LEGACY_NO_ORGANIZATION
            return organization, self.decisions.decide(surface, organization, caller)
        except Exception:
            # Failing to decide must never fail the request: legacy serves it.
            logger.exception("routing decision failed for %s", surface)
            return None, LEGACY_ERROR

    async def _forward(
        self,
        scope: Scope,
        body: bytes | AsyncIterator[bytes] | None,
        send: Send,
        surface: Surface | None,
        organization: int | None,
        decision: Decision,
        started: float,
        route: ShadowRoute | None,
        *,
        discord: bool = False,
    ) -> None:
        mode = decision.mode
        backend = mode.primary
        self.metrics.decision(surface, mode, decision.reason)
        headers: Headers = [_BACKEND_HEADER[backend], _MODE_HEADER[mode]]
        shadow = self.shadow
        if (
            shadow is None
            or mode.mirror is None
            or surface is None
            or route is None
            or isinstance(body, AsyncIterator)
        ):
            result = await self.forwarder.forward(scope, body, send, backend, headers)
        else:
            # The client gets the primary's answer as it streams; a bounded copy is kept,
            # and only once it is complete does the mirror start (off the response path).
            capture = ResponseCapture(send, shadow.capture_limit)
            forwarding = time.perf_counter()
            result = await self.forwarder.forward(scope, body, capture.send, backend, headers)
            primary = capture.answer(
                time.perf_counter() - forwarding,
                failed=result.error is not None or result.status == CLIENT_CLOSED_REQUEST,
            )
            name, ignore = route()
            kind = request_kind(scope["method"], discord)
            shadow.submit(
                MirroredRequest(scope, body, surface, mode, organization, name, ignore, kind), primary
            )
        if result.error is not None:
            self.metrics.backend_error(backend, result.error)
        self.metrics.request(
            surface, backend, mode, organization, result.status, time.perf_counter() - started
        )

    # -- Discord ---------------------------------------------------------------------

    async def _interaction(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            length = _content_length(scope)
            if length is not None and length > self._max_body:
                raise RequestTooLarge(self._max_body)
            body = await read_body(receive, self._max_body)
            if not self.verifier.verify(
                header_value(scope, b"x-signature-ed25519"),
                header_value(scope, b"x-signature-timestamp"),
                body,
            ):
                raise InvalidSignature("invalid request signature")
            interaction = Interaction.parse(body)
        except BodyOverLimit:
            await send_error(send, RequestTooLarge(self._max_body))
            return
        except ProxyError as exc:
            await send_error(send, exc)
            return
        except ClientDisconnected:
            return
        if interaction.type == InteractionType.PING:
            await send_json(send, 200, PONG)
            return

        discord_surface = interaction.surface(self.route_map)
        surface = discord_surface.surface if discord_surface is not None else None
        organization, decision = await self._decide(
            surface,
            lambda: self.directory.for_ids(interaction.organization_candidates(discord_surface)),  # type: ignore[arg-type]
            lambda: interaction.caller,
        )
        route = (
            partial(_discord_shadow_route, interaction, discord_surface)
            if discord_surface is not None
            else None
        )
        await self._forward(scope, body, send, surface, organization, decision, started, route, discord=True)

    # -- the proxy's own paths -------------------------------------------------------

    async def _strangler(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == STRANGLER_PREFIX + "/healthz":
            health: dict[str, Any] = {"status": "ok", "flags": self.decisions.status.value}
            if self.shadow is not None:
                health["shadow_in_flight"] = self.shadow.in_flight
            await send_json(send, 200, health)
        else:
            await self.operator_api(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        async with AsyncExitStack() as stack:
            try:
                await self.forwarder.start()
                stack.push_async_callback(self.forwarder.close)
                await self.decisions.start()
                stack.push_async_callback(self.decisions.stop)
                stack.push_async_callback(self.records.close)
                stack.push_async_callback(self.operator_api.close)
                if self.shadow is not None:
                    stack.push_async_callback(self.shadow.close)
                await self.gate.start()
                stack.push_async_callback(self.gate.close)
            except Exception as exc:
                logger.exception("proxy start-up failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})


class OperatorApi:
    """The operator API (proxy.operator.api, built separately), mounted under /_strangler.

    Imported and started on first use: FastAPI and the ORM behind it add ~26 MB to a
    process that otherwise never needs them. Until the package exists, its paths are 404.
    """

    def __init__(
        self,
        settings: ProxySettings,
        decisions: DecisionEngine,
        records: ProxyRecords,
        shadow: ShadowTraffic | None,
        cutover: CutoverGate | None = None,
    ) -> None:
        self._settings = settings
        self._decisions = decisions
        self._records = records
        self._shadow = shadow
        self._cutover = cutover
        self._app: Any = None
        self._missing = False
        self._lock = asyncio.Lock()
        self._stack = AsyncExitStack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app or await self._load()
        if app is None:
            await send_error(send, NotFound("not found"))
            return
        await app({**scope, "root_path": scope.get("root_path", "") + STRANGLER_PREFIX}, receive, send)

    async def _load(self) -> Any:
        async with self._lock:
            if self._app is None and not self._missing:
                try:
                    from proxy.operator.api import create_operator_api
                except ModuleNotFoundError as exc:
                    if exc.name is None or not exc.name.startswith("proxy.operator"):
                        raise
                    self._missing = True
                    return None
                app = create_operator_api(
                    self._settings,
                    self._decisions,
                    database=self._records.database(),
                    shadow=self._shadow,
                    cutover=self._cutover,
                )
                lifespan = getattr(getattr(app, "router", None), "lifespan_context", None)
                if lifespan is not None:
                    await self._stack.enter_async_context(lifespan(app))
                self._app = app
            return self._app

    async def close(self) -> None:
        await self._stack.aclose()


def _content_length(scope: Scope) -> int | None:
    value = header_value(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _http_shadow_route(method: str, route: HttpRoute) -> tuple[str, IgnoreRules]:
    return http_route(method, route.template), route.ignore


def _discord_shadow_route(interaction: Interaction, surface: DiscordSurface) -> tuple[str, IgnoreRules]:
    autocomplete = interaction.type == InteractionType.AUTOCOMPLETE
    return discord_route(interaction.command, interaction.custom_id, autocomplete), surface.ignore


def _bearer_caller(scope: Scope) -> str:
    """The stable per-caller key of an HTTP request: SHA-256 of its bearer token."""
    authorization = header_value(scope, b"authorization")
    if authorization is None or not authorization[:7].lower() == b"bearer ":
        return ANONYMOUS_CALLER
    return hashlib.sha256(authorization[7:].strip()).hexdigest()


app = ProxyApp()
