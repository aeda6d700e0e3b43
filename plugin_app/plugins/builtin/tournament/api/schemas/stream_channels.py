"""Request and response bodies of the stream channel routes (conventions as in
`.tournaments`)."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic.json_schema import SkipJsonSchema

from plugin_app.application.schemas.field_types import Name, OptionalUrl

from ...models import StreamChannel
from .tournaments import NonNullUpdate, RequestBody


class StreamChannelCreate(RequestBody):
    name: Name
    stream_url: OptionalUrl = ""
    is_active: bool = True


class StreamChannelUpdate(NonNullUpdate):
    name: Name | SkipJsonSchema[None] = None
    stream_url: OptionalUrl | SkipJsonSchema[None] = None
    is_active: bool | SkipJsonSchema[None] = None


class StreamChannelOut(BaseModel):
    id: int
    organization_id: int
    name: str
    stream_url: str
    is_active: bool

    @classmethod
    def of(cls, channel: StreamChannel) -> StreamChannelOut:
        return cls.model_validate(channel, from_attributes=True)
