"""The dry-run boundary: a plain ASGI middleware in front of the whole app.

A request whose X-Strangler-Dry-Run header verifies runs inside one database
transaction, with outbound Discord calls captured (`capture_outbound`) and a `DryRun` in
context; its response is buffered, the transaction is rolled back, and only then is the
response sent - so whoever receives it knows the rollback has happened. A request with a
bad header runs as an ordinary request; either way the outcome is counted in
`strangler_dry_run_requests_total{outcome}`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from enum import StrEnum

from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.transactions import in_transaction

from core.discord.outbound import OutboundCall, capture_outbound
from core.dry_run.scope import DryRun, entered
from core.dry_run.signature import HEADER, Verdict, verify

log = logging.getLogger(__name__)

CAPTURED_HEADER = "X-Strangler-Dry-Run-Captured"
CANCEL_GRACE_S = 1.0
"""How long cancelled tasks of a timed-out dry run get to end before the rollback."""


class DryRunOutcome(StrEnum):
    """What the app did with a request carrying the header. The first three are dry runs
    (nothing committed) and name the response header's value; the rest ran normally."""

    APPLIED = "applied"
    TIMED_OUT = "timed_out"
    FAILED = "failed"
    IGNORED_MALFORMED = "ignored_malformed"
    IGNORED_BAD_SIGNATURE = "ignored_bad_signature"
    IGNORED_EXPIRED = "ignored_expired"
    IGNORED_NO_SECRET = "ignored_no_secret"


_IGNORED = {
    Verdict.MALFORMED: DryRunOutcome.IGNORED_MALFORMED,
    Verdict.BAD_SIGNATURE: DryRunOutcome.IGNORED_BAD_SIGNATURE,
    Verdict.EXPIRED: DryRunOutcome.IGNORED_EXPIRED,
    Verdict.NO_SECRET: DryRunOutcome.IGNORED_NO_SECRET,
}

DRY_RUN_REQUESTS = Counter(
    "strangler_dry_run_requests",
    "Requests that carried X-Strangler-Dry-Run, by what the app did with them",
    ["outcome"],
)
for _outcome in DryRunOutcome:
    DRY_RUN_REQUESTS.labels(_outcome.value)

RawHeaders = list[tuple[bytes, bytes]]
_HEADER_KEY = HEADER.lower().encode("latin-1")
_CAPTURED_KEY = CAPTURED_HEADER.lower().encode("latin-1")
# A file response could be handed to the server to send by itself, around the buffer.
_SERVER_SENT = ("http.response.pathsend", "http.response.zerocopysend")


class _RollBack(Exception):
    """Ends every dry run's transaction block: leaving it by an exception means rollback."""


def request_target(scope: Scope) -> bytes:
    """The request target as the client sent it: raw path, then `?query` when there is one."""
    path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    return path + b"?" + query if query else path


def _dry_run_header(scope: Scope) -> bytes | None:
    values = [value for key, value in scope["headers"] if key.lower() == _HEADER_KEY]
    if not values:
        return None
    # Two headers are ambiguous; an empty value cannot verify either.
    return values[0] if len(values) == 1 else b""


class _BufferedResponse:
    """Collects the app's response messages instead of sending them."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.complete = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            self.complete = not message.get("more_body", False)

    async def replay(self, send: Send, headers: RawHeaders) -> None:
        assert self.start is not None
        start_headers = [*self.start.get("headers", []), *headers]
        await send({"type": "http.response.start", "status": self.start["status"], "headers": start_headers})
        await send({"type": "http.response.body", "body": b"".join(self.chunks)})


class DryRunMiddleware:
    def __init__(
        self, app: ASGIApp, *, secret: str, budget_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.app = app
        self.secret = secret
        self.budget_s = budget_s
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = _dry_run_header(scope) if scope["type"] == "http" else None
        if header is None:
            await self.app(scope, receive, send)
            return
        verdict = verify(
            header, secret=self.secret, method=scope["method"], target=request_target(scope), now=self.clock()
        )
        if verdict is not Verdict.VALID:
            outcome = _IGNORED[verdict]
            DRY_RUN_REQUESTS.labels(outcome.value).inc()
            # Whoever sent it believes this request changes nothing; it will.
            log.warning(
                "%s header ignored (%s): %s %s runs for real", HEADER, verdict, scope["method"], scope["path"]
            )
            await self.app(scope, receive, send)
            return
        outcome = await self._dry_run(scope, receive, send)
        DRY_RUN_REQUESTS.labels(outcome.value).inc()

    async def _dry_run(self, scope: Scope, receive: Receive, send: Send) -> DryRunOutcome:
        response = _BufferedResponse()
        outcome, error, captured = await self._run_rolled_back(scope, receive, response)
        headers: RawHeaders = [
            (_HEADER_KEY, outcome.value.encode("ascii")),
            (_CAPTURED_KEY, str(captured).encode("ascii")),
        ]
        # Only now, after the rollback, does anything reach the client.
        if outcome is not DryRunOutcome.APPLIED:
            await self._boundary_response(scope, receive, send, outcome, headers)
        elif error is None and response.start is not None and response.complete:
            await response.replay(send, headers)
        else:
            await self._error_response(scope, receive, send, error, headers)
        return outcome

    async def _run_rolled_back(
        self, scope: Scope, receive: Receive, response: _BufferedResponse
    ) -> tuple[DryRunOutcome, Exception | None, int]:
        """Run the app into `response` inside a transaction that is rolled back; the
        outcome, the app's own unhandled error, and how many outbound calls were captured."""
        extensions = scope.get("extensions", {})
        inner_scope = {**scope, "extensions": {k: v for k, v in extensions.items() if k not in _SERVER_SENT}}
        outcome, error = DryRunOutcome.APPLIED, None
        captured: list[OutboundCall] = []
        try:
            async with in_transaction():
                with capture_outbound() as captured, entered(DryRun(captured)) as dry_run:
                    try:
                        async with asyncio.timeout(self.budget_s):
                            error = await self._run_app(inner_scope, receive, response)
                            await dry_run.settle()
                    except TimeoutError:
                        outcome = DryRunOutcome.TIMED_OUT
                        log.warning(
                            "dry run of %s %s exceeded %g s", scope["method"], scope["path"], self.budget_s
                        )
                        if not await dry_run.cancel_tasks(CANCEL_GRACE_S):
                            log.error("tasks of a timed-out dry run outlive its rollback: %s", scope["path"])
                raise _RollBack
        except _RollBack:
            pass
        except Exception:
            log.exception("dry run of %s %s failed around the app", scope["method"], scope["path"])
            outcome = DryRunOutcome.FAILED
        return outcome, error, len(captured)

    async def _run_app(self, scope: Scope, receive: Receive, response: _BufferedResponse) -> Exception | None:
        """The app's own unhandled error, kept for the error response after the rollback."""
        try:
            await self.app(scope, receive, response.send)
        except Exception as exc:
            return exc
        return None

    async def _error_response(
        self, scope: Scope, receive: Receive, send: Send, error: Exception | None, headers: RawHeaders
    ) -> None:
        """What the app's 500 handler makes of an error, as ServerErrorMiddleware would send
        it (that middleware sits outside this one and would drop the dry-run headers)."""
        error = error or RuntimeError("the app ended without a complete response")
        handlers = getattr(scope.get("app"), "exception_handlers", {})
        handler = handlers.get(500) or handlers.get(Exception)
        if handler is None:
            raise error
        if inspect.iscoroutinefunction(handler):
            response: Response = await handler(Request(scope), error)
        else:
            response = await run_in_threadpool(handler, Request(scope), error)
        response.raw_headers.extend(headers)
        await response(scope, receive, send)

    async def _boundary_response(
        self, scope: Scope, receive: Receive, send: Send, outcome: DryRunOutcome, headers: RawHeaders
    ) -> None:
        detail = (
            f"The dry run did not finish within {self.budget_s:g} s"
            if outcome is DryRunOutcome.TIMED_OUT
            else "The dry run could not run in a transaction"
        )
        response = JSONResponse({"detail": detail}, status_code=503)
        response.raw_headers.extend(headers)
        await response(scope, receive, send)
