"""The monolith's scheduled tasks, run in-process by a `Scheduler` the app owns.

`scheduler_lifespan` is a lifespan hook for `create_platform_app`: with
`scheduler_enabled` it starts every periodic task after the database and Discord are up,
and cancels them on shutdown. The scheduler is at `app.state.scheduler`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.settings import CoreSettings
from legacy_app.tasks.async_qualifier_tasks import AsyncQualifierTasks
from legacy_app.tasks.scheduler import PeriodicTask, Scheduler

__all__ = ["PeriodicTask", "Scheduler", "scheduler_lifespan"]


@asynccontextmanager
async def scheduler_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: CoreSettings = app.state.settings
    scheduler = Scheduler()
    app.state.scheduler = scheduler
    if settings.scheduler_enabled:
        tasks = AsyncQualifierTasks(app.state.async_qualifier_services, app.state.notifier)
        for job in tasks.periodic_tasks(settings):
            scheduler.start(job)
    try:
        yield
    finally:
        await scheduler.stop()
