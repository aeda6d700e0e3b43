"""The guard: a task in the proxy that, every `interval_s`, judges each organization whose
flag lets the plugin answer (`live`, `plugin`, or a split with either) over the last
`window_s`, and rolls that flag of that organization back to legacy by itself when a
budget is breached beyond doubt (BudgetResult.breached). The rollback takes the one
flag-write path (FlagStore.flip to legacy, which is never gated), as actor "guard", with
a reason naming each broken budget and its numbers; it is counted in
strangler_guard_rollbacks_total{flag}.

An inconclusive budget (say, too little traffic) never rolls back. The guard also keeps
the gate's metric labels bounded: a flag and organization back on legacy loses its series.
Every proxy replica runs a guard; the write path makes a second rollback a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from proxy.flags.document import FlagDocument, parse_document_text
from proxy.flags.errors import DocumentError
from proxy.flags.gate import needs_gate
from proxy.gate.evaluation import CutoverGate
from proxy.gate.metrics import GateMetrics
from proxy.gate.verdict import BudgetResult, GateEvaluation
from proxy.modes import Mode, Surface

if TYPE_CHECKING:
    from proxy.flags.store import FlagStore

logger = logging.getLogger(__name__)

ACTOR = "guard"


@dataclass(frozen=True)
class Rollback:
    surface: Surface
    organization_id: int
    reason: str


class Guard:
    def __init__(
        self,
        gate: CutoverGate,
        metrics: GateMetrics,
        flags_path: Path,
        store: Callable[[], FlagStore],
        *,
        window_s: float,
        interval_s: float,
        enabled: bool = True,
        after_rollback: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._gate = gate
        self._metrics = metrics
        self._flags_path = flags_path
        self._store = store
        self.window_s = window_s
        self.interval_s = interval_s
        self.enabled = enabled
        self._after_rollback = after_rollback

    async def run(self) -> None:
        """Watch until cancelled."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.tick()
            except Exception:
                logger.exception("the guard's check failed")

    async def tick(self) -> list[Rollback]:
        document = self._document()
        if document is None:
            return []
        for surface, organization in self._metrics.known():
            if document.assignment(surface, organization) == Mode.LEGACY:
                self._metrics.forget(surface, organization)
        if not self.enabled:
            return []
        rollbacks = []
        for surface, per_organization in document.assignments.items():
            for organization, assignment in per_organization.items():
                if not needs_gate(assignment):
                    continue
                evaluation = await self._gate.evaluate(surface, organization, window_s=self.window_s)
                broken = [result for result in evaluation.budgets if result.breached]
                if broken:
                    rollbacks.append(await self._roll_back(evaluation, broken))
        return rollbacks

    async def _roll_back(self, evaluation: GateEvaluation, broken: list[BudgetResult]) -> Rollback:
        surface, organization = evaluation.flag, evaluation.organization_id
        reason = (
            f"guard: budget broken over the last {evaluation.window_s:g} s ({evaluation.source}): "
            + "; ".join(f"{result.budget.value}: {result.reason}" for result in broken)
        )
        applied = await self._store().flip(surface, organization, Mode.LEGACY, actor=ACTOR, reason=reason)
        if applied.changes:
            self._metrics.rolled_back(surface)
            logger.warning("rolled %s of organization %s back to legacy: %s", surface, organization, reason)
            if self._after_rollback is not None:
                await self._after_rollback()
        return Rollback(surface, organization, reason)

    def _document(self) -> FlagDocument | None:
        try:
            return parse_document_text(self._flags_path.read_text(encoding="utf-8"), source="the live flags")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, DocumentError) as exc:
            logger.error("the guard cannot read %s: %s", self._flags_path, exc)
            return None
