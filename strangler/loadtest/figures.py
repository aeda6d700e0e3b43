"""Each side's figures over a load test, judged by the cutover gate's own budgets
(proxy.gate.budgets, configured as the proxy is), so the report and the gate agree:

- latency: the proxy's paired samples (the same request served by both sides, which only
  organizations in shadow or live produce) taken during the run, read from the operator
  API (`/_strangler/api/shadow/latency`) per flag and organization. With several proxy
  replicas this is the replica the request reached.
- memory: each app's resident memory sampled during the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from proxy.gate.budgets import Budgets
from proxy.gate.observations import LatencySamples
from proxy.gate.verdict import BudgetResult
from strangler.loadtest.sampling import MemorySamples, Process

QUANTILES = (0.5, 0.95)


@dataclass(frozen=True)
class SideLatency:
    p50_s: float
    p95_s: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> SideLatency:
        p50, p95 = np.quantile(np.asarray(seconds, dtype=float), QUANTILES)
        return cls(float(p50), float(p95))

    def to_json(self) -> dict[str, float]:
        return {"p50_s": self.p50_s, "p95_s": self.p95_s}


@dataclass(frozen=True)
class LatencyFigures:
    flag: str
    organization: int
    pairs: int
    legacy: SideLatency
    plugin: SideLatency
    budgets: tuple[BudgetResult, ...]  # latency_p50, latency_p95

    def to_json(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "organization": self.organization,
            "pairs": self.pairs,
            "legacy": self.legacy.to_json(),
            "plugin": self.plugin.to_json(),
            "budgets": [result.to_json() for result in self.budgets],
        }


@dataclass(frozen=True)
class MemoryFigures:
    median_bytes: dict[Process, float]
    peak_bytes: dict[Process, float]
    budget: BudgetResult

    def to_json(self) -> dict[str, Any]:
        return {
            "median_bytes": {p.value: v for p, v in self.median_bytes.items()},
            "peak_bytes": {p.value: v for p, v in self.peak_bytes.items()},
            "budget": self.budget.to_json(),
        }


def paired_latencies(
    client: httpx.Client, host: str, admin_token: str, since: float
) -> dict[tuple[str, int], list[tuple[float, float]]]:
    """(legacy_s, plugin_s) pairs taken at or after `since` (unix seconds), per flag and organization."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    state = client.get(host + "/_strangler/api/shadow", headers=headers)
    state.raise_for_status()
    found: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for key in state.json().get("latency_samples", []):
        flag, organization = key["flag"], int(key["organization_id"])
        response = client.get(
            host + "/_strangler/api/shadow/latency",
            params={"flag": flag, "organization_id": organization},
            headers=headers,
        )
        response.raise_for_status()
        pairs = [(p["legacy_s"], p["plugin_s"]) for p in response.json()["pairs"] if p["at"] >= since]
        if pairs:
            found[(flag, organization)] = pairs
    return found


def latency_figures(
    pairs: dict[tuple[str, int], list[tuple[float, float]]], budgets: Budgets
) -> list[LatencyFigures]:
    figures = []
    for (flag, organization), taken in sorted(pairs.items()):
        legacy = [legacy_s for legacy_s, _ in taken]
        plugin = [plugin_s for _, plugin_s in taken]
        results = budgets.latency(LatencySamples(legacy, plugin, paired=True))
        figures.append(
            LatencyFigures(
                flag, organization, len(taken), SideLatency.of(legacy), SideLatency.of(plugin), tuple(results)
            )
        )
    return figures


def memory_figures(samples: MemorySamples, budgets: Budgets) -> MemoryFigures:
    medians, peaks = {}, {}
    for process in Process:
        values = samples.values(process)
        if values:
            medians[process] = float(np.median(values))
            peaks[process] = max(values)
    result = budgets.memory(samples.values(Process.LEGACY_APP), samples.values(Process.PLUGIN_APP))
    return MemoryFigures(medians, peaks, result)
