"""An ASGI app that mounts the operator API under `/_strangler` the way the proxy does,
for tests that need it served by a real uvicorn before (or without) the whole proxy.
Configured from the environment like the proxy (STRANGLER_FLAGS_PATH, ...)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from proxy.operator.api import create_operator_api
from proxy.settings import ProxySettings

operator_api = create_operator_api(ProxySettings())


async def healthz(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    # A mount does not run the mounted app's lifespan; the parent runs it.
    async with operator_api.router.lifespan_context(operator_api):
        yield


app = Starlette(
    routes=[Route("/healthz", healthz), Mount("/_strangler", app=operator_api)],
    lifespan=lifespan,
)
