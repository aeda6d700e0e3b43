"""Prometheus gauges of the plugin system (served by core's /metrics). Label values are
bounded by the installed plugins."""

from __future__ import annotations

from contextlib import suppress

from prometheus_client import Gauge

from plugin_app.application.plugins.registry import PluginRegistry, PluginStatus

PLUGIN_LOAD_SECONDS = Gauge(
    "strangler_plugin_load_seconds",
    "Time to load a plugin: import, contribution checks, migrations and on_load",
    ["plugin"],
)
PLUGINS = Gauge("strangler_plugins", "Plugins discovered, by status", ["status"])

STATUS_LABELS = {PluginStatus.ACTIVE: "loaded", PluginStatus.REJECTED: "rejected"}


def publish(registry: PluginRegistry) -> None:
    """Set the gauges from the registry (after start-up, and after a rollback)."""
    records = registry.all()
    for status, label in STATUS_LABELS.items():
        PLUGINS.labels(label).set(sum(1 for r in records if r.status == status))
    active = {r.plugin_id for r in registry.active()}
    for record in records:
        if record.active:
            PLUGIN_LOAD_SECONDS.labels(record.plugin_id).set(record.load_seconds)
        elif record.plugin_id not in active:
            with suppress(KeyError):  # never set: rejected before it loaded
                PLUGIN_LOAD_SECONDS.remove(record.plugin_id)
