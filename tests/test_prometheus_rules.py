"""The Prometheus configuration and rules (prometheus/): `promtool check` on both, and the
rules' unit tests (prometheus/tests/*.yml) through `promtool test rules`. promtool comes
with Debian's prometheus package (scripts/bootstrap installs it); without it these tests
fail rather than skip, so CI cannot pass them by not running them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers import ROOT

PROMETHEUS = ROOT / "prometheus"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (scripts/bootstrap does)")
    return subprocess.run(
        [binary, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=PROMETHEUS
    )


def test_the_config_and_its_rule_files_are_valid() -> None:
    checked = promtool("check", "config", PROMETHEUS / "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout and "rules found" in checked.stdout


def test_every_rule_file_is_valid() -> None:
    rule_files = sorted((PROMETHEUS / "rules").glob("*.yml"))
    assert rule_files
    checked = promtool("check", "rules", *rule_files)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("rule_test", RULE_TESTS, ids=[path.name for path in RULE_TESTS])
def test_the_rules_unit_tests_pass(rule_test: Path) -> None:
    tested = promtool("test", "rules", rule_test)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_promtool_fails_a_wrong_expectation(tmp_path: Path) -> None:
    """The unit tests above could pass by not testing: the same file with one expected
    value changed must fail."""
    original = PROMETHEUS / "tests" / "strangler.rules.test.yml"
    text = original.read_text().replace("value: 1.026", "value: 1.027", 1)
    assert text != original.read_text()
    wrong = tmp_path / "wrong.test.yml"
    wrong.write_text(text.replace("../rules/", str(PROMETHEUS / "rules") + "/"))
    tested = promtool("test", "rules", wrong)
    assert tested.returncode == 1 and "FAILED" in tested.stdout + tested.stderr
