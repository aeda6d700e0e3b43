"""Where the gate's numbers come from, behind one interface (`GateSource.observe`).

LocalSource   the proxy's own: the paired latency samples the mirror keeps
              (proxy.shadow.latency), its counters and the apps' memory sampled every
              few seconds (proxy.gate.sampling). Lives in the proxy process, so operators
              reach it through the operator API (GET /_strangler/api/gate).
PrometheusSource (proxy.gate.prometheus)  Prometheus's HTTP API, when PROMETHEUS_URL is
              set: the same counters at the window's start and end, the latency
              histograms (which keep no pairs: each side is resampled on its own), and
              the apps' memory over the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from proxy.gate.observations import (
    LatencySamples,
    Observations,
    counter_totals,
    increases,
    observations,
)
from proxy.gate.sampling import LocalSampler
from proxy.modes import Backend, Surface
from proxy.shadow.latency import PairedLatencies


class GateSource(Protocol):
    name: str

    async def observe(self, surface: Surface, organization: int, window_s: float) -> Observations:
        """What happened to this flag and organization over the last `window_s` seconds.
        Never raises for an unreachable source: returns `unavailable(reason)` instead."""
        ...


class LocalSource:
    name = "proxy"

    def __init__(
        self,
        latencies: PairedLatencies | None,
        sampler: LocalSampler,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._latencies = latencies
        self._sampler = sampler
        self._clock = clock

    async def observe(self, surface: Surface, organization: int, window_s: float) -> Observations:
        since = self._clock() - window_s
        pairs = self._latencies.pairs(surface, organization, since=since) if self._latencies else []
        latency = LatencySamples(
            [pair.legacy_s for pair in pairs], [pair.plugin_s for pair in pairs], paired=True
        )
        memory = {backend: self._sampler.memory(backend, since) for backend in Backend}
        increase = increases(self._sampler.counters_at(since), self._sampler.counters_now())
        return observations(latency, memory, counter_totals(increase, surface, organization))
