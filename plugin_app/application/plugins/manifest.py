"""`PluginManifest`: what a plugin's `manifest.yaml` says about it, validated on read.

A manifest that fails validation rejects its plugin; the error names the file and every
field that is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import SchemaError
from jsonschema.validators import validator_for
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from plugin_app.application.plugins.exceptions import InvalidManifest
from plugin_app.models.plugin import PluginType

MANIFEST_FILE = "manifest.yaml"
PLUGIN_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
# semver.org's own regular expression.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
ACTION_PATTERN = r"^[a-z_*]+:[a-z_*]+$"
EMPTY_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def parse_version(text: str) -> Version:
    """A semver string as a comparable version (semver pre-releases read as PEP 440 ones)."""
    if not SEMVER.match(text):
        raise ValueError(f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    try:
        return Version(text)
    except InvalidVersion:
        raise ValueError(
            f"{text!r} is semver, but version ranges cannot compare it; "
            "use alpha, beta or rc pre-release tags"
        ) from None


class Provides(BaseModel):
    """What the plugin contributes, by name; checked against what it really registers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[str] = Field(default_factory=list, description="Tortoise model class names")
    routes: list[str] = Field(default_factory=list, description="API path prefixes, under /api")
    pages: list[str] = Field(default_factory=list, description="page path prefixes")
    discord_commands: list[str] = Field(default_factory=list, description="slash command names")
    events: list[str] = Field(default_factory=list, description="event class names it publishes")
    tasks: list[str] = Field(default_factory=list, description="scheduled task names")


class Permissions(BaseModel):
    """The `resource:op` actions the plugin checks, and the roles that matter to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)

    @field_validator("actions")
    @classmethod
    def _actions_are_resource_op(cls, actions: list[str]) -> list[str]:
        bad = [a for a in actions if not re.match(ACTION_PATTERN, a)]
        if bad:
            raise ValueError(f"actions must look like 'resource:op', not {bad}")
        return actions


class PluginManifest(BaseModel):
    """A plugin's identity, dependencies, contributions and configuration schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=PLUGIN_ID_PATTERN, max_length=100)
    name: str = Field(min_length=1, max_length=255)
    version: str
    description: str = ""
    author: str = ""
    type: PluginType
    category: str = "general"
    requires: dict[str, str] = Field(
        default_factory=dict, description="plugin id -> version range, e.g. '>=1.0,<2' ('' = any)"
    )
    conflicts: list[str] = Field(default_factory=list, description="plugin ids it cannot run beside")
    provides: Provides = Field(default_factory=Provides)
    permissions: Permissions = Field(default_factory=Permissions)
    config_schema: dict[str, Any] = Field(default_factory=lambda: dict(EMPTY_OBJECT_SCHEMA))
    enabled_by_default: bool = False

    @field_validator("version")
    @classmethod
    def _semver(cls, version: str) -> str:
        parse_version(version)
        return version

    @field_validator("requires")
    @classmethod
    def _version_ranges(cls, requires: dict[str, str]) -> dict[str, str]:
        for plugin_id, spec in requires.items():
            if not re.match(PLUGIN_ID_PATTERN, plugin_id):
                raise ValueError(f"{plugin_id!r} is not a plugin id")
            try:
                SpecifierSet(spec)
            except InvalidSpecifier:
                raise ValueError(f"{plugin_id}: {spec!r} is not a version range like '>=1.0,<2'") from None
        return requires

    @field_validator("conflicts")
    @classmethod
    def _conflict_ids(cls, conflicts: list[str]) -> list[str]:
        bad = [c for c in conflicts if not re.match(PLUGIN_ID_PATTERN, c)]
        if bad:
            raise ValueError(f"not plugin ids: {bad}")
        return conflicts

    @field_validator("config_schema")
    @classmethod
    def _json_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            path = "/".join(str(p) for p in exc.path) or "(root)"
            raise ValueError(f"not a valid JSON Schema at {path}: {exc.message}") from None
        if schema.get("type") != "object":
            raise ValueError("must describe an object (type: object)")
        return schema

    @model_validator(mode="after")
    def _no_self_reference(self) -> PluginManifest:
        if self.id in self.requires or self.id in self.conflicts:
            raise ValueError(f"plugin {self.id!r} cannot require or conflict with itself")
        return self

    @property
    def parsed_version(self) -> Version:
        return parse_version(self.version)

    def requirement(self, plugin_id: str) -> SpecifierSet:
        return SpecifierSet(self.requires[plugin_id])

    def config_defaults(self) -> dict[str, Any]:
        """The schema's top-level `default`s: the bottom layer of config resolution."""
        properties = self.config_schema.get("properties", {})
        return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(manifest)"
        message = e["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def read_manifest(path: Path, *, plugin_hint: str) -> PluginManifest:
    """Read and validate `path`; InvalidManifest names the plugin and each bad field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidManifest(plugin_hint, f"{path.name} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidManifest(plugin_hint, f"{path.name} must be a mapping of fields")
    try:
        return PluginManifest.model_validate(data)
    except ValidationError as exc:
        raise InvalidManifest(plugin_hint, f"{path.name}: {describe_validation_error(exc)}") from exc
