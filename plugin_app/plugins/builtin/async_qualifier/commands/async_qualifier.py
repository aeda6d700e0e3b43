"""The async qualifier system's Discord slash commands and buttons, on discord.py's
app_commands (served over HTTP by core.discord's InteractionEndpoint).

    /async_post_embed                the qualifier's card, with a Start button          anyone
    /async_start pool:<name>         open a pending race; ephemeral reply: the seed     member
    /async_finish                    finish your active race                            its runner
    /async_forfeit                   forfeit your active race                           its runner
    /async_extend_timeout minutes:N  (in a race thread) its timeout N minutes later     manager
    /async_calculate_scores          re-score every permalink of the qualifier          manager

    button "async_start:<qid>"               ephemeral: a button per pool the user can still play
    button "async_start_pool:<qid>:<pid>"    what /async_start does, for that pool

"This channel's qualifier" is the one linked to the channel (`discord_channel_id`), or,
in a race thread, the race's. The organization is that qualifier's; the guild plays no
part. The Discord user is the platform user with that `discord_id` (never created here).
Every check is answered with an ephemeral reply: where (the channel), who (the linked
user), may (manager), then the services' own rules, whose `DomainError` detail is the
reply. Texts and custom_ids are a contract: both apps answer byte-identically.

/async_start replies first and opens the race's private thread afterwards (the reply is
due within Discord's 3 s): the thread is attached to the race, which starts its 20-minute
timeout, and the runner is added and greeted there. Without a bot token, or in a dry-run,
no thread is opened and the race has no timeout.

Copied from legacy_app. The commands are built once at start-up, before the plugin is
loaded, so they reach the services and the notifier through the plugin's runtime when they
run; the plugin system gates them (see `organization.py` for how the organization is found).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import discord
from discord import app_commands

from core.discord import ComponentHandler, DiscordNotifier, Failure
from core.errors import DomainError
from core.models import User
from core.ownership import MAX_BIGINT
from plugin_app.application.schemas.field_types import is_valid_id

from ..models.async_tournament import NAME_LENGTH, AsyncQualifier, AsyncQualifierRace
from ..runtime import AsyncQualifierRuntime
from ..services import AsyncQualifierServices, RaceThread
from ..services.access import Entity, can_manage, not_found
from ..services.clock import Clock, utc_now
from ..services.qualifier_service import QualifierCard

log = logging.getLogger(__name__)

START_BUTTON_PREFIX = "async_start:"  # + qualifier id
POOL_BUTTON_PREFIX = "async_start_pool:"  # + qualifier id + ":" + pool id
# Discord's limits: 25 buttons a message, 80 characters a label, 1024 a field value.
MAX_BUTTONS = 25
MAX_LABEL = 80
MAX_FIELD = 1024
MAX_CARD_DESCRIPTION = 2048  # the whole embed must stay under 6000 characters

SEED = "Your seed for pool '{pool}': {url}"
CHOOSE_POOL = "Choose a pool for your new async run:"
FINISHED = "You finished in {elapsed}. Your run has been submitted."
FORFEITED = "You forfeited your race."
EXTENDED = "Timeout extended by {minutes} minutes: this race now times out <t:{timeout}:f>."
RECALCULATED = "Scores recalculated successfully!"
THREAD_NAME = "{pool} - {user}"
THREAD_WELCOME = (
    "{mention} Your async race in pool '{pool}' is open.\nSeed: {url}\n"
    "It times out <t:{timeout}:R> unless you start it."
)
CARD_BUTTON = "Start New Async Run"
CARD_FOOTER = "Qualifier ID: {qualifier_id}"
HOW_TO_TAKE_PART = (
    "Press **Start New Async Run** below, or use `/async_start pool:<name>`, to receive a seed "
    "you have not played yet. Finish with `/async_finish`, or give up with `/async_forfeit`."
)
ACTIVE_COLOR = 0x2ECC71
INACTIVE_COLOR = 0x95A5A6


class Refusal(StrEnum):
    """Why a command did nothing; the value is the ephemeral reply."""

    NOT_LINKED = "Your Discord account is not linked to a platform account."
    NO_QUALIFIER = "This channel is not linked to an async qualifier."
    NOT_A_RACE_THREAD = "This command only works in the thread of an async race."
    MANAGERS_ONLY = "Only managers of this qualifier's organization can use this command."
    NO_POOLS_LEFT = "You have no pools left to play in this qualifier."
    BUTTON_GONE = Failure.UNKNOWN_COMPONENT.value


class CommandRefused(DomainError):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)


@dataclass(frozen=True)
class Reply:
    """A command's answer; `then` runs after it has been sent."""

    content: str | None
    ephemeral: bool = True
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    then: Callable[[], Awaitable[None]] | None = None

    async def send(self, interaction: discord.Interaction) -> None:
        extras: dict[str, Any] = {}
        if self.embed is not None:
            extras["embed"] = self.embed
        if self.view is not None:
            extras["view"] = self.view
        await interaction.response.send_message(self.content, ephemeral=self.ephemeral, **extras)


class AsyncQualifierCommands:
    """Builds the plugin's commands and component handlers."""

    def __init__(self, runtime: AsyncQualifierRuntime, clock: Clock = utc_now) -> None:
        self._runtime = runtime
        self._clock = clock

    @property
    def _services(self) -> AsyncQualifierServices:
        return self._runtime.services

    @property
    def _notifier(self) -> DiscordNotifier:
        return self._runtime.notifier

    def commands(self) -> list[app_commands.Command[Any, ..., None]]:
        @app_commands.command(name="async_post_embed", description="Post this channel's async qualifier card")
        async def async_post_embed(interaction: discord.Interaction) -> None:
            await self._respond(interaction, lambda: self.post_embed(interaction))

        @app_commands.command(name="async_start", description="Get a seed and open an async race")
        @app_commands.describe(pool="The pool to play")
        async def async_start(interaction: discord.Interaction, pool: str) -> None:
            await self._respond(interaction, lambda: self.start(interaction, pool))

        @app_commands.command(name="async_finish", description="Finish your active async race")
        async def async_finish(interaction: discord.Interaction) -> None:
            await self._respond(interaction, lambda: self.finish(interaction))

        @app_commands.command(name="async_forfeit", description="Forfeit your active async race")
        async def async_forfeit(interaction: discord.Interaction) -> None:
            await self._respond(interaction, lambda: self.forfeit(interaction))

        @app_commands.command(
            name="async_extend_timeout", description="Give this race thread's runner more time to start"
        )
        @app_commands.describe(minutes="Minutes to add to the timeout")
        async def async_extend_timeout(interaction: discord.Interaction, minutes: int) -> None:
            await self._respond(interaction, lambda: self.extend_timeout(interaction, minutes))

        @app_commands.command(name="async_calculate_scores", description="Re-score this async qualifier")
        async def async_calculate_scores(interaction: discord.Interaction) -> None:
            await self._respond(interaction, lambda: self.calculate_scores(interaction))

        return [
            async_post_embed,
            async_start,
            async_finish,
            async_forfeit,
            async_extend_timeout,
            async_calculate_scores,
        ]

    def component_handlers(self) -> Mapping[str, ComponentHandler]:
        async def start_button(interaction: discord.Interaction) -> None:
            await self._respond(interaction, lambda: self.choose_pool(interaction))

        async def pool_button(interaction: discord.Interaction) -> None:
            await self._respond(interaction, lambda: self.start_in_pool(interaction))

        return {START_BUTTON_PREFIX: start_button, POOL_BUTTON_PREFIX: pool_button}

    # -- the commands -----------------------------------------------------------------------

    async def post_embed(self, interaction: discord.Interaction) -> Reply:
        qualifier = await self._qualifier_here(interaction)
        card = await self._services.qualifiers.card(qualifier)
        return Reply(None, ephemeral=False, embed=card_embed(card), view=card_view(card))

    async def start(self, interaction: discord.Interaction, pool: str) -> Reply:
        qualifier = await self._qualifier_here(interaction)
        user = await self._linked_user(interaction)
        if len(pool) > NAME_LENGTH or "\x00" in pool:
            raise not_found(Entity.POOL)  # no pool can have that name; keep it from the database
        race = await self._services.races.open_race_in_pool_named(user, qualifier, pool)
        return self._race_opened(interaction, qualifier, race, pool)

    async def finish(self, interaction: discord.Interaction) -> Reply:
        qualifier = await self._qualifier_here(interaction)
        user = await self._linked_user(interaction)
        race = await self._services.races.finish_active_race(user, qualifier)
        return Reply(FINISHED.format(elapsed=_clock_time(race.elapsed_seconds or 0.0)))

    async def forfeit(self, interaction: discord.Interaction) -> Reply:
        qualifier = await self._qualifier_here(interaction)
        user = await self._linked_user(interaction)
        await self._services.races.forfeit_active_race(user, qualifier)
        return Reply(FORFEITED)

    async def extend_timeout(self, interaction: discord.Interaction, minutes: int) -> Reply:
        race = await self._services.races.race_by_thread(channel_id_of(interaction))
        if race is None:
            raise CommandRefused(Refusal.NOT_A_RACE_THREAD)
        user = await self._linked_user(interaction)
        await self._require_manager(user, race.qualifier)
        race = await self._services.races.extend_timeout(user, race, minutes)
        assert race.thread_timeout_time is not None
        extended = EXTENDED.format(minutes=minutes, timeout=_unix(race.thread_timeout_time))
        return Reply(extended, ephemeral=False)  # public: the runner in the thread should see it

    async def calculate_scores(self, interaction: discord.Interaction) -> Reply:
        qualifier = await self._qualifier_here(interaction)
        user = await self._linked_user(interaction)
        await self._require_manager(user, qualifier)
        await self._services.scoring.recalculate(user, qualifier)
        return Reply(RECALCULATED)

    # -- the buttons ------------------------------------------------------------------------

    async def choose_pool(self, interaction: discord.Interaction) -> Reply:
        ids = _ids_after(interaction, START_BUTTON_PREFIX, 1)
        user = await self._linked_user(interaction)
        qualifier = await self._services.qualifiers.get(user, ids[0])
        pools = await self._services.races.available_pools(user, qualifier)
        if not pools:
            raise CommandRefused(Refusal.NO_POOLS_LEFT)
        view = discord.ui.View(timeout=None)
        for pool in pools[:MAX_BUTTONS]:
            view.add_item(
                discord.ui.Button(
                    label=pool.name[:MAX_LABEL],
                    style=discord.ButtonStyle.primary,
                    custom_id=f"{POOL_BUTTON_PREFIX}{qualifier.id}:{pool.id}",
                )
            )
        return Reply(CHOOSE_POOL, view=view)

    async def start_in_pool(self, interaction: discord.Interaction) -> Reply:
        qualifier_id, pool_id = _ids_after(interaction, POOL_BUTTON_PREFIX, 2)
        user = await self._linked_user(interaction)
        qualifier = await self._services.qualifiers.get(user, qualifier_id)
        pool = await self._services.qualifiers.get_pool(user, pool_id)
        race = await self._services.races.open_race(user, qualifier, pool_id=pool.id)
        return self._race_opened(interaction, qualifier, race, pool.name)

    # -- steps ------------------------------------------------------------------------------

    async def _respond(self, interaction: discord.Interaction, work: Callable[[], Awaitable[Reply]]) -> None:
        try:
            reply = await work()
        except DomainError as exc:
            reply = Reply(exc.detail)
        await reply.send(interaction)
        if reply.then is not None:
            try:
                await reply.then()
            except Exception:
                log.exception("follow-up of %s failed after its reply", _describe(interaction))

    def _race_opened(
        self, interaction: discord.Interaction, qualifier: AsyncQualifier, race: AsyncQualifierRace, pool: str
    ) -> Reply:
        async def open_thread() -> None:
            await self._open_thread(interaction, qualifier, race, pool)

        return Reply(SEED.format(pool=pool, url=race.permalink.url), then=open_thread)

    async def _open_thread(
        self, interaction: discord.Interaction, qualifier: AsyncQualifier, race: AsyncQualifierRace, pool: str
    ) -> None:
        if qualifier.discord_channel_id is None:
            return
        name = THREAD_NAME.format(pool=pool, user=interaction.user.name)
        thread_id = await self._notifier.create_thread(qualifier.discord_channel_id, name, private=True)
        if thread_id is None:
            return
        race = await self._services.races.attach_thread(race, RaceThread(thread_id, opened_at=self._clock()))
        await self._notifier.add_thread_member(thread_id, interaction.user.id)
        assert race.thread_timeout_time is not None
        welcome = THREAD_WELCOME.format(
            mention=interaction.user.mention,
            pool=pool,
            url=race.permalink.url,
            timeout=_unix(race.thread_timeout_time),
        )
        await self._notifier.send_message(thread_id, welcome)

    async def _qualifier_here(self, interaction: discord.Interaction) -> AsyncQualifier:
        channel_id = channel_id_of(interaction)
        qualifier = await self._services.qualifiers.by_discord_channel(channel_id)
        if qualifier is not None:
            return qualifier
        race = await self._services.races.race_by_thread(channel_id)
        if race is None:
            raise CommandRefused(Refusal.NO_QUALIFIER)
        return race.qualifier

    @staticmethod
    async def _linked_user(interaction: discord.Interaction) -> User:
        discord_id = interaction.user.id
        user = await User.get_or_none(discord_id=discord_id) if 0 < discord_id <= MAX_BIGINT else None
        if user is None:
            raise CommandRefused(Refusal.NOT_LINKED)
        return user

    @staticmethod
    async def _require_manager(user: User, qualifier: AsyncQualifier) -> None:
        if not await can_manage(user, qualifier.organization_id):
            raise CommandRefused(Refusal.MANAGERS_ONLY)


def card_embed(card: QualifierCard) -> discord.Embed:
    embed = discord.Embed(
        title=card.name,
        description=card.description[:MAX_CARD_DESCRIPTION] or None,
        color=ACTIVE_COLOR if card.is_active else INACTIVE_COLOR,
    )
    embed.add_field(name="How to take part", value=HOW_TO_TAKE_PART, inline=False)
    embed.add_field(name="Status", value="Active" if card.is_active else "Inactive", inline=True)
    embed.add_field(name="Runs per pool", value=str(card.runs_per_pool), inline=True)
    embed.add_field(name="Re-attempts", value=_reattempts(card.max_reattempts), inline=True)
    embed.add_field(name="Pools", value=(", ".join(card.pool_names) or "None yet")[:MAX_FIELD], inline=False)
    embed.set_footer(text=CARD_FOOTER.format(qualifier_id=card.qualifier_id))
    return embed


def card_view(card: QualifierCard) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label=CARD_BUTTON,
            style=discord.ButtonStyle.success,
            custom_id=f"{START_BUTTON_PREFIX}{card.qualifier_id}",
            disabled=not card.is_active,
        )
    )
    return view


def _reattempts(max_reattempts: int) -> str:
    if max_reattempts < 0:
        return "Unlimited"
    return "None" if max_reattempts == 0 else str(max_reattempts)


def _ids_after(interaction: discord.Interaction, prefix: str, count: int) -> list[int]:
    """The ids a custom_id carries after its prefix; a malformed one is a stale button."""
    parts = (interaction.custom_id or "").removeprefix(prefix).split(":")
    if len(parts) != count or not all(p.isascii() and p.isdigit() and len(p) <= 10 for p in parts):
        raise CommandRefused(Refusal.BUTTON_GONE)
    ids = [int(p) for p in parts]
    if not all(is_valid_id(i) for i in ids):
        raise CommandRefused(Refusal.BUTTON_GONE)
    return ids


def channel_id_of(interaction: discord.Interaction) -> int:
    # Discord sends channel_id with every command and click; 0 matches nothing.
    channel_id = interaction.channel_id or 0
    return channel_id if 0 < channel_id <= MAX_BIGINT else 0


def _clock_time(seconds: float) -> str:
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}"


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _describe(interaction: discord.Interaction) -> str:
    if interaction.custom_id is not None:
        return f"custom_id {interaction.custom_id!r}"
    return f"/{interaction.command.name if interaction.command else '?'}"
