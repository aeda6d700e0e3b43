"""Paired latency samples: the same request served by both sides at (nearly) the same
moment, kept per flag and organization for the cutover gate (issue 6).

Which two latencies make a pair:
- a read: the primary's answer (as the proxy timed it, from sending the request to the
  last byte) and the mirror's answer to the same request, sent as soon as the primary
  had answered;
- a write or Discord interaction: the two dry runs of the request, one on each side,
  run one after the other in a random order (so that neither side always goes first and
  finds, say, a warmer cache); both include their app's rolled-back transaction.

API for the gate:

    latencies = app.shadow.latencies          # PairedLatencies, owned by the proxy app
    pairs = latencies.pairs(Surface.ASYNC_QUALIFIER_API, 7)          # oldest first
    pairs = latencies.pairs(surface, 7, kind=PairKind.READ, since=t)  # filtered
    for pair in pairs: pair.legacy_s, pair.plugin_s, pair.ratio, pair.at, pair.kind
    latencies.keys()    # every (surface, organization) with samples

Bounded: `capacity` pairs per flag and organization (a ring: the oldest go first), and at
most `max_keys` flag/organization keys (the least recently fed is dropped). In memory,
per proxy process: a proxy restart starts the rings empty, and each replica has its own.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from proxy.modes import Surface

DEFAULT_CAPACITY = 2048
DEFAULT_MAX_KEYS = 1000


class PairKind(StrEnum):
    READ = "read"  # primary's real answer vs the mirror's
    DRY_RUN = "dry_run"  # legacy's dry run vs plugin's


@dataclass(frozen=True, slots=True)
class LatencyPair:
    legacy_s: float
    plugin_s: float
    kind: PairKind
    at: float  # wall clock (unix seconds) when the pair was taken

    @property
    def ratio(self) -> float:
        """plugin / legacy; inf when legacy took no measurable time."""
        return self.plugin_s / self.legacy_s if self.legacy_s > 0 else float("inf")


class PairedLatencies:
    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.capacity = capacity
        self.max_keys = max_keys
        self._clock = clock
        self._rings: OrderedDict[tuple[Surface, int], deque[LatencyPair]] = OrderedDict()

    def add(
        self, surface: Surface, organization: int, legacy_s: float, plugin_s: float, kind: PairKind
    ) -> None:
        key = (surface, organization)
        ring = self._rings.get(key)
        if ring is None:
            ring = self._rings[key] = deque(maxlen=self.capacity)
            if len(self._rings) > self.max_keys:
                self._rings.popitem(last=False)
        else:
            self._rings.move_to_end(key)
        ring.append(LatencyPair(legacy_s, plugin_s, kind, self._clock()))

    def pairs(
        self,
        surface: Surface,
        organization: int,
        *,
        kind: PairKind | None = None,
        since: float | None = None,
    ) -> list[LatencyPair]:
        """The kept pairs of one flag and organization, oldest first."""
        ring = self._rings.get((surface, organization), ())
        return [
            pair
            for pair in ring
            if (kind is None or pair.kind is kind) and (since is None or pair.at >= since)
        ]

    def keys(self) -> list[tuple[Surface, int]]:
        return list(self._rings)

    def clear(self, surface: Surface, organization: int) -> None:
        """Forget one flag and organization's pairs (say, after it moved to another mode)."""
        self._rings.pop((surface, organization), None)
