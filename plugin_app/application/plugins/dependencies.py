"""Load order from the dependency graph, as a pure function of the manifests.

A plugin is rejected when a plugin it requires is missing, has a version outside the
required range, or is itself rejected; when a plugin it declares a conflict with is
present; or when it is part of a requirement cycle. Rejections propagate to dependents
until nothing changes; the rest are ordered dependencies-first (ties by id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from plugin_app.application.plugins.exceptions import (
    DependencyCycle,
    DependencyUnsatisfied,
    PluginConflictError,
    PluginRejected,
)
from plugin_app.application.plugins.manifest import PluginManifest


@dataclass(frozen=True)
class Resolution:
    order: list[str]
    rejected: dict[str, PluginRejected]


def _requirement_problem(
    manifest: PluginManifest,
    dependency: str,
    remaining: Mapping[str, PluginManifest],
    rejected: Mapping[str, PluginRejected],
) -> PluginRejected | None:
    spec = manifest.requires[dependency]
    wanted = f"{dependency!r}" + (f" {spec}" if spec else "")
    if dependency in rejected:
        kind = rejected[dependency].kind.value
        return DependencyUnsatisfied(manifest.id, f"requires {wanted}, which was rejected ({kind})")
    if dependency not in remaining:
        return DependencyUnsatisfied(manifest.id, f"requires {wanted}, which is not installed")
    installed = remaining[dependency].parsed_version
    if not manifest.requirement(dependency).contains(installed, prereleases=True):
        return DependencyUnsatisfied(
            manifest.id, f"requires {wanted}, but version {remaining[dependency].version} is installed"
        )
    return None


def _dependency_problems(
    remaining: dict[str, PluginManifest], rejected: dict[str, PluginRejected]
) -> dict[str, PluginRejected]:
    found: dict[str, PluginRejected] = {}
    for plugin_id in sorted(remaining):
        manifest = remaining[plugin_id]
        for dependency in sorted(manifest.requires):
            problem = _requirement_problem(manifest, dependency, remaining, rejected)
            if problem:
                found[plugin_id] = problem
                break
    return found


def _conflicts(remaining: dict[str, PluginManifest]) -> dict[str, PluginRejected]:
    """The plugin that declares a conflict is the one refused; its counterpart stays."""
    found: dict[str, PluginRejected] = {}
    for plugin_id in sorted(remaining):
        clash = sorted(set(remaining[plugin_id].conflicts) & set(remaining))
        if clash:
            other = remaining[clash[0]]
            found[plugin_id] = PluginConflictError(
                plugin_id, f"conflicts with {other.id!r} {other.version}, which is installed"
            )
    return found


def _cycle(remaining: dict[str, PluginManifest]) -> dict[str, PluginRejected]:
    try:
        _sorter(remaining).prepare()
    except CycleError as cycle:
        path = list(cycle.args[1])
        # graphlib lists the cycle against the edges' direction; show it in "requires" order.
        path.reverse()
        shown = " -> ".join(path)
        return {p: DependencyCycle(p, f"dependency cycle: {shown}") for p in set(path)}
    return {}


def _sorter(remaining: Mapping[str, PluginManifest]) -> TopologicalSorter[str]:
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for plugin_id in sorted(remaining):
        sorter.add(plugin_id, *sorted(d for d in remaining[plugin_id].requires if d in remaining))
    return sorter


def resolve_load_order(manifests: Mapping[str, PluginManifest]) -> Resolution:
    remaining = dict(manifests)
    rejected: dict[str, PluginRejected] = {}
    while True:
        # Missing dependencies first: a plugin that cannot load anyway neither conflicts
        # with another nor closes a cycle.
        problems = _dependency_problems(remaining, rejected) or _conflicts(remaining) or _cycle(remaining)
        if not problems:
            break
        for plugin_id, problem in problems.items():
            rejected[plugin_id] = problem
            remaining.pop(plugin_id)
    sorter = _sorter(remaining)
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return Resolution(order=order, rejected=rejected)
