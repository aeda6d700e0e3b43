"""Plugin management for global admins: `/api/admin/plugins`.

Every route needs a bearer token of a user with permission ADMIN or above (401 without a
valid token, 403 for anyone else). Plugin errors are translated here, where they enter
HTTP, into core's error classes (config schema violations become a 422 listing each one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from core.auth import current_user
from core.errors import Conflict, Forbidden, NotFound
from core.models import Organization, User
from plugin_app.application.plugins.enablement import effective_states
from plugin_app.application.plugins.exceptions import (
    ConfigInvalid,
    EnablementRefused,
    PluginError,
    PluginNotActive,
    PluginNotFound,
    RollbackRefused,
)
from plugin_app.application.plugins.registry import PluginStatus
from plugin_app.application.plugins.system import PluginSystem
from plugin_app.models.plugin import OrganizationPlugin, PluginMigration

MAX_PAGE = 500


async def global_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_global_admin:
        raise Forbidden("Plugin management needs global admin permission")
    return user


AdminUser = Annotated[User, Depends(global_admin)]
router = APIRouter(prefix="/admin/plugins", tags=["admin: plugins"], dependencies=[Depends(global_admin)])


def plugin_system(request: Request) -> PluginSystem:
    return request.app.state.plugins


Plugins = Annotated[PluginSystem, Depends(plugin_system)]


@contextmanager
def plugin_errors() -> Iterator[None]:
    """Plugin errors as HTTP errors, in one place."""
    try:
        yield
    except ConfigInvalid as exc:
        raise RequestValidationError(exc.as_details()) from exc
    except PluginNotFound as exc:
        raise NotFound(f"Plugin {exc.plugin_id!r} not found") from exc
    except (PluginNotActive, EnablementRefused, RollbackRefused) as exc:
        raise Conflict(str(exc)) from exc
    except PluginError as exc:
        raise Conflict(str(exc)) from exc


class ConfigBody(BaseModel):
    config: dict[str, Any]


class RollbackBody(BaseModel):
    to: str | None = Field(default=None, description="keep migrations up to this one; null = roll back all")


def _migration(row: PluginMigration) -> dict[str, Any]:
    return {
        "migration_name": row.migration_name,
        "version": row.version,
        "applied_at": row.applied_at,
        "success": row.success,
        "error_message": row.error_message,
        "rolled_back_at": row.rolled_back_at,
    }


async def _organization(organization_id: int) -> Organization:
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise NotFound(f"Organization {organization_id} not found")
    return organization


@router.get("")
async def list_plugins(plugins: Plugins) -> dict[str, Any]:
    records = plugins.registry.all()
    return {
        "plugins": [r.summary() for r in records],
        "counts": {
            "loaded": sum(r.status == PluginStatus.ACTIVE for r in records),
            "rejected": sum(r.status == PluginStatus.REJECTED for r in records),
        },
    }


@router.get("/{plugin_id}")
async def get_plugin(plugin_id: str, plugins: Plugins) -> dict[str, Any]:
    with plugin_errors():
        record = plugins.registry.get(plugin_id)
    rows = await PluginMigration.filter(plugin_id=plugin_id).order_by("migration_name")
    return {**record.summary(), "migrations": [_migration(r) for r in rows]}


@router.get("/{plugin_id}/organizations")
async def plugin_organizations(
    plugin_id: str,
    plugins: Plugins,
    skip: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[dict[str, Any]]:
    """Every organization (paged by id) with the plugin's state there."""
    with plugin_errors():
        plugins.registry.get(plugin_id)
    organizations = await Organization.all().order_by("id").offset(skip).limit(limit)
    rows = await OrganizationPlugin.filter(organization_id__in=[o.id for o in organizations]).values_list(
        "organization_id", "plugin_id", "enabled"
    )
    explicit: dict[int, dict[str, bool]] = {o.id: {} for o in organizations}
    for organization_id, row_plugin_id, enabled in rows:
        explicit[organization_id][row_plugin_id] = bool(enabled)
    return [
        {
            "organization_id": o.id,
            "name": o.name,
            "enabled": effective_states(plugins.registry, explicit[o.id]).get(plugin_id, False),
            "explicit": explicit[o.id].get(plugin_id),
        }
        for o in organizations
    ]


async def _switch(
    plugins: PluginSystem, plugin_id: str, organization_id: int, user: User, *, enable: bool
) -> dict[str, Any]:
    await _organization(organization_id)
    lifecycle = plugins.lifecycle
    with plugin_errors():
        switch = lifecycle.enable if enable else lifecycle.disable
        changed = await switch(plugin_id, organization_id, user.id)
    return {
        "plugin_id": plugin_id,
        "organization_id": organization_id,
        "enabled": await plugins.enablement.is_enabled(plugin_id, organization_id),
        "changed": changed,
    }


@router.post("/{plugin_id}/organizations/{organization_id}/enable")
async def enable(plugin_id: str, organization_id: int, plugins: Plugins, user: AdminUser) -> dict[str, Any]:
    return await _switch(plugins, plugin_id, organization_id, user, enable=True)


@router.post("/{plugin_id}/organizations/{organization_id}/disable")
async def disable(plugin_id: str, organization_id: int, plugins: Plugins, user: AdminUser) -> dict[str, Any]:
    return await _switch(plugins, plugin_id, organization_id, user, enable=False)


async def _config_view(plugins: PluginSystem, plugin_id: str, organization_id: int | None) -> dict[str, Any]:
    with plugin_errors():
        manifest = plugins.registry.get(plugin_id).manifest
        if manifest is None:
            raise PluginNotActive(plugin_id, "its manifest could not be read")
    view: dict[str, Any] = {
        "plugin_id": plugin_id,
        "schema": manifest.config_schema,
        "defaults": manifest.config_defaults(),
        "global": await plugins.config.global_config(plugin_id),
    }
    if organization_id is not None:
        view["organization_id"] = organization_id
        view["organization"] = await plugins.config.organization_config(plugin_id, organization_id)
    view["effective"] = await plugins.config.resolve(plugin_id, organization_id)
    return view


@router.get("/{plugin_id}/config")
async def get_global_config(plugin_id: str, plugins: Plugins) -> dict[str, Any]:
    return await _config_view(plugins, plugin_id, None)


@router.put("/{plugin_id}/config")
async def put_global_config(plugin_id: str, body: ConfigBody, plugins: Plugins) -> dict[str, Any]:
    with plugin_errors():
        await plugins.config.set_global(plugin_id, body.config)
    return await _config_view(plugins, plugin_id, None)


@router.get("/{plugin_id}/organizations/{organization_id}/config")
async def get_organization_config(plugin_id: str, organization_id: int, plugins: Plugins) -> dict[str, Any]:
    await _organization(organization_id)
    return await _config_view(plugins, plugin_id, organization_id)


@router.put("/{plugin_id}/organizations/{organization_id}/config")
async def put_organization_config(
    plugin_id: str, organization_id: int, body: ConfigBody, plugins: Plugins
) -> dict[str, Any]:
    await _organization(organization_id)
    with plugin_errors():
        await plugins.config.set_organization(plugin_id, organization_id, body.config)
    return await _config_view(plugins, plugin_id, organization_id)


@router.get("/{plugin_id}/migrations")
async def migrations(plugin_id: str, plugins: Plugins) -> list[dict[str, Any]]:
    with plugin_errors():
        plugins.registry.get(plugin_id)
    rows = await PluginMigration.filter(plugin_id=plugin_id).order_by("migration_name")
    return [_migration(r) for r in rows]


@router.post("/{plugin_id}/migrations/rollback")
async def rollback(plugin_id: str, body: RollbackBody, plugins: Plugins) -> dict[str, Any]:
    with plugin_errors():
        names = await plugins.rollback(plugin_id, body.to)
    return {"plugin_id": plugin_id, "rolled_back": names, "status": plugins.registry.get(plugin_id).status}
