"""Headless Chromium for page tests: Debian's chromium, started the way this closed
network needs (no background connections). Without chromium a page test fails, never
skips: scripts/test installs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    """The chromium binary, or a test failure saying how to install it."""
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` (scripts/test does it)")
    return found
