"""TaskProvider: the plugin's periodic tasks, run by the app's scheduler."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import NamedTuple


class ScheduledTask(NamedTuple):
    """Run `run()` every `interval`; the first run one interval after start-up, or at start-up
    with `run_at_start` (work that fell due while no process ran, such as timeouts)."""

    name: str
    interval: timedelta
    run: Callable[[], Awaitable[None]]
    run_at_start: bool = False


class TaskProvider(ABC):
    @abstractmethod
    def get_scheduled_tasks(self) -> Sequence[ScheduledTask]:
        """Periodic tasks; they run in every replica with the scheduler enabled, for all orgs."""
