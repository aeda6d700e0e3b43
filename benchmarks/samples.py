"""Repeated measurements of one figure, summarised as a median with its spread."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Samples:
    """The values one figure took over the repeats of a run (never empty)."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Samples:
        kept = tuple(value for value in values if not math.isnan(value))
        return cls(kept or (math.nan,))

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def format(self, digits: int = 0, unit: str = "") -> str:
        """`median (min–max)`, or the median alone for a single sample."""
        if math.isnan(self.median):
            return "n/a"
        median = f"{self.median:,.{digits}f}{unit}"
        if len(self.values) == 1 or self.low == self.high:
            return median
        return f"{median} ({self.low:,.{digits}f}–{self.high:,.{digits}f})"


def paired(numerators: Sequence[float], denominators: Sequence[float], scale: float = 1.0) -> Samples:
    """Ratios of measurements taken side by side (repeat i against repeat i)."""
    return Samples.of(scale * n / d if d else math.nan for n, d in zip(numerators, denominators, strict=True))


def differences(minuends: Sequence[float], subtrahends: Sequence[float]) -> Samples:
    """Differences of measurements taken side by side (repeat i against repeat i)."""
    return Samples.of(a - b for a, b in zip(minuends, subtrahends, strict=True))


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (NaN with fewer than two distinct xs)."""
    if len(xs) < 2 or len(set(xs)) < 2:
        return math.nan
    return statistics.linear_regression(xs, ys).slope
