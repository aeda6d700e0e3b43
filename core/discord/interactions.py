"""Discord interactions served over HTTP with discord.py's own app_commands.

Discord can deliver interactions as HTTP POSTs and take the interaction response as the
HTTP reply. discord.py only knows the gateway, so `InteractionEndpoint` drives its pieces
by hand:

- A `discord.Client` that never logs in or connects: the application id comes from
  settings, the bot user is made up locally (id = application id), and the client's loop
  is bound with `async with client` at start-up.
- `handle(payload)` builds a `discord.Interaction` from Discord's JSON with the library's
  own parser and runs it through `CommandTree._call` (what `parse_interaction_create` would
  schedule) in a task whose context carries a private `AsyncWebhookAdapter`. discord.py
  reaches Discord for every interaction response through the adapter held in the
  `discord.webhook.async_.async_context` context variable, so the adapter's
  `create_interaction_response` is where the payload the library would POST to
  `/interactions/{id}/{token}/callback` is taken and returned as the HTTP reply instead.
- Component clicks and modal submits are routed by custom_id prefix to handlers added with
  `add_component_handler`; discord.py's in-memory view store is switched off, because a
  click may reach another process (or the other app) than the one that sent the button.
  Views are still the way to *render* buttons.
- Any other webhook call of an interaction (follow-ups, editing the original reply after
  `defer()`) goes to Discord's REST API through the app's `DiscordNotifier` session, so it
  is captured in a dry-run and withheld when no bot token is configured.
- In a dry run (core.dry_run) the task inherits the request's transaction and capture,
  and is handed to the dry run, whose rollback waits for it: the work a command does after
  its reply is rolled back too.

Limits:
- Relies on a few private discord.py names - `CommandTree._call`, `Client._get_state`,
  `Client._connection` and the adapter context variable - stable through 2.x and pinned by
  tests/test_core_discord.py; re-run it when upgrading discord.py. Every reply is built by
  discord.py, so the wire format stays the library's.
- The reply must exist within `response_deadline_s` (Discord allows 3 s): a command that
  needs longer must `defer()` and follow up. A command that raises, never answers or is
  late gets an ephemeral error reply; late work keeps running, its late reply is refused.
- Files cannot be attached to the HTTP reply; send them in a follow-up.
- No gateway: no cache of guilds, members or channels beyond what the payload carries.
  `interaction.user` (a Member in a guild, a User in a DM), `interaction.channel_id` and
  `interaction.guild_id` are always there; `interaction.channel` is the payload's channel
  (a `PartialMessageable` when the payload carries only its id and type) and
  `interaction.guild` a partial guild. Anything else (roles by name, other members) needs
  the REST API.
- Signatures are not verified here: the proxy in front checks Discord's Ed25519 signature.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import discord
from discord import app_commands
from discord.http import Route
from discord.state import ConnectionState
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from core.discord.outbound import DiscordNotifier, OutboundCall, OutboundKind, OutboundOutcome
from core.dry_run.scope import current_dry_run
from core.errors import DomainError

log = logging.getLogger(__name__)

RESPONSE_DEADLINE_S = 2.5
EPHEMERAL = 64  # discord.MessageFlags.ephemeral
# Discord sends these with every interaction; older or hand-made payloads may lack them.
PAYLOAD_DEFAULTS: dict[str, Any] = {"version": 1, "attachment_size_limit": 10 * 1024 * 1024}

ComponentHandler = Callable[[discord.Interaction], Awaitable[None]]
_Type = discord.InteractionType
_DISPATCHED = {_Type.application_command, _Type.autocomplete, _Type.component, _Type.modal_submit}


class MalformedInteraction(DomainError):
    """The body is not an interaction this endpoint can read (400)."""


class InteractionExpired(discord.DiscordException):
    """Raised to a command that replies after its reply was already sent (an error reply
    after the deadline, or because it had failed): Discord no longer takes one."""


class Failure(StrEnum):
    """Why an interaction got an error reply; the value is what the user reads."""

    UNKNOWN_COMMAND = "Unknown command."
    UNKNOWN_COMPONENT = "This button is no longer available."
    NOT_ALLOWED = "You are not allowed to use this command."
    FAILED = "Something went wrong while running this command."
    NO_REPLY = "The command finished without replying."
    TIMED_OUT = "The command took too long to respond."


def failure_reply(kind: discord.InteractionType, failure: Failure) -> dict[str, Any]:
    if kind is _Type.autocomplete:
        return {"type": discord.InteractionResponseType.autocomplete_result.value, "data": {"choices": []}}
    return {
        "type": discord.InteractionResponseType.channel_message.value,
        "data": {"content": failure.value, "flags": EPHEMERAL},
    }


class _OfflineState(ConnectionState):
    def store_view(self, view: Any, message_id: int | None = None) -> None:
        """Views only render components here; clicks are routed by custom_id prefix. Storing
        them would keep every view (and its timeout task) alive for nothing."""


class _OfflineClient(discord.Client):
    def _get_state(self, **options: Any) -> ConnectionState:
        return _OfflineState(
            dispatch=self.dispatch, handlers=self._handlers, hooks=self._hooks, http=self.http, **options
        )


_ERROR_KEY = "core.discord.error"


class _EndpointTree(app_commands.CommandTree):
    """Keeps the error on the interaction so the error reply can say what went wrong, and
    logs it through our logger: discord.py's own logger has only a NullHandler."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        interaction.extras[_ERROR_KEY] = error
        name = interaction.command.qualified_name if interaction.command else "?"
        if isinstance(error, app_commands.CheckFailure):
            log.info("check failed for /%s: %s", name, error)
        else:
            log.error("command /%s failed", name, exc_info=error)


class _InteractionAdapter(AsyncWebhookAdapter):
    """discord.py's webhook adapter for one interaction: the first response becomes the
    HTTP reply; every other webhook call goes out through the notifier."""

    def __init__(self, reply: asyncio.Future[dict[str, Any]], notifier: DiscordNotifier) -> None:
        super().__init__()
        self._reply = reply
        self._notifier = notifier

    async def create_interaction_response(  # type: ignore[override]
        self,
        interaction_id: int,
        token: str,
        *,
        session: Any,
        proxy: Any = None,
        proxy_auth: Any = None,
        params: Any,
    ) -> dict[str, Any]:
        if self._reply.done():
            raise InteractionExpired("this interaction has already been answered (error reply or deadline)")
        if params.files:
            raise discord.DiscordException(
                "files cannot be attached to an HTTP interaction reply; use a follow-up"
            )
        payload: dict[str, Any] = params.payload
        self._reply.set_result(payload)
        flags = (payload.get("data") or {}).get("flags", 0)
        return {
            "interaction": {
                "id": str(interaction_id),
                "response_message_loading": payload["type"]
                == discord.InteractionResponseType.deferred_channel_message.value,
                "response_message_ephemeral": bool(flags & EPHEMERAL),
            }
        }

    async def request(self, route: Route, session: Any, **kwargs: Any) -> Any:
        path = route.url.removeprefix(Route.BASE)
        body = kwargs.get("payload")
        if self._notifier.divert(OutboundKind.INTERACTION_WEBHOOK, route.method, path, body):
            return _stand_in_message(route, body)
        rebased = copy.copy(route)
        rebased.url = self._notifier.api_base + path
        try:
            data = await super().request(rebased, self._notifier.session, **kwargs)
        except (discord.HTTPException, OSError, TimeoutError) as exc:
            self._record(route.method, path, body, OutboundOutcome.FAILED, getattr(exc, "status", None))
            raise
        self._record(route.method, path, body, OutboundOutcome.SENT, None)
        return data

    def _record(
        self, method: str, path: str, body: Any, outcome: OutboundOutcome, status: int | None
    ) -> None:
        call = OutboundCall(OutboundKind.INTERACTION_WEBHOOK, method, path, body, outcome, status)
        self._notifier.record(call)


def _stand_in_message(route: Route, body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What Discord would answer to a withheld follow-up, so the command carries on."""
    if route.method == "DELETE":
        return None
    body = body or {}
    return {
        "id": "0",
        "channel_id": "0",
        "type": 0,
        "author": {
            "id": str(route.webhook_id or 0),
            "username": "withheld",
            "discriminator": "0",
            "avatar": None,
        },
        "content": body.get("content") or "",
        "embeds": body.get("embeds") or [],
        "components": body.get("components") or [],
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "flags": body.get("flags") or 0,
        "timestamp": datetime.now(UTC).isoformat(),
        "edited_timestamp": None,
    }


class InteractionEndpoint:
    """Serves Discord interactions with a discord.py `CommandTree`, offline.

    Add commands to `tree` (ordinary `app_commands.Command`/`Group` objects) and component
    handlers with `add_component_handler`; call `start()` once a loop runs, then
    `await handle(payload)` per interaction.
    """

    def __init__(
        self,
        *,
        application_id: int,
        notifier: DiscordNotifier,
        response_deadline_s: float = RESPONSE_DEADLINE_S,
    ) -> None:
        self.application_id = application_id
        self.notifier = notifier
        self.response_deadline_s = response_deadline_s
        # No gateway, so no voice: silence discord.py's start-up warning about voice extras.
        discord.VoiceClient.warn_dave = False
        # Intents only shape gateway traffic; `guilds` keeps discord.py from warning.
        self.client: discord.Client = _OfflineClient(
            intents=discord.Intents(guilds=True), application_id=application_id
        )
        self.tree: app_commands.CommandTree = _EndpointTree(self.client)
        self._component_handlers: dict[str, ComponentHandler] = {}
        self._tasks: set[asyncio.Task[Failure | None]] = set()
        self._started = False

    async def start(self) -> None:
        """Bind the client to the running loop and give it a bot user, without logging in."""
        if self._started:
            return
        await self.client.__aenter__()
        state = self.client._connection
        state.user = discord.ClientUser(
            state=state,
            data={
                "id": str(self.application_id),
                "username": "bot",
                "discriminator": "0",
                "avatar": None,
                "bot": True,
            },
        )
        self._started = True

    async def close(self) -> None:
        """Cancel commands still running after their reply, then close the client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._started:
            await self.client.__aexit__(None, None, None)
            self._started = False

    def add_component_handler(self, custom_id_prefix: str, handler: ComponentHandler) -> None:
        """Route component clicks and modal submits whose custom_id starts with the prefix to
        `handler(interaction)`; the longest matching prefix wins. The handler reads the rest
        from `interaction.custom_id` and answers through `interaction.response`."""
        if not custom_id_prefix:
            raise ValueError("a component handler needs a non-empty custom_id prefix")
        if custom_id_prefix in self._component_handlers:
            raise ValueError(f"a component handler for custom_id prefix {custom_id_prefix!r} already exists")
        self._component_handlers[custom_id_prefix] = handler

    def component(self, custom_id_prefix: str) -> Callable[[ComponentHandler], ComponentHandler]:
        """Decorator form of `add_component_handler`."""

        def register(handler: ComponentHandler) -> ComponentHandler:
            self.add_component_handler(custom_id_prefix, handler)
            return handler

        return register

    async def handle(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Discord's interaction JSON in, the interaction response JSON out.

        Raises `MalformedInteraction` for a body that is not a readable interaction; every
        other outcome (unknown command, a command that fails or is late) is a reply.
        """
        kind = _interaction_type(payload)
        if kind is _Type.ping:
            return {"type": discord.InteractionResponseType.pong.value}
        if not self._started:
            raise RuntimeError("InteractionEndpoint.handle() before start()")
        interaction = self._parse(payload, kind)

        loop = asyncio.get_running_loop()
        reply: asyncio.Future[dict[str, Any]] = loop.create_future()
        context = contextvars.copy_context()
        context.run(async_context.set, _InteractionAdapter(reply, self.notifier))
        task = loop.create_task(self._dispatch(interaction, kind), context=context)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if (dry_run := current_dry_run()) is not None:
            # The work after the reply runs in the dry run's transaction: it must end first.
            dry_run.finish_before_rollback(task)

        done, _ = await asyncio.wait(
            {reply, task}, timeout=self.response_deadline_s, return_when=asyncio.FIRST_COMPLETED
        )
        if reply.done():
            return reply.result()
        if task in done:
            failure = _failure_of(task)
        else:
            failure = Failure.TIMED_OUT
            log.warning("no reply to %s within %.1fs", _describe(interaction), self.response_deadline_s)
        # Settling the future makes a late `interaction.response` call raise InteractionExpired.
        reply.set_result(failure_reply(kind, failure))
        return reply.result()

    def _parse(self, payload: Mapping[str, Any], kind: discord.InteractionType) -> discord.Interaction:
        _check_shape(payload, kind)
        data = {**PAYLOAD_DEFAULTS, **payload}
        state = self.client._connection
        try:
            return discord.Interaction(data=data, state=state)  # type: ignore[arg-type]
        except Exception as exc:
            # discord.py reads the payload by plain indexing, so any shape error surfaces here.
            if not isinstance(data.get("channel"), Mapping):
                raise MalformedInteraction(f"Malformed interaction: {_short(exc)}") from exc
            first_error = exc
        # A partial channel (Discord only promises id and type) is not enough for
        # discord.py's channel classes: read the rest and keep the channel by id.
        raw_channel = data.pop("channel")
        try:
            interaction = discord.Interaction(data=data, state=state)  # type: ignore[arg-type]
            channel_id = int(raw_channel["id"])
        except Exception as exc:
            raise MalformedInteraction(f"Malformed interaction: {_short(first_error)}") from exc
        channel_type = discord.enums.try_enum(discord.ChannelType, raw_channel.get("type"))
        interaction.channel = self.client.get_partial_messageable(
            channel_id,
            guild_id=interaction.guild_id,
            type=channel_type if isinstance(channel_type, discord.ChannelType) else None,
        )
        return interaction

    async def _dispatch(
        self, interaction: discord.Interaction, kind: discord.InteractionType
    ) -> Failure | None:
        """Run the interaction; a Failure when it ended without a reply of its own. Never
        raises: the task may outlive the request, and nobody would collect its error."""
        try:
            if kind in (_Type.component, _Type.modal_submit):
                return await self._run_component(interaction)
            return await self._run_command(interaction)
        except Exception:
            log.exception("interaction %s failed", _describe(interaction))
            return Failure.FAILED

    async def _run_command(self, interaction: discord.Interaction) -> Failure | None:
        try:
            await self.tree._call(interaction)  # type: ignore[attr-defined]
        except app_commands.CommandNotFound as exc:
            log.info("unknown command /%s", exc.name)
            return Failure.UNKNOWN_COMMAND
        except app_commands.AppCommandError as exc:
            await self.tree.on_error(interaction, exc)
            return Failure.FAILED
        if interaction.command_failed:
            error = interaction.extras.get(_ERROR_KEY)
            allowed = error is not None and not isinstance(error, app_commands.CheckFailure)
            return Failure.FAILED if allowed else Failure.NOT_ALLOWED
        return None if interaction.response.is_done() else Failure.NO_REPLY

    async def _run_component(self, interaction: discord.Interaction) -> Failure | None:
        custom_id = interaction.custom_id or ""
        matches = [prefix for prefix in self._component_handlers if custom_id.startswith(prefix)]
        if not matches:
            log.info("no component handler for custom_id %r", custom_id)
            return Failure.UNKNOWN_COMPONENT
        await self._component_handlers[max(matches, key=len)](interaction)
        return None if interaction.response.is_done() else Failure.NO_REPLY


def _interaction_type(payload: Mapping[str, Any]) -> discord.InteractionType:
    raw = payload.get("type")
    if type(raw) is not int:
        raise MalformedInteraction("An interaction needs an integer 'type'")
    try:
        kind = discord.InteractionType(raw)  # type: ignore[call-arg]
    except ValueError:
        kind = None
    if kind is not _Type.ping and kind not in _DISPATCHED:
        raise MalformedInteraction(f"Unsupported interaction type {raw}")
    return kind


def _check_shape(payload: Mapping[str, Any], kind: discord.InteractionType) -> None:
    """What the dispatch reads later, checked up front so a bad body is a 400, not an error reply."""
    for key in ("id", "application_id", "token"):
        if not isinstance(payload.get(key), str | int) or isinstance(payload.get(key), bool):
            raise MalformedInteraction(f"An interaction needs '{key}'")
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise MalformedInteraction("An interaction needs a 'data' object")
    needed = "custom_id" if kind in (_Type.component, _Type.modal_submit) else "name"
    if not isinstance(data.get(needed), str):
        raise MalformedInteraction(f"An interaction of type {kind.value} needs 'data.{needed}'")


def _failure_of(task: asyncio.Task[Failure | None]) -> Failure:
    if task.cancelled():
        return Failure.FAILED
    return task.result() or Failure.NO_REPLY


def _describe(interaction: discord.Interaction) -> str:
    if interaction.custom_id is not None:
        return f"custom_id {interaction.custom_id!r}"
    return f"/{interaction.data.get('name') if interaction.data else '?'}"


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]
