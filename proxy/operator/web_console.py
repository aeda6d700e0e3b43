"""The operator console, served by the operator API at `/_strangler/`.

Static files in proxy/operator/console (index.html, console.js, console.css): plain HTML,
CSS and JS, no build step. The page holds no data: the operator pastes the admin token and
every call the page makes sends it, so the page itself is served without one.

    GET /_strangler/               the console (index.html)
    GET /_strangler/console/...    its script and style sheet
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

CONSOLE_DIRECTORY = Path(__file__).with_name("console")

# The page holds the operator token: only its own files may run in it or be framed by it.
CONSOLE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def install_console(api: FastAPI) -> None:
    """Serve the console at the operator app's root and its files under /console."""

    @api.get("/", include_in_schema=False)
    async def console() -> FileResponse:
        return FileResponse(CONSOLE_DIRECTORY / "index.html", headers=CONSOLE_HEADERS)

    api.mount("/console", StaticFiles(directory=CONSOLE_DIRECTORY), name="console")
