"""legacy_app's scheduled tasks: the scheduler itself (in-process), and the async
qualifier tasks run by TWO real legacy_app servers sharing one database (SQLite and
PostgreSQL), whose bots talk to the stand-in for Discord's REST API: a pending race is
warned once before its timeout and forfeited at it; every qualifier is re-scored."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from core.settings import CoreSettings
from legacy_app.tasks import scheduler_lifespan
from legacy_app.tasks.async_qualifier_tasks import TIMED_OUT, TIMEOUT_WARNING
from legacy_app.tasks.scheduler import PeriodicTask, Scheduler
from tests.async_qualifier_support import AsyncApi, execute, pin_elapsed
from tests.discord_support import snowflake
from tests.factory import Caller, Factory, Org
from tests.legacy_discord_support import discord_env, eventually, messages_to
from tests.servers import Server, run_server

CHECK_SECONDS = "0.2"
# Long enough for each server to run its timeout check several times over.
SETTLE_S = 1.0

# -- the scheduler ------------------------------------------------------------------------------


def test_a_failing_run_is_logged_and_the_task_runs_on(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> int:
        calls = 0
        third_run = asyncio.Event()

        async def flaky() -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                third_run.set()
            if calls == 1:
                raise RuntimeError("the first run fails on purpose")

        scheduler = Scheduler()
        scheduler.start(PeriodicTask("flaky", timedelta(milliseconds=10), flaky, run_at_start=True))
        await asyncio.wait_for(third_run.wait(), timeout=10)
        await scheduler.stop()
        return calls

    with caplog.at_level(logging.ERROR, logger="legacy_app.tasks.scheduler"):
        assert asyncio.run(scenario()) >= 3
    [failure] = caplog.records
    assert failure.getMessage().startswith("periodic task flaky failed")
    assert failure.exc_info is not None and "on purpose" in str(failure.exc_info[1])


def test_stop_cancels_the_tasks_and_names_are_unique() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        async def idle() -> None:
            await asyncio.sleep(3600)

        scheduler = Scheduler()
        scheduler.start(PeriodicTask("first", timedelta(hours=1), idle))
        scheduler.start(PeriodicTask("second", timedelta(seconds=1), idle, run_at_start=True))
        with pytest.raises(ValueError, match="already running"):
            scheduler.start(PeriodicTask("first", timedelta(hours=1), idle))
        running = scheduler.running()
        await scheduler.stop()
        return running, scheduler.running()

    assert asyncio.run(scenario()) == (["first", "second"], [])


def test_scheduler_enabled_false_starts_nothing() -> None:
    async def scenario() -> list[str]:
        app = FastAPI()
        app.state.settings = CoreSettings(scheduler_enabled=False)
        async with scheduler_lifespan(app):
            return app.state.scheduler.running()

    assert asyncio.run(scenario()) == []


# -- the async qualifier tasks, on two servers ----------------------------------------------


@pytest.fixture(scope="module")
def schedulers(database_url: str, discord_api: Server, server_logs: Path) -> Iterator[tuple[Server, Server]]:
    """Two processes running the tasks on one database, as legacy_app and plugin_app may;
    only the first re-scores often."""
    often = discord_env(
        database_url, discord_api, race_timeout_check_seconds=CHECK_SECONDS, rescore_interval_seconds="0.5"
    )
    rarely = discord_env(database_url, discord_api, race_timeout_check_seconds=CHECK_SECONDS)
    with (
        run_server("legacy_app.main:app", often, server_logs) as first,
        run_server("legacy_app.main:app", rarely, server_logs) as second,
    ):
        yield first, second


@pytest.fixture
def api(schedulers: tuple[Server, Server]) -> Iterator[AsyncApi]:
    with AsyncApi(schedulers[0].url) as client:
        yield client


def pending_race(api: AsyncApi, org: Org, runner: Caller) -> int:
    qualifier = api.qualifier(org.manager, org.id, discord_channel_id=snowflake())
    pool = api.pool(org.manager, qualifier["id"], "Standard", permalinks=1)
    return api.open(runner, qualifier["id"], pool_id=pool["id"])["id"]


def pin_thread(factory: Factory, race_id: int, thread: int | None, timeout: datetime) -> None:
    """Give a race a thread that opened 20 minutes before `timeout`."""
    execute(
        factory,
        "UPDATE async_qualifier_races SET discord_thread_id = ?, thread_open_time = ?, "
        "thread_timeout_time = ? WHERE id = ?",
        thread,
        timeout - timedelta(minutes=20),
        timeout,
        race_id,
    )


def in_minutes(minutes: float) -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)


def race_row(factory: Factory, race_id: int) -> dict[str, Any]:
    return execute(factory, "SELECT * FROM async_qualifier_races WHERE id = ?", race_id)[0]


def audit_details(factory: Factory, action: str, race_id: int) -> list[str]:
    rows = execute(
        factory, "SELECT details FROM async_qualifier_audit_logs WHERE action = ? ORDER BY id", action
    )
    return [row["details"] for row in rows if f"ace {race_id} " in row["details"]]


def warning(runner: Caller, timeout: datetime) -> str:
    return TIMEOUT_WARNING.format(mention=f"<@{runner.discord_id}> ", timeout=int(timeout.timestamp()))


def test_a_pending_race_is_warned_once_before_its_timeout(
    schedulers: tuple[Server, Server], discord_api: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    runner = org.member
    race_id = pending_race(api, org, runner)
    thread = snowflake()
    timeout = in_minutes(5)
    pin_thread(factory, race_id, thread, timeout)

    assert eventually(lambda: messages_to(discord_api, thread), "the warning") == [warning(runner, timeout)]
    time.sleep(SETTLE_S)  # both servers have checked again meanwhile: still one warning
    assert messages_to(discord_api, thread) == [warning(runner, timeout)]
    assert len(audit_details(factory, "timeout_warning", race_id)) == 1
    assert race_row(factory, race_id)["status"] == "pending"

    # An extension (here: a later timeout) re-arms the warning, once more.
    later = in_minutes(8)
    execute(factory, "UPDATE async_qualifier_races SET thread_timeout_time = ? WHERE id = ?", later, race_id)
    expected = [warning(runner, timeout), warning(runner, later)]
    assert eventually(lambda: messages_to(discord_api, thread)[1:], "the second warning")
    time.sleep(SETTLE_S)
    assert messages_to(discord_api, thread) == expected


def test_a_race_not_due_for_a_warning_gets_none(
    schedulers: tuple[Server, Server], discord_api: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    runner = org.member
    race_id = pending_race(api, org, runner)
    thread = snowflake()
    pin_thread(factory, race_id, thread, in_minutes(11))
    unthreaded = pending_race(api, org, org.admin)
    pin_thread(factory, unthreaded, None, in_minutes(5))
    time.sleep(SETTLE_S)
    assert messages_to(discord_api, thread) == []
    assert audit_details(factory, "timeout_warning", race_id) == []
    # Without a thread there is nobody to warn, and nothing is claimed.
    assert audit_details(factory, "timeout_warning", unthreaded) == []


def test_a_race_past_its_timeout_is_forfeited_once(
    schedulers: tuple[Server, Server], discord_api: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    race_id = pending_race(api, org, org.member)
    thread = snowflake()
    pin_thread(factory, race_id, thread, in_minutes(-1))
    unthreaded = pending_race(api, org, org.admin)
    pin_thread(factory, unthreaded, None, in_minutes(-3))
    started = pending_race(api, org, org.manager)
    api.act(org.manager, started, "start")
    pin_thread(factory, started, snowflake(), in_minutes(-1))

    for rid in (race_id, unthreaded):
        eventually(lambda rid=rid: race_row(factory, rid)["status"] == "forfeit", f"race {rid} forfeited")
    time.sleep(SETTLE_S)
    assert audit_details(factory, "auto_forfeit", race_id) == [f"Race {race_id} timed out while pending"]
    assert len(audit_details(factory, "auto_forfeit", unthreaded)) == 1
    # No warning once the timeout has passed; the thread is told of the forfeit (unless a
    # server without a bot token, like the shared `legacy_server`, got there first).
    assert messages_to(discord_api, thread) in ([], [TIMED_OUT])
    assert race_row(factory, started)["status"] == "in_progress"


def test_every_qualifier_is_rescored_periodically(
    schedulers: tuple[Server, Server], api: AsyncApi, org: Org, factory: Factory
) -> None:
    qualifier = api.qualifier(org.manager, org.id)
    pool = api.pool(org.manager, qualifier["id"], "Standard", permalinks=1)
    race = api.finished_race(org.member, qualifier["id"], pool_id=pool["id"])
    pin_elapsed(factory, race["id"], 600)
    execute(factory, "UPDATE async_qualifier_races SET score = 1.5 WHERE id = ?", race["id"])
    eventually(lambda: race_row(factory, race["id"])["score"] == 100.0, "the hourly re-score")
