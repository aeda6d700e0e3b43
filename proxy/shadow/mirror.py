"""Shadow traffic: the mirror of requests in modes `shadow` and `live`, off the response path.

The client gets the primary's answer as soon as it exists (proxy.main streams it while
proxy.shadow.capture keeps a bounded copy). Only then is the request handed to
`ShadowTraffic.submit`, which starts the mirror as a task, or drops it and counts it
(`strangler_shadow_dropped_total`) when `max_in_flight` mirrors are already running.
A mirror has its own time limit (`timeout_s` in all, `request_timeout_s` per request);
nothing it does, fails or waits for reaches the client.

What a mirror compares ("like with like"):
- a read (GET, HEAD): the primary's answer with the other side's answer to the same
  request, sent at once;
- a write (any other method) and a Discord interaction: never sent as such to the
  other side. Once the primary has committed, the request runs as a signed dry run
  (proxy.dry_run_signing) on BOTH sides, one after the other in a random order, against
  the same state; legacy's dry-run answer is compared with plugin's. The primary's real
  answer is what the client got and is not compared. A dry run's answer must say
  `X-Strangler-Dry-Run: applied`, and writes are mirrored only to sides known to
  honour dry runs (proxy.shadow.dry_run_readiness).

The comparison (proxy.shadow.comparison) drops differences the route's ignore rules cover
and noise learned from legacy compared with itself (proxy.shadow.noise): a probed
request also goes to legacy a second time (a second dry run for writes). Each verdict is
counted per flag and mode; each compared pair's two latencies feed the histogram and
the paired samples for the gate (proxy.shadow.latency); a mismatch is written to the
proxy's database (proxy.shadow.records), redacted and size-capped.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from proxy.asgi import Scope, header_value
from proxy.dry_run_signing import (
    HEADER,
    DryRunOutcome,
    captured_calls,
    dry_run_header,
    dry_run_outcome,
    request_target,
)
from proxy.errors import BackendError, BackendTimeout
from proxy.forwarding import Fetched, Forwarder
from proxy.modes import Backend, Mode, Surface
from proxy.shadow.capture import PrimaryAnswer
from proxy.shadow.comparison import Answer, Comparison, IgnoreRules, compare, differences
from proxy.shadow.dry_run_readiness import DryRunReadiness
from proxy.shadow.latency import PairedLatencies, PairKind
from proxy.shadow.metrics import MirrorError, ShadowMetrics
from proxy.shadow.mismatch import BODY_LIMIT, Mismatch, RequestKind
from proxy.shadow.noise import NoiseLearner, NoiseSettings
from proxy.shadow.redaction import caller_fingerprint

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})
_CONTENT_TYPE = b"content-type"


@dataclass(frozen=True)
class ShadowLimits:
    max_in_flight: int = 64
    timeout_s: float = 15.0  # one whole mirror: its requests, the comparison
    request_timeout_s: float = 6.0  # one mirrored request; above the apps' 5 s dry-run budget
    capture_bytes: int = 1024 * 1024  # answers longer than this are not compared
    readiness_ttl_s: float = 60.0  # how long a side's "honours dry runs" is trusted
    record_body_bytes: int = BODY_LIMIT  # each body kept in a mismatch record, at most


@dataclass(frozen=True, slots=True)
class MirroredRequest:
    """A request the primary has answered, as the mirror needs it."""

    scope: Scope
    body: bytes | None
    surface: Surface
    mode: Mode
    organization: int | None
    route: str  # "GET /api/tournaments/{tid}/players", "COMMAND /async_start"
    ignore: IgnoreRules
    kind: RequestKind

    @property
    def target(self) -> bytes:
        return request_target(self.scope["raw_path"], self.scope["query_string"])


class MirrorFailed(Exception):
    """A mirror that ends without a verdict, and why."""

    def __init__(self, reason: MirrorError) -> None:
        super().__init__(reason.value)
        self.reason = reason


def http_route(method: str, template: str) -> str:
    return f"{method} {template}"


_DIGITS = re.compile(r"\d+")


def discord_route(command: str | None, custom_id: str | None, autocomplete: bool) -> str:
    """A Discord interaction's route: its command, or its custom_id with ids as {id}."""
    if command is not None:
        return f"{'AUTOCOMPLETE' if autocomplete else 'COMMAND'} /{command}"
    return "COMPONENT " + _DIGITS.sub("{id}", custom_id or "")


def request_kind(method: str, discord: bool) -> RequestKind:
    if discord:
        return RequestKind.DISCORD
    return RequestKind.READ if method in READ_METHODS else RequestKind.WRITE


class ShadowTraffic:
    def __init__(
        self,
        forwarder: Forwarder,
        metrics: ShadowMetrics,
        *,
        secret: str,
        limits: ShadowLimits | None = None,
        noise: NoiseSettings | None = None,
        latencies: PairedLatencies | None = None,
        mismatch_log: Callable[[], Awaitable[MismatchSink]] | None = None,
        observer: MirrorObserver | None = None,
    ) -> None:
        self.forwarder = forwarder
        self.metrics = metrics
        self.limits = limits or ShadowLimits()
        self.noise = NoiseLearner(noise)
        self.latencies = latencies or PairedLatencies()
        self._secret = secret
        self._mismatch_log = mismatch_log
        self._observer = observer
        self._tasks: set[asyncio.Task[None]] = set()
        self.readiness = DryRunReadiness(
            forwarder,
            secret,
            ttl_s=self.limits.readiness_ttl_s,
            timeout_s=self.limits.request_timeout_s,
        )

    @property
    def capture_limit(self) -> int:
        return self.limits.capture_bytes

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    # -- the response path's only call -------------------------------------------------

    def submit(self, request: MirroredRequest, primary: PrimaryAnswer) -> None:
        """Start the mirror of a request the primary has answered; never waits."""
        if primary.failed:
            self.metrics.error(request.surface, request.mode, MirrorError.PRIMARY_FAILED)
            self._observe_failure(request, MirrorError.PRIMARY_FAILED)
            return
        if len(self._tasks) >= self.limits.max_in_flight:
            self.metrics.drop(request.surface, request.mode)
            return
        task = asyncio.get_running_loop().create_task(self._mirror(request, primary.answer))
        self._tasks.add(task)
        self.metrics.in_flight.inc()
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.metrics.in_flight.dec()

    async def close(self, grace_s: float = 1.0) -> None:
        """Give running mirrors `grace_s` to end, then cancel them."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=grace_s)

    # -- one mirror ----------------------------------------------------------------------

    async def _mirror(self, request: MirroredRequest, primary: Answer) -> None:
        surface, mode = request.surface, request.mode
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                if request.kind.compares_dry_runs:
                    legacy, plugin, comparison = await self._compare_dry_runs(request)
                else:
                    legacy, plugin, comparison = await self._compare_reads(request, primary)
        except MirrorFailed as failure:
            self.metrics.error(surface, mode, failure.reason)
            self._observe_failure(request, failure.reason)
            return
        except (TimeoutError, BackendTimeout):
            self.metrics.error(surface, mode, MirrorError.TIMEOUT)
            self._observe_failure(request, MirrorError.TIMEOUT)
            return
        except BackendError:
            self.metrics.error(surface, mode, MirrorError.UNAVAILABLE)
            self._observe_failure(request, MirrorError.UNAVAILABLE)
            return
        except Exception:
            logger.exception("shadow mirror of %s failed", request.route)
            self.metrics.error(surface, mode, MirrorError.INTERNAL)
            return
        self.metrics.verdict(surface, mode, comparison.matched)
        self.metrics.pair(surface, legacy.seconds, plugin.seconds)
        if self._observer is not None:
            self._observer.compared(request, legacy, plugin, comparison.matched)
        if request.organization is not None:
            kind = PairKind.DRY_RUN if request.kind.compares_dry_runs else PairKind.READ
            self.latencies.add(surface, request.organization, legacy.seconds, plugin.seconds, kind)
        if not comparison.matched:
            await self._record(request, primary, legacy, plugin, comparison)

    def _observe_failure(self, request: MirroredRequest, reason: MirrorError) -> None:
        if self._observer is not None:
            self._observer.failed(request, reason)

    async def _compare_reads(
        self, request: MirroredRequest, primary: Answer
    ) -> tuple[Answer, Answer, Comparison]:
        if primary.truncated:
            raise MirrorFailed(MirrorError.TOO_LARGE)
        other = request.mode.mirror
        assert other is not None
        again: Answer | None = None
        if self.noise.should_probe(request.route):
            # The second legacy answer is asked for at the same moment as the mirror's.
            mirrored, again = await asyncio.gather(
                self._fetch(request, other), self._fetch(request, Backend.LEGACY)
            )
        else:
            mirrored = await self._fetch(request, other)
        legacy, plugin = (primary, mirrored) if other is Backend.PLUGIN else (mirrored, primary)
        return legacy, plugin, self._judge(request, legacy, plugin, again)

    async def _compare_dry_runs(self, request: MirroredRequest) -> tuple[Answer, Answer, Comparison]:
        for backend in Backend:
            if not await self.readiness.honoured(backend):
                raise MirrorFailed(MirrorError.DRY_RUN_UNAVAILABLE)
        probing = self.noise.should_probe(request.route)
        order = list(Backend) if random.random() < 0.5 else list(reversed(Backend))
        answers = {backend: await self._dry_run(request, backend) for backend in order}
        again = await self._dry_run(request, Backend.LEGACY) if probing else None
        legacy, plugin = answers[Backend.LEGACY], answers[Backend.PLUGIN]
        return legacy, plugin, self._judge(request, legacy, plugin, again)

    def _judge(
        self, request: MirroredRequest, legacy: Answer, plugin: Answer, again: Answer | None
    ) -> Comparison:
        noise = self.noise.noise(request.route)
        if again is not None:
            probe = self.noise.learn(request.route, differences(legacy, again))
            if probe.unstable:
                raise MirrorFailed(MirrorError.LEGACY_UNSTABLE)
            noise = noise | probe.fields
        return compare(legacy, plugin, rules=request.ignore, noise=noise)

    # -- requests to the backends ---------------------------------------------------------

    async def _fetch(self, request: MirroredRequest, backend: Backend) -> Answer:
        fetched = await self._send(request, backend, [])
        if fetched.truncated:
            raise MirrorFailed(MirrorError.TOO_LARGE)
        return Answer(fetched.status, _content_type(fetched), fetched.body, False, None, fetched.seconds)

    async def _dry_run(self, request: MirroredRequest, backend: Backend) -> Answer:
        header = dry_run_header(self._secret, request.scope["method"], request.target)
        fetched = await self._send(request, backend, [(HEADER, header)])
        outcome = dry_run_outcome(fetched.headers)
        if outcome is DryRunOutcome.NOT_HONOURED:
            # The app ran a mirrored write for real. Stop mirroring writes to it until it
            # shows again that it honours dry runs.
            self.readiness.not_honoured(backend)
            logger.error(
                "%s backend did not honour a dry run: %s %s RAN FOR REAL; write mirroring to it is off "
                "(check DRY_RUN_SECRET and the clocks)",
                backend,
                request.scope["method"],
                request.target.decode("latin-1"),
            )
            raise MirrorFailed(MirrorError.DRY_RUN_IGNORED)
        if outcome is not DryRunOutcome.APPLIED:
            raise MirrorFailed(MirrorError.DRY_RUN_FAILED)
        if fetched.truncated:
            raise MirrorFailed(MirrorError.TOO_LARGE)
        outbound = captured_calls(fetched.headers)
        return Answer(fetched.status, _content_type(fetched), fetched.body, False, outbound, fetched.seconds)

    async def _send(
        self, request: MirroredRequest, backend: Backend, extra: list[tuple[str, str]]
    ) -> Fetched:
        return await self.forwarder.fetch(
            request.scope,
            request.body,
            backend,
            extra,
            timeout_s=self.limits.request_timeout_s,
            max_body=self.limits.capture_bytes,
        )

    # -- keeping a mismatch -------------------------------------------------------------

    async def _record(
        self,
        request: MirroredRequest,
        primary: Answer,
        legacy: Answer,
        plugin: Answer,
        comparison: Comparison,
    ) -> None:
        if self._mismatch_log is None:
            return
        scope = request.scope
        mismatch = Mismatch.of(
            flag=request.surface.value,
            mode=request.mode.value,
            organization_id=request.organization,
            kind=request.kind,
            route=request.route,
            method=scope["method"],
            target=request.target.decode("latin-1"),
            caller=caller_fingerprint(header_value(scope, b"authorization")),
            primary_status=primary.status,
            request_body=request.body,
            legacy=legacy,
            plugin=plugin,
            comparison=comparison,
            body_limit=self.limits.record_body_bytes,
        )
        try:
            log = await self._mismatch_log()
            await log.record(mismatch)
        except Exception:
            logger.exception("could not record a shadow mismatch of %s", request.route)
            self.metrics.error(request.surface, request.mode, MirrorError.RECORD_FAILED)


class MirrorObserver(Protocol):
    """Told of every mirror's outcome (the cutover gate's per-organization counts,
    proxy.gate.recorder)."""

    def compared(self, request: MirroredRequest, legacy: Answer, plugin: Answer, matched: bool) -> None: ...

    def failed(self, request: MirroredRequest, reason: MirrorError) -> None: ...


class MismatchSink(Protocol):
    """Where mismatches go: proxy.shadow.records.MismatchLog, opened on first use."""

    async def record(self, mismatch: Mismatch) -> int: ...


def _content_type(fetched: Fetched) -> str | None:
    for name, value in fetched.headers:
        if name == _CONTENT_TYPE:
            return value.decode("latin-1")
    return None
