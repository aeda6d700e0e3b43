"""A small asyncio scheduler for the plugins' periodic tasks: one task per job, each
sleeping its interval then running (a `run_at_start` job runs first, then sleeps); a run
that raises is logged and the job goes on.
Jobs are grouped by owner (the plugin id) so one plugin's jobs can be cancelled alone."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

log = logging.getLogger("plugin_app.scheduler")


@dataclass(frozen=True)
class Job:
    owner: str
    name: str
    interval: timedelta
    run: Callable[[], Awaitable[None]]
    run_at_start: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.owner}.{self.name}"


class Scheduler:
    def __init__(self) -> None:
        self._tasks: dict[str, list[asyncio.Task[None]]] = defaultdict(list)

    def start(self, job: Job) -> None:
        task = asyncio.create_task(self._loop(job), name=f"scheduled:{job.qualified_name}")
        self._tasks[job.owner].append(task)

    @staticmethod
    async def _loop(job: Job) -> None:
        seconds = job.interval.total_seconds()
        if job.run_at_start:
            await Scheduler._run(job)
        while True:
            await asyncio.sleep(seconds)
            await Scheduler._run(job)

    @staticmethod
    async def _run(job: Job) -> None:
        try:
            await job.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled task %s failed", job.qualified_name)

    async def cancel(self, owner: str) -> None:
        tasks = self._tasks.pop(owner, [])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        for owner in list(self._tasks):
            await self.cancel(owner)

    def running(self) -> list[str]:
        return sorted(t.get_name().removeprefix("scheduled:") for ts in self._tasks.values() for t in ts)
