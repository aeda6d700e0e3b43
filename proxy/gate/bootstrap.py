"""Confidence intervals for plugin/legacy latency quantile ratios, by the bootstrap.

The statistic is q_p(plugin) / q_p(legacy) for p in (0.5, 0.95): how much slower the
plugin's median and 95th percentile are than legacy's. Its 95% confidence interval is the
percentile bootstrap: resample the data with replacement `resamples` times (seeded, so
one data set always gives one answer), compute the statistic on each resample, and take
the 2.5th and 97.5th percentiles of those.

- Paired samples (the proxy's own: both sides' latencies of one request) are resampled
  as pairs, which keeps whatever the two sides shared at that moment (a busy machine
  slows both) and gives a tighter interval.
- Unpaired samples (rebuilt from Prometheus histograms, which keep no pairs) resample
  each side on its own.

Non-parametric: nothing is assumed about the shape of the latency distribution. The
resamples are drawn in chunks so that memory stays at a few MB whatever the sample size.
numpy is imported on first use: a proxy that never evaluates the gate never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

QUANTILES = (0.5, 0.95)
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20_250_506
CONFIDENCE = 0.95
_CHUNK_CELLS = 500_000  # resamples x sample size drawn at once (4 MB of indices)


@dataclass(frozen=True)
class RatioInterval:
    quantile: float
    estimate: float
    lower: float
    upper: float


def quantile_ratio_intervals(
    legacy: Sequence[float],
    plugin: Sequence[float],
    *,
    paired: bool,
    quantiles: Sequence[float] = QUANTILES,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = CONFIDENCE,
) -> list[RatioInterval]:
    """The estimate and percentile-bootstrap interval of q(plugin)/q(legacy) per quantile.
    Paired samples must be of equal length; neither side may be empty."""
    import numpy as np

    legacy_values = np.asarray(legacy, dtype=np.float64)
    plugin_values = np.asarray(plugin, dtype=np.float64)
    if legacy_values.size == 0 or plugin_values.size == 0:
        raise ValueError("both sides need samples")
    if paired and legacy_values.size != plugin_values.size:
        raise ValueError("paired samples must have one legacy and one plugin value per pair")
    qs = np.asarray(quantiles, dtype=np.float64)
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.quantile(plugin_values, qs) / np.quantile(legacy_values, qs)
        ratios = np.empty((resamples, qs.size))
        size = max(legacy_values.size, plugin_values.size)
        chunk = max(1, _CHUNK_CELLS // size)
        for start in range(0, resamples, chunk):
            count = min(chunk, resamples - start)
            plugin_index = rng.integers(0, plugin_values.size, size=(count, plugin_values.size))
            legacy_index = (
                plugin_index
                if paired
                else rng.integers(0, legacy_values.size, size=(count, legacy_values.size))
            )
            plugin_q = np.quantile(plugin_values[plugin_index], qs, axis=1)
            legacy_q = np.quantile(legacy_values[legacy_index], qs, axis=1)
            ratios[start : start + count] = (plugin_q / legacy_q).T
        tail = (1.0 - confidence) / 2.0
        # A ratio with a zero denominator is inf; nanquantile keeps it out of nothing else.
        lower, upper = np.nanquantile(ratios, [tail, 1.0 - tail], axis=0)
    return [
        RatioInterval(float(q), float(e), float(lo), float(hi))
        for q, e, lo, hi in zip(qs, estimate, lower, upper, strict=True)
    ]
