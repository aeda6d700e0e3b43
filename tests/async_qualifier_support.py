"""Helpers for the async qualifier tests: an organization with a caller per role, a thin
HTTP client for `/api/async-qualifiers`, and direct SQL on the race rows to pin
start/end times (the clock is the one thing a test cannot drive over HTTP)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from types import ModuleType, TracebackType
from typing import Any

import httpx
from tortoise import connections

from tests.factory import Caller, Factory

# An arbitrary fixed moment the pinned race times count from.
BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_names = itertools.count(1)


def not_found(entity: str) -> dict[str, str]:
    return {"detail": f"{entity} not found or insufficient permissions"}


class AsyncApi:
    """The async qualifier routes over HTTP. `call` returns the raw response; the other
    helpers assert success and return the JSON body."""

    PREFIX = "/api/async-qualifiers"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=10)

    def __enter__(self) -> AsyncApi:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.client.close()

    def call(self, method: str, path: str, caller: Caller | None, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **({} if caller is None else caller.headers)}
        return self.client.request(method, self.PREFIX + path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, caller: Caller, expected: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, caller, **kwargs)
        assert response.status_code == expected, (method, path, response.status_code, response.text)
        return None if expected == 204 else response.json()

    def concurrently(self, requests: list[tuple[str, str, Caller, dict[str, Any]]]) -> list[httpx.Response]:
        """Several requests released together, each on its own connection."""
        barrier = Barrier(len(requests))

        def one(request: tuple[str, str, Caller, dict[str, Any]]) -> httpx.Response:
            method, path, caller, kwargs = request
            with httpx.Client(base_url=self.base_url, timeout=10) as client:
                client.get("/healthz")  # connect before the barrier
                barrier.wait(timeout=10)
                return client.request(method, self.PREFIX + path, headers=caller.headers, **kwargs)

        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(one, requests))

    # -- building blocks ------------------------------------------------------------------

    def qualifier(self, caller: Caller, org_id: int, **fields: Any) -> dict[str, Any]:
        body = {"name": f"qualifier-{next(_names)}", **fields}
        return self.ok("POST", f"/organizations/{org_id}", caller, 201, json=body)

    def pool(self, caller: Caller, qid: int, name: str, permalinks: int = 0) -> dict[str, Any]:
        """A pool with `permalinks` permalinks; their ids are in `permalink_ids`, ascending."""
        pool = self.ok("POST", f"/{qid}/pools", caller, 201, json={"name": name})
        pool["permalink_ids"] = [
            self.permalink(caller, pool["id"], f"https://seeds.example/{name}/{n}")["id"]
            for n in range(permalinks)
        ]
        return pool

    def permalink(self, caller: Caller, pool_id: int, url: str) -> dict[str, Any]:
        return self.ok("POST", f"/pools/{pool_id}/permalinks", caller, 201, json={"url": url})

    def open(self, caller: Caller, qid: int, **body: int) -> dict[str, Any]:
        return self.ok("POST", f"/{qid}/races", caller, 201, json=body)

    def act(self, caller: Caller, race_id: int, action: str) -> dict[str, Any]:
        return self.ok("POST", f"/races/{race_id}/{action}", caller)

    def finished_race(self, caller: Caller, qid: int, **body: int) -> dict[str, Any]:
        race = self.open(caller, qid, **body)
        self.act(caller, race["id"], "start")
        return self.act(caller, race["id"], "finish")

    def forfeited_race(self, caller: Caller, qid: int, **body: int) -> dict[str, Any]:
        race = self.open(caller, qid, **body)
        return self.act(caller, race["id"], "forfeit")

    def recalculate(self, caller: Caller, qid: int) -> dict[str, Any]:
        return self.ok("POST", f"/{qid}/recalculate", caller)

    def review_queue(self, caller: Caller, qid: int, **params: Any) -> list[dict[str, Any]]:
        return self.ok("GET", f"/{qid}/review-queue", caller, params={"limit": 100, **params})

    def races_by_id(self, reviewer: Caller, qid: int) -> dict[int, dict[str, Any]]:
        return {race["id"]: race for race in self.review_queue(reviewer, qid)}


# -- direct SQL on the shared database -----------------------------------------------------


def _sql(template: str, dialect: str) -> str:
    """`?` placeholders in the dialect's style (PostgreSQL numbers them)."""
    if dialect == "sqlite":
        return template
    parts = template.split("?")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1))


def execute(factory: Factory, template: str, *params: Any) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        connection = connections.get("default")
        return await connection.execute_query_dict(
            _sql(template, connection.capabilities.dialect), list(params)
        )

    return factory.run(run())


def pin_elapsed(factory: Factory, race_id: int, seconds: float) -> None:
    """Give a race start = BASE_TIME and end = start + `seconds`."""
    execute(
        factory,
        "UPDATE async_qualifier_races SET start_time = ?, end_time = ? WHERE id = ?",
        BASE_TIME,
        BASE_TIME + timedelta(seconds=seconds),
        race_id,
    )


def audit_actions(factory: Factory, qid: int) -> list[str]:
    rows = execute(
        factory, "SELECT action FROM async_qualifier_audit_logs WHERE qualifier_id = ? ORDER BY id", qid
    )
    return [row["action"] for row in rows]


def score(value: float) -> float:
    """A score as the API serves it."""
    return round(value, 3)


def username(factory: Factory, user_id: int) -> str:
    return execute(factory, 'SELECT discord_username FROM "user" WHERE id = ?', user_id)[0][
        "discord_username"
    ]


# -- one scenario, two apps ------------------------------------------------------------------


def scenarios(module: ModuleType, *names: str) -> dict[str, Callable[..., None]]:
    """The test functions of `module` (all, or those named), to be run again by another test
    module: `globals().update(scenarios(...))`. pytest resolves a test's fixtures in the
    module that collects it, so that module's own fixtures (`api`, the server under test)
    decide which app the very same scenario drives."""
    found = {name: test for name, test in vars(module).items() if name.startswith("test_") and callable(test)}
    if names:
        missing = sorted(set(names) - set(found))
        assert not missing, f"{module.__name__} has no {missing}"
        return {name: found[name] for name in names}
    return found
