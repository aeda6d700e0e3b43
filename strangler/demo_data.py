"""The demo data set of `strangler seed`: three organizations with members of every role,
tournaments with matches, players and crew, and two async qualifiers whose finished,
forfeited and re-attempted races make a non-trivial leaderboard.

Rows are written with the monolith's models (the schema's owner); scores are then
computed by the monolith's own scoring service, so they follow the spec's rule exactly.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.auth import issue_token
from core.events import EventBus
from core.models import ApiToken, DiscordGuild, Organization, OrganizationMember, Permission, Role, User
from legacy_app.application.services.async_qualifiers import AsyncQualifierServices
from legacy_app.models.async_tournament import (
    AsyncQualifier,
    AsyncQualifierPermalink,
    AsyncQualifierPool,
    AsyncQualifierRace,
    RaceStatus,
)
from legacy_app.models.match_schedule import (
    Crew,
    CrewRole,
    Match,
    MatchPlayers,
    MatchSeed,
    StreamChannel,
    Tournament,
    TournamentPlayers,
)

DEMO_TOKEN_NAME = "demo"
ORGANIZATIONS = ("Hyrule Speedrun League", "Kakariko Cup", "Lost Woods Open")
RUNNERS_PER_ORG = 8
# Qualifier channels and guilds are fixed so Discord demos and load tests can name them.
GUILD_ID_BASE = 900_000_000_000_000_000
QUALIFIER_CHANNEL_IDS = (910_000_000_000_000_001, 910_000_000_000_000_002)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoToken:
    user: str
    role: str
    token: str
    user_id: int = 0
    discord_id: int | None = None
    organization_id: int | None = None  # None: the global operator

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DemoMember:
    """A member of a demo organization, with or without a token: Discord interactions
    (load tests, demos) name the user by `discord_id` alone."""

    organization_id: int
    user: str
    user_id: int
    discord_id: int | None
    roles: tuple[str, ...]
    guild_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "roles": list(self.roles)}


@dataclass
class DemoOrganization:
    organization: Organization
    staff: dict[Role, User]
    runners: list[User]


async def demo_data_present() -> bool:
    return await Organization.filter(name=ORGANIZATIONS[0]).exists()


async def create_demo_data(progress: Progress) -> None:
    rng = random.Random(20261126)  # the same demo data on every machine
    now = datetime.now(UTC).replace(microsecond=0)
    await User.create(
        discord_username="operator", discord_id=800_000_000_000_000_001, permission=Permission.SUPERADMIN
    )
    orgs = []
    for index, name in enumerate(ORGANIZATIONS):
        orgs.append(await _organization(index, name))
        progress(f"organization {name}")
    for index, org in enumerate(orgs):
        await _tournaments(index, org, rng, now)
        progress(f"tournaments of {org.organization.name}")
    for index, org in enumerate(orgs[: len(QUALIFIER_CHANNEL_IDS)]):
        await _async_qualifier(index, org, rng, now)
        progress(f"async qualifier of {org.organization.name}")
    scored = await AsyncQualifierServices.create(EventBus()).scoring.rescore_all()
    progress(f"scored {scored} permalinks")


async def issue_demo_tokens() -> list[DemoToken]:
    """Fresh tokens for the demo users; earlier demo tokens stop working."""
    await ApiToken.filter(name=DEMO_TOKEN_NAME).update(is_active=False)
    tokens = []
    operator = await User.get(discord_username="operator")
    token = await issue_token(operator, DEMO_TOKEN_NAME)
    tokens.append(DemoToken("operator", "global SUPERADMIN", token, operator.id, operator.discord_id))
    for name in ORGANIZATIONS:
        org = await Organization.get(name=name)
        members = await OrganizationMember.filter(organization=org).select_related("user").order_by("id")
        for member in members:
            roles = list(member.roles or [])
            if roles or member.user.discord_username.endswith("runner1"):
                label = f"{', '.join(roles) or 'member'} @ org {org.id}"
                user = member.user
                token = await issue_token(user, DEMO_TOKEN_NAME)
                tokens.append(
                    DemoToken(user.discord_username, label, token, user.id, user.discord_id, org.id)
                )
    return tokens


async def demo_members() -> list[DemoMember]:
    """Every member of the demo organizations, with their Discord ids and guild."""
    members = []
    for name in ORGANIZATIONS:
        org = await Organization.get(name=name)
        guild = await DiscordGuild.filter(organization=org).order_by("id").first()
        for member in await OrganizationMember.filter(organization=org).select_related("user").order_by("id"):
            members.append(
                DemoMember(
                    org.id,
                    member.user.discord_username,
                    member.user.id,
                    member.user.discord_id,
                    tuple(member.roles or ()),
                    guild.guild_id if guild is not None else None,
                )
            )
    return members


async def _organization(index: int, name: str) -> DemoOrganization:
    org = await Organization.create(name=name, description=f"Demo organization {index + 1}")
    await DiscordGuild.create(organization=org, guild_id=GUILD_ID_BASE + index + 1)
    slug = name.split()[0].lower()
    staff = {}
    for role_index, role in enumerate(Role):
        user = await User.create(
            discord_username=f"{slug}-{role.value.lower().replace(' ', '-')}",
            discord_id=800_000_000_000_000_000 + (index + 1) * 1000 + role_index + 10,
            racetime_id=f"{slug}rt{role_index}",
        )
        await OrganizationMember.create(organization=org, user=user, roles=[role.value])
        staff[role] = user
    runners = []
    for n in range(1, RUNNERS_PER_ORG + 1):
        user = await User.create(
            discord_username=f"{slug}-runner{n}",
            discord_id=800_000_000_000_000_000 + (index + 1) * 1000 + 100 + n,
            # One runner per organization has not linked racetime.gg, as in real life.
            racetime_id=None if n == RUNNERS_PER_ORG else f"{slug}runner{n}",
        )
        await OrganizationMember.create(organization=org, user=user, roles=[])
        runners.append(user)
    return DemoOrganization(org, staff, runners)


async def _tournaments(index: int, org: DemoOrganization, rng: random.Random, now: datetime) -> None:
    slug = org.organization.name.split()[0].lower()
    channel = await StreamChannel.create(
        organization=org.organization, name=f"{slug}-main-stream", stream_url=f"https://twitch.tv/{slug}_main"
    )
    for t_index, (title, speedgaming) in enumerate(
        (("Main Bracket", False), ("SpeedGaming Invitational", True))
    ):
        tournament = await Tournament.create(
            organization=org.organization,
            name=f"{org.organization.name} {title}",
            description=f"Demo tournament {t_index + 1}",
            speedgaming_enabled=speedgaming,
        )
        for runner in org.runners:
            await TournamentPlayers.create(tournament=tournament, user=runner)
        for m_index in range(4):
            players = rng.sample(org.runners[:-1], 2)
            scheduled = now + timedelta(days=m_index - 1, hours=index)
            match = await Match.create(
                tournament=tournament,
                stream_channel=channel if m_index % 2 == 0 else None,
                title=f"Round {m_index + 1}: {players[0].discord_username} vs {players[1].discord_username}",
                comment="",
                scheduled_at=scheduled,
                checked_in_at=scheduled - timedelta(minutes=15) if m_index < 2 else None,
                started_at=scheduled if m_index < 2 else None,
                finished_at=scheduled + timedelta(hours=2) if m_index == 0 else None,
            )
            for rank, player in enumerate(players, start=1):
                await MatchPlayers.create(
                    match=match, user=player, finish_rank=rank if m_index == 0 else None
                )
            await Crew.create(
                match=match,
                user=org.staff[Role.MODERATOR],
                role=CrewRole.COMMENTATOR,
                approved=m_index < 2,
                approved_by=org.staff[Role.ADMIN] if m_index < 2 else None,
            )
            await Crew.create(match=match, user=org.runners[-1], role=CrewRole.TRACKER)
            await MatchSeed.create(
                match=match,
                url=f"https://alttpr.com/h/demo{index}{t_index}{m_index}",
                description="Standard open",
            )


async def _async_qualifier(index: int, org: DemoOrganization, rng: random.Random, now: datetime) -> None:
    qualifier = await AsyncQualifier.create(
        organization=org.organization,
        name=f"{org.organization.name} Async Qualifier",
        description="Play each pool's seed on your own time; the best runs per pool count.",
        discord_channel_id=QUALIFIER_CHANNEL_IDS[index],
        runs_per_pool=1 + index,
        max_reattempts=1,
    )
    for pool_name in ("Standard", "Keysanity", "Inverted"):
        pool = await AsyncQualifierPool.create(
            qualifier=qualifier, name=pool_name, description=f"{pool_name} seeds"
        )
        permalinks = [
            await AsyncQualifierPermalink.create(
                pool=pool,
                url=f"https://alttpr.com/h/{pool_name.lower()}{index}{n}",
                notes=f"{pool_name} #{n}",
            )
            for n in range(1, 4)
        ]
        for r_index, runner in enumerate(org.runners):
            for run in range(qualifier.runs_per_pool):
                await _race(
                    qualifier,
                    permalinks[(r_index + run) % len(permalinks)],
                    runner,
                    rng,
                    now,
                    finished=rng.random() < 0.8,
                    reattempted=(r_index == 2 and run == 0),
                )


async def _race(
    qualifier: AsyncQualifier,
    permalink: AsyncQualifierPermalink,
    runner: User,
    rng: random.Random,
    now: datetime,
    *,
    finished: bool,
    reattempted: bool,
) -> None:
    started = now - timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
    elapsed = timedelta(seconds=rng.randint(85 * 60, 150 * 60))
    await AsyncQualifierRace.create(
        qualifier=qualifier,
        permalink=permalink,
        user=runner,
        thread_open_time=started - timedelta(minutes=5),
        start_time=started,
        end_time=started + elapsed,
        status=RaceStatus.FINISHED if finished or reattempted else RaceStatus.FORFEIT,
        reattempted=reattempted,
        runner_vod_url=f"https://youtu.be/demo{runner.id}{permalink.id}" if finished else None,
    )
