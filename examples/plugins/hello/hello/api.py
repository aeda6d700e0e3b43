"""The plugin's JSON API, mounted by plugin_app under /api (so: /api/hello/...).

plugin_app puts the enablement gate in front of every route: where the plugin is not
enabled for the organization the request names (`{org}`, or the greeting's organization
through the "greeting" ownership resolver), the route answers 404 like an unknown one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from core.auth import CurrentUser
from core.authorization import can, is_member
from core.errors import DomainError, Forbidden, NotFound
from core.models import Permission

from .events import GreetingCreated
from .models import Greeting, HookCall

if TYPE_CHECKING:
    from .plugin import HelloPlugin


class GreetingIn(BaseModel):
    name: str = Field(min_length=1)


def _greeting(g: Greeting) -> dict[str, Any]:
    return {"id": g.id, "organization_id": g.organization_id, "name": g.name, "text": g.text}


def build_router(plugin: HelloPlugin) -> APIRouter:
    router = APIRouter(prefix="/hello", tags=["hello"])

    @router.get("/organizations/{org}/greetings")
    async def list_greetings(org: int, user: CurrentUser) -> list[dict[str, Any]]:
        if not await is_member(user, org):
            raise Forbidden("Not a member of this organization")
        return [_greeting(g) for g in await Greeting.filter(organization_id=org).order_by("id")]

    @router.post("/organizations/{org}/greetings", status_code=201)
    async def create_greeting(org: int, body: GreetingIn, user: CurrentUser) -> dict[str, Any]:
        if not await can(user, org, "hello:write"):
            raise Forbidden("Needs hello:write")
        config = await plugin.context.config_for(org)
        if len(body.name) > config["max_name_length"]:
            raise DomainError(f"Name longer than {config['max_name_length']} characters")
        text = f"{config['greeting']}, {body.name}{config['punctuation']}"
        greeting = await Greeting.create(
            organization_id=org, created_by_id=user.id, name=body.name, text=text
        )
        await plugin.context.publish(GreetingCreated(organization_id=org, greeting_id=greeting.id, text=text))
        return _greeting(greeting)

    @router.get("/greetings/{greeting_id}")
    async def get_greeting(greeting_id: int, user: CurrentUser) -> dict[str, Any]:
        greeting = await Greeting.get_or_none(id=greeting_id)
        if greeting is None or not await is_member(user, greeting.organization_id):
            raise NotFound("Greeting not found or insufficient permissions")
        return _greeting(greeting)

    @router.get("/hooks")
    async def hook_calls(user: CurrentUser) -> list[dict[str, Any]]:
        """Every lifecycle hook call so far (global admins only)."""
        if user.permission < Permission.ADMIN:
            raise Forbidden("Global admins only")
        calls = await HookCall.all().order_by("id")
        return [{"hook": c.hook, "organization_id": c.organization_id, "config": c.config} for c in calls]

    @router.get("/status")
    async def status() -> dict[str, int]:
        return {"heartbeats": plugin.heartbeats}

    return router


async def greeting_organization(greeting_id: int) -> int | None:
    """Ownership resolver: which organization a greeting belongs to."""
    rows = await Greeting.filter(id=greeting_id).values_list("organization_id", flat=True)
    return rows[0] if rows else None
