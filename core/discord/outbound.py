"""Messages the app sends to Discord on its own initiative: a message to a channel or
thread, a thread for a race, and (through `InteractionEndpoint`) an interaction's
follow-ups. Everything outbound goes through one `DiscordNotifier` per app, which owns the
one HTTP session and a bounded record of what it did.

Three ways an outbound call can end, recorded as `OutboundOutcome`:

    SENT / FAILED    a bot token is configured: the call went to Discord's REST API
    NOT_CONFIGURED   no bot token: the call is logged and recorded, nothing is sent
    CAPTURED         inside `capture_outbound()`: collected into the capture list

`capture_outbound()` is the seam for dry-run requests (a mirrored request must not post to
Discord): the app's dry-run boundary wraps the request in it, every outbound call made in
that context - including calls from tasks the request spawns, which inherit the context -
is appended to the yielded list instead of sent, and `create_thread` returns None.

Sending never raises: a refused or failed call is logged and recorded as FAILED, because
the domain action that triggered it (a race started, a timeout applied) has already
happened and must not be undone by a chat message that did not go out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import aiohttp
import discord

log = logging.getLogger(__name__)

HISTORY_SIZE = 200
REQUEST_TIMEOUT_S = 10.0
# One retry after a 429, and only when Discord asks for a short wait: a scheduled task
# must not stall behind a long rate limit.
MAX_RETRY_AFTER_S = 5.0
THREAD_NAME_LIMIT = 100
THREAD_ARCHIVE_MINUTES = 1440
USER_AGENT = "DiscordBot (https://github.com/strangler, 0.1)"


class OutboundKind(StrEnum):
    MESSAGE = "message"
    THREAD = "thread"
    THREAD_MEMBER = "thread_member"
    INTERACTION_WEBHOOK = "interaction_webhook"


class OutboundOutcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    NOT_CONFIGURED = "not_configured"
    CAPTURED = "captured"


@dataclass(frozen=True)
class OutboundCall:
    """One call to Discord's REST API, made or withheld."""

    kind: OutboundKind
    method: str
    path: str
    body: Mapping[str, Any] | None
    outcome: OutboundOutcome
    status: int | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "method": self.method,
            "path": self.path,
            "body": dict(self.body) if self.body is not None else None,
            "outcome": self.outcome.value,
            "status": self.status,
            "at": self.at.isoformat(),
        }


_captured: ContextVar[list[OutboundCall] | None] = ContextVar("discord_outbound_capture", default=None)


@contextmanager
def capture_outbound() -> Iterator[list[OutboundCall]]:
    """Inside this block (and in tasks started from it) outbound calls are collected into
    the yielded list instead of sent to Discord."""
    calls: list[OutboundCall] = []
    token = _captured.set(calls)
    try:
        yield calls
    finally:
        _captured.reset(token)


class DiscordNotifier:
    """Sends to Discord's REST API with the bot token; one per app, started and closed by
    the app's lifespan."""

    def __init__(
        self,
        *,
        api_base: str,
        bot_token: str | None,
        history_size: int = HISTORY_SIZE,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._bot_token = bot_token or None
        self._timeout_s = timeout_s
        self._history: deque[OutboundCall] = deque(maxlen=history_size)
        self._session: aiohttp.ClientSession | None = None

    @property
    def configured(self) -> bool:
        return self._bot_token is not None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("DiscordNotifier used before start()")
        return self._session

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                headers={"User-Agent": USER_AGENT},
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def recent(self) -> list[OutboundCall]:
        """The last outbound calls, oldest first (bounded; for diagnostics)."""
        return list(self._history)

    async def send_message(
        self, channel_id: int, content: str, *, embed: discord.Embed | None = None
    ) -> None:
        """Post a message to a channel or thread."""
        body: dict[str, Any] = {"content": content}
        if embed is not None:
            body["embeds"] = [embed.to_dict()]
        await self._call(OutboundKind.MESSAGE, "POST", f"/channels/{channel_id}/messages", body)

    async def create_thread(self, channel_id: int, name: str, *, private: bool = False) -> int | None:
        """Open a thread (not attached to a message) in a text channel; its id, or None when
        nothing was sent or Discord refused."""
        thread_type = discord.ChannelType.private_thread if private else discord.ChannelType.public_thread
        body: dict[str, Any] = {
            "name": name[:THREAD_NAME_LIMIT],
            "type": thread_type.value,
            "auto_archive_duration": THREAD_ARCHIVE_MINUTES,
        }
        if private:
            body["invitable"] = False
        data = await self._call(OutboundKind.THREAD, "POST", f"/channels/{channel_id}/threads", body)
        try:
            return int(data["id"]) if isinstance(data, Mapping) else None
        except (KeyError, TypeError, ValueError):
            log.warning("Discord answered a thread creation without a usable id: %r", data)
            return None

    async def add_thread_member(self, thread_id: int, user_id: int) -> None:
        """Add a user to a thread (needed for private threads)."""
        await self._call(
            OutboundKind.THREAD_MEMBER, "PUT", f"/channels/{thread_id}/thread-members/{user_id}", None
        )

    def divert(self, kind: OutboundKind, method: str, path: str, body: Mapping[str, Any] | None) -> bool:
        """Record the call and say True when it must not be sent: captured for a dry-run, or
        no bot token configured. Package-internal; the interaction endpoint uses it for
        follow-ups, which go out through discord.py's own webhook adapter."""
        captured = _captured.get()
        if captured is not None:
            call = OutboundCall(kind, method, path, body, OutboundOutcome.CAPTURED)
            captured.append(call)
            self.record(call)
            log.debug("captured outbound Discord call %s %s", method, path)
            return True
        if not self.configured:
            self.record(OutboundCall(kind, method, path, body, OutboundOutcome.NOT_CONFIGURED))
            log.info("no Discord bot token configured; not sending %s %s: %s", method, path, body)
            return True
        return False

    def record(self, call: OutboundCall) -> None:
        self._history.append(call)

    async def _call(self, kind: OutboundKind, method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        if self.divert(kind, method, path, body):
            return None
        headers = {"Authorization": f"Bot {self._bot_token}"}
        status: int | None = None
        try:
            for attempt in range(2):
                async with self.session.request(
                    method, self.api_base + path, json=body, headers=headers
                ) as resp:
                    status = resp.status
                    data = await resp.json(content_type=None)
                retry_after = _retry_after(data) if status == 429 and attempt == 0 else None
                if retry_after is None:
                    break
                await asyncio.sleep(retry_after)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # ValueError: a body that is not JSON.
            self.record(OutboundCall(kind, method, path, body, OutboundOutcome.FAILED, status))
            log.warning("Discord call %s %s failed: %r", method, path, exc)
            return None
        if status is None or not 200 <= status < 300:
            self.record(OutboundCall(kind, method, path, body, OutboundOutcome.FAILED, status))
            log.warning("Discord refused %s %s with %s: %r", method, path, status, data)
            return None
        self.record(OutboundCall(kind, method, path, body, OutboundOutcome.SENT, status))
        return data


def _retry_after(data: Any) -> float | None:
    """The wait a 429 asks for, when it is short enough to honour."""
    try:
        wait = float(data["retry_after"])
    except (KeyError, TypeError, ValueError):
        return None
    return wait if 0 <= wait <= MAX_RETRY_AFTER_S else None
