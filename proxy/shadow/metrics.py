"""Shadow traffic's metrics, in the proxy's registry (served at /metrics).

    strangler_shadow_compared_total{flag,mode}         pairs of answers compared
    strangler_shadow_matched_total{flag,mode}          ... that were the same
    strangler_shadow_mismatched_total{flag,mode}       ... that were not
    strangler_shadow_errors_total{flag,mode,reason}    mirrors that could not be compared
    strangler_shadow_dropped_total{flag,mode}          mirrors dropped: too many in flight
    strangler_shadow_latency_seconds{flag,backend}     each side's latency in compared pairs
    strangler_shadow_in_flight                         mirrors running now

Labels are bounded: flag is a Surface, mode is shadow or live, reason a MirrorError,
backend legacy or plugin. Every flag x mode series exists from the start (at 0), so a
rate over them is defined before the first mirror.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from proxy.metrics import LATENCY_BUCKETS
from proxy.modes import Backend, Mode, Surface

MIRRORED_MODES = (Mode.SHADOW, Mode.LIVE)


class MirrorError(StrEnum):
    """Why a mirror produced no verdict (the `reason` label)."""

    PRIMARY_FAILED = "primary_failed"  # the primary did not answer: nothing to compare
    UNAVAILABLE = "unavailable"  # a side refused or dropped the connection
    TIMEOUT = "timeout"  # a side, or the whole mirror, ran out of time
    TOO_LARGE = "too_large"  # a body was over the capture limit
    DRY_RUN_UNAVAILABLE = "dry_run_unavailable"  # a side does not honour dry runs: writes not mirrored
    DRY_RUN_FAILED = "dry_run_failed"  # a dry run timed out or could not open its transaction
    DRY_RUN_IGNORED = "dry_run_ignored"  # a side ran a mirrored write FOR REAL (see the log)
    LEGACY_UNSTABLE = "legacy_unstable"  # legacy answered the same request two ways
    RECORD_FAILED = "record_failed"  # the mismatch could not be written to the proxy's database
    INTERNAL = "internal"  # a bug in the mirror: logged


class ShadowMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["flag", "mode"]
        self.compared = Counter(
            "strangler_shadow_compared_total", "Mirrored pairs compared", labels, registry=registry
        )
        self.matched = Counter(
            "strangler_shadow_matched_total", "Compared pairs that matched", labels, registry=registry
        )
        self.mismatched = Counter(
            "strangler_shadow_mismatched_total", "Compared pairs that differed", labels, registry=registry
        )
        self.errors = Counter(
            "strangler_shadow_errors_total",
            "Mirrors that produced no verdict, by reason",
            [*labels, "reason"],
            registry=registry,
        )
        self.dropped = Counter(
            "strangler_shadow_dropped_total",
            "Mirrors dropped because too many were in flight",
            labels,
            registry=registry,
        )
        self.latency = Histogram(
            "strangler_shadow_latency_seconds",
            "Latency of each side in compared pairs (reads: primary vs mirror; writes: both dry runs)",
            ["flag", "backend"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge("strangler_shadow_in_flight", "Mirrors running now", registry=registry)
        for surface in Surface:
            for mode in MIRRORED_MODES:
                for counter in (self.compared, self.matched, self.mismatched, self.dropped):
                    counter.labels(surface.value, mode.value)
            for backend in Backend:
                self.latency.labels(surface.value, backend.value)

        # labels() takes a lock and builds a key; every mirror reuses the children.
        self._verdicts = {
            (surface, mode, matched): (
                self.compared.labels(surface.value, mode.value),
                (self.matched if matched else self.mismatched).labels(surface.value, mode.value),
            )
            for surface in Surface
            for mode in MIRRORED_MODES
            for matched in (True, False)
        }
        self._latencies = {
            surface: (
                self.latency.labels(surface.value, Backend.LEGACY.value),
                self.latency.labels(surface.value, Backend.PLUGIN.value),
            )
            for surface in Surface
        }

    def verdict(self, surface: Surface, mode: Mode, matched: bool) -> None:
        compared, outcome = self._verdicts[(surface, mode, matched)]
        compared.inc()
        outcome.inc()

    def error(self, surface: Surface, mode: Mode, reason: MirrorError) -> None:
        self.errors.labels(surface.value, mode.value, reason.value).inc()

    def drop(self, surface: Surface, mode: Mode) -> None:
        self.dropped.labels(surface.value, mode.value).inc()

    def pair(self, surface: Surface, legacy_s: float, plugin_s: float) -> None:
        legacy, plugin = self._latencies[surface]
        legacy.observe(legacy_s)
        plugin.observe(plugin_s)
