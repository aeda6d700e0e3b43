"""The async qualifier system's periodic tasks.

- Race timeouts (every `race_timeout_check_seconds`): a pending race whose thread timeout
  is less than 10 minutes away gets one warning in its race thread; one past its timeout
  is forfeited (`RaceService.forfeit_timed_out`) and its thread told so.
- Re-scoring (every `rescore_interval_seconds`, hourly by default): every permalink of
  every qualifier (`ScoringService.rescore_all`).

Both apps may run these against one database at once (legacy_app and plugin_app, or
several replicas), so every step is claimed in the database before it acts: the forfeit
is a compare-and-set under the race's row lock, and the warning is claimed by a
`timeout_warning` audit row keyed by the race and its timeout, written under that lock
before the message is sent. A crash between claim and send loses that warning rather
than sending it twice. A process without a bot token claims no warning, so one that can
send still does; forfeits happen regardless.

Copied from legacy_app, claims and texts included, so that legacy_app and plugin_app
running their schedulers on one database warn and forfeit each race once. The plugin runs
them for the organizations it is enabled for (the others are legacy_app's to serve).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from core.discord import DiscordNotifier
from core.models import User
from core.settings import CoreSettings
from plugin_app.application.plugins import ScheduledTask

from ..models.async_tournament import AsyncQualifierRace
from ..runtime import AsyncQualifierRuntime
from ..services import AsyncQualifierServices
from ..services.clock import Clock, utc_now

log = logging.getLogger(__name__)

TIMEOUT_WARNING_LEAD = timedelta(minutes=10)
# Discord renders <t:unix:R> as a relative time ("in 9 minutes") in the reader's locale.
TIMEOUT_WARNING = (
    "{mention}This race times out <t:{timeout}:R>. Start it before then, or it will be forfeited."
)
TIMED_OUT = "This race was not started before its timeout and has been forfeited."


class AsyncQualifierTasks:
    def __init__(self, runtime: AsyncQualifierRuntime, clock: Clock = utc_now) -> None:
        self._runtime = runtime
        self._clock = clock

    @property
    def _services(self) -> AsyncQualifierServices:
        return self._runtime.services

    @property
    def _notifier(self) -> DiscordNotifier:
        return self._runtime.notifier

    def scheduled_tasks(self, settings: CoreSettings) -> list[ScheduledTask]:
        """The scheduler names them `async_qualifier.<name>`, as legacy_app does."""
        return [
            # At start-up too: timeouts that passed while no process was running are due now.
            ScheduledTask(
                "race_timeouts",
                timedelta(seconds=settings.race_timeout_check_seconds),
                self.check_race_timeouts,
                run_at_start=True,
            ),
            ScheduledTask(
                "rescore",
                timedelta(seconds=settings.rescore_interval_seconds),
                self.rescore_all,
            ),
        ]

    async def check_race_timeouts(self) -> None:
        """Warn the pending races timing out within 10 minutes; forfeit those past it."""
        now = self._clock()
        races = await self._services.races.pending_races_timing_out_before(now + TIMEOUT_WARNING_LEAD)
        for race in races:
            try:
                if not await self._runtime.is_enabled(race.qualifier.organization_id):
                    continue
                if race.thread_timeout_time is not None and race.thread_timeout_time <= now:
                    await self._forfeit(race)
                else:
                    await self._warn(race)
            except Exception:
                # One broken race must not keep the others from timing out.
                log.exception("timeout handling of async race %s failed", race.id)

    async def rescore_all(self) -> None:
        scored = await self._services.scoring.rescore_all(include=self._runtime.is_enabled)
        log.info("re-scored every async qualifier: %s permalinks have a par", scored)

    async def _forfeit(self, race: AsyncQualifierRace) -> None:
        if not await self._services.races.forfeit_timed_out(race):
            return
        log.info("async race %s timed out and was forfeited", race.id)
        if race.discord_thread_id is not None:
            await self._notifier.send_message(race.discord_thread_id, TIMED_OUT)

    async def _warn(self, race: AsyncQualifierRace) -> None:
        if race.discord_thread_id is None or not self._notifier.configured:
            return
        timeout = await self._services.races.claim_timeout_warning(race, TIMEOUT_WARNING_LEAD)
        if timeout is None:
            return
        text = TIMEOUT_WARNING.format(mention=await _mention(race.user_id), timeout=_unix(timeout))
        await self._notifier.send_message(race.discord_thread_id, text)


async def _mention(user_id: int) -> str:
    discord_id = await User.filter(id=user_id).first().values_list("discord_id", flat=True)
    return "" if discord_id is None else f"<@{discord_id}> "


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())
