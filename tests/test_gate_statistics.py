"""The gate's arithmetic, on data made here (no servers): the bootstrap's intervals
(proxy.gate.bootstrap), each budget's verdict (proxy.gate.budgets), and the rebuilding
of samples from Prometheus's cumulative buckets (proxy.gate.prometheus)."""

from __future__ import annotations

import random

import pytest

from proxy.gate.bootstrap import quantile_ratio_intervals
from proxy.gate.budgets import Budgets
from proxy.gate.metrics import PAIR_LATENCY, PAIR_LATENCY_BUCKETS
from proxy.gate.observations import LatencySamples, SideCounts, increases, series
from proxy.gate.prometheus import samples_from_buckets
from proxy.gate.verdict import BudgetName, Verdict
from proxy.modes import Backend


def latencies(n: int, scale: float = 1.0, seed: int = 1) -> tuple[list[float], list[float]]:
    """Paired samples: one request's base time on both sides, each side with its own noise."""
    rng = random.Random(seed)
    legacy, plugin = [], []
    for _ in range(n):
        base = rng.uniform(0.08, 0.12)
        legacy.append(base + rng.expovariate(1 / 0.002))
        plugin.append(scale * base + rng.expovariate(1 / 0.002))
    return legacy, plugin


def test_the_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    legacy, plugin = latencies(500)
    first = quantile_ratio_intervals(legacy, plugin, paired=True)
    again = quantile_ratio_intervals(legacy, plugin, paired=True)
    assert first == again
    for interval in first:
        assert interval.lower <= interval.estimate <= interval.upper


def test_more_pairs_narrow_the_interval_and_pairing_narrows_it_further() -> None:
    widths = {}
    for n in (200, 2000):
        legacy, plugin = latencies(n)
        for paired in (True, False):
            p50 = quantile_ratio_intervals(legacy, plugin, paired=paired)[0]
            widths[(n, paired)] = p50.upper - p50.lower
    assert widths[(2000, True)] < widths[(200, True)]
    assert widths[(2000, True)] < widths[(2000, False)]


@pytest.mark.parametrize(("scale", "expected"), [(1.0, Verdict.PASS), (1.1, Verdict.FAIL)])
def test_the_latency_budget(scale: float, expected: Verdict) -> None:
    legacy, plugin = latencies(1000, scale)
    results = Budgets().latency(LatencySamples(legacy, plugin, paired=True))
    assert [r.budget for r in results] == [BudgetName.LATENCY_P50, BudgetName.LATENCY_P95]
    assert {r.verdict for r in results} == {expected}
    assert all(r.samples == 1000 and r.limit == 1.05 for r in results)
    # A 10% slower plugin is over budget beyond doubt: the guard would act on it.
    assert all(r.breached == (expected is Verdict.FAIL) for r in results)


def test_too_few_pairs_is_inconclusive() -> None:
    legacy, plugin = latencies(199)
    results = Budgets(min_pairs=200).latency(LatencySamples(legacy, plugin, paired=True))
    assert {r.verdict for r in results} == {Verdict.INCONCLUSIVE}
    assert "only 199 pairs" in results[0].reason and not results[0].breached


def test_the_memory_budget_compares_medians() -> None:
    budgets = Budgets()
    legacy = [100e6, 100e6, 400e6, 100e6]  # one sample mid-garbage-collection
    assert budgets.memory(legacy, [109e6] * 4).verdict is Verdict.PASS
    over = budgets.memory(legacy, [121e6] * 4)
    assert over.verdict is Verdict.FAIL and over.measured == pytest.approx(1.21) and over.breached
    assert budgets.memory(legacy[:2], [121e6] * 2).verdict is Verdict.INCONCLUSIVE


def test_the_rate_budgets() -> None:
    budgets = Budgets(min_answers=100)
    assert budgets.mismatch_rate(1000, 10).verdict is Verdict.PASS
    assert budgets.mismatch_rate(1000, 11).verdict is Verdict.FAIL
    assert budgets.mismatch_rate(99, 50).verdict is Verdict.INCONCLUSIVE

    no_answers = {backend: SideCounts() for backend in Backend}
    mirrored = {Backend.LEGACY: SideCounts(1000, 10), Backend.PLUGIN: SideCounts(1000, 15)}
    assert budgets.error_rate(mirrored, no_answers).verdict is Verdict.PASS  # 1.5% <= 1% + 0.5%
    mirrored[Backend.PLUGIN] = SideCounts(1000, 16)
    assert budgets.error_rate(mirrored, no_answers).verdict is Verdict.FAIL
    # In plugin mode nothing is mirrored: the answers the plugin served decide.
    served = {Backend.LEGACY: SideCounts(5000, 0), Backend.PLUGIN: SideCounts(200, 2)}
    result = budgets.error_rate(no_answers, served)
    assert result.verdict is Verdict.FAIL and "requests the plugin answered" in result.reason
    assert budgets.error_rate(no_answers, no_answers).verdict is Verdict.INCONCLUSIVE


def test_a_counter_reset_counts_from_zero() -> None:
    key = series("strangler_gate_comparisons_total", {"flag": "tournament-api"})
    assert increases({key: 10.0}, {key: 25.0}) == {key: 15.0}
    assert increases({key: 10.0}, {key: 4.0}) == {key: 4.0}
    assert increases({}, {key: 4.0}) == {key: 4.0}


def test_samples_rebuilt_from_buckets_keep_the_quantiles() -> None:
    legacy, plugin = latencies(2000, 1.1)
    buckets = {}
    for backend, values in ((Backend.LEGACY, legacy), (Backend.PLUGIN, plugin)):
        for bound in (*PAIR_LATENCY_BUCKETS, float("inf")):
            le = "+Inf" if bound == float("inf") else repr(bound)
            labels = {"backend": backend.value, "le": le, "flag": "tournament-api"}
            buckets[series(PAIR_LATENCY + "_bucket", labels)] = float(sum(v <= bound for v in values))
    rebuilt = samples_from_buckets(buckets)
    assert not rebuilt.paired and rebuilt.count == 2000
    exact = quantile_ratio_intervals(legacy, plugin, paired=False, resamples=200)
    binned = quantile_ratio_intervals(rebuilt.legacy, rebuilt.plugin, paired=False, resamples=200)
    for a, b in zip(exact, binned, strict=True):
        assert b.estimate == pytest.approx(a.estimate, abs=0.02)
