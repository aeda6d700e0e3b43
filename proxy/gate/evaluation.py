"""The cutover gate for one flag and organization: observe the window through a source,
judge every budget, publish the verdict (strangler_gate_verdict), return the table.

`CutoverGate` is also the flag store's Gate (proxy.flags.gate): called with a move that
lets the plugin answer, it evaluates and answers pass, fail or inconclusive. The
operator API and the CLI evaluate first (to show the table, and to put it in the audit
log when an operator forces a move) and hand the store `decided(evaluation)`, so a flip
is judged on exactly the table the operator saw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from proxy.flags.document import Assignment
from proxy.flags.gate import Gate, GateVerdict
from proxy.gate.budgets import Budgets
from proxy.gate.metrics import WHOLE_VERDICT, GateMetrics
from proxy.gate.verdict import GateEvaluation
from proxy.modes import Surface

if TYPE_CHECKING:
    from proxy.gate.sources import GateSource


class CutoverGate:
    def __init__(
        self,
        source: GateSource,
        budgets: Budgets,
        *,
        window_s: float,
        metrics: GateMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.budgets = budgets
        self.window_s = window_s
        self._metrics = metrics
        self._clock = clock

    async def evaluate(
        self, surface: Surface, organization: int, *, window_s: float | None = None
    ) -> GateEvaluation:
        window = window_s if window_s is not None else self.window_s
        observed = await self.source.observe(surface, organization, window)
        # The bootstrap takes a few hundred ms of numpy: off the event loop.
        results = await asyncio.to_thread(self.budgets.judge, observed)
        evaluation = GateEvaluation(surface, organization, self.source.name, window, self._clock(), results)
        if self._metrics is not None:
            verdicts = {result.budget.value: result.verdict for result in results}
            self._metrics.verdicts(surface, organization, {**verdicts, WHOLE_VERDICT: evaluation.verdict})
        return evaluation

    async def __call__(self, flag: Surface, organization_id: int, to: Assignment) -> GateVerdict:
        return (await self.evaluate(flag, organization_id)).verdict.gate_verdict


def decided(evaluation: GateEvaluation) -> Gate:
    """A Gate that answers with an evaluation already made."""

    async def gate(flag: Surface, organization_id: int, to: Assignment) -> GateVerdict:
        return evaluation.verdict.gate_verdict

    return gate


def forced_reason(reason: str, evaluation: GateEvaluation) -> str:
    """The audit log's reason for a move forced past the gate: the operator's words, then
    what the gate said."""
    return f"{reason.strip()} [forced past the cutover {evaluation.summary()}]"
