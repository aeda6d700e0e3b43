"""The one way the proxy reaches a backend: a keep-alive connection pool per backend.

The client is proxy.http_client, a small HTTP/1.1 client on httptools: on this path the
client is most of the proxy's cost, and aiohttp's ClientSession (the client before it) cost
~100 µs of CPU per request where this one costs ~25 µs (docs/performance.md has the
comparison, and the other clients tried). httpx's default transport, the platform's client
elsewhere, measured ~1,500 µs per request here. Nothing else on the data path talks to a
backend, and the client's errors are translated into proxy.errors.BackendError here, where
they enter.

What the forwarder guarantees: every method; the raw path and query string as sent;
request and response bodies streamed (small ones, up to BUFFER_LIMIT, read whole, which
is cheaper); status codes and headers passed through, minus hop-by-hop ones (the proxy's
own server stamps Date and Server, as nginx does); the client's Host kept (so redirects
and absolute URLs point at the proxy) and X-Forwarded-For/Proto/Host added; client-sent
X-Strangler-* headers stripped; redirects passed through, never followed; cookies passed
through, never stored, multiple Set-Cookie preserved; no decompression (bytes are relayed
as they are); connect and read timeouts; every upstream answer released in a `finally`.
Differences a backend may see: a bodiless POST/PUT/PATCH arrives with `Content-Length: 0`,
and a streamed request body (over BUFFER_LIMIT, or of unknown length) arrives chunked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from proxy.asgi import BodyOverLimit, ClientDisconnected, Headers, Scope, Send
from proxy.errors import (
    BackendError,
    BackendErrorKind,
    BackendTimeout,
    BackendUnavailable,
    RequestTooLarge,
    send_error,
)
from proxy.http_client import (
    BackendConnectionError,
    ConnectionPool,
    ConnectTimeout,
    Disconnected,
    ReadTimeout,
    Response,
)
from proxy.modes import Backend

BUFFER_LIMIT = 64 * 1024
"""Bodies with a declared length up to this are read whole rather than streamed."""

OWN_QUESTION_MAX_BYTES = 64 * 1024
"""The proxy's own questions (entity owners) have small answers; a longer one is an error."""

CLIENT_CLOSED_REQUEST = 499
"""nginx's status for a client that left before the answer; recorded, never sent."""

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",  # uvicorn already answered any 100-continue
    }
)
# Replaced by the proxy's own, or re-derived by it (Content-Length by proxy.http_client).
_REQUEST_DROPPED = HOP_BY_HOP | {b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-for"}
# The front server stamps its own Date and Server (as nginx does); the proxy stamps its own X-Strangler-*.
_RESPONSE_DROPPED = HOP_BY_HOP | {b"date", b"server", b"x-strangler-backend", b"x-strangler-mode"}
_STRANGLER_PREFIX = b"x-strangler-"
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class ForwardingLimits:
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 30.0
    max_connections: int = 512
    max_body_bytes: int = 10 * 1024 * 1024
    # Below uvicorn's 5 s keep-alive, so the proxy drops an idle connection before the
    # backend does and never sends on a socket the backend is closing.
    keepalive_s: float = 4.0


@dataclass(frozen=True)
class Forwarded:
    """What happened, for the metrics: the status the client got and any backend error."""

    status: int
    error: BackendErrorKind | None = None


RequestBody = bytes | AsyncIterator[bytes] | None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A whole answer the proxy read for itself (a mirrored request): never relayed."""

    status: int
    headers: list[tuple[bytes, bytes]]  # names in lower case
    body: bytes  # at most `max_body` bytes
    truncated: bool  # the answer was longer than `max_body`
    seconds: float  # from sending the request to the last byte read


class Forwarder:
    def __init__(self, backend_urls: Mapping[Backend, str], limits: ForwardingLimits) -> None:
        self._urls = {backend: url.rstrip("/") for backend, url in backend_urls.items()}
        self._limits = limits
        self._pools: dict[Backend, ConnectionPool] = {}

    async def start(self) -> None:
        self._pools = {
            backend: ConnectionPool(
                url,
                max_connections=self._limits.max_connections,
                connect_timeout_s=self._limits.connect_timeout_s,
                read_timeout_s=self._limits.read_timeout_s,
                keepalive_s=self._limits.keepalive_s,
            )
            for backend, url in self._urls.items()
        }

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            await pool.close()

    def _pool(self, backend: Backend) -> ConnectionPool:
        pool = self._pools.get(backend)
        if pool is None:
            raise RuntimeError("Forwarder.start() has not run")
        return pool

    async def forward(
        self,
        scope: Scope,
        body: RequestBody,
        send: Send,
        backend: Backend,
        response_headers: Headers,
        *,
        path: str | None = None,
    ) -> Forwarded:
        """Send the request of `scope` (with `body`) to `backend` and relay its answer.

        `response_headers` (the proxy's X-Strangler-*) go on every answer, error or not.
        `path` replaces the request's raw path when given.
        """
        method: str = scope["method"]
        retry = method in _IDEMPOTENT and not isinstance(body, AsyncIterator)
        try:
            response = await self._send(
                backend, method, _target(scope, path), _request_headers(scope), body, retry
            )
        except RequestTooLarge as exc:
            await send_error(send, exc, response_headers)
            return Forwarded(exc.status)
        except BackendError as exc:
            await send_error(send, exc, response_headers)
            return Forwarded(exc.status, exc.kind)
        except ClientDisconnected:
            return Forwarded(CLIENT_CLOSED_REQUEST)
        try:
            return await _relay(response, send, response_headers, backend)
        finally:
            response.release()

    async def fetch(
        self,
        scope: Scope,
        body: bytes | None,
        backend: Backend,
        extra_headers: list[tuple[str, str]],
        *,
        path: str | None = None,
        timeout_s: float,
        max_body: int,
    ) -> Fetched:
        """Send the request of `scope` to `backend` as the client sent it (plus
        `extra_headers`) and read the answer for the proxy itself, within `timeout_s`.
        Raises BackendError. Resent once on a pooled connection the backend had closed:
        a mirror is a read or a dry run, which a resend cannot turn into a second write."""
        headers = _request_headers(scope)
        headers += [(name.lower().encode("latin-1"), value.encode()) for name, value in extra_headers]
        target = _target(scope, path)
        return await self._read(backend, scope["method"], target, headers, body, timeout_s, max_body)

    async def get_json(self, backend: Backend, path: str, timeout_s: float) -> tuple[int, Any]:
        """A small GET for the proxy's own questions (entity owners); raises BackendError."""
        headers = [(b"accept", b"application/json")]
        fetched = await self._read(
            backend, "GET", path.encode("latin-1"), headers, None, timeout_s, OWN_QUESTION_MAX_BYTES
        )
        content_type = next((value for name, value in fetched.headers if name == b"content-type"), b"")
        if content_type.split(b";")[0].strip().lower() != b"application/json":
            return fetched.status, None
        try:
            return fetched.status, orjson.loads(fetched.body)
        except orjson.JSONDecodeError as exc:  # a truncated answer too
            raise BackendUnavailable(backend) from exc

    async def _read(
        self,
        backend: Backend,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        timeout_s: float,
        max_body: int,
    ) -> Fetched:
        """A whole answer, at most `max_body` bytes of its body, within `timeout_s`."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._send(backend, method, target, headers, body, True)
                try:
                    chunks: list[bytes] = []
                    size, truncated = 0, False
                    async for chunk in response.iter_chunks():
                        if size + len(chunk) > max_body:
                            chunks.append(chunk[: max_body - size])
                            truncated = True
                            response.close()  # the rest is not read: the connection cannot be reused
                            break
                        chunks.append(chunk)
                        size += len(chunk)
                    return Fetched(
                        response.status,
                        response.headers,
                        b"".join(chunks),
                        truncated,
                        time.perf_counter() - started,
                    )
                finally:
                    response.release()
        except TimeoutError as exc:
            raise BackendTimeout(backend) from exc
        except BackendConnectionError as exc:
            raise _backend_error(backend, exc) from exc

    async def _send(
        self,
        backend: Backend,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: RequestBody,
        retry: bool,
    ) -> Response:
        pool = self._pool(backend)
        while True:
            try:
                return await pool.request(method, target, headers, body)
            except Disconnected as exc:
                # A pooled connection the backend closed between requests; safe to resend
                # only when resending cannot repeat a write.
                if retry and exc.before_answer and exc.reused:
                    retry = False
                    continue
                raise BackendUnavailable(backend) from exc
            except BackendConnectionError as exc:
                raise _backend_error(backend, exc) from exc
            except BodyOverLimit as exc:
                raise RequestTooLarge(self._limits.max_body_bytes) from exc


def _backend_error(backend: Backend, exc: BackendConnectionError) -> BackendError:
    if isinstance(exc, (ReadTimeout, ConnectTimeout)):
        return BackendTimeout(backend)
    return BackendUnavailable(backend)


def _target(scope: Scope, path: str | None) -> bytes:
    """The request line's target: the raw path as the client sent it, and its query."""
    raw_path: bytes = path.encode("latin-1") if path is not None else scope["raw_path"]
    query: bytes = scope["query_string"]
    return raw_path + b"?" + query if query else raw_path


def _request_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    dropped = _REQUEST_DROPPED
    forwarded_for = b""
    host = b""
    for name, value in scope["headers"]:
        if name in dropped or name.startswith(_STRANGLER_PREFIX):
            if name == b"x-forwarded-for":
                forwarded_for = value
            elif name == b"connection":
                dropped = dropped | {token.strip().lower() for token in value.split(b",")}
            continue
        if name == b"host":
            host = value
        headers.append((name, value))
    client = scope.get("client")
    client_host = client[0].encode("latin-1") if client else b""
    headers.append(
        (b"x-forwarded-for", forwarded_for + b", " + client_host if forwarded_for else client_host)
    )
    headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode("latin-1")))
    if host:
        headers.append((b"x-forwarded-host", host))
    return headers


def _response_headers(response: Response, extra: Headers) -> Headers:
    dropped = _RESPONSE_DROPPED
    headers: Headers = []
    for name, value in response.headers:
        if name in dropped:
            if name == b"connection":
                dropped = dropped | {token.strip().lower() for token in value.split(b",")}
            continue
        headers.append((name, value))
    if dropped is not _RESPONSE_DROPPED:
        headers = [(name, value) for name, value in headers if name not in dropped]
    headers.extend(extra)
    return headers


async def _relay(response: Response, send: Send, extra: Headers, backend: Backend) -> Forwarded:
    headers = _response_headers(response, extra)
    length = response.content_length
    if response.complete or (length is not None and length <= BUFFER_LIMIT):
        try:
            payload = await response.read()
        except BackendConnectionError as exc:
            error = _backend_error(backend, exc)
            await send_error(send, error, extra)
            return Forwarded(error.status, error.kind)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return Forwarded(response.status)

    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        async for chunk in response.iter_chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except BackendConnectionError:
        # The answer broke off after it had begun: closing without the final body message
        # tells the server to drop the connection, so the client sees a short response
        # rather than a complete-looking one.
        response.close()
        return Forwarded(response.status, BackendErrorKind.ABORTED)
    await send({"type": "http.response.body", "body": b""})
    return Forwarded(response.status)
