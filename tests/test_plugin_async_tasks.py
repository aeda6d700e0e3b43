"""plugin_app's async qualifier tasks (SQLite and PostgreSQL), whose bots talk to the
stand-in for Discord's REST API.

- plugin_app alone warns a pending race before its timeout (with its own bot token, so the
  message is provably its own) and forfeits one past it;
- legacy_app's task scenarios (tests/test_legacy_tasks.py) run with plugin_app AND
  legacy_app running the scheduler on one database: each race is warned exactly once and
  forfeited once, whichever app gets there first, because both claim each step with the
  same audit row; plugin_app re-scores every qualifier periodically;
- the plugin scheduler runs a `run_at_start` task at once (the timeout check does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from plugin_app.application.scheduler import Job, Scheduler
from tests import test_legacy_tasks as legacy_scenarios
from tests.async_qualifier_support import AsyncApi, scenarios
from tests.discord_support import snowflake
from tests.factory import Factory, Org
from tests.legacy_discord_support import discord_env, eventually, messages_to, received
from tests.plugin_support import PLUGIN_APP
from tests.servers import Server, run_server
from tests.test_legacy_tasks import (
    CHECK_SECONDS,
    audit_details,
    in_minutes,
    pending_race,
    pin_thread,
    race_row,
    warning,
)

PLUGIN_BOT_TOKEN = "plugin-bot-token"


def plugin_env(database_url: str, discord_api: Server, **settings: str) -> dict[str, str]:
    env = discord_env(database_url, discord_api, race_timeout_check_seconds=CHECK_SECONDS, **settings)
    return {**env, "STRANGLER_PLUGIN_ENTRY_POINTS": "false"}


# Defined before the shared scenarios, so it runs before `schedulers` starts a legacy_app
# that could send the warning too (the shared `legacy_server` has no bot token: it never warns).
def test_plugin_app_alone_warns_and_forfeits(
    database_url: str, discord_api: Server, server_logs: Path, factory: Factory
) -> None:
    env = plugin_env(database_url, discord_api, discord_bot_token=PLUGIN_BOT_TOKEN)
    with run_server(PLUGIN_APP, env, server_logs) as server, AsyncApi(server.url) as api:
        org = Org.make(factory)
        due = pending_race(api, org, org.member)
        thread = snowflake()
        timeout = in_minutes(5)
        pin_thread(factory, due, thread, timeout)
        expired = pending_race(api, org, org.admin)
        pin_thread(factory, expired, snowflake(), in_minutes(-1))

        assert eventually(lambda: messages_to(discord_api, thread), "the warning") == [
            warning(org.member, timeout)
        ]
        path = f"/channels/{thread}/messages"
        [sent] = received(discord_api, lambda r: r["path"] == path)
        assert sent["authorization"] == f"Bot {PLUGIN_BOT_TOKEN}"
        assert audit_details(factory, "timeout_warning", due) == [
            f"Warned race {due} of its timeout at {timeout:%Y-%m-%d %H:%M:%S} UTC"
        ]
        eventually(lambda: race_row(factory, expired)["status"] == "forfeit", "the forfeit")
        assert audit_details(factory, "auto_forfeit", expired) == [f"Race {expired} timed out while pending"]
        assert race_row(factory, due)["status"] == "pending"


# legacy_app's task scenarios, collected here with this module's `schedulers`.
globals().update(
    scenarios(
        legacy_scenarios,
        "test_a_pending_race_is_warned_once_before_its_timeout",
        "test_a_race_not_due_for_a_warning_gets_none",
        "test_a_race_past_its_timeout_is_forfeited_once",
        "test_every_qualifier_is_rescored_periodically",
    )
)


@pytest.fixture(scope="module")
def schedulers(database_url: str, discord_api: Server, server_logs: Path) -> Iterator[tuple[Server, Server]]:
    """plugin_app and legacy_app running the tasks on one database, both able to send to
    Discord; only plugin_app re-scores often, so the re-score scenario tests its task."""
    often = plugin_env(database_url, discord_api, rescore_interval_seconds="0.5")
    rarely = discord_env(database_url, discord_api, race_timeout_check_seconds=CHECK_SECONDS)
    with (
        run_server(PLUGIN_APP, often, server_logs) as plugin,
        run_server("legacy_app.main:app", rarely, server_logs) as legacy,
    ):
        yield plugin, legacy


@pytest.fixture
def api(schedulers: tuple[Server, Server]) -> Iterator[AsyncApi]:
    with AsyncApi(schedulers[0].url) as client:
        yield client


def test_a_run_at_start_task_runs_at_once() -> None:
    async def scenario() -> list[str]:
        ran = asyncio.Event()

        async def check() -> None:
            ran.set()

        scheduler = Scheduler()
        scheduler.start(Job("async_qualifier", "race_timeouts", timedelta(hours=1), check, run_at_start=True))
        await asyncio.wait_for(ran.wait(), timeout=10)
        running = scheduler.running()
        await scheduler.stop()
        return running

    assert asyncio.run(scenario()) == ["async_qualifier.race_timeouts"]
