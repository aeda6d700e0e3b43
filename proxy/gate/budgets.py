"""The budgets an organization's flag must keep before (the gate) and after (the guard)
the plugin answers it, and how each is judged from what a source observed.

latency_p50, latency_p95
    q(plugin) / q(legacy) for the median and the 95th percentile of the paired latency
    samples in the window. Passes when the upper end of its 95% confidence interval
    (percentile bootstrap, proxy.gate.bootstrap) is at most `latency_ratio` (1.05), fails
    when it is above; inconclusive under `min_pairs` pairs (200). So a plugin passes only
    when the data show it is no more than 5% slower: more noise needs more pairs.
memory
    median resident memory of plugin_app over that of legacy_app, each over the samples
    of the window (the apps' process_resident_memory_bytes, sampled periodically): passes
    at most `memory_ratio` (1.10); inconclusive under `min_memory_samples` samples of
    either app. The median keeps one sample taken mid-garbage-collection from deciding.
mismatch_rate
    compared pairs whose answers differed (after ignore rules and learned noise) over all
    compared pairs: passes at most `max_mismatch_rate` (0.01); inconclusive under
    `min_answers` compared pairs (100). Legacy compared with itself differs only in the
    noise the comparison already drops, so legacy's own rate is 0.
error_rate
    the share of a side's answers that are 5xx or missing. From the mirrored requests when
    both sides have `min_answers` there (shadow, live: the same requests on both sides);
    otherwise, in `plugin` mode, from the primary answers: the plugin's to this
    organization against legacy's to this flag (0 if legacy served too few). Passes when
    plugin's rate <= legacy's rate + `error_rate_margin` (0.005); inconclusive when the
    plugin has answered fewer than `min_answers` requests.

The guard rolls back only on a breach beyond doubt (BudgetResult.breached): for latency,
the LOWER end of the interval above the limit; for the others, the measured value above
it with enough samples. The gate is strict moving forward, the guard moving back.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from proxy.gate.bootstrap import CONFIDENCE, DEFAULT_SEED, quantile_ratio_intervals
from proxy.gate.observations import LatencySamples, Observations, SideCounts
from proxy.gate.verdict import BudgetName, BudgetResult, Verdict
from proxy.modes import Backend
from proxy.settings import ProxySettings

_LATENCY_BUDGETS = {0.5: BudgetName.LATENCY_P50, 0.95: BudgetName.LATENCY_P95}
MB = 1024 * 1024


@dataclass(frozen=True)
class Budgets:
    latency_ratio: float = 1.05
    memory_ratio: float = 1.10
    max_mismatch_rate: float = 0.01
    error_rate_margin: float = 0.005
    min_pairs: int = 200
    min_answers: int = 100
    min_memory_samples: int = 3
    resamples: int = 2000
    seed: int = DEFAULT_SEED
    confidence: float = CONFIDENCE

    @classmethod
    def from_settings(cls, settings: ProxySettings) -> Budgets:
        return cls(
            latency_ratio=settings.gate_latency_ratio,
            memory_ratio=settings.gate_memory_ratio,
            max_mismatch_rate=settings.gate_max_mismatch_rate,
            error_rate_margin=settings.gate_error_rate_margin,
            min_pairs=settings.gate_min_pairs,
            min_answers=settings.gate_min_answers,
            min_memory_samples=settings.gate_min_memory_samples,
            resamples=settings.gate_bootstrap_resamples,
        )

    def judge(self, observed: Observations) -> tuple[BudgetResult, ...]:
        """Every budget's verdict. Runs the bootstrap: call it off the event loop."""
        if observed.unavailable is not None:
            return tuple(self._unavailable(name, observed.unavailable) for name in BudgetName)
        return (
            *self.latency(observed.latency),
            self.memory(observed.memory[Backend.LEGACY], observed.memory[Backend.PLUGIN]),
            self.mismatch_rate(observed.compared, observed.mismatched),
            self.error_rate(observed.mirrored, observed.served),
        )

    def latency(self, samples: LatencySamples) -> list[BudgetResult]:
        n = samples.count
        what = "pairs" if samples.paired else "samples per side"
        if n < self.min_pairs:
            return [
                BudgetResult(
                    name,
                    Verdict.INCONCLUSIVE,
                    None,
                    self.latency_ratio,
                    n,
                    f"only {n} {what} in the window; at least {self.min_pairs} are needed",
                )
                for name in _LATENCY_BUDGETS.values()
            ]
        intervals = quantile_ratio_intervals(
            samples.legacy,
            samples.plugin,
            paired=samples.paired,
            quantiles=tuple(_LATENCY_BUDGETS),
            resamples=self.resamples,
            seed=self.seed,
            confidence=self.confidence,
        )
        results = []
        for interval in intervals:
            passed = interval.upper <= self.latency_ratio
            percent = round(interval.quantile * 100)
            reason = (
                f"p{percent} plugin/legacy {interval.estimate:.3f}, {self.confidence:.0%} interval "
                f"{interval.lower:.3f}-{interval.upper:.3f} {'<=' if passed else '>'} {self.latency_ratio} "
                f"over {n} {what}"
            )
            results.append(
                BudgetResult(
                    _LATENCY_BUDGETS[interval.quantile],
                    Verdict.PASS if passed else Verdict.FAIL,
                    interval.estimate,
                    self.latency_ratio,
                    n,
                    reason,
                    bound=interval.upper,
                    lower=interval.lower,
                )
            )
        return results

    def memory(self, legacy: Sequence[float], plugin: Sequence[float]) -> BudgetResult:
        n = min(len(legacy), len(plugin))
        if n < self.min_memory_samples:
            return BudgetResult(
                BudgetName.MEMORY,
                Verdict.INCONCLUSIVE,
                None,
                self.memory_ratio,
                n,
                f"only {len(legacy)} legacy_app and {len(plugin)} plugin_app memory samples in the window; "
                f"at least {self.min_memory_samples} of each are needed",
            )
        legacy_median, plugin_median = statistics.median(legacy), statistics.median(plugin)
        ratio = plugin_median / legacy_median if legacy_median > 0 else float("inf")
        passed = ratio <= self.memory_ratio
        reason = (
            f"plugin_app {plugin_median / MB:.1f} MB / legacy_app {legacy_median / MB:.1f} MB = {ratio:.3f} "
            f"{'<=' if passed else '>'} {self.memory_ratio} "
            f"(medians of {len(plugin)} and {len(legacy)} samples)"
        )
        return BudgetResult(
            BudgetName.MEMORY, Verdict.PASS if passed else Verdict.FAIL, ratio, self.memory_ratio, n, reason
        )

    def mismatch_rate(self, compared: int, mismatched: int) -> BudgetResult:
        if compared < self.min_answers:
            return BudgetResult(
                BudgetName.MISMATCH_RATE,
                Verdict.INCONCLUSIVE,
                None,
                self.max_mismatch_rate,
                compared,
                f"only {compared} compared pairs in the window; at least {self.min_answers} are needed",
            )
        rate = mismatched / compared
        passed = rate <= self.max_mismatch_rate
        reason = (
            f"{mismatched} of {compared} compared pairs differed: {rate:.4f} "
            f"{'<=' if passed else '>'} {self.max_mismatch_rate}"
        )
        return BudgetResult(
            BudgetName.MISMATCH_RATE,
            Verdict.PASS if passed else Verdict.FAIL,
            rate,
            self.max_mismatch_rate,
            compared,
            reason,
        )

    def error_rate(
        self, mirrored: Mapping[Backend, SideCounts], served: Mapping[Backend, SideCounts]
    ) -> BudgetResult:
        if all(mirrored[backend].answers >= self.min_answers for backend in Backend):
            plugin, legacy, basis = mirrored[Backend.PLUGIN], mirrored[Backend.LEGACY], "mirrored requests"
        elif served[Backend.PLUGIN].answers >= self.min_answers:
            plugin, basis = served[Backend.PLUGIN], "requests the plugin answered"
            legacy = (
                served[Backend.LEGACY] if served[Backend.LEGACY].answers >= self.min_answers else SideCounts()
            )
        else:
            answers = max(mirrored[Backend.PLUGIN].answers, served[Backend.PLUGIN].answers)
            return BudgetResult(
                BudgetName.ERROR_RATE,
                Verdict.INCONCLUSIVE,
                None,
                self.error_rate_margin,
                answers,
                f"only {answers} plugin answers in the window; at least {self.min_answers} are needed",
            )
        limit = legacy.rate + self.error_rate_margin
        passed = plugin.rate <= limit
        reason = (
            f"plugin {plugin.errors}/{plugin.answers} = {plugin.rate:.4f} {'<=' if passed else '>'} "
            f"legacy {legacy.errors}/{legacy.answers} = {legacy.rate:.4f} + {self.error_rate_margin} "
            f"({basis})"
        )
        return BudgetResult(
            BudgetName.ERROR_RATE,
            Verdict.PASS if passed else Verdict.FAIL,
            plugin.rate,
            limit,
            plugin.answers,
            reason,
        )

    def _unavailable(self, name: BudgetName, why: str) -> BudgetResult:
        limits = {
            BudgetName.LATENCY_P50: self.latency_ratio,
            BudgetName.LATENCY_P95: self.latency_ratio,
            BudgetName.MEMORY: self.memory_ratio,
            BudgetName.MISMATCH_RATE: self.max_mismatch_rate,
            BudgetName.ERROR_RATE: self.error_rate_margin,
        }
        return BudgetResult(name, Verdict.INCONCLUSIVE, None, limits[name], 0, why)
