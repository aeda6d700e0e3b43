"""PluginRegistry: every plugin the loader found, active or rejected, in load order.

An object the app owns (`app.state.plugins.registry`), filled once at start-up. Whatever a
plugin claims that must be unique across the app (its id, Tortoise app label, ownership
kinds, routes, slash command names, component custom_id prefixes) is checked when it
registers; the later claimant is rejected with a reason naming both plugins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from plugin_app.application.plugins.base import BasePlugin
from plugin_app.application.plugins.contributions import Contributions
from plugin_app.application.plugins.exceptions import (
    DependencyUnsatisfied,
    DuplicatePlugin,
    InvalidContribution,
    PluginNotActive,
    PluginNotFound,
    PluginRejected,
    RejectionKind,
)
from plugin_app.application.plugins.manifest import PluginManifest

log = logging.getLogger("plugin_app.plugins")

# Paths the platform serves itself; a plugin route there would shadow or be shadowed.
RESERVED_PATH_PREFIXES = ("/api/admin", "/admin", "/_strangler", "/metrics", "/healthz", "/docs", "/openapi")
CORE_OWNERSHIP_KINDS = frozenset({"discord_guild"})


class PluginStatus(StrEnum):
    ACTIVE = "active"
    REJECTED = "rejected"


class PluginSource(StrEnum):
    BUILTIN = "builtin"
    DIRECTORY = "directory"
    ENTRY_POINT = "entry_point"


@dataclass(frozen=True)
class Rejection:
    kind: RejectionKind
    message: str


@dataclass
class PluginRecord:
    """One discovered plugin. `plugin_id` is the manifest's id, or the folder/entry-point
    name when the manifest could not be read."""

    plugin_id: str
    source: PluginSource
    location: str
    manifest: PluginManifest | None = None
    plugin: BasePlugin | None = None
    contributions: Contributions = field(default_factory=Contributions)
    rejection: Rejection | None = None
    load_seconds: float = 0.0
    load_index: int | None = None

    @property
    def status(self) -> PluginStatus:
        return PluginStatus.REJECTED if self.rejection else PluginStatus.ACTIVE

    @property
    def active(self) -> bool:
        return self.rejection is None and self.plugin is not None

    def summary(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "id": self.plugin_id,
            "name": m.name if m else None,
            "version": m.version if m else None,
            "type": m.type.value if m else None,
            "category": m.category if m else None,
            "description": m.description if m else "",
            "author": m.author if m else "",
            "source": self.source.value,
            "location": self.location,
            "status": self.status.value,
            "rejection": None
            if self.rejection is None
            else {"kind": self.rejection.kind.value, "message": self.rejection.message},
            "load_order": self.load_index,
            "load_seconds": round(self.load_seconds, 6),
            "requires": dict(m.requires) if m else {},
            "conflicts": list(m.conflicts) if m else [],
            "provides": m.provides.model_dump() if m else {},
            "permissions": m.permissions.model_dump() if m else {},
            "enabled_by_default": m.enabled_by_default if m else False,
            "config_schema": m.config_schema if m else {},
        }


class PluginRegistry:
    def __init__(self) -> None:
        self._records: dict[str, PluginRecord] = {}
        self._shadowed: list[PluginRecord] = []  # rejected duplicates of an id already taken
        self._load_order: list[str] = []

    # -- registration -------------------------------------------------------------------

    def add_rejected(self, record: PluginRecord, error: PluginRejected) -> None:
        """Record a plugin that never got as far as registering."""
        self._mark(record, error)
        holder = self._records.get(record.plugin_id)
        if holder is None:
            self._records[record.plugin_id] = record
        elif holder is not record and record not in self._shadowed:
            self._shadowed.append(record)

    def claim_id(self, record: PluginRecord) -> None:
        """Reserve an id for a plugin about to load; a second claimant is a duplicate."""
        holder = self._records.get(record.plugin_id)
        if holder is not None:
            error = DuplicatePlugin(
                record.plugin_id, f"another plugin already has this id (from {holder.location})"
            )
            self._mark(record, error)
            self._shadowed.append(record)
            raise error
        self._records[record.plugin_id] = record

    def register(self, record: PluginRecord) -> None:
        """Make a loaded plugin active, after checking what it claims is not taken."""
        self._check_claims(record)
        record.load_index = len(self._load_order)
        self._load_order.append(record.plugin_id)

    def reject(self, plugin_id: str, error: PluginRejected) -> list[str]:
        """Reject an active plugin and, transitively, every active plugin requiring it."""
        record = self.get(plugin_id)
        self._mark(record, error)
        rejected = [plugin_id]
        for dependent in self.dependents(plugin_id):
            rejected += self.reject(
                dependent.plugin_id,
                DependencyUnsatisfied(
                    dependent.plugin_id, f"requires {plugin_id!r}, which was rejected ({error.kind.value})"
                ),
            )
        return rejected

    @staticmethod
    def _mark(record: PluginRecord, error: PluginRejected) -> None:
        if record.rejection is None:
            record.rejection = Rejection(error.kind, error.message)
            log.warning("Plugin %r rejected (%s): %s", record.plugin_id, error.kind.value, error.message)

    def _check_claims(self, record: PluginRecord) -> None:
        c = record.contributions
        problems: list[str] = []
        mine = {
            "app label": {c.models.app_label} if c.models else set(),
            "ownership kind": set(c.ownership),
            "route": {f"{m} {p}" for m, p in c.api_routes() + c.page_routes()},
            "discord command": {cmd.name for cmd in c.commands},
            "component prefix": set(c.components),
        }
        taken = set(mine["ownership kind"]) & CORE_OWNERSHIP_KINDS
        if taken:
            problems.append(f"ownership kind {sorted(taken)} belongs to core")
        reserved = sorted(
            p for _, p in c.api_routes() + c.page_routes() if p.startswith(RESERVED_PATH_PREFIXES)
        )
        if reserved:
            problems.append(f"routes {reserved} are under paths the platform serves")
        for other in self.active():
            oc = other.contributions
            theirs = {
                "app label": {oc.models.app_label} if oc.models else set(),
                "ownership kind": set(oc.ownership),
                "route": {f"{m} {p}" for m, p in oc.api_routes() + oc.page_routes()},
                "discord command": {cmd.name for cmd in oc.commands},
                "component prefix": set(oc.components),
            }
            for what, names in mine.items():
                clash = names & theirs[what]
                if clash:
                    problems.append(f"{what} {sorted(clash)} already registered by {other.plugin_id!r}")
        if problems:
            error = InvalidContribution(record.plugin_id, "; ".join(problems))
            self._mark(record, error)
            raise error

    # -- queries ------------------------------------------------------------------------

    def get(self, plugin_id: str) -> PluginRecord:
        record = self._records.get(plugin_id)
        if record is None:
            raise PluginNotFound(plugin_id)
        return record

    def get_active(self, plugin_id: str) -> PluginRecord:
        record = self.get(plugin_id)
        if not record.active:
            assert record.rejection is not None
            raise PluginNotActive(plugin_id, f"not loaded: {record.rejection.message}")
        return record

    def plugin(self, plugin_id: str) -> BasePlugin:
        plugin = self.get_active(plugin_id).plugin
        assert plugin is not None
        return plugin

    def is_active(self, plugin_id: str) -> bool:
        record = self._records.get(plugin_id)
        return record is not None and record.active

    def active(self) -> list[PluginRecord]:
        """Active plugins in load order (dependencies first)."""
        return [self._records[i] for i in self._load_order if self._records[i].active]

    def rejected(self) -> list[PluginRecord]:
        return [r for r in self.all() if not r.active]

    def all(self) -> list[PluginRecord]:
        """Every discovered plugin: loaded ones in load order, then the rest by id."""
        loaded = [self._records[i] for i in self._load_order]
        others = sorted(
            (r for r in self._records.values() if r.plugin_id not in self._load_order),
            key=lambda r: r.plugin_id,
        )
        return loaded + others + self._shadowed

    def dependents(self, plugin_id: str) -> list[PluginRecord]:
        """Active plugins whose manifests require `plugin_id`."""
        return [r for r in self.active() if r.manifest and plugin_id in r.manifest.requires]

    def count(self) -> int:
        return len(self.active())

    def tortoise_apps(self) -> dict[str, dict[str, Any]]:
        """The Tortoise apps of the active plugins' models, for the app's config."""
        apps: dict[str, dict[str, Any]] = {}
        for record in self.active():
            models = record.contributions.models
            if models is None:
                continue
            spec: dict[str, Any] = {"models": list(models.modules)}
            if models.migrations:
                spec["migrations"] = models.migrations
            apps[models.app_label] = spec
        return apps
