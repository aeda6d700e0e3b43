"""`GET /admin?view=plugins`: the plugin management page for global admins.

Plain HTML and a little vanilla JS, no build step. The page itself holds no data: the
admin pastes a bearer token (kept in sessionStorage) and the page calls
`/api/admin/plugins`, which enforces the permission.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


class AdminView(StrEnum):
    PLUGINS = "plugins"


@cache
def _template(view: AdminView) -> str:
    return files("plugin_app.pages").joinpath(f"admin_{view.value}.html").read_text(encoding="utf-8")


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(view: AdminView = AdminView.PLUGINS) -> HTMLResponse:
    return HTMLResponse(_template(view))
