"""A server-rendered page; mounted at the root and gated like the API."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from core.errors import NotFound
from core.models import Organization

from .models import Greeting


def build_page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/hello/organizations/{org}", response_class=HTMLResponse)
    async def greetings_page(org: int) -> HTMLResponse:
        organization = await Organization.get_or_none(id=org)
        if organization is None:
            raise NotFound("Organization not found")
        items = "".join(
            f"<li>{escape(g.text)}</li>" for g in await Greeting.filter(organization_id=org).order_by("id")
        )
        return HTMLResponse(f"<h1>Greetings of {escape(organization.name)}</h1><ul>{items}</ul>")

    return router
