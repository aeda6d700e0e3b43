"""Data access of the tournament system: every query the services and the ownership
resolvers run against `tournament`, `match`, `matchplayers`, `tournamentplayers`, `crew`,
`matchseed` and `streamchannel`.

`lock_*` methods take a row lock (`SELECT … FOR UPDATE`) on PostgreSQL and must be called
inside `in_transaction()`; they serialise writes that check-then-insert under one parent
row. SQLite has no row locks, and Tortoise runs one transaction at a time per process there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from core.models import Organization, OrganizationMember, User

from ..models import (
    Crew,
    CrewRole,
    Match,
    MatchPlayers,
    MatchSeed,
    StreamChannel,
    Tournament,
    TournamentPlayers,
)

# What a match is served with: its organization (through the tournament), players, crew, seed.
MATCH_DETAIL = ("players", "crew", "seed")


class TournamentRepository:
    # -- organizations and users -------------------------------------------------------

    async def organization_exists(self, organization_id: int) -> bool:
        return await Organization.filter(id=organization_id).exists()

    async def get_user(self, user_id: int) -> User | None:
        return await User.get_or_none(id=user_id)

    async def users(self, user_ids: Iterable[int]) -> list[User]:
        return await User.filter(id__in=list(user_ids)).order_by("id")

    async def member_user_ids(self, organization_id: int, user_ids: Iterable[int]) -> set[int]:
        """Those of `user_ids` that are members of the organization."""
        rows = await OrganizationMember.filter(
            organization_id=organization_id, user_id__in=list(user_ids)
        ).values_list("user_id", flat=True)
        return {int(user_id) for user_id in rows}

    # -- tournaments --------------------------------------------------------------------

    async def get_tournament(self, tournament_id: int) -> Tournament | None:
        return await Tournament.get_or_none(id=tournament_id)

    async def lock_tournament(self, tournament_id: int) -> Tournament | None:
        return await Tournament.select_for_update().get_or_none(id=tournament_id)

    async def list_tournaments(self, organization_id: int) -> list[Tournament]:
        return await Tournament.filter(organization_id=organization_id).order_by("id")

    async def create_tournament(self, organization_id: int, fields: Mapping[str, Any]) -> Tournament:
        return await Tournament.create(organization_id=organization_id, **fields)

    async def update_tournament(self, tournament: Tournament, fields: Mapping[str, Any]) -> Tournament:
        """Write only the changed columns, so concurrent edits of other fields survive."""
        if fields:
            tournament.update_from_dict(dict(fields))
            await tournament.save(update_fields=[*fields, "updated_at"])
        return tournament

    async def delete_tournament(self, tournament_id: int) -> None:
        await Tournament.filter(id=tournament_id).delete()

    # -- registrations ------------------------------------------------------------------

    async def list_registrations(self, tournament_id: int) -> list[TournamentPlayers]:
        return await TournamentPlayers.filter(tournament_id=tournament_id).order_by("id")

    async def find_registration(self, tournament_id: int, user_id: int) -> TournamentPlayers | None:
        # The table has no unique constraint: the oldest row is the registration.
        return (
            await TournamentPlayers.filter(tournament_id=tournament_id, user_id=user_id)
            .order_by("id")
            .first()
        )

    async def create_registration(self, tournament_id: int, user_id: int) -> TournamentPlayers:
        return await TournamentPlayers.create(tournament_id=tournament_id, user_id=user_id)

    async def delete_registrations(self, tournament_id: int, user_id: int) -> None:
        await TournamentPlayers.filter(tournament_id=tournament_id, user_id=user_id).delete()

    # -- matches ------------------------------------------------------------------------

    async def get_match(self, match_id: int) -> Match | None:
        """The match with its tournament loaded (the tournament names the organization)."""
        return await Match.get_or_none(id=match_id).select_related("tournament")

    async def lock_match(self, match_id: int) -> Match | None:
        return await Match.select_for_update().get_or_none(id=match_id)

    async def get_match_detail(self, match_id: int) -> Match | None:
        return (
            await Match.filter(id=match_id)
            .select_related("tournament")
            .prefetch_related(*MATCH_DETAIL)
            .first()
        )

    async def list_matches(self, organization_id: int, tournament_id: int | None = None) -> list[Match]:
        query = Match.filter(tournament__organization_id=organization_id)
        if tournament_id is not None:
            query = query.filter(tournament_id=tournament_id)
        return await query.select_related("tournament").prefetch_related(*MATCH_DETAIL).order_by("id")

    async def create_match(
        self, tournament_id: int, fields: Mapping[str, Any], player_ids: Iterable[int]
    ) -> Match:
        """Insert the match and one MatchPlayers row per player (call inside a transaction)."""
        match = await Match.create(tournament_id=tournament_id, **fields)
        await MatchPlayers.bulk_create(
            [MatchPlayers(match_id=match.id, user_id=user_id) for user_id in player_ids]
        )
        return match

    async def update_match(self, match_id: int, fields: Mapping[str, Any]) -> None:
        if fields:
            await Match.filter(id=match_id).update(**fields)

    async def set_match_timestamp(self, match_id: int, field: str, value: datetime | None) -> None:
        await Match.filter(id=match_id).update(**{field: value})

    # -- match players ------------------------------------------------------------------

    async def is_match_player(self, match_id: int, user_id: int) -> bool:
        return await MatchPlayers.filter(match_id=match_id, user_id=user_id).exists()

    async def set_winner(self, match_id: int, user_id: int) -> None:
        """Rank 1 for the winner, no rank for the others (call inside a transaction)."""
        await MatchPlayers.filter(match_id=match_id).exclude(user_id=user_id).update(finish_rank=None)
        await MatchPlayers.filter(match_id=match_id, user_id=user_id).update(finish_rank=1)

    # -- crew ---------------------------------------------------------------------------

    async def get_crew(self, crew_id: int) -> Crew | None:
        return await Crew.get_or_none(id=crew_id).select_related("match__tournament")

    async def find_crew(self, match_id: int, user_id: int, role: CrewRole) -> Crew | None:
        return await Crew.get_or_none(match_id=match_id, user_id=user_id, role=role)

    async def create_crew(self, match_id: int, user_id: int, role: CrewRole) -> Crew:
        return await Crew.create(match_id=match_id, user_id=user_id, role=role)

    async def approve_crew(self, crew_id: int, approver_id: int) -> bool:
        """Approve an unapproved signup; False when it was already approved."""
        changed = await Crew.filter(id=crew_id, approved=False).update(
            approved=True, approved_by_id=approver_id
        )
        return changed > 0

    async def unapprove_crew(self, crew_id: int) -> None:
        await Crew.filter(id=crew_id).update(approved=False, approved_by_id=None)

    # -- seeds --------------------------------------------------------------------------

    async def get_seed(self, match_id: int) -> MatchSeed | None:
        return await MatchSeed.get_or_none(match_id=match_id)

    async def upsert_seed(self, match_id: int, url: str, description: str) -> MatchSeed:
        """Update the match's seed in place, or create it (call inside a transaction)."""
        updated = await MatchSeed.filter(match_id=match_id).update(url=url, description=description)
        if not updated:
            await MatchSeed.create(match_id=match_id, url=url, description=description)
        return await MatchSeed.get(match_id=match_id)

    async def delete_seed(self, match_id: int) -> None:
        await MatchSeed.filter(match_id=match_id).delete()

    # -- stream channels ----------------------------------------------------------------

    async def get_stream_channel(self, channel_id: int) -> StreamChannel | None:
        return await StreamChannel.get_or_none(id=channel_id)

    async def stream_channel_name_taken(self, name: str, *, except_id: int | None = None) -> bool:
        query = StreamChannel.filter(name=name)
        if except_id is not None:
            query = query.exclude(id=except_id)
        return await query.exists()

    async def list_stream_channels(self, organization_id: int) -> list[StreamChannel]:
        return await StreamChannel.filter(organization_id=organization_id).order_by("id")

    async def create_stream_channel(self, organization_id: int, fields: Mapping[str, Any]) -> StreamChannel:
        return await StreamChannel.create(organization_id=organization_id, **fields)

    async def update_stream_channel(self, channel: StreamChannel, fields: Mapping[str, Any]) -> StreamChannel:
        if fields:
            channel.update_from_dict(dict(fields))
            await channel.save(update_fields=list(fields))
        return channel

    async def delete_stream_channel(self, channel_id: int) -> None:
        await StreamChannel.filter(id=channel_id).delete()

    # -- ownership (entity id -> organization id) ---------------------------------------

    async def tournament_organization(self, tournament_id: int) -> int | None:
        return await Tournament.filter(id=tournament_id).first().values_list("organization_id", flat=True)

    async def match_organization(self, match_id: int) -> int | None:
        return await Match.filter(id=match_id).first().values_list("tournament__organization_id", flat=True)

    async def crew_organization(self, crew_id: int) -> int | None:
        return await (
            Crew.filter(id=crew_id).first().values_list("match__tournament__organization_id", flat=True)
        )

    async def stream_channel_organization(self, channel_id: int) -> int | None:
        return await StreamChannel.filter(id=channel_id).first().values_list("organization_id", flat=True)
