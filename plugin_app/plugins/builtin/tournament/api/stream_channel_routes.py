"""Routes of the stream channels, mounted under `/api` (bearer-authenticated); a copy of
legacy_app's, gated on the organization in the path.

    GET    /stream-channels/organizations/{organization_id}                list       member
    POST   /stream-channels/organizations/{organization_id}                create 201 stream_channel:create
    PATCH  /stream-channels/organizations/{organization_id}/{channel_id}   update     stream_channel:update
    DELETE /stream-channels/organizations/{organization_id}/{channel_id}   delete 204 stream_channel:delete

Names are unique across organizations: 409 on a duplicate. Rules in
`services.stream_channel_service`.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Response, status

from core.auth import CurrentUser
from plugin_app.application.schemas.field_types import PathId

from ..repositories.tournament_repository import TournamentRepository
from ..services.stream_channel_service import StreamChannelService
from .locators import ORGANIZATION_IN_PATH, route_gate
from .schemas.stream_channels import StreamChannelCreate, StreamChannelOut, StreamChannelUpdate

if TYPE_CHECKING:
    from ..plugin import TournamentPlugin


def _channels() -> StreamChannelService:
    return StreamChannelService(TournamentRepository())


TAGS: list[str | Enum] = ["stream channels"]


def add_stream_channel_routes(router: APIRouter, plugin: TournamentPlugin) -> None:
    gate = route_gate(plugin.plugin_id)(ORGANIZATION_IN_PATH)

    @router.get("/stream-channels/organizations/{organization_id}", tags=TAGS, dependencies=gate)
    async def list_stream_channels(
        organization_id: PathId, user: CurrentUser, service: StreamChannelService = Depends(_channels)
    ) -> list[StreamChannelOut]:
        return [StreamChannelOut.of(c) for c in await service.list_channels(user, organization_id)]

    @router.post(
        "/stream-channels/organizations/{organization_id}",
        tags=TAGS,
        dependencies=gate,
        status_code=status.HTTP_201_CREATED,
    )
    async def create_stream_channel(
        organization_id: PathId,
        body: StreamChannelCreate,
        user: CurrentUser,
        service: StreamChannelService = Depends(_channels),
    ) -> StreamChannelOut:
        return StreamChannelOut.of(await service.create(user, organization_id, body.model_dump()))

    @router.patch(
        "/stream-channels/organizations/{organization_id}/{channel_id}", tags=TAGS, dependencies=gate
    )
    async def update_stream_channel(
        organization_id: PathId,
        channel_id: PathId,
        body: StreamChannelUpdate,
        user: CurrentUser,
        service: StreamChannelService = Depends(_channels),
    ) -> StreamChannelOut:
        return StreamChannelOut.of(await service.update(user, organization_id, channel_id, body.changes()))

    @router.delete(
        "/stream-channels/organizations/{organization_id}/{channel_id}",
        tags=TAGS,
        dependencies=gate,
        status_code=status.HTTP_204_NO_CONTENT,
    )
    async def delete_stream_channel(
        organization_id: PathId,
        channel_id: PathId,
        user: CurrentUser,
        service: StreamChannelService = Depends(_channels),
    ) -> Response:
        await service.delete(user, organization_id, channel_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
