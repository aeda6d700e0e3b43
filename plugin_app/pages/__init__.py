"""Server-rendered pages of plugin_app itself (the admin page); plugins add their own."""

from __future__ import annotations

from fastapi import FastAPI

from plugin_app.pages import admin


def install_pages(app: FastAPI) -> None:
    app.include_router(admin.router)
