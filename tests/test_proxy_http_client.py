"""proxy.http_client on its own: the edge cases of framing, keep-alive, flow control, the
pool's limits and its errors, against a scripted raw TCP server on loopback that writes
exactly the bytes each test chooses (what no framework would send). Every test runs on
asyncio's own loop and on uvloop, the one the proxy is served with."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest
import uvloop

from proxy.http_client import (
    MAX_HEADER_BYTES,
    ConnectFailed,
    ConnectionPool,
    Disconnected,
    InvalidResponse,
    ReadTimeout,
    Response,
)

T = TypeVar("T")
SCENARIO_TIMEOUT_S = 5.0
"""No scenario takes a second; a hang fails here rather than at pytest's timeout."""


# -- the scripted server -----------------------------------------------------------------


class Peer:
    """One accepted connection, as the server sees it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.requests: list[bytes] = []
        self.client_closed = asyncio.Event()

    async def read_request(self, head_only: bool = False) -> bytes | None:
        """The next request's exact bytes (head and body, or its head alone if `head_only`),
        or None once the client closed."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            fields = dict(
                (name.strip().lower(), value.strip())
                for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
            )
            body = b""
            if head_only:
                pass
            elif b"content-length" in fields:
                body = await self.reader.readexactly(int(fields[b"content-length"]))
            elif fields.get(b"transfer-encoding") == b"chunked":
                while True:
                    size_line = await self.reader.readuntil(b"\r\n")
                    size = int(size_line, 16)
                    body += size_line + await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
        except (asyncio.IncompleteReadError, ConnectionError):
            self.client_closed.set()
            return None
        self.requests.append(head + body)
        return head + body

    async def until_client_closes(self) -> None:
        """Read (and drop) whatever comes until the client closes the connection."""
        try:
            while await self.reader.read(65536):
                pass
        except ConnectionError:
            pass
        self.client_closed.set()

    async def send(self, *parts: bytes, pause_s: float = 0.0) -> None:
        """Write `parts` one by one, each drained (and after a pause) before the next."""
        for index, part in enumerate(parts):
            if index and pause_s:
                await asyncio.sleep(pause_s)
            self.writer.write(part)
            await self.writer.drain()


Step = Callable[[Peer, bytes], Awaitable[None]]
"""What the server does once a request has arrived."""


class ScriptedServer:
    """A TCP server on 127.0.0.1 that takes the n-th request it receives (on whichever
    connection) to `steps[n]`; the last step repeats. With `answer_on_head`, a step starts
    once a request's head has arrived, its body left unread."""

    def __init__(self, steps: list[Step], answer_on_head: bool = False) -> None:
        self._steps = steps
        self._answer_on_head = answer_on_head
        self.peers: list[Peer] = []
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen on a port of its own, or on `sock` (a socket bound on loopback)."""
        if sock is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        else:
            self._server = await asyncio.start_server(self._accept, sock=sock)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for peer in self.peers:
            peer.writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = Peer(reader, writer)
        self.peers.append(peer)
        try:
            while (request := await peer.read_request(self._answer_on_head)) is not None:
                self.requests.append(request)
                await self._steps[min(len(self.requests), len(self._steps)) - 1](peer, request)
                if writer.is_closing():
                    return
        except ConnectionError:
            peer.client_closed.set()  # the client dropped the connection while the server wrote
        except asyncio.CancelledError:
            pass  # stop(): ended here, or asyncio's stream callback logs the cancellation
        finally:
            writer.close()


def reply(*parts: bytes, close: bool = False, pause_s: float = 0.0) -> Step:
    """Answer with `parts`, written separately; then close the connection if `close`."""

    async def step(peer: Peer, request: bytes) -> None:
        await peer.send(*parts, pause_s=pause_s)
        if close:
            peer.writer.close()

    return step


def ok(body: bytes = b"ok", *headers: bytes) -> Step:
    """A plain keep-alive 200 with a Content-Length."""
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%b\r\n" % (
        len(body),
        b"".join(h + b"\r\n" for h in headers),
    )
    return reply(head + body)


async def silence(peer: Peer, request: bytes) -> None:
    """Accept the request and never answer it."""
    await peer.until_client_closes()


async def hang_up(peer: Peer, request: bytes) -> None:
    """Close the connection without answering."""
    peer.writer.close()


def after(gate: asyncio.Event, step: Step) -> Step:
    """Hold the request until the test opens `gate`, then go on with `step`."""

    async def held(peer: Peer, request: bytes) -> None:
        await gate.wait()
        await step(peer, request)

    return held


# -- running scenarios -------------------------------------------------------------------


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, T]], T]:
    loop_factory = uvloop.new_event_loop if request.param == "uvloop" else asyncio.new_event_loop

    def run_scenario(scenario: Coroutine[Any, Any, T]) -> T:
        async def bounded() -> T:
            async with asyncio.timeout(SCENARIO_TIMEOUT_S):
                return await scenario

        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(bounded())

    return run_scenario


@asynccontextmanager
async def backend(
    *steps: Step,
    path: str = "",
    max_connections: int = 4,
    read_timeout_s: float = 5.0,
    keepalive_s: float = 10.0,
    answer_on_head: bool = False,
) -> AsyncIterator[tuple[ScriptedServer, ConnectionPool]]:
    server = ScriptedServer(list(steps), answer_on_head)
    await server.start()
    pool = ConnectionPool(
        server.url + path,
        max_connections=max_connections,
        connect_timeout_s=2.0,
        read_timeout_s=read_timeout_s,
        keepalive_s=keepalive_s,
    )
    try:
        yield server, pool
    finally:
        await pool.close()
        await server.stop()


async def fetch(
    pool: ConnectionPool,
    method: str = "GET",
    target: bytes = b"/",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes | AsyncIterator[bytes] | None = None,
) -> tuple[Response, bytes]:
    """One whole request: the answer (released) and its body."""
    response = await pool.request(method, target, headers or [], body)
    try:
        return response, await response.read()
    finally:
        response.release()


async def until(condition: Callable[[], bool], timeout_s: float = 2.0) -> None:
    """Wait for a state of the pool or the server that no event announces."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - nothing to wait on but polling
            await asyncio.sleep(0.005)


def request_head(request: bytes) -> list[bytes]:
    """The request line and header lines, in order."""
    return request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


# -- 1. a plain answer -------------------------------------------------------------------


def test_a_plain_get_relays_status_headers_body_and_the_target_as_given(run: Callable[..., Any]) -> None:
    answer = (
        b"HTTP/1.1 201 Created\r\n"
        b"Content-Type: text/plain\r\n"
        b"X-Mixed-Case: Keeps Its VALUE\r\n"
        b"Set-Cookie: a=1\r\n"
        b"set-cookie: b=2; Path=/\r\n"
        b"SET-COOKIE: c=3; HttpOnly\r\n"
        b"Content-Length: 5\r\n"
        b"\r\n"
        b"hello"
    )

    async def scenario() -> None:
        async with backend(reply(answer)) as (server, pool):
            response, body = await fetch(pool, target=b"/a/../b%2F?x=%zz&y=%20")
            assert response.status == 201
            assert body == b"hello"
            assert response.content_length == 5
            assert response.headers == [
                (b"content-type", b"text/plain"),
                (b"x-mixed-case", b"Keeps Its VALUE"),
                (b"set-cookie", b"a=1"),
                (b"set-cookie", b"b=2; Path=/"),
                (b"set-cookie", b"c=3; HttpOnly"),
                (b"content-length", b"5"),
            ]
            # Relayed byte for byte: no normalising of `..`, `%2F` or an invalid escape.
            assert request_head(server.requests[0])[0] == b"GET /a/../b%2F?x=%zz&y=%20 HTTP/1.1"

    run(scenario())


def test_the_pool_prefix_goes_before_the_target(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok(), path="/base/") as (server, pool):
            await fetch(pool, target=b"/items?q=1")
            assert request_head(server.requests[0])[0] == b"GET /base/items?q=1 HTTP/1.1"

    run(scenario())


# -- 2. keep-alive -----------------------------------------------------------------------


def test_sequential_requests_share_one_connection(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok(b"first"), ok(b"second")) as (server, pool):
            assert (await fetch(pool))[1] == b"first"
            assert pool.idle_connections == 1
            assert (await fetch(pool, target=b"/2"))[1] == b"second"
            assert len(server.peers) == 1
            assert len(server.peers[0].requests) == 2
            assert pool.idle_connections == 1

    run(scenario())


def test_an_answer_with_connection_close_is_not_reused(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        # The server keeps its side open: the client must go by the header.
        async with backend(ok(b"bye", b"Connection: close"), ok(b"again")) as (server, pool):
            assert (await fetch(pool))[1] == b"bye"
            assert pool.idle_connections == 0
            await asyncio.wait_for(server.peers[0].client_closed.wait(), 2)
            assert (await fetch(pool))[1] == b"again"
            assert len(server.peers) == 2

    run(scenario())


def test_idle_connections_are_reused_last_in_first_out(run: Callable[..., Any]) -> None:
    gate = asyncio.Event()

    async def scenario() -> None:
        async with backend(after(gate, ok(b"held")), after(gate, ok(b"held")), ok(b"third")) as (
            server,
            pool,
        ):
            first = asyncio.ensure_future(pool.request("GET", b"/1", []))
            second = asyncio.ensure_future(pool.request("GET", b"/2", []))
            await until(lambda: len(server.requests) == 2)
            gate.set()
            one, two = await first, await second
            assert await one.read() == await two.read() == b"held"
            # /2's answer released last: its connection is the next one used.
            one.release()
            two.release()
            assert pool.idle_connections == 2
            await fetch(pool, target=b"/3")
            peer_of_2 = next(peer for peer in server.peers if peer.requests[0].startswith(b"GET /2 "))
            assert [request_head(r)[0] for r in peer_of_2.requests] == [
                b"GET /2 HTTP/1.1",
                b"GET /3 HTTP/1.1",
            ]

    run(scenario())


# -- 3. framing --------------------------------------------------------------------------


def test_a_content_length_body_split_over_writes_is_read_whole(run: Callable[..., Any]) -> None:
    body = bytes(range(256)) * 400
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)

    async def scenario() -> None:
        split = reply(head, body[:1000], body[1000:70_000], body[70_000:], pause_s=0.01)
        async with backend(split, ok(b"next")) as (server, pool):
            response, received = await fetch(pool)
            assert received == body
            assert response.content_length == len(body)
            assert (await fetch(pool))[1] == b"next"
            assert len(server.peers) == 1

    run(scenario())


def test_a_chunked_body_streams_chunk_by_chunk_and_is_read_whole(run: Callable[..., Any]) -> None:
    more = asyncio.Event()

    async def answer(peer: Peer, request: bytes) -> None:
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await more.wait()  # only once the client has had the first chunk
        # A size line split across writes, a chunk extension, and the end in pieces.
        await peer.send(b"6\r\n worl", b"d\r\n1", b";ext=1\r\n!\r\n", b"0\r\n", b"\r\n", pause_s=0.01)

    async def scenario() -> None:
        async with backend(answer, ok(b"next")) as (server, pool):
            response = await pool.request("GET", b"/", [])
            try:
                assert response.content_length is None
                chunks = response.iter_chunks()
                assert await anext(chunks) == b"hello"
                more.set()
                assert b"".join([chunk async for chunk in chunks]) == b" world!"
                assert response.complete
            finally:
                response.release()
            assert pool.idle_connections == 1
            assert (await fetch(pool))[1] == b"next"
            assert len(server.peers) == 1

    run(scenario())


def test_a_body_delimited_by_the_close_is_read_to_the_close(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(
            reply(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ",
                b"part two",
                close=True,
                pause_s=0.01,
            )
        ) as (_, pool):
            response, body = await fetch(pool)
            assert body == b"part one, part two"
            assert response.content_length is None
            assert pool.idle_connections == 0

    run(scenario())


def test_a_head_answer_with_a_length_has_no_body_and_keeps_the_connection(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(
            reply(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/html\r\n\r\n"),
            ok(b"the body"),
        ) as (server, pool):
            response, body = await fetch(pool, "HEAD")
            assert (response.status, body, response.content_length) == (200, b"", 1000)
            assert response.complete
            assert pool.idle_connections == 1
            response, body = await fetch(pool)
            assert body == b"the body"
            assert len(server.peers) == 1
            assert [request_head(r)[0] for r in server.requests] == [b"HEAD / HTTP/1.1", b"GET / HTTP/1.1"]

    run(scenario())


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 204 No Content\r\nX-Kind: none\r\n\r\n",
        # A 304's Content-Length is the representation's, never a body's.
        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 1234\r\n\r\n',
    ],
    ids=["204", "304"],
)
def test_204_and_304_answers_are_bodiless(run: Callable[..., Any], answer: bytes) -> None:
    async def scenario() -> None:
        async with backend(reply(answer), ok(b"next")) as (server, pool):
            response, body = await fetch(pool)
            assert response.status in (204, 304)
            assert body == b""
            assert response.complete
            assert (await fetch(pool))[1] == b"next"
            assert len(server.peers) == 1

    run(scenario())


def test_interim_answers_are_skipped(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(
            reply(
                b"HTTP/1.1 100 Continue\r\n\r\n",
                b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nX-Final: yes\r\nContent-Length: 5\r\n\r\nfinal",
                pause_s=0.01,
            ),
            ok(b"next"),
        ) as (server, pool):
            response, body = await fetch(pool)
            assert response.status == 200
            assert response.headers == [(b"x-final", b"yes"), (b"content-length", b"5")]
            assert body == b"final"
            assert (await fetch(pool))[1] == b"next"
            assert len(server.peers) == 1

    run(scenario())


def test_bytes_after_a_complete_answer_leave_the_answer_but_not_the_connection(
    run: Callable[..., Any],
) -> None:
    async def scenario() -> None:
        async with backend(reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK"), ok()) as (
            server,
            pool,
        ):
            response, body = await fetch(pool)
            assert (response.status, body) == (200, b"ok")
            assert pool.idle_connections == 0
            await fetch(pool)
            assert len(server.peers) == 2

    run(scenario())


# -- 4. request bodies and headers -------------------------------------------------------


def test_a_bytes_body_is_sent_with_its_true_length_where_the_caller_put_it(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok()) as (server, pool):
            headers = [(b"content-type", b"text/plain"), (b"content-length", b"999"), (b"x-after", b"1")]
            await fetch(pool, "POST", b"/p", headers, b"hello")
            assert server.requests[0] == (
                b"POST /p HTTP/1.1\r\n"
                b"content-type: text/plain\r\n"
                b"content-length: 5\r\n"
                b"x-after: 1\r\n"
                b"host: 127.0.0.1:%d\r\n"
                b"\r\n"
                b"hello" % server.port
            )
            # Without one from the caller, it goes last.
            await fetch(pool, "PUT", b"/p", [(b"transfer-encoding", b"chunked")], b"x" * 100_000)
            lines = request_head(server.requests[1])
            assert lines[1:] == [b"host: 127.0.0.1:%d" % server.port, b"content-length: 100000"]
            assert server.requests[1].endswith(b"\r\n\r\n" + b"x" * 100_000)

    run(scenario())


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_a_bodiless_post_put_patch_gets_content_length_zero(run: Callable[..., Any], method: str) -> None:
    async def scenario() -> None:
        async with backend(ok()) as (server, pool):
            await fetch(pool, method, b"/x")
            await fetch(pool, method, b"/x", body=b"")
            for request in server.requests:
                assert request_head(request)[1:] == [
                    b"host: 127.0.0.1:%d" % server.port,
                    b"content-length: 0",
                ]

    run(scenario())


def test_a_bodiless_get_gets_no_framing_headers(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok()) as (server, pool):
            await fetch(pool, "GET", b"/x", [(b"content-length", b"12"), (b"accept", b"*/*")])
            assert server.requests[0] == b"GET /x HTTP/1.1\r\naccept: */*\r\nhost: 127.0.0.1:%d\r\n\r\n" % (
                server.port
            )

    run(scenario())


def test_an_async_iterator_body_is_sent_chunked(run: Callable[..., Any]) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"abc"
        await asyncio.sleep(0.01)
        yield b""  # an empty piece must not end the body early
        yield b"0123456789abcdefXYZ"

    async def scenario() -> None:
        async with backend(ok(b"got it")) as (server, pool):
            headers = [(b"content-length", b"22"), (b"x-trace", b"t")]
            _, answer = await fetch(pool, "POST", b"/upload", headers, body())
            assert answer == b"got it"
            assert server.requests[0] == (
                b"POST /upload HTTP/1.1\r\n"
                b"x-trace: t\r\n"
                b"host: 127.0.0.1:%d\r\n"
                b"transfer-encoding: chunked\r\n"
                b"\r\n"
                b"3\r\nabc\r\n"
                b"13\r\n0123456789abcdefXYZ\r\n"
                b"0\r\n\r\n" % server.port
            )
            assert pool.idle_connections == 1

    run(scenario())


def test_host_is_added_from_the_pool_url_unless_given(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok()) as (server, pool):
            await fetch(pool, "GET", b"/", [(b"host", b"proxy.example:8443"), (b"accept", b"*/*")])
            await fetch(pool, "GET", b"/", [(b"accept", b"*/*")])
            assert request_head(server.requests[0])[1:] == [b"host: proxy.example:8443", b"accept: */*"]
            assert request_head(server.requests[1])[1:] == [
                b"accept: */*",
                b"host: 127.0.0.1:%d" % server.port,
            ]

    run(scenario())


# -- 5. errors, and the slot given back after each ---------------------------------------


def test_a_refused_connection_is_connect_failed_and_frees_its_slot(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        with socket.socket() as bound:  # bound, not yet listening: connecting is refused
            bound.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{bound.getsockname()[1]}"
            pool = ConnectionPool(
                url, max_connections=1, connect_timeout_s=2.0, read_timeout_s=2.0, keepalive_s=5.0
            )
            for _ in range(3):  # a slot kept by a failure would make the next one wait forever
                with pytest.raises(ConnectFailed):
                    await asyncio.wait_for(pool.request("GET", b"/", []), 2)
            server = ScriptedServer([ok(b"listening now")])
            await server.start(sock=bound)
            try:
                assert (await fetch(pool))[1] == b"listening now"
            finally:
                await pool.close()
                await server.stop()

    run(scenario())


def test_a_silent_backend_is_a_read_timeout(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(silence, ok(b"after"), max_connections=1, read_timeout_s=0.3) as (server, pool):
            with pytest.raises(ReadTimeout):
                await pool.request("GET", b"/", [])
            await asyncio.wait_for(server.peers[0].client_closed.wait(), 2)
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2

    run(scenario())


def test_a_backend_silent_mid_body_is_a_read_timeout(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async def part_then_silence(peer: Peer, request: bytes) -> None:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            await peer.until_client_closes()

        async with backend(part_then_silence, ok(b"after"), max_connections=1, read_timeout_s=0.3) as (
            server,
            pool,
        ):
            response = await pool.request("GET", b"/", [])
            received = b""
            try:
                with pytest.raises(ReadTimeout):
                    async for chunk in response.iter_chunks():
                        received += chunk
            finally:
                response.release()
            assert received == b"0123456789"
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2  # the failed connection was not reused

    run(scenario())


def test_a_reused_connection_closed_before_an_answer_is_the_retry_case(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok(b"first"), hang_up, ok(b"third"), max_connections=1) as (server, pool):
            assert (await fetch(pool))[1] == b"first"
            with pytest.raises(Disconnected) as raised:
                await pool.request("GET", b"/again", [])
            assert raised.value.before_answer is True
            assert raised.value.reused is True
            assert server.peers[0].requests[-1].startswith(b"GET /again ")
            assert (await fetch(pool))[1] == b"third"
            assert len(server.peers) == 2

    run(scenario())


def test_a_new_connection_closed_before_an_answer_is_not_the_retry_case(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(hang_up, ok(b"after"), max_connections=1) as (server, pool):
            with pytest.raises(Disconnected) as raised:
                await pool.request("POST", b"/", [], b"x")
            assert (raised.value.before_answer, raised.value.reused) == (True, False)
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2  # the failed connection was not reused

    run(scenario())


def test_bytes_that_are_not_http_are_an_invalid_response(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), ok(b"after"), max_connections=1) as (
            server,
            pool,
        ):
            with pytest.raises(InvalidResponse):
                await pool.request("GET", b"/", [])
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2

    run(scenario())


def test_an_answer_cut_short_mid_body_raises_while_reading(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        cut = reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", b"0123456789", close=True, pause_s=0.01
        )
        async with backend(cut, ok(b"after"), max_connections=1) as (server, pool):
            response = await pool.request("GET", b"/", [])
            assert response.status == 200
            received = b""
            try:
                with pytest.raises(Disconnected) as raised:
                    async for chunk in response.iter_chunks():
                        received += chunk
            finally:
                response.release()
            assert received == b"0123456789"
            assert raised.value.before_answer is False
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2  # the failed connection was not reused

    run(scenario())


def test_a_chunked_answer_cut_short_raises_while_reading(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        cut = reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", close=True)
        async with backend(cut, ok(b"after"), max_connections=1) as (server, pool):
            response = await pool.request("GET", b"/", [])
            try:
                with pytest.raises(Disconnected):
                    await response.read()
            finally:
                response.release()
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2  # the failed connection was not reused

    run(scenario())


@pytest.mark.parametrize(
    "answer",
    [
        # Both framings at once: the smuggling ambiguity, refused rather than guessed at.
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        # Another protocol follows: nothing to relay, and the connection is no longer HTTP.
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi",
    ],
    ids=["content-length-and-chunked", "two-content-lengths", "101-upgrade"],
)
def test_answers_this_client_does_not_relay_are_invalid(run: Callable[..., Any], answer: bytes) -> None:
    async def scenario() -> None:
        async with backend(reply(answer), ok(b"after"), max_connections=1) as (server, pool):
            with pytest.raises(InvalidResponse):
                await pool.request("GET", b"/", [])
            assert pool.idle_connections == 0
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2  # the failed connection was not reused

    run(scenario())


def test_headers_over_the_limit_are_an_invalid_response(run: Callable[..., Any]) -> None:
    many = b"".join(b"x-filler-%d: %b\r\n" % (n, b"v" * 1000) for n in range(MAX_HEADER_BYTES // 1000 + 1))

    async def scenario() -> None:
        async with backend(
            reply(b"HTTP/1.1 200 OK\r\n" + many + b"Content-Length: 0\r\n\r\n"),
            ok(b"after"),
            max_connections=1,
        ) as (server, pool):
            with pytest.raises(InvalidResponse):
                await pool.request("GET", b"/", [])
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2  # the failed connection was not reused

    run(scenario())


def test_a_header_block_that_never_ends_is_refused_at_the_limit(run: Callable[..., Any]) -> None:
    """One endless header line: refused once over the limit, not buffered until a timeout."""

    async def endless_header(peer: Peer, request: bytes) -> None:
        await peer.send(b"HTTP/1.1 200 OK\r\nx-endless: ")
        for _ in range(MAX_HEADER_BYTES // 16384 + 2):
            await peer.send(b"v" * 16384)
        await peer.until_client_closes()

    async def scenario() -> None:
        async with backend(endless_header, ok(b"after"), max_connections=1, read_timeout_s=30) as (
            server,
            pool,
        ):
            with pytest.raises(InvalidResponse):
                await asyncio.wait_for(pool.request("GET", b"/", []), 3)
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2  # the failed connection was not reused

    run(scenario())


def test_a_failing_body_iterator_propagates_and_frees_its_slot(run: Callable[..., Any]) -> None:
    class ClientWentAway(Exception):
        pass

    async def body() -> AsyncIterator[bytes]:
        yield b"start"
        raise ClientWentAway

    async def scenario() -> None:
        async with backend(silence, ok(b"after"), max_connections=1, answer_on_head=True) as (server, pool):
            with pytest.raises(ClientWentAway):
                await pool.request("POST", b"/", [], body())
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2

    run(scenario())


def test_a_request_cancelled_while_waiting_for_its_answer_frees_its_slot(run: Callable[..., Any]) -> None:
    """The proxy bounds some requests with its own timeout (asyncio.timeout around them)."""

    async def scenario() -> None:
        async with backend(silence, ok(b"after"), max_connections=1) as (server, pool):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(pool.request("GET", b"/", []), 0.2)
            await asyncio.wait_for(server.peers[0].client_closed.wait(), 2)
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2

    run(scenario())


def test_a_connection_the_backend_closes_while_idle_leaves_the_pool(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(
            reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", close=True), ok(b"after")
        ) as (
            server,
            pool,
        ):
            await fetch(pool)
            await until(lambda: pool.idle_connections == 0)
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2

    run(scenario())


# -- 6. flow control ---------------------------------------------------------------------


def test_a_slow_consumer_of_a_large_body_is_not_a_read_timeout(run: Callable[..., Any]) -> None:
    """The backend sends 4 MB at once; the consumer stops for longer than the read timeout
    twice. While more than 256 KB wait for it, reading is paused, and a paused read is the
    consumer's time, not the backend's silence."""
    body = bytes(range(251)) * (4 * 1024 * 1024 // 251)

    async def scenario() -> None:
        async with backend(
            reply(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body), read_timeout_s=0.2
        ) as (_, pool):
            response = await pool.request("GET", b"/", [])
            received: list[bytes] = []
            size = 0
            stops = [1, 2 * 1024 * 1024]  # after the first chunk, and half way
            paused_while_away: list[bool] = []
            try:
                async for chunk in response.iter_chunks():
                    received.append(chunk)
                    size += len(chunk)
                    if stops and size >= stops[0]:
                        stops.pop(0)
                        await asyncio.sleep(0.5)
                        paused_while_away.append(response._connection.reading_paused)
            finally:
                response.release()
            assert b"".join(received) == body
            assert paused_while_away == [True, True]  # else this test proves nothing
            assert pool.idle_connections == 1

    run(scenario())


# -- 7. the pool's limits and release ----------------------------------------------------


def test_a_request_over_max_connections_waits_for_a_release(run: Callable[..., Any]) -> None:
    release_first = asyncio.Event()
    release_second = asyncio.Event()

    async def scenario() -> None:
        async with backend(
            after(release_first, ok(b"one")),
            after(release_second, ok(b"two")),
            ok(b"three"),
            max_connections=2,
        ) as (server, pool):
            first = asyncio.ensure_future(fetch(pool, target=b"/1"))
            await until(lambda: len(server.requests) == 1)
            second = asyncio.ensure_future(fetch(pool, target=b"/2"))
            await until(lambda: len(server.requests) == 2)
            third = asyncio.ensure_future(fetch(pool, target=b"/3"))
            await asyncio.sleep(0.1)
            assert not third.done()
            assert len(server.requests) == 2
            assert len(server.peers) == 2

            release_first.set()
            assert (await first)[1] == b"one"
            assert (await third)[1] == b"three"
            assert not second.done()  # the third needed only the first's connection
            assert len(server.peers) == 2
            assert server.peers[0].requests[-1].startswith(b"GET /3 ")

            release_second.set()
            assert (await second)[1] == b"two"

    run(scenario())


def test_releasing_an_answer_not_read_to_its_end_closes_its_connection(run: Callable[..., Any]) -> None:
    gates = [asyncio.Event(), asyncio.Event()]
    body = b"z" * 200_000

    def part_then_rest(gate: asyncio.Event, sent_first: int) -> Step:
        async def step(peer: Peer, request: bytes) -> None:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:sent_first])
            await gate.wait()
            await peer.send(body[sent_first:])

        return step

    async def scenario() -> None:
        async with backend(part_then_rest(gates[0], 0), part_then_rest(gates[1], 1000), ok(b"after")) as (
            server,
            pool,
        ):
            # Unread: released with nothing of its body received.
            response = await pool.request("GET", b"/unread", [])
            response.release()
            gates[0].set()
            assert pool.idle_connections == 0
            await asyncio.wait_for(server.peers[0].client_closed.wait(), 2)

            # Partly read: a first chunk, then released.
            response = await pool.request("GET", b"/partial", [])
            assert 0 < len(await anext(response.iter_chunks())) <= 1000
            response.release()
            gates[1].set()
            assert pool.idle_connections == 0
            await asyncio.wait_for(server.peers[1].client_closed.wait(), 2)

            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 3

    run(scenario())


def test_releasing_an_answer_that_fully_arrived_keeps_its_connection(run: Callable[..., Any]) -> None:
    """Read to its end means the client received all of it, not that the caller consumed it:
    such a connection is safe to reuse."""

    async def scenario() -> None:
        async with backend(ok(b"small"), ok(b"after")) as (server, pool):
            response = await pool.request("GET", b"/", [])
            await until(lambda: response.complete)
            response.release()
            assert pool.idle_connections == 1
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 1

    run(scenario())


def test_closing_the_pool_closes_its_idle_connections(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok()) as (server, pool):
            await fetch(pool)
            assert pool.idle_connections == 1
            await pool.close()
            assert pool.idle_connections == 0
            await asyncio.wait_for(server.peers[0].client_closed.wait(), 2)
            with pytest.raises(ConnectFailed):
                await pool.request("GET", b"/", [])

    run(scenario())


def test_an_answer_released_after_the_pool_closed_closes_its_connection(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok()) as (server, pool):
            response = await pool.request("GET", b"/", [])
            await pool.close()
            assert await response.read() == b"ok"
            response.release()
            assert pool.idle_connections == 0
            await asyncio.wait_for(server.peers[0].client_closed.wait(), 2)

    run(scenario())


def test_a_stream_body_cut_short_by_its_iterator_does_not_leave_the_connection_reusable(
    run: Callable[..., Any],
) -> None:
    """The backend answers early (a 413, say) while the body is still streaming, and then the
    body's iterator fails: the backend still waits for the rest of that chunked body, so the
    connection cannot carry another request."""
    body_may_fail = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"first piece"
        await body_may_fail.wait()
        raise ConnectionResetError("the proxy's client went away")

    async def answer_early(peer: Peer, request: bytes) -> None:
        await peer.send(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig")

    async def scenario() -> None:
        async with backend(answer_early, ok(b"after"), answer_on_head=True) as (server, pool):
            response = await pool.request("POST", b"/upload", [], body())
            assert response.status == 413
            assert await response.read() == b"big"
            body_may_fail.set()
            await until(lambda: response._writer is not None and response._writer.done())
            response.release()
            assert pool.idle_connections == 0
            assert (await fetch(pool))[1] == b"after"
            assert len(server.peers) == 2

    run(scenario())


# -- 8. idle expiry ----------------------------------------------------------------------


def test_an_idle_connection_is_closed_after_keepalive(run: Callable[..., Any]) -> None:
    async def scenario() -> None:
        async with backend(ok(b"first"), ok(b"second"), keepalive_s=0.2) as (server, pool):
            assert (await fetch(pool))[1] == b"first"
            assert pool.idle_connections == 1
            assert not server.peers[0].client_closed.is_set()
            await asyncio.wait_for(server.peers[0].client_closed.wait(), 2)
            assert pool.idle_connections == 0
            assert (await fetch(pool))[1] == b"second"
            assert len(server.peers) == 2

    run(scenario())
