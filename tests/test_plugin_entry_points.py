"""External plugins installed as packages: found through the `strangler.plugins`
entry-point group. The example plugin is "installed" by a dist-info folder on the server's
PYTHONPATH, which is all an installed distribution is to importlib.metadata."""

from __future__ import annotations

import os
from pathlib import Path

from core.models import Permission, Role
from tests.factory import Factory
from tests.plugin_support import EXAMPLE_PLUGINS, PluginAdmin, plugin_app_server, post

ENTRY_POINTS = """\
[strangler.plugins]
hello = hello.plugin:HelloPlugin
vanished = no_such_package.plugin:Plugin
"""


def fake_site(folder: Path) -> Path:
    dist_info = folder / "strangler_hello_plugin-1.2.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: strangler-hello-plugin\nVersion: 1.2.0\n"
    )
    (dist_info / "entry_points.txt").write_text(ENTRY_POINTS)
    return folder


def test_a_plugin_is_loaded_from_its_entry_point(
    database_url: str, server_logs: Path, tmp_path: Path, factory: Factory
) -> None:
    site = fake_site(tmp_path / "site")
    python_path = os.pathsep.join(
        p for p in (str(site), str(EXAMPLE_PLUGINS), os.environ.get("PYTHONPATH")) if p
    )
    with plugin_app_server(
        database_url, server_logs, STRANGLER_PLUGIN_ENTRY_POINTS="true", PYTHONPATH=python_path
    ) as server:
        admin = PluginAdmin(server, factory.user(permission=Permission.ADMIN).headers)
        plugins = admin.plugins()
        hello = plugins["hello"]
        assert (hello["source"], hello["status"], hello["version"]) == ("entry_point", "active", "1.2.0")
        assert hello["location"] == str(EXAMPLE_PLUGINS / "hello")
        vanished = plugins["vanished"]
        assert vanished["rejection"]["kind"] == "import_failed"
        assert "no_such_package" in vanished["rejection"]["message"]

        org = factory.organization()
        assert admin.enable("hello", org).status_code == 200
        member = factory.user(org=org, roles=[Role.ADMIN])
        created = post(server, f"/api/hello/organizations/{org}/greetings", {"name": "Eve"}, member.headers)
        assert (created.status_code, created.json()["text"]) == (201, "Hello, Eve!")
