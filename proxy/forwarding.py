"""The one way the proxy reaches a backend: a shared, pooled aiohttp client.

Why aiohttp: it decides the proxy's speed. Measured here (2 cores, proxy pinned to one,
a FastAPI backend's 5 ms route, concurrency 16): a bare ASGI proxy on httpx's default
transport ~1,500 µs of proxy CPU per request and ~25% of direct throughput; on aiohttp's
client ~140-220 µs and ~80-95%; this full proxy (routing, owner lookup, flags, metrics)
~210-280 µs. The lead's prototypes measured httpx over the httpx-aiohttp transport at
~600 µs. benchmarks/proxy_overhead.py repeats the comparison with the real proxy. The
choice stays behind this module: nothing else on the data path imports aiohttp, and
client errors are translated into proxy.errors.BackendError here, where they enter.

What the forwarder guarantees: every method; the raw path and query string as sent;
request and response bodies streamed (small ones, up to BUFFER_LIMIT, read whole, which
is cheaper); status codes and headers passed through, minus hop-by-hop ones (the proxy's
own server stamps Date and Server, as nginx does); the client's Host kept (so redirects
and absolute URLs point at the proxy) and X-Forwarded-For/Proto/Host added; client-sent
X-Strangler-* headers stripped; redirects passed through, never followed; cookies passed
through, never stored, multiple Set-Cookie preserved; no decompression (bytes are relayed
as they are); connect and read timeouts; every upstream response released in a `finally`
(a leaked one costs ~5 MB per 1,000 requests). One difference a backend may see: a
bodiless POST/PUT/PATCH/DELETE arrives with an explicit `Content-Length: 0`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from proxy.asgi import BodyOverLimit, ClientDisconnected, Headers, Scope, Send
from proxy.errors import (
    BackendError,
    BackendErrorKind,
    BackendTimeout,
    BackendUnavailable,
    RequestTooLarge,
    send_error,
)
from proxy.modes import Backend

BUFFER_LIMIT = 64 * 1024
"""Bodies with a declared length up to this are read whole rather than streamed."""

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
# Replaced by the proxy's own, or re-derived by it.
_REQUEST_DROPPED = HOP_BY_HOP | {b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-for"}
# The front server stamps its own Date and Server (as nginx does); the proxy stamps its own X-Strangler-*.
_RESPONSE_DROPPED = HOP_BY_HOP | {b"date", b"server", b"x-strangler-backend", b"x-strangler-mode"}
_STRANGLER_PREFIX = b"x-strangler-"
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


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
        self._base = {backend: url.rstrip("/") for backend, url in backend_urls.items()}
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_s,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=self._limits.connect_timeout_s,
                sock_read=self._limits.read_timeout_s,
            ),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            trust_env=False,
            max_field_size=65536,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("Forwarder.start() has not run")
        return self._session

    def url(self, backend: Backend, path: str) -> str:
        return self._base[backend] + path

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
        raw_path = path if path is not None else scope["raw_path"].decode("latin-1")
        query: bytes = scope["query_string"]
        target = self._base[backend] + raw_path + ("?" + query.decode("latin-1") if query else "")
        headers = _request_headers(scope)
        retry = method in _IDEMPOTENT and not isinstance(body, AsyncIterator)
        try:
            response = await self._send(method, URL(target, encoded=True), headers, body, backend, retry)
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
        method: str = scope["method"]
        raw_path = path if path is not None else scope["raw_path"].decode("latin-1")
        query: bytes = scope["query_string"]
        target = self._base[backend] + raw_path + ("?" + query.decode("latin-1") if query else "")
        headers = [*_request_headers(scope), *extra_headers]
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._send(method, URL(target, encoded=True), headers, body, backend, True)
                try:
                    chunks: list[bytes] = []
                    size, truncated = 0, False
                    async for chunk in response.content.iter_any():
                        if size + len(chunk) > max_body:
                            chunks.append(chunk[: max_body - size])
                            truncated = True
                            response.close()  # the rest is not read: the connection cannot be reused
                            break
                        chunks.append(chunk)
                        size += len(chunk)
                    headers_read = [(name.lower(), value) for name, value in response.raw_headers]
                    return Fetched(
                        response.status,
                        headers_read,
                        b"".join(chunks),
                        truncated,
                        time.perf_counter() - started,
                    )
                finally:
                    response.release()
        except TimeoutError as exc:
            raise BackendTimeout(backend) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise BackendUnavailable(backend) from exc

    async def _send(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        body: RequestBody,
        backend: Backend,
        retry: bool,
    ) -> aiohttp.ClientResponse:
        while True:
            try:
                return await self.session.request(
                    method, url, headers=headers, data=body, allow_redirects=False, compress=None
                )
            except aiohttp.ServerDisconnectedError as exc:
                # A pooled connection the backend closed between requests; safe to resend
                # only when resending cannot repeat a write.
                if retry:
                    retry = False
                    continue
                raise BackendUnavailable(backend) from exc
            except TimeoutError as exc:
                raise BackendTimeout(backend) from exc
            except (aiohttp.ClientError, OSError) as exc:
                cause = _body_error(exc)
                if isinstance(cause, BodyOverLimit):
                    raise RequestTooLarge(self._limits.max_body_bytes) from exc
                if isinstance(cause, ClientDisconnected):
                    raise cause from exc
                raise BackendUnavailable(backend) from exc
            except BodyOverLimit as exc:
                raise RequestTooLarge(self._limits.max_body_bytes) from exc

    async def get_json(self, backend: Backend, path: str, timeout_s: float) -> tuple[int, Any]:
        """A small GET for the proxy's own questions (entity owners); raises BackendError."""
        try:
            async with self.session.get(
                self._base[backend] + path, timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as response:
                if response.content_type != "application/json":
                    return response.status, None
                return response.status, await response.json()
        except TimeoutError as exc:
            raise BackendTimeout(backend) from exc
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise BackendUnavailable(backend) from exc


def _body_error(exc: BaseException) -> BaseException | None:
    """The request body's own error when aiohttp wrapped it while sending."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (BodyOverLimit, ClientDisconnected)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _request_headers(scope: Scope) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    dropped = _REQUEST_DROPPED
    forwarded_for = ""
    host = ""
    for name, value in scope["headers"]:
        if name in dropped or name.startswith(_STRANGLER_PREFIX):
            if name == b"x-forwarded-for":
                forwarded_for = value.decode("latin-1")
            elif name == b"connection":
                dropped = dropped | {token.strip().lower() for token in value.split(b",")}
            continue
        if name == b"host":
            host = value.decode("latin-1")
        headers.append((name.decode("latin-1"), _decode_value(value)))
    client = scope.get("client")
    client_host = client[0] if client else ""
    headers.append(("X-Forwarded-For", f"{forwarded_for}, {client_host}" if forwarded_for else client_host))
    headers.append(("X-Forwarded-Proto", scope.get("scheme", "http")))
    if host:
        headers.append(("X-Forwarded-Host", host))
    return headers


def _decode_value(value: bytes) -> str:
    # aiohttp writes header values as UTF-8; decoding them as UTF-8 relays the same bytes.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _response_headers(response: aiohttp.ClientResponse, extra: Headers) -> Headers:
    dropped = _RESPONSE_DROPPED
    headers: Headers = []
    for name, value in response.raw_headers:
        lowered = name.lower()
        if lowered in dropped:
            if lowered == b"connection":
                dropped = dropped | {token.strip().lower() for token in value.split(b",")}
            continue
        headers.append((lowered, value))
    if dropped is not _RESPONSE_DROPPED:
        headers = [(name, value) for name, value in headers if name not in dropped]
    headers.extend(extra)
    return headers


async def _relay(response: aiohttp.ClientResponse, send: Send, extra: Headers, backend: Backend) -> Forwarded:
    headers = _response_headers(response, extra)
    length = response.content_length
    if length is not None and length <= BUFFER_LIMIT:
        try:
            payload = await response.read()
        except TimeoutError:
            await send_error(send, BackendTimeout(backend), extra)
            return Forwarded(504, BackendErrorKind.TIMEOUT)
        except (aiohttp.ClientError, OSError):
            await send_error(send, BackendUnavailable(backend), extra)
            return Forwarded(502, BackendErrorKind.UNAVAILABLE)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return Forwarded(response.status)

    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except (TimeoutError, aiohttp.ClientError, OSError):
        # The answer broke off after it had begun: closing without the final body message
        # tells the server to drop the connection, so the client sees a short response
        # rather than a complete-looking one.
        response.close()
        return Forwarded(response.status, BackendErrorKind.ABORTED)
    await send({"type": "http.response.body", "body": b""})
    return Forwarded(response.status)
