"""Stream channels of an organization.

A channel's name is unique across all organizations (a DB constraint): a duplicate on
create or rename is 409 with a detail naming the name. Reads need membership; writes
`stream_channel:create|update|delete` (Admin). A channel id under another organization's
path is 404. Deleting a channel leaves its matches without one (SET NULL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.exceptions import IntegrityError

from core.errors import Conflict, NotFound
from core.models import User

from ..models import StreamChannel
from ..repositories.tournament_repository import TournamentRepository
from .access import (
    Action,
    require,
    require_member,
    require_organization,
)

STREAM_CHANNEL_NOT_FOUND = "Stream channel not found"


def name_taken(name: str) -> Conflict:
    return Conflict(f'A stream channel named "{name}" already exists')


class StreamChannelService:
    def __init__(self, repository: TournamentRepository) -> None:
        self.repository = repository

    async def list_channels(self, user: User, organization_id: int) -> list[StreamChannel]:
        await require_organization(self.repository, organization_id)
        await require_member(user, organization_id)
        return await self.repository.list_stream_channels(organization_id)

    async def create(self, user: User, organization_id: int, fields: Mapping[str, Any]) -> StreamChannel:
        await require_organization(self.repository, organization_id)
        await require(user, organization_id, Action.STREAM_CHANNEL_CREATE)
        name = fields["name"]
        if await self.repository.stream_channel_name_taken(name):
            raise name_taken(name)
        try:
            return await self.repository.create_stream_channel(organization_id, fields)
        except IntegrityError:  # created concurrently under the same name
            raise name_taken(name) from None

    async def update(
        self, user: User, organization_id: int, channel_id: int, changes: Mapping[str, Any]
    ) -> StreamChannel:
        channel = await self.find(organization_id, channel_id)
        await require(user, organization_id, Action.STREAM_CHANNEL_UPDATE)
        name = changes.get("name")
        if name is not None and await self.repository.stream_channel_name_taken(name, except_id=channel.id):
            raise name_taken(name)
        try:
            return await self.repository.update_stream_channel(channel, changes)
        except IntegrityError:
            raise name_taken(str(name)) from None

    async def delete(self, user: User, organization_id: int, channel_id: int) -> None:
        channel = await self.find(organization_id, channel_id)
        await require(user, organization_id, Action.STREAM_CHANNEL_DELETE)
        await self.repository.delete_stream_channel(channel.id)

    async def find(self, organization_id: int, channel_id: int) -> StreamChannel:
        await require_organization(self.repository, organization_id)
        channel = await self.repository.get_stream_channel(channel_id)
        if channel is None or channel.organization_id != organization_id:
            raise NotFound(STREAM_CHANNEL_NOT_FOUND)
        return channel
