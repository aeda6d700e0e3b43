"""The plugin contract itself, without a server: every hook and provider method is
documented, manifests are validated with errors naming the field, load order follows the
dependency graph, and the enablement cache keeps its bound and TTL (with a stand-in clock)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from plugin_app.application.plugins.base import PROVIDERS, BasePlugin
from plugin_app.application.plugins.dependencies import resolve_load_order
from plugin_app.application.plugins.enablement import EnablementCache
from plugin_app.application.plugins.exceptions import InvalidManifest, RejectionKind
from plugin_app.application.plugins.manifest import PluginManifest, read_manifest
from tests.plugin_support import EXAMPLE_PLUGINS

HOOKS = ("on_load", "on_enable", "on_disable", "on_unload", "organization_locators")


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }


@pytest.mark.parametrize("interface", [BasePlugin, *PROVIDERS], ids=lambda c: c.__name__)
def test_every_hook_and_provider_method_has_a_one_line_docstring(interface: type) -> None:
    methods = public_methods(interface)
    if interface is BasePlugin:
        methods = {name: methods[name] for name in HOOKS}
    assert methods
    for name, method in methods.items():
        doc = inspect.getdoc(method)
        assert doc and "\n" not in doc, f"{interface.__name__}.{name} needs a one-line docstring"


def test_the_example_manifest_is_valid() -> None:
    hello = read_manifest(EXAMPLE_PLUGINS / "hello" / "manifest.yaml", plugin_hint="hello")
    assert hello.id == "hello" and hello.config_defaults()["greeting"] == "Hello"


def base(**fields: Any) -> dict[str, Any]:
    return {"id": "sample", "name": "Sample", "version": "1.0.0", "type": "external", **fields}


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"id": "Bad-Id"}, "id", "pattern"),
        ({"version": "1.0"}, "version", "not a semantic version"),
        ({"version": "1.0.0-x.7"}, "version", "alpha, beta or rc"),
        ({"type": "plugin"}, "type", "builtin"),
        ({"requires": {"other": "around 2"}}, "requires", "not a version range"),
        ({"requires": {"sample": ">=1"}}, "(manifest)", "itself"),
        ({"conflicts": ["Not An Id"]}, "conflicts", "not plugin ids"),
        ({"config_schema": {"type": "array"}}, "config_schema", "must describe an object"),
        ({"config_schema": {"type": "object", "required": "x"}}, "config_schema", "not a valid JSON Schema"),
        ({"permissions": {"actions": ["read"]}}, "permissions.actions", "resource:op"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_an_invalid_manifest_names_the_field(
    tmp_path: Path, fields: dict[str, Any], field: str, words: str
) -> None:
    import yaml

    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(base(**fields)))
    with pytest.raises(InvalidManifest) as raised:
        read_manifest(path, plugin_hint="sample")
    assert raised.value.plugin_id == "sample"
    assert f"{field}:" in raised.value.message and words in raised.value.message, raised.value.message


def test_semver_prereleases_take_part_in_version_ranges() -> None:
    manifests = {
        "lib": PluginManifest.model_validate(base(id="lib", version="2.0.0-rc.1")),
        "app": PluginManifest.model_validate(base(id="app", requires={"lib": ">=2.0.0rc1,<3"})),
    }
    assert resolve_load_order(manifests).order == ["lib", "app"]


def test_load_order_is_dependencies_first_then_by_id() -> None:
    def manifest(plugin_id: str, **requires: str) -> PluginManifest:
        return PluginManifest.model_validate(base(id=plugin_id, requires=requires))

    manifests = {m.id: m for m in [manifest("c", a=""), manifest("b"), manifest("a", b=">=1"), manifest("d")]}
    resolution = resolve_load_order(manifests)
    assert resolution.order == ["b", "d", "a", "c"]
    assert resolution.rejected == {}


def test_a_conflict_rejects_the_plugin_that_declares_it_only_if_the_other_can_load() -> None:
    manifests = {
        "old": PluginManifest.model_validate(base(id="old", requires={"gone": ""})),
        "new": PluginManifest.model_validate(base(id="new", conflicts=["old"])),
    }
    resolution = resolve_load_order(manifests)
    assert resolution.order == ["new"]
    assert resolution.rejected["old"].kind == RejectionKind.DEPENDENCY_UNSATISFIED


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_enablement_cache_is_bounded_and_expires() -> None:
    clock = Clock()
    cache = EnablementCache(ttl_seconds=5, max_organizations=2, clock=clock)
    cache.put(1, {"hello": True})
    cache.put(2, {"hello": False})
    assert cache.get(1) == {"hello": True}  # 1 is now the most recently used
    cache.put(3, {"hello": True})
    assert (cache.get(2), len(cache)) == (None, 2)  # the least recently used went
    clock.now = 5.0
    assert cache.get(1) is None and cache.get(3) is None
    cache.put(4, {})
    cache.invalidate(4)
    assert cache.get(4) is None
