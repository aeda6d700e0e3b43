"""plugin_app's async qualifier slash commands and buttons, posted to a real plugin_app
server at `/discord/interactions` (SQLite and PostgreSQL), whose bot talks to the stand-in
for Discord's REST API (tests/discord_support.py).

legacy_app's own scenarios (tests/test_legacy_discord_commands.py) run unchanged here: they
call the server under test `legacy`, and this module's `legacy` fixture is a plugin_app
server, so every reply payload, thread and message is checked against legacy_app's texts.
Besides: where the plugin is disabled for the organization the channel belongs to, every
command and button gets the plugin system's ephemeral "not available" reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin_app.application.plugins.commands import NOT_AVAILABLE
from tests import test_legacy_discord_commands as legacy_scenarios
from tests.async_qualifier_support import AsyncApi, execute, scenarios
from tests.discord_support import option, snowflake
from tests.factory import Factory, Org
from tests.legacy_discord_support import click, command, discord_env, ephemeral, reply
from tests.plugin_support import PLUGIN_APP, PluginAdmin
from tests.servers import Server, run_server
from tests.test_legacy_discord_commands import (
    FORFEITED,
    qualifier_in_channel,
    races_of,
    seed_reply,
    start,
    thread_of,
)

PLUGIN_ID = "async_qualifier"

# legacy_app's scenarios, collected here with this module's fixtures: they drive plugin_app.
globals().update(scenarios(legacy_scenarios))


@pytest.fixture(scope="module")
def legacy(database_url: str, discord_api: Server, server_logs: Path) -> Iterator[Server]:
    """plugin_app, under the name legacy_app's scenarios give the server under test."""
    env = discord_env(database_url, discord_api, scheduler_enabled="false")
    with run_server(PLUGIN_APP, {**env, "STRANGLER_PLUGIN_ENTRY_POINTS": "false"}, server_logs) as server:
        yield server


@pytest.fixture
def api(legacy: Server) -> Iterator[AsyncApi]:
    with AsyncApi(legacy.url) as client:
        yield client


def test_where_disabled_commands_and_buttons_are_not_available(
    legacy: Server, api: AsyncApi, org: Org, factory: Factory
) -> None:
    q = qualifier_in_channel(api, org, {"Standard": 2})
    runner = org.member
    assert start(runner, "Standard", q, legacy) == seed_reply("Standard")
    race_id = races_of(factory, q.id, runner)[0]["id"]
    thread = thread_of(factory, race_id)
    before = races_of(factory, q.id, runner)
    pool_id = q.pools["Standard"]["id"]
    elsewhere = Org.make(factory)
    served = qualifier_in_channel(api, elsewhere, {"Other": 1})

    admin = PluginAdmin(legacy, org.global_admin.headers)
    assert admin.disable(PLUGIN_ID, org.id).status_code == 200
    try:
        interactions = [
            command(name, *options, user=user, channel=channel)
            for channel in (q.channel, thread)
            for user in (runner, org.manager)
            for name, options in [
                ("async_post_embed", []),
                ("async_start", [option("pool", "Standard")]),
                ("async_finish", []),
                ("async_forfeit", []),
                ("async_extend_timeout", [option("minutes", 10)]),
                ("async_calculate_scores", []),
            ]
        ]
        # A button's qualifier decides, wherever it is clicked.
        for channel in (q.channel, snowflake()):
            interactions.append(click(f"async_start:{q.id}", user=runner, channel=channel))
            interactions.append(click(f"async_start_pool:{q.id}:{pool_id}", user=runner, channel=channel))
        for payload in interactions:
            assert reply(legacy, payload) == ephemeral(NOT_AVAILABLE), payload["data"]
        assert races_of(factory, q.id, runner) == before  # untouched (no timeout extended either)
        # Another organization's channel is served as before.
        assert start(elsewhere.member, "Other", served, legacy) == seed_reply("Other")
    finally:
        assert admin.enable(PLUGIN_ID, org.id).status_code == 200
    assert reply(legacy, command("async_forfeit", user=runner, channel=thread)) == ephemeral(FORFEITED)
    status = execute(factory, "SELECT status FROM async_qualifier_races WHERE id = ?", race_id)
    assert status == [{"status": "forfeit"}]
