"""The proxy's own time series for the gate, when no Prometheus is configured: every
`interval_s` it scrapes each app's /metrics for `process_resident_memory_bytes` and
snapshots the counters the budgets read (proxy.gate.observations), keeping `keep_s`
seconds of both. A window's counter increase is then the live value minus the snapshot
taken at or just before the window's start - what Prometheus would compute from its own
scrapes. Before the first snapshot every counter was 0 (the proxy had just started).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from proxy.errors import BackendError
from proxy.forwarding import Forwarder
from proxy.gate.observations import Series, series
from proxy.modes import Backend

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
SCRAPE_TIMEOUT_S = 2.0
SCRAPE_MAX_BYTES = 16 * 1024 * 1024
_RESIDENT_MEMORY = re.compile(rb"^process_resident_memory_bytes(?:\{[^}]*\})? ([0-9.eE+-]+)", re.M)


def resident_memory(exposition: bytes) -> float | None:
    """process_resident_memory_bytes from a /metrics page, if it has it."""
    found = _RESIDENT_MEMORY.search(exposition)
    return float(found.group(1)) if found else None


class LocalSampler:
    def __init__(
        self,
        forwarder: Forwarder,
        counters: Iterable[MetricWrapperBase],
        *,
        interval_s: float,
        keep_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._forwarder = forwarder
        self._counters = tuple(counters)
        self.interval_s = interval_s
        self._keep_s = keep_s
        self._clock = clock
        self.started_at = clock()
        self._snapshots: deque[tuple[float, dict[Series, float]]] = deque()
        self._memory: dict[Backend, deque[tuple[float, float]]] = {backend: deque() for backend in Backend}

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            try:
                await self.sample()
            except Exception:
                logger.exception("gate sampling failed")
            await asyncio.sleep(self.interval_s)

    async def sample(self) -> None:
        now = self._clock()
        self._snapshots.append((now, self.counters_now()))
        values = await asyncio.gather(*(self._resident_memory(backend) for backend in Backend))
        for backend, value in zip(Backend, values, strict=True):
            if value is not None:
                self._memory[backend].append((now, value))
        horizon = now - self._keep_s
        # The newest snapshot before the horizon stays: it is the baseline of the oldest window.
        while len(self._snapshots) > 1 and self._snapshots[1][0] <= horizon:
            self._snapshots.popleft()
        for samples in self._memory.values():
            while samples and samples[0][0] < horizon:
                samples.popleft()

    def counters_now(self) -> dict[Series, float]:
        values: dict[Series, float] = {}
        for counter in self._counters:
            for family in counter.collect():
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        values[series(sample.name, sample.labels)] = sample.value
        return values

    def counters_at(self, when: float) -> dict[Series, float]:
        """The counters as they were at `when`: the newest snapshot taken no later."""
        if when <= self.started_at:
            return {}
        chosen: dict[Series, float] | None = None
        for taken, values in self._snapshots:
            if taken > when:
                break
            chosen = values
        if chosen is None:  # older than every snapshot kept: the oldest is the best guess
            return self._snapshots[0][1] if self._snapshots else {}
        return chosen

    def memory(self, backend: Backend, since: float) -> list[float]:
        return [value for taken, value in self._memory[backend] if taken >= since]

    async def _resident_memory(self, backend: Backend) -> float | None:
        scope: dict[str, Any] = {
            "method": "GET",
            "raw_path": METRICS_PATH.encode(),
            "query_string": b"",
            "headers": [],
            "scheme": "http",
        }
        try:
            fetched = await self._forwarder.fetch(
                scope, None, backend, [], timeout_s=SCRAPE_TIMEOUT_S, max_body=SCRAPE_MAX_BYTES
            )
        except BackendError as exc:
            logger.debug("no memory sample of %s: %s", backend, exc)
            return None
        if fetched.status != 200:
            return None
        return resident_memory(fetched.body)
