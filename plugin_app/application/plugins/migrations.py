"""Plugin migrations: a plugin's own Tortoise migrations (app label `plugin_<id>`), applied at
start-up in load order and recorded in `plugin_migrations`; each can be rolled back.

Only `plugin_*` labels are ever migrated or rolled back here. The shared schema (core, the
tournament and async_qualifier tables) belongs to core's and legacy_app's migrations
(`core.database.migrate`); a plugin that maps onto those tables ships no migrations, and
start-up only checks that its tables exist.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget, PlanStep
from tortoise.migrations.graph import MigrationGraph, MigrationKey

from plugin_app.application.plugins.exceptions import (
    MissingTables,
    PluginMigrationFailed,
    RollbackRefused,
)
from plugin_app.application.plugins.registry import PluginRecord, PluginRegistry
from plugin_app.models.plugin import PluginMigration

log = logging.getLogger("plugin_app.plugins")

PLUGIN_LABEL_PREFIX = "plugin_"
# Recorded when a failure happens before any migration starts (e.g. a broken dependency graph).
PLAN_STEP = "__plan__"


class PluginMigrationExecutor(MigrationExecutor):
    """Tortoise's executor, with `__first__` meaning the app's own first migrations.

    Tortoise 1.1 takes `<label>.__first__` to be the label's roots of the whole graph —
    migrations with no parent at all — so for an app whose first migration depends on
    core's (any plugin with a foreign key to core), rolling back "everything" would do
    nothing. Here the first migrations are those whose parents are all in other apps.
    Pinned by tests/test_plugin_migrations.py.
    """

    def _migration_plan(
        self, targets: Iterable[MigrationTarget] | None, applied: set[MigrationKey], graph: MigrationGraph
    ) -> list[PlanStep]:
        if targets is None:
            return super()._migration_plan(None, applied, graph)
        targets = list(targets)
        firsts = [t for t in targets if t.name == "__first__"]
        others = [t for t in targets if t.name != "__first__"]
        plan = super()._migration_plan(others, applied, graph) if others else []
        for target in firsts:
            for node in graph.node_map.values():
                if node.key.app_label == target.app_label and all(
                    parent.key.app_label != target.app_label for parent in node.parents
                ):
                    first = MigrationTarget(node.key.app_label, node.key.name)
                    plan.extend(self._backward_plan(first, applied, graph, include_target=True))
        return self._dedupe_plan(plan)


class PluginMigrator:
    def __init__(self, registry: PluginRegistry, tortoise_config: dict[str, Any]) -> None:
        self.registry = registry
        self._apps = {
            label: spec for label, spec in tortoise_config["apps"].items() if spec.get("migrations")
        }

    def _executor(self) -> MigrationExecutor:
        return PluginMigrationExecutor(get_connection("default"), self._apps)

    async def apply(self, record: PluginRecord) -> list[str]:
        """Apply the plugin's pending migrations; PluginMigrationFailed names the one that failed."""
        models = record.contributions.models
        if models is None or models.migrations is None:
            return []
        label = models.app_label
        applied: list[str] = []
        current: list[str] = []

        def progress(event: str, app_label: str, name: str) -> None:
            if app_label != label:
                return
            if event == "apply_start":
                current.append(name)
            elif event == "apply_done":
                applied.append(name)

        try:
            await self._executor().migrate(
                [MigrationTarget(label, "__latest__")], direction="forward", progress=progress
            )
        except Exception as exc:
            failed = next((n for n in reversed(current) if n not in applied), PLAN_STEP)
            await self._record(record, applied)
            await self._record_failure(record, failed, f"{type(exc).__name__}: {exc}")
            raise PluginMigrationFailed(record.plugin_id, f"migration {failed} failed: {exc}") from exc
        await self._record(record, applied)
        await self._record(record, await self._applied_on_disk_records(label), only_missing=True)
        if applied:
            log.info("Plugin %r: applied migrations %s", record.plugin_id, applied)
        return applied

    async def _applied_on_disk_records(self, label: str) -> list[str]:
        executor = self._executor()
        return [k.name for k in await executor.recorder.applied_migrations() if k.app_label == label]

    async def _record(self, record: PluginRecord, names: list[str], *, only_missing: bool = False) -> None:
        assert record.manifest is not None
        now = datetime.now(UTC)
        for name in names:
            row = await PluginMigration.get_or_none(plugin_id=record.plugin_id, migration_name=name)
            if row is None:
                await PluginMigration.create(
                    plugin_id=record.plugin_id,
                    migration_name=name,
                    version=record.manifest.version,
                    applied_at=now,
                    success=True,
                )
            elif not only_missing:
                row.version = record.manifest.version
                row.applied_at = now
                row.success = True
                row.error_message = None
                row.rolled_back_at = None
                await row.save()

    @staticmethod
    async def _record_failure(record: PluginRecord, name: str, error: str) -> None:
        assert record.manifest is not None
        await PluginMigration.update_or_create(
            plugin_id=record.plugin_id,
            migration_name=name,
            defaults={
                "version": record.manifest.version,
                "applied_at": None,
                "success": False,
                "error_message": error,
                "rolled_back_at": None,
            },
        )

    async def rollback(
        self, plugin_id: str, to: str | None = None, *, before: Callable[[], Awaitable[None]] | None = None
    ) -> list[str]:
        """Unapply the plugin's migrations after `to` (all of them when None); returns their
        names. `before` runs once the rollback is known to be possible, just before it starts."""
        record = self.registry.get(plugin_id)
        models = record.contributions.models
        if models is None or models.migrations is None:
            raise RollbackRefused(plugin_id, "it ships no migrations")
        label = models.app_label
        target = [MigrationTarget(label, to or "__first__")]
        executor = self._executor()
        try:
            plan = await executor.plan(target)
        except ValueError as exc:
            raise RollbackRefused(plugin_id, str(exc)) from exc
        if any(not step.backward for step in plan):
            raise RollbackRefused(plugin_id, f"migration {to} is not applied")
        if not plan:
            raise RollbackRefused(plugin_id, "no applied migrations to roll back")
        foreign = sorted(
            {s.migration.app_label for s in plan if not s.migration.app_label.startswith(PLUGIN_LABEL_PREFIX)}
        )
        if foreign:  # cannot happen with plugin_* labels; the shared schema must never be touched
            raise RollbackRefused(plugin_id, f"the rollback would touch the shared apps {foreign}")
        if before is not None:
            await before()
        rolled_back: list[tuple[str, str]] = []

        def progress(event: str, app_label: str, name: str) -> None:
            if event == "rollback_done":
                rolled_back.append((app_label, name))

        try:
            await executor.migrate(target, direction="backward", progress=progress)
        finally:
            now = datetime.now(UTC)
            for app_label, name in rolled_back:
                await PluginMigration.filter(
                    plugin_id=app_label.removeprefix(PLUGIN_LABEL_PREFIX), migration_name=name
                ).update(rolled_back_at=now)
        log.info("Plugin %r: rolled back migrations %s", plugin_id, [n for _, n in rolled_back])
        return [name for app_label, name in rolled_back if app_label == label]

    @staticmethod
    async def records(plugin_id: str) -> list[PluginMigration]:
        return await PluginMigration.filter(plugin_id=plugin_id).order_by("migration_name")


async def check_mapped_tables(record: PluginRecord) -> None:
    """A plugin mapping onto another schema's tables needs them to exist: say so if not."""
    models = record.contributions.models
    if models is None or models.migrations is not None:
        return
    connection = get_connection("default")
    missing = []
    apps = Tortoise.apps
    mapped = apps[models.app_label] if apps is not None and models.app_label in apps else {}
    for model in mapped.values():
        table = model._meta.db_table
        try:
            await connection.execute_query(f'SELECT 1 FROM "{table}" WHERE 1 = 0')
        except Exception:
            missing.append(table)
    if missing:
        raise MissingTables(
            record.plugin_id,
            f"tables {sorted(missing)} (app {models.app_label!r}) do not exist; they belong to the "
            "shared schema, which plugin_app never creates: run `strangler migrate` "
            "(core.database.migrate with legacy_app's apps) first",
        )
