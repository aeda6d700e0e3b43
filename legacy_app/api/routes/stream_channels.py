"""Routes of the stream channels, mounted under `/api` (bearer-authenticated).

    GET    /stream-channels/organizations/{organization_id}                list       member
    POST   /stream-channels/organizations/{organization_id}                create 201 stream_channel:create
    PATCH  /stream-channels/organizations/{organization_id}/{channel_id}   update     stream_channel:update
    DELETE /stream-channels/organizations/{organization_id}/{channel_id}   delete 204 stream_channel:delete

Names are unique across organizations: 409 on a duplicate. Rules in
`legacy_app.application.services.tournaments.stream_channel_service`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from core.auth import CurrentUser
from core.ownership import OwnershipResolvers
from legacy_app.api.schemas.field_types import PathId, only_valid_ids
from legacy_app.api.schemas.stream_channels import StreamChannelCreate, StreamChannelOut, StreamChannelUpdate
from legacy_app.application.repositories.tournament_repository import TournamentRepository
from legacy_app.application.services.tournaments.stream_channel_service import StreamChannelService

router = APIRouter(tags=["stream channels"])


def _channels() -> StreamChannelService:
    return StreamChannelService(TournamentRepository())


Channels = Annotated[StreamChannelService, Depends(_channels)]


@router.get("/stream-channels/organizations/{organization_id}")
async def list_stream_channels(
    organization_id: PathId, user: CurrentUser, service: Channels
) -> list[StreamChannelOut]:
    return [StreamChannelOut.of(c) for c in await service.list_channels(user, organization_id)]


@router.post("/stream-channels/organizations/{organization_id}", status_code=status.HTTP_201_CREATED)
async def create_stream_channel(
    organization_id: PathId, body: StreamChannelCreate, user: CurrentUser, service: Channels
) -> StreamChannelOut:
    return StreamChannelOut.of(await service.create(user, organization_id, body.model_dump()))


@router.patch("/stream-channels/organizations/{organization_id}/{channel_id}")
async def update_stream_channel(
    organization_id: PathId,
    channel_id: PathId,
    body: StreamChannelUpdate,
    user: CurrentUser,
    service: Channels,
) -> StreamChannelOut:
    return StreamChannelOut.of(await service.update(user, organization_id, channel_id, body.changes()))


@router.delete(
    "/stream-channels/organizations/{organization_id}/{channel_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_stream_channel(
    organization_id: PathId, channel_id: PathId, user: CurrentUser, service: Channels
) -> Response:
    await service.delete(user, organization_id, channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def register_ownership(resolvers: OwnershipResolvers) -> None:
    """Kind `stream_channel`: channel id -> organization id (None if unknown)."""
    resolvers.register("stream_channel", only_valid_ids(TournamentRepository().stream_channel_organization))
