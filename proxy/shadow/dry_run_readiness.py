"""Whether each side honours the proxy's dry runs, before any write is mirrored to it.

A write is mirrored only as a dry run. An app that does not honour the header (a
different DRY_RUN_SECRET, a clock more than 60 s off, a build without the boundary) would
run it FOR REAL. So each side is asked first - a signed `GET /healthz`, whose answer must
say `X-Strangler-Dry-Run: applied` - and the answer is trusted for `ttl_s`; writes are not
mirrored to a side that does not honour dry runs. A side whose answer to a mirrored write
shows it was not a dry run is marked as not honouring them, at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from proxy.dry_run_signing import HEADER, DryRunOutcome, dry_run_header, dry_run_outcome
from proxy.errors import BackendError
from proxy.forwarding import Forwarder
from proxy.modes import Backend

logger = logging.getLogger(__name__)

READINESS_PATH = "/healthz"


class DryRunReadiness:
    def __init__(
        self,
        forwarder: Forwarder,
        secret: str,
        *,
        ttl_s: float,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._forwarder = forwarder
        self._secret = secret
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._known: dict[Backend, tuple[bool, float]] = {}  # backend -> (honoured, until)
        self._locks = {backend: asyncio.Lock() for backend in Backend}

    async def honoured(self, backend: Backend) -> bool:
        """Whether `backend` honours our dry runs (asked at most every `ttl_s`)."""
        known = self._known.get(backend)
        if known is not None and known[1] > self._clock():
            return known[0]
        async with self._locks[backend]:
            known = self._known.get(backend)
            if known is not None and known[1] > self._clock():
                return known[0]
            honoured = await self._ask(backend)
            self._known[backend] = (honoured, self._clock() + self._ttl_s)
            return honoured

    def not_honoured(self, backend: Backend) -> None:
        """An answer to a mirrored write showed `backend` ran it for real."""
        self._known[backend] = (False, self._clock() + self._ttl_s)

    async def _ask(self, backend: Backend) -> bool:
        path = READINESS_PATH.encode()
        scope = {"method": "GET", "raw_path": path, "query_string": b"", "headers": [], "scheme": "http"}
        header = dry_run_header(self._secret, "GET", path)
        try:
            fetched = await self._forwarder.fetch(
                scope, None, backend, [(HEADER, header)], timeout_s=self._timeout_s, max_body=4096
            )
        except BackendError:
            return False
        honoured = dry_run_outcome(fetched.headers) is DryRunOutcome.APPLIED
        if not honoured:
            logger.warning("%s backend does not honour dry runs: writes are not mirrored to it", backend)
        return honoured
