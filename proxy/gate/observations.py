"""What a data source observed of one flag and organization over a window: the raw
material the budgets judge (proxy.gate.budgets). Both sources (proxy.gate.sources) build
it the same way from the same counters, read at the window's start and end, so they
differ only in where the numbers come from.

A counter series is a metric name and its labels; its increase over a window is its value
at the end minus its value at the start (absent at the start: 0). A value that went down
was reset (the process restarted): its increase is then its value at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from proxy.gate.metrics import ANSWERS, COMPARISONS, REQUESTS, AnswerResult, ComparisonResult
from proxy.modes import Backend, Surface

Series = tuple[str, tuple[tuple[str, str], ...]]
SERVER_ERRORS = "5xx"  # the status class proxy.metrics counts a 5xx answer under


def series(name: str, labels: Mapping[str, str]) -> Series:
    return name, tuple(sorted(labels.items()))


def increases(start: Mapping[Series, float], end: Mapping[Series, float]) -> dict[Series, float]:
    """Each series' increase from `start` to `end` (see the module's docstring)."""
    result = {}
    for key, value in end.items():
        before = start.get(key, 0.0)
        result[key] = value - before if value >= before else value
    return result


@dataclass(frozen=True)
class LatencySamples:
    legacy: Sequence[float]
    plugin: Sequence[float]
    paired: bool  # legacy[i] and plugin[i] are one request's two latencies

    @property
    def count(self) -> int:
        return min(len(self.legacy), len(self.plugin))


@dataclass(frozen=True)
class SideCounts:
    answers: int = 0
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.errors / self.answers if self.answers else 0.0


@dataclass(frozen=True)
class Observations:
    latency: LatencySamples
    memory: Mapping[Backend, Sequence[float]]  # resident memory samples of each app
    compared: int
    mismatched: int
    mirrored: Mapping[Backend, SideCounts]  # each side's answers to mirrored requests
    served: Mapping[Backend, SideCounts]  # primary answers: plugin's to this organization, legacy's to all
    unavailable: str | None = None  # why the source could not be read, when it could not


def unavailable(reason: str) -> Observations:
    """Nothing observed, and why."""
    empty = {backend: SideCounts() for backend in Backend}
    return Observations(
        latency=LatencySamples((), (), paired=False),
        memory={backend: () for backend in Backend},
        compared=0,
        mismatched=0,
        mirrored=empty,
        served=empty,
        unavailable=reason,
    )


@dataclass(frozen=True)
class CounterTotals:
    """The counters the budgets read, summed for one flag and organization."""

    compared: int
    mismatched: int
    mirrored: dict[Backend, SideCounts]
    served: dict[Backend, SideCounts]


def counter_totals(increase: Mapping[Series, float], surface: Surface, organization: int) -> CounterTotals:
    flag, org = surface.value, str(organization)
    comparisons = {result: 0.0 for result in ComparisonResult}
    mirrored = {(backend, result): 0.0 for backend in Backend for result in AnswerResult}
    served = {(backend, error): 0.0 for backend in Backend for error in (False, True)}
    for (name, label_items), value in increase.items():
        labels = dict(label_items)
        if labels.get("flag") != flag:
            continue
        if name == COMPARISONS and labels.get("organization") == org:
            comparisons[ComparisonResult(labels["result"])] += value
        elif name == ANSWERS and labels.get("organization") == org:
            mirrored[(Backend(labels["backend"]), AnswerResult(labels["result"]))] += value
        elif name == REQUESTS:
            backend = Backend(labels["backend"])
            # Plugin: this organization's answers. Legacy: the flag's, whoever asked.
            if backend is Backend.PLUGIN and labels.get("organization") != org:
                continue
            served[(backend, labels.get("status") == SERVER_ERRORS)] += value
    matched = comparisons[ComparisonResult.MATCHED]
    mismatched = comparisons[ComparisonResult.MISMATCHED]
    return CounterTotals(
        compared=round(matched + mismatched),
        mismatched=round(mismatched),
        mirrored={
            backend: SideCounts(
                round(mirrored[(backend, AnswerResult.OK)] + mirrored[(backend, AnswerResult.ERROR)]),
                round(mirrored[(backend, AnswerResult.ERROR)]),
            )
            for backend in Backend
        },
        served={
            backend: SideCounts(
                round(served[(backend, False)] + served[(backend, True)]), round(served[(backend, True)])
            )
            for backend in Backend
        },
    )


def observations(
    latency: LatencySamples, memory: Mapping[Backend, Sequence[float]], totals: CounterTotals
) -> Observations:
    return Observations(
        latency=latency,
        memory=memory,
        compared=totals.compared,
        mismatched=totals.mismatched,
        mirrored=totals.mirrored,
        served=totals.served,
    )
