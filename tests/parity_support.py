"""The parity harness: twin databases with one starting state, and a `Side` that runs the
scenario (tests/parity_scenario.py) against one real server and records every exchange.

Starting state: `build_starting_state` migrates a fresh database and writes the core rows
(two organizations, a user per role with a token, Discord guilds) with `Factory`. It runs
in a subprocess (`python -m tests.parity_support build URL`) because Tortoise keeps its
connections in process-wide state, which the session's own `factory` fixture already
holds. `seeded_database` gives one such database; `twin_databases` copies it: SQLite
through sqlite3's backup API, PostgreSQL with `CREATE DATABASE b TEMPLATE a` (no
connection to `a` may be open then - the builder's process has ended).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.databases import POSTGRES_ADMIN_DSN, postgres_database
from tests.discord_support import clicked_message, command_data, component_data, interaction
from tests.factory import Caller
from tests.legacy_discord_support import APPLICATION_ID
from tests.parity_comparison import Channel, Exchange
from tests.servers import ROOT, Server

TIMEOUT_S = 10.0
BUILD_TIMEOUT_S = 120.0
# Fixed Discord snowflakes of the starting state (guilds) and of the scenario's channels.
HOME_GUILD = 1_320_000_000_000_000_001
AWAY_GUILD = 1_320_000_000_000_000_002
INTERACTION_ID_BASE = 1_330_000_000_000_000_000


# -- the starting state ------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """Who the scenario plays with: the home organization's members by role, users outside
    it, and the away organization's admin."""

    home: int
    away: int
    admin: Caller
    manager: Caller
    reviewer: Caller
    moderator: Caller
    runner1: Caller
    runner2: Caller
    runner3: Caller
    runner4: Caller
    unlinked: Caller  # a member without a racetime.gg account
    outsider: Caller  # no membership
    global_admin: Caller  # permission ADMIN, no membership
    away_admin: Caller

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cast:
        return cls(**{k: v if isinstance(v, int) else Caller(**v) for k, v in data.items()})


def build_starting_state(database_url: str) -> Cast:
    """Migrate the shared schema and write the core rows (run in its own process)."""
    from core.database import migrate, tortoise_config
    from core.models import Permission, Role
    from legacy_app.database import TORTOISE_APPS
    from tests.factory import Factory

    asyncio.run(migrate(tortoise_config(database_url, TORTOISE_APPS)))
    factory = Factory(database_url)
    try:
        home = factory.organization(factory.unique("parity-home"))
        away = factory.organization(factory.unique("parity-away"))
        factory.guild(home, HOME_GUILD)
        factory.guild(away, AWAY_GUILD)
        member = {"org": home}
        return Cast(
            home=home,
            away=away,
            admin=factory.user(org=home, roles=[Role.ADMIN]),
            manager=factory.user(org=home, roles=[Role.TOURNAMENT_MANAGER]),
            reviewer=factory.user(org=home, roles=[Role.ASYNC_REVIEWER]),
            moderator=factory.user(org=home, roles=[Role.MODERATOR]),
            runner1=factory.user(**member),
            runner2=factory.user(**member),
            runner3=factory.user(**member),
            runner4=factory.user(**member),
            unlinked=factory.user(racetime_id=None, **member),
            outsider=factory.user(),
            global_admin=factory.user(permission=Permission.ADMIN),
            away_admin=factory.user(org=away, roles=[Role.ADMIN]),
        )
    finally:
        factory.close()


def _build_in_subprocess(database_url: str) -> Cast:
    result = subprocess.run(
        [sys.executable, "-m", "tests.parity_support", "build", database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building the starting state failed:\n{result.stderr}")
    return Cast.from_json(json.loads(result.stdout.strip().splitlines()[-1]))


async def _postgres_admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=TIMEOUT_S)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def seeded_database(backend: str, directory: Path) -> Iterator[tuple[str, Cast]]:
    """A fresh database in the starting state, and who is in it; dropped on exit."""
    if backend == "sqlite":
        url = f"sqlite://{directory / 'reference.sqlite3'}"
        yield url, _build_in_subprocess(url)
        return
    with postgres_database() as url:
        yield url, _build_in_subprocess(url)


@contextmanager
def twin_databases(backend: str, directory: Path) -> Iterator[tuple[str, str, Cast]]:
    """Two databases in the same starting state, and who is in it; dropped on exit."""
    with seeded_database(backend, directory) as (first, cast):
        if backend == "sqlite":
            second = directory / "candidate.sqlite3"
            with (
                closing(sqlite3.connect(first.removeprefix("sqlite://"))) as source,
                closing(sqlite3.connect(second)) as target,
            ):
                source.backup(target)
            yield first, f"sqlite://{second}", cast
            return
        base, template = first.rsplit("/", 1)
        copy = f"{template}_copy"
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"'))
        try:
            yield first, f"{base}/{copy}", cast
        finally:
            asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))


# -- direct SQL on one side's database ---------------------------------------------------


class ScenarioDatabase:
    """Plain SQL on one side's database, for what a client cannot do over HTTP: pin the
    clock-given times of a race, and find the rows a Discord command created. `?`
    placeholders; datetimes are passed as Tortoise stores them."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.is_sqlite = database_url.startswith("sqlite://")

    def execute(self, template: str, *params: Any) -> list[dict[str, Any]]:
        if self.is_sqlite:
            values = [p.isoformat(" ") if isinstance(p, datetime) else p for p in params]
            path = self.url.removeprefix("sqlite://").split("?", 1)[0]
            with closing(sqlite3.connect(path, timeout=TIMEOUT_S)) as conn, conn:
                conn.row_factory = sqlite3.Row
                return [dict(row) for row in conn.execute(template, values)]
        numbered = "".join(
            part + (f"${n}" if n < template.count("?") + 1 else "")
            for n, part in enumerate(template.split("?"), start=1)
        )
        return asyncio.run(self._postgres(numbered, params))

    async def _postgres(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        conn = await asyncpg.connect(self.url, timeout=TIMEOUT_S)
        try:
            return [dict(row) for row in await conn.fetch(sql, *params)]
        finally:
            await conn.close()


# -- one side of the comparison ----------------------------------------------------------

MISSING_ID = 2**31 - 1  # what a failed creation yields: an id no row has, so later steps 404


@dataclass
class Side:
    """One app under the scenario: its server, its database and what it answered."""

    name: str
    server: Server
    database: ScenarioDatabase
    cast: Cast
    exchanges: list[Exchange] = field(default_factory=list)
    _interactions: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self._client = httpx.Client(base_url=self.server.url, timeout=TIMEOUT_S)

    def close(self) -> None:
        self._client.close()

    # -- HTTP ---------------------------------------------------------------------------

    def call(
        self,
        step: str,
        method: str,
        route: str,
        caller: Caller | None,
        expect: int,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: str | None = None,
        headers: dict[str, str] | None = None,
        **path: int | str,
    ) -> Exchange:
        """`route` is a template (`/api/tournaments/{tid}`); `path` fills it in."""
        target = route.format(**path)
        all_headers = {**(headers or {}), **({} if caller is None else caller.headers)}
        kwargs: dict[str, Any] = {"params": params, "headers": all_headers}
        if content is not None:
            kwargs["content"] = content
        elif json is not None or method in {"POST", "PUT", "PATCH"}:
            kwargs["json"] = json
        response = self._client.request(method, target, **kwargs)
        query = "" if not params else "?" + "&".join(f"{k}={v}" for k, v in params.items())
        request = content if content is not None else json
        return self._record(step, Channel.HTTP, method, route, target + query, request, expect, response)

    def create(
        self, step: str, route: str, caller: Caller, body: dict[str, Any], expect: int = 201, **path: int
    ) -> int:
        """POST a creation; the new row's id (MISSING_ID when refused)."""
        return created_id(self.call(step, "POST", route, caller, expect, json=body, **path))

    # -- Discord ------------------------------------------------------------------------

    def command(
        self,
        step: str,
        name: str,
        *options: dict[str, Any],
        user: Caller | int,
        channel: int,
        expect: Any,
        in_guild: bool = True,
    ) -> Exchange:
        data = command_data(name, *options)
        data["id"] = str(INTERACTION_ID_BASE - 1_000 - len(name))  # a command's id is stable
        payload = self._interaction(2, data, user, channel, in_guild)
        shown = " ".join([f"/{name}", *(f"{o['name']}:{o['value']}" for o in options)])
        return self._interact(step, "COMMAND", f"/{name}", shown, payload, expect)

    def click(self, step: str, custom_id: str, *, user: Caller | int, channel: int, expect: Any) -> Exchange:
        payload = self._interaction(3, component_data(custom_id), user, channel)
        payload["message"] = clicked_message(APPLICATION_ID, channel, custom_id)
        payload["message"]["id"] = str(INTERACTION_ID_BASE - 1)
        prefix = custom_id.split(":", 1)[0] + ":"
        return self._interact(step, "BUTTON", prefix, custom_id, payload, expect)

    def _interaction(
        self, kind: int, data: dict[str, Any], user: Caller | int, channel: int, in_guild: bool = True
    ) -> dict[str, Any]:
        n = next(self._interactions)
        user_id = user if isinstance(user, int) else user.discord_id
        payload = interaction(
            kind,
            data,
            application_id=APPLICATION_ID,
            user_id=user_id,
            channel_id=channel,
            guild_id=HOME_GUILD if in_guild else None,
            in_guild=in_guild,
        )
        payload["id"] = str(INTERACTION_ID_BASE + n)
        payload["token"] = f"parity-interaction-{n}"
        return payload

    def _interact(
        self, step: str, method: str, route: str, shown: str, payload: dict[str, Any], expect: Any
    ) -> Exchange:
        response = self._client.post("/discord/interactions", json=payload)
        return self._record(step, Channel.DISCORD, method, route, shown, payload, expect, response)

    def _record(
        self,
        step: str,
        channel: Channel,
        method: str,
        route: str,
        target: str,
        request: Any,
        expect: Any,
        response: httpx.Response,
    ) -> Exchange:
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if not response.content:
            body: Any = None
        elif media_type == "application/json":
            body = response.json()
        else:
            body = response.text
        exchange = Exchange(
            step=step,
            channel=channel,
            method=method,
            route=route,
            target=target,
            request=request,
            expected=expect,
            status=response.status_code,
            media_type=media_type,
            body=body,
        )
        self.exchanges.append(exchange)
        return exchange

    # -- what the scenario reads or pins in the database --------------------------------

    def sql(self, template: str, *params: Any) -> list[dict[str, Any]]:
        return self.database.execute(template, *params)

    def latest_race(self, qualifier_id: int, user: Caller) -> int:
        rows = self.sql(
            "SELECT id FROM async_qualifier_races WHERE qualifier_id = ? AND user_id = ? ORDER BY id DESC",
            qualifier_id,
            user.user_id,
        )
        return rows[0]["id"] if rows else MISSING_ID

    def race_thread(self, race_id: int) -> int:
        """The thread the app opened for the race after its reply (bounded wait)."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            rows = self.sql("SELECT discord_thread_id FROM async_qualifier_races WHERE id = ?", race_id)
            if rows and rows[0]["discord_thread_id"] is not None:
                return int(rows[0]["discord_thread_id"])
            time.sleep(0.05)
        return MISSING_ID

    def pin_race_times(self, race_id: int, start: datetime | None, end: datetime | None) -> None:
        self.sql(
            "UPDATE async_qualifier_races SET start_time = ?, end_time = ? WHERE id = ?", start, end, race_id
        )

    def pin_thread_times(self, race_id: int, opened: datetime, timeout: datetime) -> None:
        self.sql(
            "UPDATE async_qualifier_races SET thread_open_time = ?, thread_timeout_time = ? WHERE id = ?",
            opened,
            timeout,
            race_id,
        )


def created_id(exchange: Exchange) -> int:
    """The id a creation answered with; MISSING_ID when it failed (the run goes on, and the
    comparison reports the failure where it happened)."""
    body = exchange.body
    if isinstance(body, dict) and isinstance(body.get("id"), int):
        return body["id"]
    return MISSING_ID


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "build":
        raise SystemExit("usage: python -m tests.parity_support build DATABASE_URL")
    print(json.dumps(build_starting_state(sys.argv[2]).to_json()))
