"""The proxy's HTTP/1.1 client to its backends: a keep-alive connection pool per backend,
on asyncio protocols, with answers parsed by httptools (llhttp, the parser uvicorn serves
the proxy's own clients with).

Why not a general-purpose client: on this path the client is most of the proxy's cost.
Measured here alone (`python -m benchmarks --only client`: GET 1 KB, concurrency 16, one
CPU), CPU per request: aiohttp's ClientSession ~100 µs (the proxy's client before; half of
the whole proxy's ~200 µs then), aiosonic ~120 µs, pyreqwest ~32 µs, this client ~25 µs.
pyreqwest was not taken because its URL handling rewrites paths (`/a/../b` reaches the
backend as `/b`), where a proxy must relay the path as sent, and its I/O runs on Rust
threads outside the event loop. proxy.forwarding is the only user, so the choice can change
there.

What it does (and nothing more):
- HTTP/1.1, one request at a time per connection (no pipelining); http and https.
- Request bodies: bytes, sent with Content-Length; an async iterator of chunks, sent
  chunked as they come. POST/PUT/PATCH without a body get `Content-Length: 0`.
- Answers framed by Content-Length, chunked, or the connection's close; interim 1xx answers
  skipped; HEAD, 204 and 304 answers bodiless. Header names arrive lower-cased.
- Flow control: reading from the backend pauses while more than 256 KB of an answer wait
  for the consumer; a streamed request body waits for the socket to drain.
- Timeouts: connecting; reading, i.e. the longest silence from the backend between the
  request being sent and the answer's end (time the consumer makes it wait not counted).
- The pool: idle connections reused last-in first-out and closed after `keepalive_s`; at
  most `max_connections` in use at once, further requests wait their turn. A connection is
  reused only when its answer was read to the end and both sides kept it alive.

Errors are BackendConnectionError subclasses; proxy.forwarding translates them.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import urlsplit

import httptools

Header = tuple[bytes, bytes]
RequestBody = bytes | AsyncIterator[bytes] | None

MAX_HEADER_BYTES = 256 * 1024
"""An answer whose header block is larger is refused (a broken or hostile backend)."""

_PAUSE_READING_ABOVE = 256 * 1024
_RESUME_READING_BELOW = 64 * 1024
_LENGTH_ZERO_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FRAMING_HEADERS = frozenset({b"content-length", b"transfer-encoding", b"host"})
_LAST_CHUNK = b"0\r\n\r\n"


class BackendConnectionError(Exception):
    """The backend could not be reached, or did not answer properly."""


class ConnectFailed(BackendConnectionError):
    """No connection could be made (refused, unreachable, name not resolved)."""


class ConnectTimeout(BackendConnectionError):
    """No connection within the connect timeout."""


class ReadTimeout(BackendConnectionError):
    """The backend fell silent for longer than the read timeout."""


class Disconnected(BackendConnectionError):
    """The connection closed before the answer was complete.

    `before_answer`: nothing of an answer had arrived, and `reused`: the connection had
    served an earlier request. Both together are the race of a backend closing an idle
    connection just as it is reused, where resending a request that cannot repeat a
    write is safe."""

    def __init__(self, message: str, *, before_answer: bool, reused: bool) -> None:
        super().__init__(message)
        self.before_answer = before_answer
        self.reused = reused


class InvalidResponse(BackendConnectionError):
    """The backend's bytes are not an HTTP/1.1 answer this client relays."""


class Response:
    """One answer being read: status and headers first, then the body as it arrives.

    Release it (`release()`) when done with it, read to the end or not: only a released
    answer gives its connection back, or closes it.
    """

    __slots__ = (
        "_answered",
        "_body_waiter",
        "_buffered",
        "_chunked",
        "_chunks",
        "_complete",
        "_connection",
        "_error",
        "_head_bytes",
        "_head_request",
        "_header_bytes",
        "_keep_alive",
        "_loop",
        "_parser",
        "_released",
        "_started",
        "_timer",
        "_writer",
        "content_length",
        "headers",
        "last_activity",
        "read_timeout_s",
        "status",
    )

    def __init__(self, connection: _Connection, head_request: bool, read_timeout_s: float) -> None:
        self.status = 0
        self.headers: list[Header] = []
        self.content_length: int | None = None
        self._connection = connection
        self._loop = connection.loop
        self._parser = httptools.HttpResponseParser(self)
        self._head_request = head_request
        self._started: asyncio.Future[None] = self._loop.create_future()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._body_waiter: asyncio.Future[None] | None = None
        self._complete = False
        self._keep_alive = False
        self._error: BackendConnectionError | None = None
        self._header_bytes = 0
        self._head_bytes = 0
        self._answered = False
        self._chunked = False
        self._released = False
        self._timer: asyncio.TimerHandle | None = None
        self.read_timeout_s = read_timeout_s
        self.last_activity = self._loop.time()
        self._writer: asyncio.Task[None] | None = None

    # -- reading -----------------------------------------------------------------------

    async def read(self) -> bytes:
        """The whole body."""
        if self._complete and self._error is None:
            chunks = list(self._chunks)  # all there already: the common case of a small answer
            self._chunks.clear()
            self._buffered = 0
        else:
            chunks = [chunk async for chunk in self.iter_chunks()]
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body chunk by chunk, as it arrives. Raises BackendConnectionError if the
        answer breaks off."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._connection.reading_paused and self._buffered < _RESUME_READING_BELOW:
                    self._connection.resume_reading()
                yield chunk
            elif self._error is not None:
                raise self._error
            elif self._complete:
                return
            else:
                self._body_waiter = self._loop.create_future()
                await self._body_waiter

    @property
    def complete(self) -> bool:
        return self._complete

    def release(self) -> None:
        """Give the connection back when the answer was read to its end and may be
        reused; close it otherwise. Idempotent."""
        if self._released:
            return
        self._released = True
        if self._timer is not None:
            self._timer.cancel()
        writer = self._writer
        reusable = self._complete and self._keep_alive and self._error is None
        if writer is not None and not writer.done():
            writer.cancel()
            reusable = False
        elif writer is not None and (writer.cancelled() or writer.exception() is not None):
            # The body broke off (its iterator failed): the backend still waits for the rest.
            reusable = False
        self._connection.finished(self, reusable)

    def close(self) -> None:
        """Release, dropping the connection whatever state the answer is in."""
        if not self._released:
            self._keep_alive = False
            self.release()

    # -- what the connection tells it --------------------------------------------------

    def feed(self, data: bytes) -> None:
        self.last_activity = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:  # a 101 is refused in on_headers_complete
            if self._complete:
                # Bytes after a complete answer: the answer stands, the connection does not.
                self._keep_alive = False
                self._connection.abort()
            else:
                cause = exc.__context__ if isinstance(exc.__context__, BackendConnectionError) else None
                self._fail(cause or InvalidResponse(f"the backend's answer is not valid HTTP: {exc}"))
        if not self.status and self._error is None:
            # Still in the header block (interim answers count): httptools keeps a header
            # line until it ends, so a line that never ends is cut off here, not buffered.
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEADER_BYTES:
                self._fail(InvalidResponse(f"the backend's headers are over {MAX_HEADER_BYTES} bytes"))

    def connection_lost(self) -> None:
        if self._complete or self._error is not None:
            return
        if self.status and self.content_length is None and not self._chunked and self._started.done():
            # An answer framed by the connection's close ends here.
            self._complete = True
            self._keep_alive = False
            self._wake()
            return
        self._fail(
            Disconnected(
                "the backend closed the connection before its answer was complete",
                before_answer=not self._answered,
                reused=self._connection.served > 1,
            )
        )

    def arm_read_timeout(self) -> None:
        self.last_activity = self._loop.time()
        self._timer = self._loop.call_at(self.last_activity + self.read_timeout_s, self._check_timeout)

    def _check_timeout(self) -> None:
        self._timer = None
        if self._complete or self._error is not None or self._released:
            return
        now = self._loop.time()
        if self._connection.reading_paused:
            # The consumer, not the backend, is slow: the clock starts again when it catches up.
            self.last_activity = now
        deadline = self.last_activity + self.read_timeout_s
        if now >= deadline:
            self._fail(ReadTimeout(f"no data from the backend for {self.read_timeout_s:g} s"))
            return
        self._timer = self._loop.call_at(deadline, self._check_timeout)

    def _fail(self, error: BackendConnectionError) -> None:
        if self._error is not None or self._complete:
            return
        self._error = error
        if not self._started.done():
            self._started.set_exception(error)
            self._started.exception()  # retrieved: nobody may be waiting any more
        self._wake()
        self._connection.abort()

    def _wake(self) -> None:
        waiter = self._body_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._body_waiter = None

    # -- httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._answered = True
        if self._complete:
            raise InvalidResponse("the backend sent more than one answer")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise InvalidResponse(f"the backend's headers are over {MAX_HEADER_BYTES} bytes")
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status == 101:
            # Another protocol follows on this connection. Refused here, before the answer can
            # complete: llhttp ends the message before httptools reports the upgrade, and a
            # complete answer would hand the connection back for reuse.
            raise InvalidResponse("the backend switched protocols")
        if status < 200:
            # An interim answer (100 Continue, 103 Early Hints): llhttp goes on to the real one.
            self.headers = []
            self._header_bytes = 0
            return
        self.status = status
        for name, value in self.headers:
            if name == b"content-length":
                try:
                    self.content_length = int(value)
                except ValueError:
                    raise InvalidResponse("the backend sent an invalid Content-Length") from None
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self._chunked = True
        self._started.set_result(None)
        if self._head_request:
            # llhttp cannot be told the request was HEAD; this parser is not used again.
            self._keep_alive = self._parser.should_keep_alive()
            self._complete = True
            self.content_length = self.content_length if self.content_length is not None else 0

    def on_body(self, body: bytes) -> None:
        if self._complete:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _PAUSE_READING_ABOVE and not self._connection.reading_paused:
            self._connection.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.status or self._complete:
            return  # the end of an interim answer, or of a HEAD answer already done
        self._keep_alive = self._parser.should_keep_alive()
        self._complete = True
        self._wake()


class _Connection(asyncio.Protocol):
    """One connection to the backend; serves one Response at a time."""

    def __init__(self, pool: ConnectionPool, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.served = 0
        self.reading_paused = False
        self._response: Response | None = None
        self._drain: asyncio.Future[None] | None = None
        self._writing_paused = False

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        response = self._response
        if response is None:
            self.abort()  # nothing was asked: the backend is not speaking HTTP/1.1 to us
            return
        response.feed(data)

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if self._response is not None:
            self._response.connection_lost()
        self._wake_writer(Disconnected("the backend closed the connection", before_answer=True, reused=False))

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_writer(None)

    # -- used by the pool and the response ---------------------------------------------

    def start(self, response: Response) -> None:
        self._response = response
        self.served += 1

    def finished(self, response: Response, reusable: bool) -> None:
        if self._response is response:
            self._response = None
        if self.reading_paused and not self.closed and self.transport is not None:
            self.resume_reading()
        self.pool.check_in(self, reusable and not self.closed)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.closed:
            raise Disconnected(
                "the backend closed the connection", before_answer=True, reused=self.served > 1
            )
        self.transport.write(data)

    async def drain(self, timeout_s: float) -> None:
        if self.closed:
            raise Disconnected("the backend closed the connection", before_answer=True, reused=False)
        if self._writing_paused:
            self._drain = self.loop.create_future()
            try:
                async with asyncio.timeout(timeout_s):
                    await self._drain
            except TimeoutError:
                raise ReadTimeout(f"the backend read nothing of the request for {timeout_s:g} s") from None

    def pause_reading(self) -> None:
        self.reading_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.reading_paused = False
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()

    def _wake_writer(self, exc: BaseException | None) -> None:
        drain = self._drain
        self._drain = None
        if drain is not None and not drain.done():
            if exc is None:
                drain.set_result(None)
            else:
                drain.set_exception(exc)


class ConnectionPool:
    """Keep-alive connections to one backend origin (`http://host:port[/prefix]`)."""

    def __init__(
        self,
        url: str,
        *,
        max_connections: int,
        connect_timeout_s: float,
        read_timeout_s: float,
        keepalive_s: float,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a backend URL is http(s)://host[:port][/prefix], not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/").encode("latin-1")
        self.host_header = parts.netloc.encode("latin-1")
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if parts.scheme == "https" else None
        self._connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._keepalive_s = keepalive_s
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: deque[_Connection] = deque()
        self._expiry: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def request(
        self,
        method: str,
        target: bytes,
        headers: list[Header],
        body: RequestBody = None,
    ) -> Response:
        """Send a request and wait for its answer's status and headers.

        `target` is the path and query as they go on the request line (the pool's prefix
        is put before it); `headers` must not carry the body's framing (Content-Length,
        Transfer-Encoding), which is derived from `body`, and get the backend's Host when
        they have none. Errors raised by iterating `body` propagate as they are.
        """
        if self._closed:
            raise ConnectFailed("the connection pool is closed")
        await self._slots.acquire()
        try:
            connection = self._reuse() or await self._connect()
        except BaseException:
            self._slots.release()
            raise
        response = Response(connection, method == "HEAD", self.read_timeout_s)
        connection.start(response)
        try:
            head = _request_head(method, self.prefix + target, headers, self.host_header, body)
            if isinstance(body, bytes):
                connection.write(head + body if len(body) <= 65536 else head)
                if len(body) > 65536:
                    connection.write(body)
                response.arm_read_timeout()
            elif body is None:
                connection.write(head)
                response.arm_read_timeout()
            else:
                connection.write(head)
                # The backend may answer before the whole body is sent (a 413, say).
                response._writer = writer = asyncio.ensure_future(_send_chunked(connection, body, response))
                writer.add_done_callback(_retrieve_exception)
                await asyncio.wait((writer, response._started), return_when=asyncio.FIRST_COMPLETED)
                if writer.done() and writer.exception() is not None and not response._started.done():
                    raise writer.exception()  # type: ignore[misc]
            await response._started
        except BaseException:
            response.close()
            raise
        return response

    def _reuse(self) -> _Connection | None:
        idle = self._idle
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self._keepalive_s:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self, loop),
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl is not None else None,
                )
        except TimeoutError as exc:
            raise ConnectTimeout(
                f"no connection to {self.host}:{self.port} in {self._connect_timeout_s:g} s"
            ) from exc
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from exc
        return connection

    def check_in(self, connection: _Connection, reusable: bool) -> None:
        """A connection's answer is done: keep it for the next request, or close it."""
        self._slots.release()
        if not reusable:
            connection.abort()
            return
        if self._closed:
            connection.close()
            return
        loop = connection.loop
        connection.idle_since = loop.time()
        self._idle.append(connection)
        if self._expiry is None:
            self._expiry = loop.call_at(connection.idle_since + self._keepalive_s, self._expire)

    def forget(self, connection: _Connection) -> None:
        """A connection closed (either side): it is never handed out again."""
        if self._idle and connection in self._idle:
            self._idle.remove(connection)

    def _expire(self) -> None:
        """Close connections idle for longer than `keepalive_s` (the oldest are first)."""
        self._expiry = None
        idle = self._idle
        if not idle:
            return
        loop = idle[0].loop
        now = loop.time()
        while idle and now - idle[0].idle_since >= self._keepalive_s:
            idle.popleft().close()
        if idle:
            self._expiry = loop.call_at(idle[0].idle_since + self._keepalive_s, self._expire)

    async def close(self) -> None:
        self._closed = True
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        while self._idle:
            self._idle.pop().close()


def _request_head(method: str, target: bytes, headers: list[Header], host: bytes, body: RequestBody) -> bytes:
    """The request line and headers. The body's framing is stated here, from `body`:
    a Content-Length the caller passed keeps its place with the true length."""
    if isinstance(body, bytes):
        length: bytes | None = (
            str(len(body)).encode("ascii") if body or method in _LENGTH_ZERO_METHODS else None
        )
    elif body is None:
        length = b"0" if method in _LENGTH_ZERO_METHODS else None
    else:
        length = None  # chunked
    parts = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    has_host = False
    for name, value in headers:
        if name in _FRAMING_HEADERS:
            if name == b"host":
                has_host = True
            elif name == b"content-length" and length is not None:
                value, length = length, None
            else:
                continue
        parts += (name, b": ", value, b"\r\n")
    if not has_host:
        parts += (b"host: ", host, b"\r\n")
    if length is not None:
        parts += (b"content-length: ", length, b"\r\n")
    elif body is not None and not isinstance(body, bytes):
        parts.append(b"transfer-encoding: chunked\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


async def _send_chunked(connection: _Connection, body: AsyncIterator[bytes], response: Response) -> None:
    """Send a streamed body chunked; the read timeout starts once it is all sent."""
    async for chunk in body:
        if chunk:
            connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            await connection.drain(response.read_timeout_s)
    connection.write(_LAST_CHUNK)
    response.arm_read_timeout()


def _retrieve_exception(task: asyncio.Task[None]) -> None:
    # A body that fails after the answer began is the answer's business, not an unhandled error.
    if not task.cancelled():
        task.exception()
