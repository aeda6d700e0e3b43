"""`strangler discord-bridge`: for a bot on Discord's gateway rather than an interactions
URL. A discord.py client receives each INTERACTION_CREATE, hands the raw interaction to
the proxy's `POST /discord/interactions` (so it is routed exactly like one Discord POSTs
there) and sends the app's reply back as the interaction's callback.

The proxy trusts only signed interactions, so the bridge signs what it hands over with its
own Ed25519 key, the way Discord does (timestamp + body); the proxy is given the bridge's
public key (STRANGLER_DISCORD_BRIDGE_PUBLIC_KEY) beside Discord's. The gateway connection
itself is authenticated by the bot token.

The raw payload is taken from discord.py's `on_socket_raw_receive` (enable_debug_events),
the library's public way to see gateway events as Discord sent them; the client keeps no
command tree, so discord.py itself never answers an interaction.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import discord
import httpx
import orjson
from discord.http import Route
from nacl.signing import SigningKey

logger = logging.getLogger(__name__)

HAND_OFF_TIMEOUT_S = 2.5  # Discord drops an interaction not answered within 3 s
INTERACTION_CREATE = "INTERACTION_CREATE"


def signing_key(hex_seed: str) -> SigningKey:
    try:
        return SigningKey(bytes.fromhex(hex_seed))
    except ValueError as exc:
        raise ValueError(f"STRANGLER_DISCORD_BRIDGE_SIGNING_KEY is not a hex Ed25519 seed: {exc}") from None


def new_key_pair() -> tuple[str, str]:
    """(signing seed, public key), both hex: the bridge keeps the first, the proxy gets the second."""
    key = SigningKey.generate()
    return key.encode().hex(), key.verify_key.encode().hex()


class InteractionHandOff:
    """Hands one interaction to the proxy, signed; returns the reply to send back, or None."""

    def __init__(self, proxy_url: str, key: SigningKey, client: httpx.AsyncClient) -> None:
        self._url = proxy_url.rstrip("/") + "/discord/interactions"
        self._key = key
        self._client = client

    async def __call__(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        body = orjson.dumps(payload)
        timestamp = str(int(time.time())).encode()
        signature = self._key.sign(timestamp + body).signature.hex()
        try:
            response = await self._client.post(
                self._url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Signature-Ed25519": signature,
                    "X-Signature-Timestamp": timestamp.decode(),
                },
                timeout=HAND_OFF_TIMEOUT_S,
            )
        except httpx.HTTPError as exc:
            logger.warning("interaction %s: the proxy did not answer: %s", payload.get("id"), exc)
            return None
        if response.status_code != 200:
            logger.warning(
                "interaction %s: the proxy answered %s: %s",
                payload.get("id"),
                response.status_code,
                response.text,
            )
            return None
        reply = response.json()
        return reply if isinstance(reply, dict) else None


class DiscordBridge(discord.Client):
    def __init__(self, hand_off: InteractionHandOff) -> None:
        super().__init__(intents=discord.Intents.none(), enable_debug_events=True)
        self._hand_off = hand_off

    async def on_socket_raw_receive(self, message: dict[str, Any] | str | bytes) -> None:
        event = message if isinstance(message, dict) else orjson.loads(message)
        if event.get("t") == INTERACTION_CREATE and isinstance(event.get("d"), dict):
            await self.relay(event["d"])

    async def relay(self, payload: dict[str, Any]) -> None:
        """Hand one interaction to the proxy and send its reply as the interaction's callback."""
        reply = await self._hand_off(payload)
        if reply is None:
            return
        route = Route(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            interaction_id=payload["id"],
            interaction_token=payload["token"],
        )
        try:
            await self.http.request(route, json=reply)
        except discord.HTTPException as exc:
            logger.warning("interaction %s: Discord refused the reply: %s", payload["id"], exc)


async def run_bridge(proxy_url: str, bot_token: str, key: SigningKey) -> None:
    async with httpx.AsyncClient() as client:
        bridge = DiscordBridge(InteractionHandOff(proxy_url, key, client))
        async with bridge:
            await bridge.start(bot_token)
