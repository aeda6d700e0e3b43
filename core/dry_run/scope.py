"""The dry run the current request is in, if any.

The boundary (middleware.py) opens a `DryRun` for a signed request; code below it finds
it with `current_dry_run()`. It travels in a context variable, so tasks the request starts
see it too - and see the request's transaction and outbound capture, which travel the
same way. Such a task must end before the transaction is rolled back (after that its
queries would run on a finished transaction), so whoever starts one hands it to
`finish_before_rollback`; the Discord interaction endpoint does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.discord.outbound import OutboundCall

_current: ContextVar[DryRun | None] = ContextVar("strangler_dry_run", default=None)


class DryRun:
    """One dry-run request: what it captured and the tasks its rollback waits for."""

    def __init__(self, captured: Sequence[OutboundCall]) -> None:
        self.captured = captured
        self._tasks: set[asyncio.Task[Any]] = set()

    def finish_before_rollback(self, task: asyncio.Task[Any]) -> None:
        """Keep the transaction open until `task` ends (within the dry run's time budget;
        cancelled when the budget runs out)."""
        self._tasks.add(task)

    async def settle(self) -> None:
        """Wait for every task handed over, including ones handed over meanwhile."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    async def cancel_tasks(self, grace_s: float) -> bool:
        """Cancel the tasks still running; True when all of them ended within `grace_s`."""
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        if not pending:
            return True
        _, still_running = await asyncio.wait(pending, timeout=grace_s)
        return not still_running


def current_dry_run() -> DryRun | None:
    """The dry run this code runs in, or None for a real request (or no request at all)."""
    return _current.get()


@contextmanager
def entered(dry_run: DryRun) -> Iterator[DryRun]:
    token = _current.set(dry_run)
    try:
        yield dry_run
    finally:
        _current.reset(token)
