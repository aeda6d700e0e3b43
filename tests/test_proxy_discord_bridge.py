"""proxy.discord_bridge: a gateway interaction is handed to the proxy signed with the
bridge's key, routed like any other, and the app's reply goes back to Discord as the
interaction's callback. Discord's gateway cannot be reached here: the test feeds the
client the gateway event discord.py would receive, and a stand-in for Discord's REST API
(the one stand-in allowed) takes the log-in and the callback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import discord
import httpx
import pytest
from nacl.signing import SigningKey

from proxy.discord_bridge import DiscordBridge, InteractionHandOff, new_key_pair, signing_key
from proxy.modes import Surface
from tests.proxy_support import flag_document, interaction, run_echo, run_proxy, write_flags
from tests.servers import Server, run_server

PLUGIN_GUILD = 800_001


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    return new_key_pair()


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, key_pair: tuple[str, str]
) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("bridge-logs")
    flags = tmp_path_factory.mktemp("flags") / "flags.json"
    write_flags(flags, flag_document({Surface.ASYNC_QUALIFIER_DISCORD: {4: "plugin"}}))
    with (
        run_server(
            "tests.proxy_support:fake_discord_api", {}, logs, health_path="/_fake/healthz"
        ) as fake_discord,
        run_echo("legacy", logs, {f"discord_guild:{PLUGIN_GUILD}": 4}) as legacy,
        run_echo("plugin", logs) as plugin,
        run_proxy(
            logs,
            legacy_url=legacy.url,
            plugin_url=plugin.url,
            flags_path=flags,
            extra_env={"STRANGLER_DISCORD_BRIDGE_PUBLIC_KEY": key_pair[1]},
        ) as proxy,
    ):
        yield fake_discord, proxy


async def _relay_through_a_logged_in_bridge(
    fake_discord: Server, proxy: Server, key: SigningKey, event: dict
) -> None:
    original_base = discord.http.Route.BASE
    discord.http.Route.BASE = fake_discord.url + "/api/v10"
    try:
        async with httpx.AsyncClient() as client:
            bridge = DiscordBridge(InteractionHandOff(proxy.url, key, client))
            async with bridge:
                await bridge.login("bot-token")
                await bridge.on_socket_raw_receive(event)
    finally:
        discord.http.Route.BASE = original_base


def test_a_gateway_interaction_is_answered_through_the_proxy(
    servers: tuple[Server, Server], key_pair: tuple[str, str]
) -> None:
    fake_discord, proxy = servers
    payload = json.loads(interaction(command="async_start", channel_id=5, guild_id=PLUGIN_GUILD))
    event = {"op": 0, "s": 3, "t": "INTERACTION_CREATE", "d": payload}
    asyncio.run(_relay_through_a_logged_in_bridge(fake_discord, proxy, signing_key(key_pair[0]), event))

    callbacks = [
        request
        for request in httpx.get(fake_discord.url + "/_fake/requests").json()
        if request["path"] == f"/api/v10/interactions/{payload['id']}/{payload['token']}/callback"
    ]
    assert callbacks == [
        {
            "method": "POST",
            "path": f"/api/v10/interactions/{payload['id']}/{payload['token']}/callback",
            "json": {"type": 4, "data": {"content": "plugin: async_start"}},
        }
    ]


def test_a_bridge_with_another_key_is_refused_and_answers_nothing(servers: tuple[Server, Server]) -> None:
    fake_discord, proxy = servers
    payload = json.loads(interaction(command="async_finish", channel_id=5, guild_id=PLUGIN_GUILD))
    payload["id"] = "1100000000000000999"
    event = {"op": 0, "s": 4, "t": "INTERACTION_CREATE", "d": payload}
    asyncio.run(_relay_through_a_logged_in_bridge(fake_discord, proxy, SigningKey.generate(), event))
    paths = [request["path"] for request in httpx.get(fake_discord.url + "/_fake/requests").json()]
    assert not any(payload["id"] in path for path in paths)


def test_other_gateway_events_are_ignored(servers: tuple[Server, Server], key_pair: tuple[str, str]) -> None:
    fake_discord, proxy = servers
    before = len(httpx.get(fake_discord.url + "/_fake/requests").json())
    event = {"op": 0, "s": 5, "t": "MESSAGE_CREATE", "d": {"id": "1", "content": "hi"}}
    asyncio.run(_relay_through_a_logged_in_bridge(fake_discord, proxy, signing_key(key_pair[0]), event))
    requests = httpx.get(fake_discord.url + "/_fake/requests").json()[before:]
    assert all(not request["path"].startswith("/api/v10/interactions/") for request in requests)


def test_a_bad_signing_key_is_named() -> None:
    with pytest.raises(ValueError, match="STRANGLER_DISCORD_BRIDGE_SIGNING_KEY"):
        signing_key("not-hex")
