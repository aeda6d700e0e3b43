"""PluginLoader: find plugins, validate their manifests, order them by their dependencies,
import them and collect what they contribute — all before the app's Tortoise config is
built, since Tortoise must know every model module at `Tortoise.init`.

Where plugins come from, in this order (the first plugin to take an id keeps it):
1. built-ins: `plugin_app/plugins/builtin/<id>/` (manifest type `builtin`);
2. folders: `plugin_app/plugins/external/<id>/` and `<dir>/<id>/` for every folder of
   STRANGLER_PLUGIN_DIRS — those folders are appended to the `plugin_app.plugins.external`
   package's `__path__`, so each imports as `plugin_app.plugins.external.<id>`;
3. the `strangler.plugins` entry-point group: `<id> = package.plugin:PluginClass`, with
   manifest.yaml inside `package`.

Any step that fails rejects that plugin (and the plugins requiring it) with a logged reason
naming it; the rest load. Nothing here touches the database: migrations and `on_load`
come later, in the app's lifespan.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import plugin_app.plugins.builtin as builtin_package
import plugin_app.plugins.external as external_package
from plugin_app.application.plugins.base import BasePlugin
from plugin_app.application.plugins.contributions import collect
from plugin_app.application.plugins.dependencies import resolve_load_order
from plugin_app.application.plugins.exceptions import (
    DependencyUnsatisfied,
    InvalidManifest,
    PluginImportFailed,
    PluginRejected,
)
from plugin_app.application.plugins.manifest import (
    MANIFEST_FILE,
    PLUGIN_ID_PATTERN,
    PluginManifest,
    read_manifest,
)
from plugin_app.application.plugins.registry import PluginRecord, PluginRegistry, PluginSource
from plugin_app.models.plugin import PluginType
from plugin_app.settings import ENTRY_POINT_GROUP, PluginSettings

log = logging.getLogger("plugin_app.plugins")

PLUGIN_MODULE = "plugin"
EXPECTED_TYPE = {
    PluginSource.BUILTIN: PluginType.BUILTIN,
    PluginSource.DIRECTORY: PluginType.EXTERNAL,
    PluginSource.ENTRY_POINT: PluginType.EXTERNAL,
}


@dataclass(frozen=True)
class Candidate:
    """A plugin found on disk or through an entry point, not yet read."""

    name: str  # the folder or entry-point name, which must equal the manifest id
    source: PluginSource
    folder: Path
    package: str
    entry_point: EntryPoint | None = None


def _folder_candidates(folder: Path, package: str, source: PluginSource) -> Iterator[Candidate]:
    if not folder.is_dir():
        log.warning("Plugin folder %s does not exist; skipped", folder)
        return
    for child in sorted(folder.iterdir()):
        if child.is_dir() and (child / MANIFEST_FILE).is_file():
            yield Candidate(child.name, source, child, f"{package}.{child.name}")


def _entry_point_candidate(entry_point: EntryPoint) -> Candidate:
    module = entry_point.module
    package = module.rpartition(".")[0] or module
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise PluginImportFailed(entry_point.name, f"entry point {entry_point.value!r}: no package {package}")
    if spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
    else:
        folder = Path(spec.origin or ".").parent
    return Candidate(entry_point.name, PluginSource.ENTRY_POINT, folder, package, entry_point)


class PluginLoader:
    def __init__(self, registry: PluginRegistry, settings: PluginSettings) -> None:
        self.registry = registry
        self.settings = settings

    def discover(self) -> list[Candidate]:
        """Every plugin candidate, in precedence order."""
        candidates = list(
            _folder_candidates(
                Path(builtin_package.__path__[0]), builtin_package.__name__, PluginSource.BUILTIN
            )
        )
        for folder in self.settings.extra_plugin_dirs:
            if str(folder) not in external_package.__path__:
                external_package.__path__.append(str(folder))
        for folder in map(Path, list(external_package.__path__)):
            candidates += _folder_candidates(folder, external_package.__name__, PluginSource.DIRECTORY)
        if self.settings.plugin_entry_points:
            for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                try:
                    candidates.append(_entry_point_candidate(entry_point))
                except (PluginRejected, ImportError, ValueError) as exc:
                    error = (
                        exc
                        if isinstance(exc, PluginRejected)
                        else PluginImportFailed(entry_point.name, str(exc))
                    )
                    record = PluginRecord(entry_point.name, PluginSource.ENTRY_POINT, entry_point.value)
                    self.registry.add_rejected(record, error)
        return candidates

    def load(self) -> PluginRegistry:
        """Discover, validate, order, import and register every plugin."""
        records: dict[str, PluginRecord] = {}
        candidates: dict[str, Candidate] = {}
        for candidate in self.discover():
            record = PluginRecord(candidate.name, candidate.source, str(candidate.folder))
            try:
                record.manifest = self._read(candidate)
                self.registry.claim_id(record)
            except PluginRejected as exc:
                if record.rejection is None:
                    self.registry.add_rejected(record, exc)
                continue
            records[candidate.name] = record
            candidates[candidate.name] = candidate

        resolution = resolve_load_order({i: r.manifest for i, r in records.items() if r.manifest})
        for plugin_id, error in sorted(resolution.rejected.items()):
            self.registry.add_rejected(records[plugin_id], error)
        for plugin_id in resolution.order:
            self._load_one(records[plugin_id], candidates[plugin_id])
        return self.registry

    @staticmethod
    def _read(candidate: Candidate) -> PluginManifest:
        if not re.match(PLUGIN_ID_PATTERN, candidate.name):
            raise InvalidManifest(
                candidate.name, f"folder or entry-point name {candidate.name!r} is not a plugin id"
            )
        manifest = read_manifest(candidate.folder / MANIFEST_FILE, plugin_hint=candidate.name)
        if manifest.id != candidate.name:
            raise InvalidManifest(
                candidate.name,
                f"manifest id {manifest.id!r} differs from its folder or entry-point name {candidate.name!r}",
            )
        expected = EXPECTED_TYPE[candidate.source]
        if manifest.type != expected:
            raise InvalidManifest(
                manifest.id,
                f"manifest type is {manifest.type.value!r}, but a plugin from {candidate.source.value} "
                f"must be {expected.value!r}",
            )
        return manifest

    def _load_one(self, record: PluginRecord, candidate: Candidate) -> None:
        assert record.manifest is not None
        started = time.perf_counter()
        try:
            for dependency in record.manifest.requires:
                if not self.registry.is_active(dependency):
                    raise DependencyUnsatisfied(
                        record.plugin_id, f"requires {dependency!r}, which was rejected while loading"
                    )
            plugin_class = self._plugin_class(candidate)
            try:
                record.plugin = plugin_class(record.manifest, candidate.package)
            except Exception as exc:
                raise PluginImportFailed(
                    record.plugin_id, f"{plugin_class.__name__}() raised {exc!r}"
                ) from exc
            record.contributions = collect(record.plugin)
            self.registry.register(record)
        except PluginRejected as exc:
            record.plugin = None
            self.registry.add_rejected(record, exc)
        finally:
            record.load_seconds = time.perf_counter() - started

    @staticmethod
    def _plugin_class(candidate: Candidate) -> type[BasePlugin]:
        name = candidate.name
        try:
            if candidate.entry_point is not None:
                found = candidate.entry_point.load()
                if not (inspect.isclass(found) and issubclass(found, BasePlugin)):
                    raise PluginImportFailed(
                        name, f"entry point {candidate.entry_point.value!r} is not a BasePlugin subclass"
                    )
                return found
            module = importlib.import_module(f"{candidate.package}.{PLUGIN_MODULE}")
        except PluginRejected:
            raise
        except Exception as exc:
            raise PluginImportFailed(name, f"importing its code raised {exc!r}") from exc
        classes = [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, BasePlugin) and c is not BasePlugin and c.__module__ == module.__name__
        ]
        if len(classes) != 1:
            found_names = [c.__name__ for c in classes]
            raise PluginImportFailed(
                name, f"{module.__name__} must define exactly one BasePlugin subclass, found {found_names}"
            )
        return classes[0]
