"""The proxy's Prometheus metrics (prefix `strangler_`), served at `/metrics`.

Label values stay bounded: `flag` is a Surface or "none" (a request outside the route
map); `organization` is the organization's id only while the request was routed in a
non-legacy mode, "other" otherwise, so only organizations under migration get series.

The proxy's metrics live in a registry the app owns; `/metrics` also renders the
process-wide default registry, which holds the process metrics (resident memory, CPU)
and whatever other proxy modules register there.

Several workers in one replica (`uvicorn --workers N`, as compose runs it): set
PROMETHEUS_MULTIPROC_DIR to an empty directory private to the replica before the workers
start. prometheus-client then keeps every metric in files there, and `/metrics`, whichever
worker answers, renders all workers' values summed (histograms and counters; gauges per
worker, with a `pid` label). Process metrics are not collected in that mode.
"""

from __future__ import annotations

import os
from enum import StrEnum

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from proxy.errors import BackendErrorKind
from proxy.modes import Backend, Mode, Surface

NO_FLAG = "none"
# prometheus-client reads it when first imported: it must be set before the process starts.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
OTHER_ORGANIZATIONS = "other"
# Bounds the hot path's cache of label children (keyed by raw status and organization).
_CHILDREN_CACHE_SIZE = 10_000
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LookupResult(StrEnum):
    CACHED = "cached"
    FOUND = "found"
    NOT_FOUND = "not_found"
    ERROR = "error"


def organization_label(organization: int | None, mode: Mode) -> str:
    return str(organization) if organization is not None and mode is not Mode.LEGACY else OTHER_ORGANIZATIONS


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class ProxyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "strangler_requests_total",
            "Requests answered by the proxy",
            ["flag", "backend", "mode", "organization", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "strangler_request_duration_seconds",
            "Time from the request's arrival to the end of its answer",
            ["flag", "backend", "mode", "organization"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "strangler_decisions_total",
            "Routing decisions by outcome",
            ["flag", "mode", "reason"],
            registry=self.registry,
        )
        self.backend_errors = Counter(
            "strangler_backend_errors_total",
            "Backends that could not answer",
            ["backend", "kind"],
            registry=self.registry,
        )
        self.owner_lookups = Counter(
            "strangler_owner_lookups_total",
            "Entity owner lookups (organization resolution) by result",
            ["result"],
            registry=self.registry,
        )
        # labels() takes a lock and builds a key; the hot path reuses the children, found by
        # the request's own values (no label strings built per request).
        self._request_children: dict[tuple[object, ...], tuple[Counter, Histogram]] = {}
        self._decision_children: dict[tuple[Surface | None, Mode, str], Counter] = {}
        self._lookup_children = {result: self.owner_lookups.labels(result.value) for result in LookupResult}

    def request(
        self,
        surface: Surface | None,
        backend: Backend,
        mode: Mode,
        organization: int | None,
        status: int,
        seconds: float,
    ) -> None:
        key = (surface, backend, mode, organization if mode is not Mode.LEGACY else None, status)
        children = self._request_children.get(key)
        if children is None:
            if len(self._request_children) >= _CHILDREN_CACHE_SIZE:
                self._request_children.clear()
            labels = (
                surface.value if surface is not None else NO_FLAG,
                backend.value,
                mode.value,
                organization_label(organization, mode),
            )
            children = (self.requests.labels(*labels, status_class(status)), self.duration.labels(*labels))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def decision(self, surface: Surface | None, mode: Mode, reason: str) -> None:
        key = (surface, mode, reason)
        child = self._decision_children.get(key)
        if child is None:
            flag = surface.value if surface is not None else NO_FLAG
            child = self._decision_children[key] = self.decisions.labels(flag, mode.value, reason)
        child.inc()

    def backend_error(self, backend: Backend, kind: BackendErrorKind) -> None:
        self.backend_errors.labels(backend.value, kind.value).inc()

    def owner_lookup(self, result: LookupResult) -> None:
        self._lookup_children[result].inc()

    def render(self) -> bytes:
        if MULTIPROCESS_DIR_VARIABLE in os.environ:
            workers = CollectorRegistry()
            MultiProcessCollector(workers)
            return generate_latest(workers)
        return generate_latest(REGISTRY) + generate_latest(self.registry)
