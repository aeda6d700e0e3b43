"""Support for the shadow-traffic tests (tests/test_proxy_shadow*.py): a whole stack on one
database (the stand-in for Discord's API, legacy_app, plugin_app - or a stand-in build of
it - and the proxy), the parity scenario driven through the proxy, the proxy's shadow
metrics and mismatches read back, and a canonical snapshot of every table.

The server side of the stand-in builds of plugin_app is tests/shadow_apps.py.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from proxy.modes import Surface
from tests.legacy_discord_support import discord_env
from tests.parity_support import Cast, ScenarioDatabase, Side
from tests.proxy_support import PROXY_HEALTH, DiscordSigner, flag_document, run_proxy, write_flags
from tests.servers import ROOT, Server, run_server

DRY_RUN_SECRET = "shadow-tests-dry-run-secret"
ADMIN_TOKEN = "shadow-tests-admin-token"
FAKE_DISCORD = "tests.discord_support:fake_discord_app"
IDLE_TIMEOUT_S = 30.0
SHADOW_COUNTERS = ("compared", "matched", "mismatched", "errors", "dropped")


# -- the stack --------------------------------------------------------------------------


@dataclass
class Backends:
    legacy: Server
    plugin: Server | None
    discord: Server
    database_url: str


@dataclass
class Stack:
    """One proxy in front of backends, and a client to it."""

    proxy: Server
    backends: Backends
    flags_path: Path
    signer: DiscordSigner
    client: httpx.Client

    @property
    def database_url(self) -> str:
        return self.backends.database_url

    def admin(self, path: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        response = self.client.get("/_strangler/api" + path, params=params, headers=headers)
        response.raise_for_status()
        return response.json()

    def mismatches(self, **params: Any) -> list[dict[str, Any]]:
        return self.admin("/mismatches", limit=500, **params)["mismatches"]

    def metrics(self) -> str:
        return self.client.get("/metrics").text

    def shadow_counts(self) -> dict[str, float]:
        """Each strangler_shadow_* counter summed over its labels."""
        return shadow_counts(self.metrics())

    def in_flight(self) -> int:
        return int(self.client.get(PROXY_HEALTH).json()["shadow_in_flight"])

    def wait_until_idle(self) -> None:
        """Until no mirror is running: the scenario's next step must not race the last one's."""
        deadline = time.monotonic() + IDLE_TIMEOUT_S
        pause = 0.002
        while time.monotonic() < deadline:
            if self.in_flight() == 0:
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.016)  # a mirror of a write takes a few dry runs
        raise AssertionError(f"mirrors still running after {IDLE_TIMEOUT_S}s")

    def scenario_client(self) -> httpx.Client:
        """A client to the proxy that signs interactions as Discord does and, after each
        answer, waits until the mirrors it caused have finished."""

        def sign(request: httpx.Request) -> None:
            if request.url.path == "/discord/interactions":
                request.headers.update(self.signer.headers(request.content))

        def settle(response: httpx.Response) -> None:
            response.read()
            self.wait_until_idle()

        return httpx.Client(
            base_url=self.proxy.url, timeout=30, event_hooks={"request": [sign], "response": [settle]}
        )


def app_env(database_url: str, discord_api: Server) -> dict[str, str]:
    env = discord_env(database_url, discord_api, scheduler_enabled="false")
    return {
        **env,
        "STRANGLER_PLUGIN_ENTRY_POINTS": "false",
        "STRANGLER_PLUGIN_DIRS": "",
        "DRY_RUN_SECRET": DRY_RUN_SECRET,
    }


@contextmanager
def app_servers(
    database_url: str,
    log_dir: Path,
    *,
    plugin_app: str | None = "plugin_app.main:app",
    plugin_env: Mapping[str, str] | None = None,
    discord: Server | None = None,
) -> Iterator[Backends]:
    """The stand-in for Discord's API (unless `discord` is given), legacy_app and (unless
    None) `plugin_app` on `database_url`."""
    with ExitStack() as stack:
        if discord is None:
            discord = stack.enter_context(run_server(FAKE_DISCORD, {}, log_dir, health_path="/_fake/healthz"))
        env = app_env(database_url, discord)
        legacy = stack.enter_context(run_server("legacy_app.main:app", env, log_dir))
        plugin = (
            stack.enter_context(run_server(plugin_app, {**env, **(plugin_env or {})}, log_dir))
            if plugin_app is not None
            else None
        )
        yield Backends(legacy, plugin, discord, database_url)


@contextmanager
def shadow_proxy(
    backends: Backends,
    log_dir: Path,
    modes: Mapping[int, str],
    *,
    plugin_url: str | None = None,
    proxy_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """A proxy in front of `backends` (plugin at `plugin_url` if given), every flag of each
    of `modes`' organizations in its mode, every request probed for noise; its records in a
    SQLite file of its own unless `proxy_env` names STRANGLER_DATABASE_URL."""
    flags_dir = log_dir / f"flags-{time.monotonic_ns()}"
    flags_dir.mkdir(parents=True)
    flags_path = flags_dir / "flags.json"
    write_flags(flags_path, flag_document({surface: dict(modes) for surface in Surface}))
    signer = DiscordSigner()
    plugin = plugin_url or (backends.plugin.url if backends.plugin is not None else "http://127.0.0.1:9")
    env = {
        "DRY_RUN_SECRET": DRY_RUN_SECRET,
        "STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN,
        "STRANGLER_DISCORD_PUBLIC_KEY": signer.public_key,
        "STRANGLER_SHADOW_NOISE_PROBE_EVERY": "1",
        **(proxy_env or {}),
    }
    with (
        run_proxy(
            log_dir, legacy_url=backends.legacy.url, plugin_url=plugin, flags_path=flags_path, extra_env=env
        ) as proxy,
        httpx.Client(base_url=proxy.url, timeout=30) as client,
    ):
        yield Stack(proxy, backends, flags_path, signer, client)


@contextmanager
def shadow_stack(
    database_url: str,
    log_dir: Path,
    modes: Mapping[int, str],
    *,
    plugin_app: str = "plugin_app.main:app",
    plugin_env: Mapping[str, str] | None = None,
    proxy_env: Mapping[str, str] | None = None,
    discord: Server | None = None,
) -> Iterator[Stack]:
    """legacy_app, plugin_app and the proxy on `database_url` (see `shadow_proxy`)."""
    with (
        app_servers(
            database_url, log_dir, plugin_app=plugin_app, plugin_env=plugin_env, discord=discord
        ) as backends,
        shadow_proxy(backends, log_dir, modes, proxy_env=proxy_env) as stack,
    ):
        yield stack


# -- metrics ----------------------------------------------------------------------------

_SAMPLE = re.compile(r"^(strangler_shadow_\w+?)(?:_total)?(\{[^}]*\})? ([0-9.e+-]+)$", re.M)


def shadow_counts(metrics: str) -> dict[str, float]:
    counts = dict.fromkeys(SHADOW_COUNTERS, 0.0)
    for name, _, value in _SAMPLE.findall(metrics):
        short = name.removeprefix("strangler_shadow_")
        if short in counts:
            counts[short] += float(value)
    return counts


def shadow_series(metrics: str, counter: str) -> dict[tuple[tuple[str, str], ...], float]:
    """One strangler_shadow_<counter>_total's samples by their labels."""
    series = {}
    for labels, value in re.findall(
        rf"^strangler_shadow_{counter}_total\{{([^}}]*)\}} ([0-9.e+-]+)$", metrics, re.M
    ):
        series[tuple(sorted(re.findall(r'(\w+)="([^"]*)"', labels)))] = float(value)
    return series


# -- the parity scenario through the proxy ------------------------------------------------


def proxied_side(name: str, stack: Stack, cast: Cast) -> Side:
    """A parity-scenario side whose server is the proxy (see `Stack.scenario_client`)."""
    side = Side(name, stack.proxy, ScenarioDatabase(stack.database_url), cast)
    side._client.close()
    side._client = stack.scenario_client()
    return side


# -- a plugin_app that is slow, or built differently -----------------------------------------


def changed_plugin(directory: Path, relative: str, old: str, new: str) -> dict[str, str]:
    """Copy the plugin_app package into `directory`, replace `old` by `new` (exactly once)
    in its file `relative`, and return the environment that makes
    `tests.shadow_apps:changed_plugin_app` serve that copy."""
    copy = directory / "plugin_app"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(ROOT / "plugin_app", copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / relative
    text = target.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {relative} exactly once"
    target.write_text(text.replace(old, new))
    return {"SHADOW_PLUGIN_ROOT": str(directory)}


# -- what the database holds --------------------------------------------------------------

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
# Columns whose values the stand-in for Discord makes up (clock-based snowflakes).
_MADE_UP = re.compile(r"thread|message")
_SKIPPED_TABLES = re.compile(r"^(sqlite_|tortoise_|aerich)")


def snapshot(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows in a form two runs of one scenario can be compared in: generated
    ids replaced by their rank in their table (foreign keys by the rank of the row they
    point at), server-clock times and made-up Discord ids by whether they are set."""
    db = ScenarioDatabase(database_url)
    if db.is_sqlite:
        tables = [r["name"] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        references = {
            (table, r["from"]): r["table"]
            for table in tables
            for r in db.execute("SELECT * FROM pragma_foreign_key_list(?)", table)
        }
    else:
        tables = [
            r["tablename"] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        references = {
            (r["table_name"], r["column_name"]): r["referenced"]
            for r in db.execute(
                "SELECT kcu.table_name, kcu.column_name, ccu.table_name AS referenced "
                "FROM information_schema.table_constraints tc "
                "JOIN information_schema.key_column_usage kcu "
                "  ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema "
                "JOIN information_schema.constraint_column_usage ccu "
                "  ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema "
                "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'"
            )
        }
    tables = sorted(t for t in tables if not _SKIPPED_TABLES.match(t))
    rows = {table: db.execute(f'SELECT * FROM "{table}"') for table in tables}
    ranks = {
        table: {row_id: rank for rank, row_id in enumerate(sorted(r["id"] for r in found))}
        for table, found in rows.items()
        if found and "id" in found[0]
    }

    def canonical(table: str, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column, value in row.items():
            referenced = "" if column == "id" else references.get((table, column))
            if value is None:
                out[column] = None
            elif referenced is not None:
                out[column] = ranks.get(referenced or table, {}).get(value, f"dangling {value}")
            elif not isinstance(value, (int, float, bool, str)) or (
                isinstance(value, str) and _TIME.match(value)
            ):
                out[column] = "<time>" if _TIME.match(str(value)) else str(value)
            elif _MADE_UP.search(column) and isinstance(value, int):
                out[column] = "<made up>"
            else:
                out[column] = value
        return out

    return {
        table: sorted(
            (canonical(table, row) for row in found), key=lambda r: json.dumps(r, sort_keys=True, default=str)
        )
        for table, found in rows.items()
    }


def snapshot_differences(expected: dict[str, list[Any]], actual: dict[str, list[Any]]) -> list[str]:
    """What differs between two snapshots, table by table (at most a few rows each)."""
    found = []
    for table in sorted(expected.keys() | actual.keys()):
        left, right = expected.get(table, []), actual.get(table, [])
        if len(left) != len(right):
            found.append(f"{table}: {len(left)} rows expected, {len(right)} found")
        extra = [row for row in right if row not in left][:3]
        missing = [row for row in left if row not in right][:3]
        found += [f"{table}: unexpected {row}" for row in extra]
        found += [f"{table}: missing {row}" for row in missing]
    return found
