"""Keeping a copy of the primary's answer while it streams to the client unchanged: a
responder that wraps the ASGI `send` (the starlette middleware shape)."""

from __future__ import annotations

from dataclasses import dataclass

from proxy.asgi import Message, Send
from proxy.shadow.comparison import Answer

_CONTENT_TYPE = b"content-type"


@dataclass(frozen=True, slots=True)
class PrimaryAnswer:
    """What the client got, as far as the mirror needs it."""

    answer: Answer
    failed: bool  # the proxy answered for the primary (backend down, timed out, client gone)


class ResponseCapture:
    __slots__ = ("_chunks", "_limit", "_send", "_size", "content_type", "status", "truncated")

    def __init__(self, send: Send, limit: int) -> None:
        self._send = send
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self.status = 0
        self.content_type: str | None = None
        self.truncated = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            chunk = message.get("body", b"")
            if chunk and not self.truncated:
                if self._size + len(chunk) > self._limit:
                    self.truncated = True
                    self._chunks.clear()  # not comparable anyway: free it now
                else:
                    self._chunks.append(chunk)
                    self._size += len(chunk)
        elif kind == "http.response.start":
            self.status = message["status"]
            for name, value in message.get("headers", ()):
                if name == _CONTENT_TYPE:
                    self.content_type = value.decode("latin-1")
                    break
        await self._send(message)

    def answer(self, seconds: float, *, failed: bool) -> PrimaryAnswer:
        body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        return PrimaryAnswer(
            Answer(self.status, self.content_type, body, self.truncated, None, seconds), failed
        )
