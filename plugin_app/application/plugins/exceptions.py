"""Every error of the plugin system. Each names the plugin it is about.

    PluginError
    ├── PluginRejected                 a plugin cannot run; the app and the others go on
    │   ├── InvalidManifest            manifest.yaml unreadable or invalid
    │   ├── PluginImportFailed         its code raised on import, or has no plugin class
    │   ├── InvalidContribution        what it registers is wrong, undeclared or taken
    │   ├── DependencyUnsatisfied      a required plugin is missing, too old or rejected
    │   ├── DependencyCycle            it is part of a cycle of requirements
    │   ├── PluginConflictError        a plugin it conflicts with is installed
    │   ├── DuplicatePlugin            another plugin already has its id
    │   ├── MissingTables              tables it maps onto do not exist
    │   ├── PluginMigrationFailed      one of its migrations failed (recorded with the error)
    │   ├── PluginHookFailed           on_load raised
    │   └── PluginRolledBack           its migrations were rolled back in this process
    ├── PluginNotFound                 no plugin with that id was discovered
    ├── PluginNotActive                it was rejected (or rolled back) in this process
    ├── EnablementRefused              enable/disable refused for an organization
    │   ├── DependencyNotEnabled       enabling: a required plugin is not enabled there
    │   └── DependentStillEnabled      disabling: an enabled plugin there requires it
    ├── ConfigInvalid                  configuration does not satisfy the JSON Schema
    └── RollbackRefused                its migrations cannot be rolled back now

The HTTP layer (plugin_app/api/admin_plugins.py) turns them into core.errors classes in
one place; nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RejectionKind(StrEnum):
    INVALID_MANIFEST = "invalid_manifest"
    IMPORT_FAILED = "import_failed"
    INVALID_CONTRIBUTION = "invalid_contribution"
    DEPENDENCY_UNSATISFIED = "dependency_unsatisfied"
    DEPENDENCY_CYCLE = "dependency_cycle"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    MISSING_TABLES = "missing_tables"
    MIGRATION_FAILED = "migration_failed"
    LOAD_HOOK_FAILED = "load_hook_failed"
    ROLLED_BACK = "rolled_back"


class PluginError(Exception):
    def __init__(self, plugin_id: str, message: str) -> None:
        super().__init__(f"plugin {plugin_id!r}: {message}")
        self.plugin_id = plugin_id
        self.message = message


class PluginRejected(PluginError):
    kind: RejectionKind = RejectionKind.IMPORT_FAILED


class InvalidManifest(PluginRejected):
    kind = RejectionKind.INVALID_MANIFEST


class PluginImportFailed(PluginRejected):
    kind = RejectionKind.IMPORT_FAILED


class InvalidContribution(PluginRejected):
    kind = RejectionKind.INVALID_CONTRIBUTION


class DependencyUnsatisfied(PluginRejected):
    kind = RejectionKind.DEPENDENCY_UNSATISFIED


class DependencyCycle(PluginRejected):
    kind = RejectionKind.DEPENDENCY_CYCLE


class PluginConflictError(PluginRejected):
    kind = RejectionKind.CONFLICT


class DuplicatePlugin(PluginRejected):
    kind = RejectionKind.DUPLICATE


class MissingTables(PluginRejected):
    kind = RejectionKind.MISSING_TABLES


class PluginMigrationFailed(PluginRejected):
    kind = RejectionKind.MIGRATION_FAILED


class PluginHookFailed(PluginRejected):
    kind = RejectionKind.LOAD_HOOK_FAILED


class PluginRolledBack(PluginRejected):
    kind = RejectionKind.ROLLED_BACK


class PluginNotFound(PluginError):
    def __init__(self, plugin_id: str) -> None:
        super().__init__(plugin_id, "no such plugin")


class PluginNotActive(PluginError):
    pass


class EnablementRefused(PluginError):
    pass


class DependencyNotEnabled(EnablementRefused):
    pass


class DependentStillEnabled(EnablementRefused):
    pass


@dataclass(frozen=True)
class SchemaViolation:
    """One JSON Schema error: where in the config, what is wrong, which keyword said so."""

    path: tuple[str | int, ...]
    message: str
    validator: str


class ConfigInvalid(PluginError):
    def __init__(self, plugin_id: str, violations: list[SchemaViolation]) -> None:
        summary = "; ".join(f"{'/'.join(map(str, v.path)) or '(root)'}: {v.message}" for v in violations)
        super().__init__(plugin_id, f"configuration is invalid: {summary}")
        self.violations = violations

    def as_details(self) -> list[dict[str, Any]]:
        return [
            {"loc": ["body", "config", *v.path], "msg": v.message, "type": f"json_schema.{v.validator}"}
            for v in self.violations
        ]


class RollbackRefused(PluginError):
    pass
