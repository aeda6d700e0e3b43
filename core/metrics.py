"""Prometheus metrics for an app: request latency per route template, plus the default
process metrics (resident memory, CPU) that the cutover gate compares."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Request latency by route template",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

UNMATCHED = "unmatched"


def route_template(app: ASGIApp, scope: Scope) -> str:
    """The path template of the route that serves `scope` (bounded label values)."""
    for route in getattr(app, "routes", []):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", UNMATCHED)
    return UNMATCHED


class LatencyMiddleware:
    def __init__(self, app: ASGIApp, router_app: FastAPI) -> None:
        self.app = app
        self.router_app = router_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            REQUEST_LATENCY.labels(
                scope["method"], route_template(self.router_app, scope), str(status)
            ).observe(time.perf_counter() - start)


def install_metrics(app: FastAPI) -> None:
    app.add_middleware(LatencyMiddleware, router_app=app)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
