"""`strangler_flag_changes_total{flag}`: flag configurations that changed while the proxy ran,
counted when the flag provider reports them (PROVIDER_CONFIGURATION_CHANGED). Dashboards
draw them as annotations over traffic, latency and memory.

`flag` is a known flag key (a Surface or the kill switch) or "other", so label values stay
bounded whatever a flag document holds. Each series exists from the start at 0.

The provider also reports the first load of the flags as a change of every key, and it
delivers events on a thread pool, so that report may arrive after start-up is over. So a
key counts only when its definition differs from the one last seen: `baseline()` records
the flags in force once the provider is ready, and a late first report then finds nothing
new. Every replica counts the changes it sees (sum them with `max by (flag)`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from proxy.modes import KILL_SWITCH_FLAG, Surface

KNOWN_FLAGS = frozenset({*(surface.value for surface in Surface), KILL_SWITCH_FLAG})
OTHER_FLAG = "other"


def flag_label(key: str) -> str:
    return key if key in KNOWN_FLAGS else OTHER_FLAG


class FlagChangeCounter:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            "strangler_flag_changes_total",
            "Flag configurations that changed, as the flag provider reported them",
            ["flag"],
            registry=registry,
        )
        self._children = {label: self._counter.labels(label) for label in (*KNOWN_FLAGS, OTHER_FLAG)}
        self._seen: dict[str, Any] | None = None  # None: start-up not over, nothing counts yet
        self._lock = threading.Lock()

    def baseline(self, flags: Mapping[str, Any] | None) -> None:
        """The flags in force once the provider is ready (or gave up); later reports count."""
        with self._lock:
            self._seen = dict(flags or {})

    def changed(self, keys: Iterable[str], flags: Mapping[str, Any] | None) -> None:
        """The provider reported `keys` changed; `flags` is what it now holds (None: unknown,
        every reported key counts)."""
        with self._lock:
            seen = self._seen
            if seen is None:
                return
            for key in keys:
                current = flags.get(key) if flags is not None else None
                if flags is not None and seen.get(key) == current:
                    continue
                if current is None:
                    seen.pop(key, None)
                else:
                    seen[key] = current
                self._children[flag_label(key)].inc()
