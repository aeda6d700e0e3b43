"""A small asyncio runner for the app's periodic tasks: one asyncio task per job, owned by
the app (started and cancelled by its lifespan), each running its job every interval.

A run that raises is logged and the job carries on at its next interval: a task that
failed once (a database hiccup, Discord down) must not stop the timeouts for good. Runs
of one job never overlap; the interval counts from the end of the previous run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicTask:
    """Run `run()` every `interval`; the first run at start-up when `run_at_start`, else one
    interval after it."""

    name: str
    interval: timedelta
    run: Callable[[], Awaitable[object]]
    run_at_start: bool = False


class Scheduler:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, job: PeriodicTask) -> None:
        if job.name in self._tasks:
            raise ValueError(f"a periodic task named {job.name!r} is already running")
        self._tasks[job.name] = asyncio.create_task(self._loop(job), name=f"periodic:{job.name}")

    async def stop(self) -> None:
        """Cancel every job and wait for them to end (a run in progress is interrupted)."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def running(self) -> list[str]:
        return sorted(name for name, task in self._tasks.items() if not task.done())

    @staticmethod
    async def _loop(job: PeriodicTask) -> None:
        seconds = job.interval.total_seconds()
        if not job.run_at_start:
            await asyncio.sleep(seconds)
        while True:
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic task %s failed; it runs again in %ss", job.name, seconds)
            await asyncio.sleep(seconds)
