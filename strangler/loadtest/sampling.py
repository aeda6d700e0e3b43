"""Resident memory of each process during a load test, read from its /metrics
(`process_resident_memory_bytes`, which both apps and a single-worker proxy export)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import httpx
from prometheus_client.parser import text_string_to_metric_families

RESIDENT_MEMORY = "process_resident_memory_bytes"


class Process(StrEnum):
    LEGACY_APP = "legacy_app"
    PLUGIN_APP = "plugin_app"
    PROXY = "proxy"


def resident_memory(client: httpx.Client, base_url: str) -> float | None:
    """Bytes of resident memory the process at `base_url` reports; None if it reports none."""
    response = client.get(base_url + "/metrics")
    response.raise_for_status()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == RESIDENT_MEMORY:
                return float(sample.value)
    return None


@dataclass
class MemorySamples:
    """(seconds since the start, bytes) per process; a failed read is skipped, not fatal."""

    points: dict[Process, list[tuple[float, float]]] = field(default_factory=dict)
    failures: int = 0

    def take(self, client: httpx.Client, urls: dict[Process, str], elapsed_s: float) -> None:
        for process, url in urls.items():
            try:
                value = resident_memory(client, url)
            except (httpx.HTTPError, ValueError):
                self.failures += 1
                continue
            if value is not None:
                self.points.setdefault(process, []).append((elapsed_s, value))

    def values(self, process: Process) -> list[float]:
        return [value for _, value in self.points.get(process, [])]

    def latest(self, process: Process) -> float | None:
        points = self.points.get(process)
        return points[-1][1] if points else None
