"""What the gate learns from each mirror, per flag and organization: both sides' latencies
(into a fine histogram, for Prometheus; the paired samples themselves are kept by
proxy.shadow.latency), whether each side answered or erred, and whether the answers
matched. The shadow mirror calls it (ShadowTraffic's `observer`) after every mirror.

Which side erred:
- a compared pair: a side whose status is 5xx erred, the other answered;
- the primary failed to answer (nothing to compare): the primary erred;
- a read whose mirrored request failed (refused, reset, timed out): the mirrored side
  erred, the primary (which had answered) did not.
Other failures (a write's dry run that failed, too large a body, legacy answering one
request two ways, ...) cannot be laid on one side: they count in
strangler_shadow_errors_total only, not in either side's error rate.
"""

from __future__ import annotations

from proxy.gate.metrics import GateMetrics
from proxy.modes import Backend
from proxy.shadow.comparison import Answer
from proxy.shadow.metrics import MirrorError
from proxy.shadow.mirror import MirroredRequest
from proxy.shadow.mismatch import RequestKind

SERVER_ERROR = 500
_MIRRORED_SIDE_FAILURES = frozenset({MirrorError.UNAVAILABLE, MirrorError.TIMEOUT})


class PairRecorder:
    def __init__(self, metrics: GateMetrics) -> None:
        self.metrics = metrics

    def compared(self, request: MirroredRequest, legacy: Answer, plugin: Answer, matched: bool) -> None:
        organization = request.organization
        if organization is None:
            return
        surface = request.surface
        self.metrics.pair(surface, organization, legacy.seconds, plugin.seconds)
        self.metrics.answer(surface, organization, Backend.LEGACY, legacy.status >= SERVER_ERROR)
        self.metrics.answer(surface, organization, Backend.PLUGIN, plugin.status >= SERVER_ERROR)
        self.metrics.comparison(surface, organization, matched)

    def failed(self, request: MirroredRequest, reason: MirrorError) -> None:
        organization = request.organization
        if organization is None:
            return
        mode = request.mode
        if reason is MirrorError.PRIMARY_FAILED:
            self.metrics.answer(request.surface, organization, mode.primary, True)
        elif reason in _MIRRORED_SIDE_FAILURES and request.kind is RequestKind.READ and mode.mirror:
            self.metrics.answer(request.surface, organization, mode.primary, False)
            self.metrics.answer(request.surface, organization, mode.mirror, True)
