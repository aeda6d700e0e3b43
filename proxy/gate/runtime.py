"""The gate's parts as one proxy process holds them, built from its settings:

    metrics    GateMetrics in the proxy's registry
    recorder   PairRecorder, the shadow mirror's observer
    cutover    CutoverGate over PrometheusSource (PROMETHEUS_URL set) or LocalSource
    sampler    LocalSampler (local source only): the apps' memory and the proxy's counters
    guard      Guard: rolls organizations back to legacy when their budgets break

`start()` runs the sampler and the guard as background tasks; `close()` stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from proxy.forwarding import Forwarder
from proxy.gate.budgets import Budgets
from proxy.gate.evaluation import CutoverGate
from proxy.gate.guard import Guard
from proxy.gate.metrics import GateMetrics
from proxy.gate.recorder import PairRecorder
from proxy.gate.sampling import LocalSampler
from proxy.gate.sources import GateSource, LocalSource
from proxy.settings import ProxySettings
from proxy.shadow.latency import PairedLatencies

if TYPE_CHECKING:
    from proxy.flags.store import FlagStore
    from proxy.records import ProxyRecords


class GateRuntime:
    def __init__(
        self,
        settings: ProxySettings,
        registry: CollectorRegistry,
        requests: MetricWrapperBase,
    ) -> None:
        self._settings = settings
        self._requests = requests
        self.metrics = GateMetrics(registry)
        self.recorder = PairRecorder(self.metrics)
        self.sampler: LocalSampler | None = None
        self.cutover: CutoverGate | None = None
        self.guard: Guard | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def assemble(
        self,
        forwarder: Forwarder,
        latencies: PairedLatencies | None,
        records: ProxyRecords,
        decisions: object,
    ) -> None:
        """Build the source, the gate and the guard (once the proxy has its other parts)."""
        settings = self._settings
        source: GateSource
        if settings.prometheus_url:
            from proxy.gate.prometheus import PrometheusSource

            source = PrometheusSource(settings.prometheus_url)
        else:
            keep_s = (
                max(settings.gate_window_s, settings.guard_window_s) + 2 * settings.gate_sample_interval_s
            )
            self.sampler = LocalSampler(
                forwarder,
                (self._requests, self.metrics.answers, self.metrics.comparisons),
                interval_s=settings.gate_sample_interval_s,
                keep_s=keep_s,
            )
            source = LocalSource(latencies, self.sampler)
        self.cutover = CutoverGate(
            source, Budgets.from_settings(settings), window_s=settings.gate_window_s, metrics=self.metrics
        )

        def store() -> FlagStore:
            from proxy.flags.store import FlagStore

            return FlagStore.from_settings(settings, records.database())

        async def refresh_decisions() -> None:
            # As the operator API does after a write: this replica routes by the new flags at once.
            refresh = getattr(decisions, "refresh", None)
            if callable(refresh):
                result = refresh()
                if inspect.isawaitable(result):
                    await result

        self.guard = Guard(
            self.cutover,
            self.metrics,
            settings.flags_path,
            store,
            window_s=settings.guard_window_s,
            interval_s=settings.guard_interval_s,
            enabled=settings.guard_enabled,
            after_rollback=refresh_decisions,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.sampler is not None:
            self._tasks.append(loop.create_task(self.sampler.run()))
        if self.guard is not None:
            self._tasks.append(loop.create_task(self.guard.run()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
