"""Plugin loading (plan 4.1 "Plugin Loading"): discovery, load order from dependencies with
version ranges, and invalid plugins rejected with reasons while the app and the other
plugins keep running."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import Permission
from tests.factory import Factory
from tests.plugin_support import (
    EXAMPLE_PLUGINS,
    PluginAdmin,
    get,
    manifest,
    model_module,
    plugin_app_server,
    write_plugin,
)
from tests.servers import Server

GHOST_CODE = """
from plugin_app.application.plugins import BasePlugin, ModelProvider, PluginModels


class GhostPlugin(BasePlugin, ModelProvider):
    def get_models(self) -> PluginModels:
        return PluginModels(app_label="ghost", modules=(".models",))
"""

# plugin id -> (rejection kind, words the reason must contain)
REJECTED = {
    "gamma": ("dependency_unsatisfied", ["'beta' >=2", "version 1.4.0 is installed"]),
    "delta": ("dependency_unsatisfied", ["'nowhere'", "not installed"]),
    "cycle_a": ("dependency_cycle", ["cycle_a", "cycle_b"]),
    "cycle_b": ("dependency_cycle", ["cycle_a", "cycle_b"]),
    "cycle_fan": ("dependency_unsatisfied", ["'cycle_a'", "rejected (dependency_cycle)"]),
    "conflicted": ("conflict", ["'beta' 1.4.0"]),
    "bad_version": ("invalid_manifest", ["version", "'1.0' is not a semantic version"]),
    "bad_schema": ("invalid_manifest", ["config_schema", "not a valid JSON Schema"]),
    "bad_yaml": ("invalid_manifest", ["manifest.yaml cannot be read"]),
    "folder_name": ("invalid_manifest", ["'other_name'", "'folder_name'"]),
    "boom": ("import_failed", ["boom at import"]),
    "undeclared": ("invalid_contribution", ["/api/undeclared"]),
    "ghost": ("missing_tables", ["ghost_things_never_created", "strangler migrate"]),
}


@pytest.fixture(scope="module")
def plugin_folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    main = tmp_path_factory.mktemp("plugins")
    more = tmp_path_factory.mktemp("more-plugins")
    write_plugin(main, "beta", manifest_data=manifest("beta", version="1.4.0"))
    write_plugin(main, "alpha", manifest_data=manifest("alpha", requires={"beta": ">=1.0,<2"}))
    write_plugin(main, "gamma", manifest_data=manifest("gamma", requires={"beta": ">=2"}))
    write_plugin(main, "delta", manifest_data=manifest("delta", requires={"nowhere": ">=1"}))
    write_plugin(main, "cycle_a", manifest_data=manifest("cycle_a", requires={"cycle_b": ""}))
    write_plugin(main, "cycle_b", manifest_data=manifest("cycle_b", requires={"cycle_a": ""}))
    write_plugin(main, "cycle_fan", manifest_data=manifest("cycle_fan", requires={"cycle_a": ">=1"}))
    write_plugin(main, "conflicted", manifest_data=manifest("conflicted", conflicts=["beta"]))
    write_plugin(main, "bad_version", manifest_data=manifest("bad_version", version="1.0"))
    bad_schema = {"type": "object", "properties": {"x": {"type": "nonsense"}}}
    write_plugin(main, "bad_schema", manifest_data=manifest("bad_schema", config_schema=bad_schema))
    write_plugin(main, "bad_yaml", manifest_data="id: [unclosed")
    write_plugin(main, "folder_name", manifest_data=manifest("other_name"))
    write_plugin(main, "boom", code="raise RuntimeError('boom at import')")
    write_plugin(main, "undeclared", manifest_data=manifest("undeclared", provides={}))
    write_plugin(
        main,
        "ghost",
        manifest_data=manifest("ghost", provides={"models": ["GhostThing"]}),
        code=GHOST_CODE,
        files={"models.py": model_module(("GhostThing", "ghost_things_never_created", None))},
    )
    # The same id again in a later folder: the first one found keeps it.
    write_plugin(more, "beta", manifest_data=manifest("beta", version="9.9.9"))
    return [EXAMPLE_PLUGINS, main, more]


@pytest.fixture(scope="module")
def server(database_url: str, server_logs: Path, plugin_folders: list[Path]) -> Iterator[Server]:
    with plugin_app_server(database_url, server_logs, *plugin_folders) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: Server, factory: Factory) -> PluginAdmin:
    return PluginAdmin(server, factory.user(permission=Permission.ADMIN).headers)


def test_plugins_are_discovered_and_loaded_dependencies_first(admin: PluginAdmin) -> None:
    plugins = admin.plugins()
    for plugin_id in ("hello", "alpha", "beta"):
        assert plugins[plugin_id]["status"] == "active", plugins[plugin_id]
    assert plugins["hello"]["source"] == "directory"
    assert plugins["hello"]["version"] == "1.2.0"
    assert plugins["beta"]["version"] == "1.4.0"
    assert plugins["beta"]["load_order"] < plugins["alpha"]["load_order"]


@pytest.mark.parametrize("plugin_id", sorted(REJECTED))
def test_each_invalid_plugin_is_rejected_with_its_reason(admin: PluginAdmin, plugin_id: str) -> None:
    kind, words = REJECTED[plugin_id]
    record = admin.plugins()[plugin_id]
    assert record["status"] == "rejected"
    assert record["rejection"]["kind"] == kind
    for word in words:
        assert word in record["rejection"]["message"], record["rejection"]


def test_a_duplicate_id_is_rejected_and_the_first_one_kept(admin: PluginAdmin) -> None:
    listed = admin.ok("GET", "")["plugins"]
    betas = [p for p in listed if p["id"] == "beta"]
    assert [(p["version"], p["status"]) for p in betas] == [("1.4.0", "active"), ("9.9.9", "rejected")]
    assert betas[1]["rejection"]["kind"] == "duplicate"


def test_the_log_names_every_rejected_plugin_and_the_count(admin: PluginAdmin, server: Server) -> None:
    counts = admin.ok("GET", "")["counts"]
    log = server.log()
    assert f"Plugin system initialized with {counts['loaded']} plugins" in log
    for plugin_id, (kind, _) in REJECTED.items():
        assert f"Plugin '{plugin_id}' rejected ({kind})" in log


def test_the_app_and_the_valid_plugins_keep_serving(
    admin: PluginAdmin, server: Server, factory: Factory
) -> None:
    org = factory.organization()
    assert get(server, "/healthz").json() == {"status": "ok"}
    assert admin.enable("beta", org).status_code == 200
    assert admin.enable("alpha", org).status_code == 200
    assert get(server, f"/api/alpha/organizations/{org}/ping").json() == {
        "plugin": "alpha",
        "organization_id": org,
    }
    for rejected in ("gamma", "conflicted", "undeclared"):
        response = get(server, f"/api/{rejected}/organizations/{org}/ping")
        assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_metrics_export_each_plugins_load_time_and_the_counts(admin: PluginAdmin, server: Server) -> None:
    counts = admin.ok("GET", "")["counts"]
    text = get(server, "/metrics").text
    for plugin_id in ("hello", "alpha", "beta"):
        match = re.search(rf'^strangler_plugin_load_seconds\{{plugin="{plugin_id}"\}} (\S+)$', text, re.M)
        assert match and float(match.group(1)) > 0
    assert 'strangler_plugin_load_seconds{plugin="gamma"}' not in text
    assert f'strangler_plugins{{status="loaded"}} {float(counts["loaded"])}' in text
    assert f'strangler_plugins{{status="rejected"}} {float(counts["rejected"])}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "process_resident_memory_bytes" in text
