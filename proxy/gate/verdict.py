"""What the gate says: a verdict per budget (measured value, bound, limit, sample count,
reason) and one for the whole flag + organization.

The whole verdict is the worst of its budgets: any `fail` fails, else any `inconclusive`
is inconclusive, else it passes. Only `pass` lets a move to `live` or `plugin` through.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from proxy.flags.gate import GateVerdict
from proxy.modes import Surface


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    @property
    def gauge(self) -> int:
        """The value of `strangler_gate_verdict`: 1 pass, 0 fail, -1 inconclusive."""
        return {Verdict.PASS: 1, Verdict.FAIL: 0, Verdict.INCONCLUSIVE: -1}[self]

    @property
    def gate_verdict(self) -> GateVerdict:
        return GateVerdict(self.value)

    @classmethod
    def worst(cls, verdicts: list[Verdict]) -> Verdict:
        if Verdict.FAIL in verdicts:
            return Verdict.FAIL
        if Verdict.INCONCLUSIVE in verdicts or not verdicts:
            return Verdict.INCONCLUSIVE
        return Verdict.PASS


class BudgetName(StrEnum):
    LATENCY_P50 = "latency_p50"  # plugin/legacy ratio of the medians of paired latencies
    LATENCY_P95 = "latency_p95"  # ... of the 95th percentiles
    MEMORY = "memory"  # plugin_app/legacy_app median resident memory
    MISMATCH_RATE = "mismatch_rate"  # compared pairs that differed
    ERROR_RATE = "error_rate"  # plugin's error rate against legacy's


@dataclass(frozen=True)
class BudgetResult:
    """One budget's verdict.

    `measured` is the point estimate; `bound` the upper end of its 95% confidence interval
    where the budget has one (latency) and `lower` its lower end; `limit` what it may not
    exceed. `breached` says the breach is beyond doubt: the guard rolls back on that only.
    """

    budget: BudgetName
    verdict: Verdict
    measured: float | None
    limit: float
    samples: int
    reason: str
    bound: float | None = None
    lower: float | None = None

    @property
    def breached(self) -> bool:
        if self.verdict is not Verdict.FAIL or self.measured is None:
            return False
        floor = self.lower if self.lower is not None else self.measured
        return floor > self.limit

    def to_json(self) -> dict[str, Any]:
        return {
            "budget": self.budget.value,
            "verdict": self.verdict.value,
            "measured": self.measured,
            "bound": self.bound,
            "lower": self.lower,
            "limit": self.limit,
            "samples": self.samples,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BudgetResult:
        return cls(
            budget=BudgetName(data["budget"]),
            verdict=Verdict(data["verdict"]),
            measured=data.get("measured"),
            limit=float(data["limit"]),
            samples=int(data["samples"]),
            reason=str(data["reason"]),
            bound=data.get("bound"),
            lower=data.get("lower"),
        )


@dataclass(frozen=True)
class GateEvaluation:
    """The gate for one flag and organization, over `window_s` seconds up to `evaluated_at`."""

    flag: Surface
    organization_id: int
    source: str  # "proxy" (its own samples) or "prometheus"
    window_s: float
    evaluated_at: float
    budgets: tuple[BudgetResult, ...]

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst([result.verdict for result in self.budgets])

    def budget(self, name: BudgetName) -> BudgetResult:
        return next(result for result in self.budgets if result.budget is name)

    def summary(self) -> str:
        """One line for the audit log and error messages: the verdict and why."""
        if self.verdict is Verdict.PASS:
            return f"gate pass ({self.source}, {self.window_s:.0f} s window)"
        # Budgets failing for one reason (say, an unreachable source) share one entry.
        budgets_by_reason: dict[str, list[str]] = {}
        for result in self.budgets:
            if result.verdict is not Verdict.PASS:
                budgets_by_reason.setdefault(result.reason, []).append(result.budget.value)
        reasons = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in budgets_by_reason.items())
        return f"gate {self.verdict.value} ({self.source}, {self.window_s:.0f} s window): {reasons}"

    def to_json(self) -> dict[str, Any]:
        return {
            "flag": self.flag.value,
            "organization_id": self.organization_id,
            "verdict": self.verdict.value,
            "source": self.source,
            "window_s": self.window_s,
            "evaluated_at": self.evaluated_at,
            "summary": self.summary(),
            "budgets": [result.to_json() for result in self.budgets],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateEvaluation:
        return cls(
            flag=Surface(data["flag"]),
            organization_id=int(data["organization_id"]),
            source=str(data["source"]),
            window_s=float(data["window_s"]),
            evaluated_at=float(data["evaluated_at"]),
            budgets=tuple(BudgetResult.from_json(item) for item in data["budgets"]),
        )
