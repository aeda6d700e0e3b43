"""Helpers for the tournament system's tests: an organization with a caller per role,
and a thin HTTP client for the tournament routes (every call goes over HTTP)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from tests.factory import Caller, Org

FORBIDDEN = {"detail": "Insufficient permissions"}
SPEEDGAMING = {"detail": "schedule is managed by SpeedGaming"}


class TournamentApi:
    """The tournament routes over HTTP. `call` returns the raw response; the `create_*`
    helpers assert success and return the JSON body."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=10)

    def __enter__(self) -> TournamentApi:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.client.close()

    def call(self, method: str, path: str, caller: Caller | None, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **({} if caller is None else caller.headers)}
        return self.client.request(method, "/api" + path, headers=headers, **kwargs)

    def concurrently(
        self, count: int, method: str, path: str, caller: Caller, **kwargs: Any
    ) -> list[httpx.Response]:
        """The same request `count` times at once, each on its own connection."""

        def one(_: int) -> httpx.Response:
            with httpx.Client(base_url=self.base_url, timeout=10) as client:
                return client.request(method, "/api" + path, headers=caller.headers, **kwargs)

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(one, range(count)))

    def create_tournament(self, caller: Caller, org_id: int, **fields: Any) -> dict[str, Any]:
        body = {"name": fields.pop("name", "Tournament"), **fields}
        response = self.call("POST", f"/tournaments/organizations/{org_id}", caller, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def create_match(
        self, caller: Caller, org_id: int, tournament_id: int, player_ids: list[int], **fields: Any
    ) -> dict[str, Any]:
        body = {"tournament_id": tournament_id, "player_ids": player_ids, **fields}
        response = self.call(
            "POST", "/tournaments/matches", caller, params={"organization_id": org_id}, json=body
        )
        assert response.status_code == 201, response.text
        return response.json()

    def matches(self, caller: Caller, org_id: int, tournament_id: int | None = None) -> list[dict[str, Any]]:
        params = {} if tournament_id is None else {"tournament_id": tournament_id}
        response = self.call("GET", f"/tournaments/organizations/{org_id}/matches", caller, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def match(self, caller: Caller, org_id: int, match_id: int) -> dict[str, Any]:
        return next(m for m in self.matches(caller, org_id) if m["id"] == match_id)

    def set_speedgaming(self, caller: Caller, org_id: int, tournament_id: int, enabled: bool) -> None:
        response = self.call(
            "PATCH",
            f"/tournaments/{tournament_id}",
            caller,
            params={"organization_id": org_id},
            json={"speedgaming_enabled": enabled},
        )
        assert response.status_code == 200, response.text


def parse_utc(value: str) -> datetime:
    """A response datetime, which must be ISO 8601 in UTC with a `Z` suffix."""
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def scheduled_match(api: TournamentApi, org: Org, **tournament_fields: Any) -> tuple[dict, dict]:
    """A tournament (made by the manager) with a match between the member and the moderator."""
    tournament = api.create_tournament(org.manager, org.id, name="Cup", **tournament_fields)
    match = api.create_match(
        org.manager, org.id, tournament["id"], [org.member.user_id, org.moderator.user_id], title="Round 1"
    )
    return tournament, match
