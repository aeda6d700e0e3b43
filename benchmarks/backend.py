"""The app behind the proxy in the proxy benchmarks: `benchmarks.backend:app`.

A FastAPI app like the real ones (the targets of issue 8 were set against one), served
by uvicorn with uvloop + httptools. It answers what the proxy's full path needs:
    GET /api/tournaments/1/players     ~1 KB of JSON at once ("fast")
    GET /api/tournaments/2/players     the same after ~5 ms, like a database call ("5 ms")
    GET /_strangler/owner/{kind}/{id}  every entity belongs to ORGANIZATION (the proxy's
                                       owner lookup, cached by the proxy after the first)
    GET /healthz, /_strangler/healthz
Setting BENCH_BACKEND_DELAY_MS adds that wait to every players answer (a slow mirror).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import FastAPI

ORGANIZATION = 1
ROUTES = {"fast": "/api/tournaments/1/players", "5 ms": "/api/tournaments/2/players"}
_DELAY_S = {1: 0.0, 2: 0.005}
_EXTRA_DELAY_S = float(os.environ.get("BENCH_BACKEND_DELAY_MS", "0")) / 1000
PLAYERS = [
    {"id": n, "user_id": 1000 + n, "tournament_id": 1, "name": f"runner-{n:03d}"} for n in range(16)
]  # ~1 KB

app = FastAPI()


@app.get("/api/tournaments/{tournament_id}/players")
async def players(tournament_id: int) -> list[dict[str, Any]]:
    if delay := _DELAY_S.get(tournament_id, 0.0) + _EXTRA_DELAY_S:
        await asyncio.sleep(delay)
    return PLAYERS


@app.get("/_strangler/owner/{kind}/{entity_id}")
async def owner(kind: str, entity_id: int) -> dict[str, int]:
    return {"organization_id": ORGANIZATION}


@app.get("/healthz")
@app.get("/_strangler/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
