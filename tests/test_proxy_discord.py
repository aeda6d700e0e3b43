"""proxy.discord_signature + discord_routing: interactions are checked against Discord's
Ed25519 signature (unsigned or tampered ones get 401 and reach no app), PING is answered
by the proxy, and commands and component clicks are routed per organization, found from
the channel (or its thread parent) and then the guild. Real servers: two echo apps behind
a real proxy; the test plays Discord with its own key pair."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from proxy.modes import Surface
from tests.proxy_support import DiscordSigner, flag_document, interaction, run_echo, run_proxy, write_flags
from tests.servers import Server

PLUGIN_ORG, LEGACY_ORG = 4, 1
QUALIFIER_CHANNEL, THREAD, OTHER_CHANNEL = 900_001, 900_002, 900_003
PLUGIN_GUILD, LEGACY_GUILD = 800_001, 800_002
OWNERS = {
    f"discord_channel:{QUALIFIER_CHANNEL}": PLUGIN_ORG,
    f"discord_channel:{OTHER_CHANNEL}": LEGACY_ORG,
    f"discord_guild:{PLUGIN_GUILD}": PLUGIN_ORG,
    f"discord_guild:{LEGACY_GUILD}": LEGACY_ORG,
}


@pytest.fixture(scope="module")
def discord() -> DiscordSigner:
    return DiscordSigner()


@pytest.fixture(scope="module")
def bridge() -> DiscordSigner:
    return DiscordSigner()


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("proxy-discord-logs")
    with run_echo("legacy", logs, OWNERS) as legacy, run_echo("plugin", logs) as plugin:
        yield legacy, plugin


@pytest.fixture(scope="module")
def proxy(
    backends: tuple[Server, Server],
    discord: DiscordSigner,
    bridge: DiscordSigner,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    legacy, plugin = backends
    flags = tmp_path_factory.mktemp("flags") / "flags.json"
    write_flags(
        flags, flag_document({Surface.ASYNC_QUALIFIER_DISCORD: {PLUGIN_ORG: "plugin", LEGACY_ORG: "legacy"}})
    )
    with run_proxy(
        legacy.log_path.parent,
        legacy_url=legacy.url,
        plugin_url=plugin.url,
        flags_path=flags,
        extra_env={
            "STRANGLER_DISCORD_PUBLIC_KEY": discord.public_key,
            "STRANGLER_DISCORD_BRIDGE_PUBLIC_KEY": bridge.public_key,
        },
    ) as server:
        yield server


def _interactions_seen(backends: tuple[Server, Server]) -> int:
    return sum(httpx.get(server.url + "/_echo/interactions").json()["count"] for server in backends)


def _send(proxy: Server, signer: DiscordSigner, body: bytes) -> httpx.Response:
    return httpx.post(proxy.url + "/discord/interactions", content=body, headers=signer.headers(body))


def test_ping_is_answered_by_the_proxy(
    proxy: Server, discord: DiscordSigner, backends: tuple[Server, Server]
) -> None:
    before = _interactions_seen(backends)
    response = _send(proxy, discord, interaction())
    assert response.status_code == 200 and response.json() == {"type": 1}
    assert _interactions_seen(backends) == before


def test_unsigned_or_tampered_interactions_get_401_and_reach_no_app(
    proxy: Server, discord: DiscordSigner, backends: tuple[Server, Server]
) -> None:
    body = interaction(command="async_start", channel_id=QUALIFIER_CHANNEL, guild_id=PLUGIN_GUILD)
    signed = discord.headers(body)
    impostor = DiscordSigner()
    before = _interactions_seen(backends)
    attempts = [
        {"Content-Type": "application/json"},  # unsigned
        {**signed, "X-Signature-Ed25519": ""},
        {k: v for k, v in signed.items() if k != "X-Signature-Timestamp"},
        {**signed, "X-Signature-Timestamp": str(int(signed["X-Signature-Timestamp"]) + 1)},
        {**signed, "X-Signature-Ed25519": "zz" * 64},  # not hex
        {**signed, "X-Signature-Ed25519": signed["X-Signature-Ed25519"][:-2]},  # short
        impostor.headers(body),  # signed by someone else
    ]
    for headers in attempts:
        response = httpx.post(proxy.url + "/discord/interactions", content=body, headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"detail": "invalid request signature"}
    tampered = body.replace(b"async_start", b"async_finish")
    response = httpx.post(proxy.url + "/discord/interactions", content=tampered, headers=signed)
    assert response.status_code == 401
    assert _interactions_seen(backends) == before


def test_commands_and_components_are_routed_per_organization(proxy: Server, discord: DiscordSigner) -> None:
    cases = [
        # (interaction, the backend expected to answer)
        (interaction(command="async_start", channel_id=QUALIFIER_CHANNEL, guild_id=LEGACY_GUILD), "plugin"),
        (interaction(command="async_finish", channel_id=OTHER_CHANNEL, guild_id=PLUGIN_GUILD), "legacy"),
        (interaction(command="async_forfeit", channel_id=555, guild_id=PLUGIN_GUILD), "plugin"),  # by guild
        (interaction(command="async_post_embed", channel_id=555, guild_id=LEGACY_GUILD), "legacy"),
        (
            interaction(custom_id="async_start:41", channel_id=QUALIFIER_CHANNEL, guild_id=PLUGIN_GUILD),
            "plugin",
        ),
        (interaction(command="async_start", channel_id=555, guild_id=777), "legacy"),  # nowhere known
        (
            interaction(command="some_other_command", channel_id=QUALIFIER_CHANNEL, guild_id=PLUGIN_GUILD),
            "legacy",
        ),
        (interaction(custom_id="toy:press:1", channel_id=QUALIFIER_CHANNEL, guild_id=PLUGIN_GUILD), "legacy"),
        (
            interaction(command="async_start", channel_id=QUALIFIER_CHANNEL),
            "plugin",
        ),  # a DM-less user payload
    ]
    for body, expected in cases:
        response = _send(proxy, discord, body)
        assert response.status_code == 200
        label = json.loads(body)["data"].get("name") or json.loads(body)["data"]["custom_id"]
        assert response.json() == {"type": 4, "data": {"content": f"{expected}: {label}"}}, label
        assert response.headers["x-strangler-backend"] == expected


def test_a_race_thread_is_placed_by_its_parent_channel(proxy: Server, discord: DiscordSigner) -> None:
    payload = json.loads(
        interaction(command="async_extend_timeout", channel_id=THREAD, guild_id=LEGACY_GUILD)
    )
    payload["channel"] = {"id": str(THREAD), "type": 11, "parent_id": str(QUALIFIER_CHANNEL)}
    body = json.dumps(payload).encode()
    response = _send(proxy, discord, body)
    assert response.json()["data"]["content"] == "plugin: async_extend_timeout"


def test_the_bridge_key_is_trusted_beside_discords(proxy: Server, bridge: DiscordSigner) -> None:
    response = _send(proxy, bridge, interaction(command="async_start", channel_id=QUALIFIER_CHANNEL))
    assert response.json()["data"]["content"] == "plugin: async_start"


def test_signed_garbage_is_a_400(proxy: Server, discord: DiscordSigner) -> None:
    for body in (b"not json", b"[1, 2]", b'{"type": "2"}'):
        response = _send(proxy, discord, body)
        assert response.status_code == 400
        assert "detail" in response.json()
