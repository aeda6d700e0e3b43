"""What one load test runs against and how hard, checked before anything starts: every
problem the operator can fix is one `CliError` line naming what to do."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from strangler.errors import CliError
from strangler.loadtest.sampling import Process, resident_memory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = PROJECT_ROOT / "loadtests" / "locustfile.py"
MAX_DURATION_S = 24 * 3600
MAX_USERS = 10_000
PROBE_TIMEOUT_S = 5.0
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_HEX_SEED = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class LoadTestPlan:
    host: str  # the proxy
    apps: dict[Process, str]  # where each process's /metrics is
    admin_token: str
    users: int
    spawn_rate: float
    duration_s: int
    tokens_file: Path
    signing_key: str  # hex Ed25519 seed, or "" for no Discord interactions
    out_dir: Path
    locustfile: Path = LOCUSTFILE

    @property
    def discord(self) -> bool:
        return bool(self.signing_key)


def parse_duration(text: str) -> int:
    """Seconds in "90", "45s", "2m", "1h30m" (what locust's -t takes)."""
    text = text.strip().lower()
    if text.isdigit():
        seconds = int(text)
    else:
        found = _DURATION.match(text)
        if not text or found is None:
            raise CliError(f"--duration takes a time such as 30s, 2m or 1h30m, not {text!r}")
        hours, minutes, secs = (int(part or 0) for part in found.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not 1 <= seconds <= MAX_DURATION_S:
        raise CliError(f"--duration must be between 1s and 24h, not {text!r}")
    return seconds


def default_out_dir(var_dir: Path) -> Path:
    return var_dir / "loadtests" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def check_plan(plan: LoadTestPlan) -> None:
    """Everything the run needs, before it starts."""
    if not 1 <= plan.users <= MAX_USERS:
        raise CliError(f"--users must be between 1 and {MAX_USERS}, not {plan.users}")
    if not 0 < plan.spawn_rate <= MAX_USERS:
        raise CliError(f"--spawn-rate must be above 0 and at most {MAX_USERS}, not {plan.spawn_rate:g}")
    if plan.signing_key and not _HEX_SEED.match(plan.signing_key):
        raise CliError("STRANGLER_LOADTEST_SIGNING_KEY must be a 64-digit hex Ed25519 seed")
    if importlib.util.find_spec("locust") is None:
        raise CliError("locust is not installed: pip install 'strangler[loadtest]'")
    if not plan.locustfile.is_file():
        raise CliError(f"no locustfile at {plan.locustfile}")
    _check_tokens_file(plan.tokens_file)
    try:
        plan.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the report folder {plan.out_dir}: {exc.strerror or exc}") from None
    with httpx.Client(timeout=PROBE_TIMEOUT_S) as client:
        _check_proxy(client, plan)
        for process, url in plan.apps.items():
            try:
                memory = resident_memory(client, url)
            except httpx.HTTPError as exc:
                raise CliError(f"{process.value} at {url} does not answer /metrics: {exc}") from None
            if memory is None:
                raise CliError(f"{process.value} at {url}/metrics has no process_resident_memory_bytes")


def _check_tokens_file(path: Path) -> None:
    hint = f"run `strangler seed --tokens-file {path}`"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"no demo credentials at {path}: {hint}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"cannot read the demo credentials {path}: {exc}; {hint}") from None
    if not isinstance(document, dict) or not document.get("tokens") or not document.get("members"):
        raise CliError(f"{path} holds no demo tokens and members: {hint}")


def _check_proxy(client: httpx.Client, plan: LoadTestPlan) -> None:
    try:
        health = client.get(plan.host + "/_strangler/healthz")
    except httpx.HTTPError as exc:
        raise CliError(f"the proxy at {plan.host} does not answer: {exc}") from None
    if health.status_code != 200:
        raise CliError(f"the proxy at {plan.host} is not healthy: HTTP {health.status_code}")
    try:
        shadow = client.get(
            plan.host + "/_strangler/api/shadow", headers={"Authorization": f"Bearer {plan.admin_token}"}
        )
    except httpx.HTTPError as exc:
        raise CliError(f"the proxy's operator API does not answer: {exc}") from None
    if shadow.status_code == 401:
        raise CliError("the proxy refused the admin token: set STRANGLER_ADMIN_TOKEN to the proxy's")
    if shadow.status_code != 200:
        raise CliError(f"the proxy's operator API answered HTTP {shadow.status_code} to /api/shadow")
