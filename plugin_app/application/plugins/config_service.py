"""PluginConfigService: per-plugin configuration, validated against the manifest's JSON Schema.

Resolution, per top-level key: the organization's config (`organization_plugins.config`)
over the global config (`plugins.config`) over the schema's `default`s. What is stored is
validated as it would resolve: a global config must satisfy the schema on top of the
defaults; an organization's on top of the defaults and the global config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for
from tortoise.transactions import in_transaction

from plugin_app.application.plugins.exceptions import ConfigInvalid, SchemaViolation
from plugin_app.application.plugins.manifest import PluginManifest
from plugin_app.application.plugins.registry import PluginRegistry
from plugin_app.models.plugin import OrganizationPlugin, Plugin


def schema_violations(manifest: PluginManifest, config: Mapping[str, Any]) -> list[SchemaViolation]:
    validator = validator_for(manifest.config_schema)(manifest.config_schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: [str(p) for p in e.absolute_path])
    return [SchemaViolation(tuple(e.absolute_path), e.message, str(e.validator)) for e in errors]


class PluginConfigService:
    def __init__(self, registry: PluginRegistry) -> None:
        self.registry = registry

    def _manifest(self, plugin_id: str) -> PluginManifest:
        manifest = self.registry.get(plugin_id).manifest
        assert manifest is not None  # a plugin without a readable manifest has no config
        return manifest

    async def global_config(self, plugin_id: str) -> dict[str, Any]:
        row = await Plugin.get_or_none(plugin_id=plugin_id)
        return dict(row.config or {}) if row else {}

    async def organization_config(self, plugin_id: str, organization_id: int) -> dict[str, Any]:
        row = await OrganizationPlugin.get_or_none(plugin_id=plugin_id, organization_id=organization_id)
        return dict(row.config or {}) if row else {}

    async def resolve(self, plugin_id: str, organization_id: int | None = None) -> dict[str, Any]:
        """The effective configuration: organization > global > schema defaults."""
        resolved = {**self._manifest(plugin_id).config_defaults(), **await self.global_config(plugin_id)}
        if organization_id is not None:
            resolved.update(await self.organization_config(plugin_id, organization_id))
        return resolved

    def _validate(self, plugin_id: str, resolved: Mapping[str, Any]) -> None:
        violations = schema_violations(self._manifest(plugin_id), resolved)
        if violations:
            raise ConfigInvalid(plugin_id, violations)

    async def set_global(self, plugin_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the global config; returns the config it resolves to."""
        manifest = self.registry.get_active(plugin_id).manifest
        assert manifest is not None
        self._validate(plugin_id, {**manifest.config_defaults(), **config})
        async with in_transaction():
            row = await Plugin.get_or_none(plugin_id=plugin_id).select_for_update()
            if row is None:
                await Plugin.create(
                    plugin_id=plugin_id,
                    name=manifest.name,
                    version=manifest.version,
                    type=manifest.type,
                    config=dict(config),
                )
            else:
                row.config = dict(config)
                await row.save(update_fields=["config", "updated_at"])
        return await self.resolve(plugin_id)

    async def set_organization(
        self, plugin_id: str, organization_id: int, config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Replace an organization's config; enablement is left as it is."""
        manifest = self.registry.get_active(plugin_id).manifest
        assert manifest is not None
        self._validate(plugin_id, {**await self.resolve(plugin_id), **config})
        async with in_transaction():
            row = await OrganizationPlugin.get_or_none(
                plugin_id=plugin_id, organization_id=organization_id
            ).select_for_update()
            if row is None:
                await OrganizationPlugin.create(
                    plugin_id=plugin_id,
                    organization_id=organization_id,
                    enabled=manifest.enabled_by_default,
                    config=dict(config),
                )
            else:
                row.config = dict(config)
                await row.save(update_fields=["config", "updated_at"])
        return await self.resolve(plugin_id, organization_id)
