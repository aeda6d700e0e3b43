"""`POST /discord/interactions`: Discord's interaction JSON in, the interaction response out."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core.discord.interactions import InteractionEndpoint, MalformedInteraction

INTERACTIONS_PATH = "/discord/interactions"

_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "A Discord interaction object",
                "required": ["type"],
                "properties": {
                    "type": {
                        "type": "integer",
                        "description": "1 ping, 2 command, 3 component, 4 autocomplete, 5 modal",
                    },
                    "id": {"type": "string"},
                    "application_id": {"type": "string"},
                    "token": {"type": "string"},
                    "data": {"type": "object"},
                },
            }
        }
    },
}


def interactions_router(endpoint: InteractionEndpoint) -> APIRouter:
    """The HTTP face of `endpoint`.

    Discord's Ed25519 request signatures are NOT verified here: the proxy in front checks
    them before anything reaches an app, and the apps listen on loopback / the private
    network only.
    """
    router = APIRouter(tags=["discord"])

    @router.post(
        INTERACTIONS_PATH,
        openapi_extra={"requestBody": _REQUEST_BODY},
        responses={400: {"description": "Not a readable interaction"}},
        summary="Serve a Discord interaction",
    )
    async def discord_interactions(request: Request) -> JSONResponse:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise MalformedInteraction("The body is not valid JSON") from exc
        if not isinstance(payload, dict):
            raise MalformedInteraction("An interaction must be a JSON object")
        return JSONResponse(await endpoint.handle(payload))

    return router
