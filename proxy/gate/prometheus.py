"""The gate's data from Prometheus's HTTP API (PROMETHEUS_URL), for the proxy and the CLI.

For a window [end - W, end]:
- the counters (proxy.gate.observations) as instant vectors at `end - W` and at `end`;
  each series' increase is computed exactly as the local source computes it;
- each side's latency histogram (strangler_gate_pair_latency_seconds) the same way, its
  buckets' increases rebuilt into samples (each bucket's count spread evenly, on a log
  scale, between its bounds; the buckets are ~6% wide). Prometheus keeps no pairs, so
  the bootstrap resamples each side on its own; at most MAX_SAMPLES per side are kept
  (the counts scaled down alike), which only widens the interval;
- each app's process_resident_memory_bytes over the window, as a range vector (every
  scrape of every instance of the job).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from proxy.gate.metrics import ANSWERS, COMPARISONS, PAIR_LATENCY, REQUESTS
from proxy.gate.observations import (
    LatencySamples,
    Observations,
    Series,
    counter_totals,
    increases,
    observations,
    series,
    unavailable,
)
from proxy.modes import Backend, Surface

APP_JOBS = {Backend.LEGACY: "legacy_app", Backend.PLUGIN: "plugin_app"}
MAX_SAMPLES = 4096
TIMEOUT_S = 5.0
_BUCKETS = PAIR_LATENCY + "_bucket"


class PrometheusUnavailable(Exception):
    pass


class PrometheusSource:
    name = "prometheus"

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout_s = timeout_s
        self._clock = clock

    async def observe(self, surface: Surface, organization: int, window_s: float) -> Observations:
        end = self._clock()
        start = end - window_s
        flag, org = _quote(surface.value), _quote(str(organization))
        gate = f'{{__name__=~"{ANSWERS}|{COMPARISONS}|{_BUCKETS}",flag={flag},organization={org}}}'
        served = (
            f'{REQUESTS}{{flag={flag},backend="legacy"}} '
            f'or {REQUESTS}{{flag={flag},backend="plugin",organization={org}}}'
        )
        window = f"{max(1, round(window_s * 1000))}ms"
        try:
            async with httpx.AsyncClient(base_url=self.url, timeout=self._timeout_s) as client:
                gate_end, gate_start, served_end, served_start, *memory = await asyncio.gather(
                    _vector(client, gate, end),
                    _vector(client, gate, start),
                    _vector(client, served, end),
                    _vector(client, served, start),
                    *(
                        _matrix(client, f'process_resident_memory_bytes{{job="{job}"}}[{window}]', end)
                        for job in APP_JOBS.values()
                    ),
                )
        except PrometheusUnavailable as exc:
            return unavailable(f"Prometheus at {self.url} could not be read: {exc}")
        increase = increases({**gate_start, **served_start}, {**gate_end, **served_end})
        buckets = {key: value for key, value in increase.items() if key[0] == _BUCKETS}
        latency = samples_from_buckets(buckets)
        return observations(
            latency,
            dict(zip(APP_JOBS, memory, strict=True)),
            counter_totals(increase, surface, organization),
        )


def samples_from_buckets(buckets: Mapping[Series, float]) -> LatencySamples:
    """Each side's latencies rebuilt from the increases of its cumulative buckets."""
    cumulative: dict[Backend, dict[float, float]] = {backend: defaultdict(float) for backend in Backend}
    for (_, label_items), value in buckets.items():
        labels = dict(label_items)
        cumulative[Backend(labels["backend"])][float(labels["le"])] += value
    sides = {backend: _spread(cumulative[backend]) for backend in Backend}
    return LatencySamples(sides[Backend.LEGACY], sides[Backend.PLUGIN], paired=False)


def _spread(cumulative: Mapping[float, float]) -> list[float]:
    bounds = sorted(cumulative)
    counts, previous = [], 0.0
    for bound in bounds:
        counts.append(max(0.0, cumulative[bound] - previous))
        previous = max(previous, cumulative[bound])
    total = sum(counts)
    scale = min(1.0, MAX_SAMPLES / total) if total else 1.0
    samples: list[float] = []
    lower = 0.0
    for bound, count in zip(bounds, counts, strict=True):
        n = round(count * scale)
        finite_upper = bound if bound != float("inf") else lower  # beyond the last bound: at it
        for i in range(n):
            position = (i + 0.5) / n
            if lower > 0 and finite_upper > lower:
                samples.append(lower * (finite_upper / lower) ** position)
            else:
                samples.append(lower + (finite_upper - lower) * position)
        if bound != float("inf"):
            lower = bound
    return samples


async def _query(client: httpx.AsyncClient, query: str, at: float) -> dict[str, Any]:
    try:
        response = await client.get("/api/v1/query", params={"query": query, "time": f"{at:.3f}"})
    except httpx.HTTPError as exc:
        raise PrometheusUnavailable(f"{type(exc).__name__}: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        raise PrometheusUnavailable(f"HTTP {response.status_code}, not JSON") from None
    if response.status_code != 200 or body.get("status") != "success":
        raise PrometheusUnavailable(f"HTTP {response.status_code}: {body.get('error', body)}")
    return body["data"]


async def _vector(client: httpx.AsyncClient, query: str, at: float) -> dict[Series, float]:
    data = await _query(client, query, at)
    return {
        series(item["metric"].get("__name__", ""), _labels(item["metric"])): float(item["value"][1])
        for item in data.get("result", [])
    }


async def _matrix(client: httpx.AsyncClient, query: str, at: float) -> list[float]:
    data = await _query(client, query, at)
    return [float(value) for item in data.get("result", []) for _, value in item["values"]]


def _labels(metric: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in metric.items() if key != "__name__"}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
