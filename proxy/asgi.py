"""The plain-ASGI plumbing the proxy's hot path is built from (no framework on it):
reading a request body within a limit, and sending a small JSON answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class ClientDisconnected(Exception):
    """The client went away while its request body was being read."""


class BodyOverLimit(Exception):
    """The request body grew past the limit while it was being read."""


async def stream_body(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The body chunk by chunk, as it arrives; raises BodyOverLimit past `limit`."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyOverLimit
            yield chunk
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body; raises BodyOverLimit past `limit`."""
    chunks = [chunk async for chunk in stream_body(receive, limit)]
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_json(send: Send, status: int, body: Any, headers: Headers | None = None) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def header_value(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None
