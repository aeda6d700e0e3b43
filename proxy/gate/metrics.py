"""The gate's and the guard's metrics, in the proxy's registry (served at /metrics).

    strangler_gate_pair_latency_seconds{flag,organization,backend}  each side's latency in
        paired samples, in fine buckets (8 per doubling, ~9% apart) from ~2 ms to 8 s, so
        that a 5% budget can be judged from the histogram; the shadow histogram's coarse
        buckets (10 ms, 25 ms, ...) cannot tell 20 ms from 22 ms. 2 x 98 series per flag
        and organization under migration: rendering them costs the proxy ~2 ms a scrape
    strangler_gate_answers_total{flag,organization,backend,result}  each side's answers in
        mirrored requests, result ok or error (5xx, or no answer)
    strangler_gate_comparisons_total{flag,organization,result}      compared pairs, matched
        or mismatched
    strangler_gate_verdict{flag,organization,budget}                the last evaluation:
        1 pass, 0 fail, -1 inconclusive (budget "all" is the whole verdict)
    strangler_guard_rollbacks_total{flag}                           organizations the guard
        rolled back

Labels stay bounded: an organization has series only while it is in a non-legacy mode
(mirrors happen in shadow and live only; the guard forgets an organization's series once
it is back on legacy).
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from proxy.gate.verdict import BudgetName, Verdict
from proxy.modes import Backend, Surface

# 2^(k/8) s for k = -72 .. 24: 1.95 ms .. 8 s, each bound ~9% above the last.
PAIR_LATENCY_BUCKETS = tuple(2.0 ** (k / 8) for k in range(-72, 25))
WHOLE_VERDICT = "all"
PAIR_LATENCY = "strangler_gate_pair_latency_seconds"
ANSWERS = "strangler_gate_answers_total"
COMPARISONS = "strangler_gate_comparisons_total"
REQUESTS = "strangler_requests_total"  # proxy.metrics: the primaries' answers, per organization


class AnswerResult(StrEnum):
    OK = "ok"
    ERROR = "error"


class ComparisonResult(StrEnum):
    MATCHED = "matched"
    MISMATCHED = "mismatched"


class GateMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.pair_latency = Histogram(
            PAIR_LATENCY,
            "Each side's latency in paired shadow samples, per organization",
            ["flag", "organization", "backend"],
            buckets=PAIR_LATENCY_BUCKETS,
            registry=registry,
        )
        self.answers = Counter(
            ANSWERS,
            "Each side's answers to mirrored requests, per organization: ok, or error (5xx or none)",
            ["flag", "organization", "backend", "result"],
            registry=registry,
        )
        self.comparisons = Counter(
            COMPARISONS,
            "Compared pairs of answers per organization, matched or mismatched",
            ["flag", "organization", "result"],
            registry=registry,
        )
        self.verdict = Gauge(
            "strangler_gate_verdict",
            "The cutover gate's last verdict per budget: 1 pass, 0 fail, -1 inconclusive",
            ["flag", "organization", "budget"],
            registry=registry,
        )
        self.rollbacks = Counter(
            "strangler_guard_rollbacks_total",
            "Organizations the guard rolled back to legacy",
            ["flag"],
            registry=registry,
        )
        for surface in Surface:
            self.rollbacks.labels(surface.value)
        self._known: set[tuple[Surface, int]] = set()

    def pair(self, surface: Surface, organization: int, legacy_s: float, plugin_s: float) -> None:
        self._known.add((surface, organization))
        org = str(organization)
        self.pair_latency.labels(surface.value, org, Backend.LEGACY.value).observe(legacy_s)
        self.pair_latency.labels(surface.value, org, Backend.PLUGIN.value).observe(plugin_s)

    def answer(self, surface: Surface, organization: int, backend: Backend, error: bool) -> None:
        self._known.add((surface, organization))
        result = AnswerResult.ERROR if error else AnswerResult.OK
        self.answers.labels(surface.value, str(organization), backend.value, result.value).inc()

    def comparison(self, surface: Surface, organization: int, matched: bool) -> None:
        self._known.add((surface, organization))
        result = ComparisonResult.MATCHED if matched else ComparisonResult.MISMATCHED
        self.comparisons.labels(surface.value, str(organization), result.value).inc()

    def verdicts(self, surface: Surface, organization: int, results: dict[str, Verdict]) -> None:
        self._known.add((surface, organization))
        for budget, verdict in results.items():
            self.verdict.labels(surface.value, str(organization), budget).set(verdict.gauge)

    def rolled_back(self, surface: Surface) -> None:
        self.rollbacks.labels(surface.value).inc()

    def known(self) -> set[tuple[Surface, int]]:
        """Every flag and organization that has series now."""
        return set(self._known)

    def forget(self, surface: Surface, organization: int) -> None:
        """Drop every series of one flag and organization (it is back on legacy)."""
        self._known.discard((surface, organization))
        org = str(organization)
        for backend in Backend:
            _remove(self.pair_latency, surface.value, org, backend.value)
            for answer in AnswerResult:
                _remove(self.answers, surface.value, org, backend.value, answer.value)
        for comparison in ComparisonResult:
            _remove(self.comparisons, surface.value, org, comparison.value)
        for budget in (*BudgetName, WHOLE_VERDICT):
            _remove(self.verdict, surface.value, org, str(budget))


def _remove(metric: Counter | Gauge | Histogram, *labels: str) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass
