"""A realistic mix of traffic for the proxy, across the demo organizations of `strangler seed`.

    strangler loadtest                         # headless, with a report (the usual way)
    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000   # locust's own web UI

Who is who comes from the demo credentials file that `strangler seed --tokens-file PATH`
writes (mode 600; tokens, and every member's user and Discord ids), named by
STRANGLER_LOADTEST_TOKENS (default var/demo-tokens.json). Discord interactions are signed
with the Ed25519 seed (hex) in STRANGLER_LOADTEST_SIGNING_KEY, whose public key the proxy
must trust (STRANGLER_DISCORD_PUBLIC_KEY or STRANGLER_DISCORD_BRIDGE_PUBLIC_KEY; `strangler
discord-bridge --new-key` prints a pair); without it no interactions are sent.

The personas, each bound to one organization (taken in turn, so every organization gets
traffic) and using its members' own tokens:
    Spectator      reads: tournaments, matches, players, stream channels, qualifiers, leaderboards
    Organizer      schedules matches, moves their status, sets winners and seeds, signs crew up
                   and approves it, adds async pools with seeds, re-scores
    Racer          opens an async race in the newest pool, starts it, finishes or forfeits,
                   submits a VOD
    Reviewer       works through the review queue
    DiscordRunner  the qualifier's card, its Start button, /async_start + /async_forfeit,
                   and a manager's /async_calculate_scores

The platform's refusals that such traffic meets (a second active race, no pool left, a
SpeedGaming schedule, a race already reviewed) count as successes: they are answers. A
request fails when it gets a status nobody should see (5xx, 401, 422) or no answer.

Request names are route templates, so locust's statistics stay per route.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task
from nacl.signing import SigningKey

TOKENS_PATH = Path(os.environ.get("STRANGLER_LOADTEST_TOKENS", "var/demo-tokens.json"))
SIGNING_KEY = os.environ.get("STRANGLER_LOADTEST_SIGNING_KEY", "").strip()
APPLICATION_ID = os.environ.get("STRANGLER_LOADTEST_APPLICATION_ID", "1000000000000000001")

ADMIN = "Admin"
TOURNAMENT_MANAGER = "Tournament Manager"
ASYNC_REVIEWER = "Async Reviewer"
MODERATOR = "Moderator"
REFUSALS = (400, 403, 404, 409)  # the platform said no: an answer, not a failure
OK = (200, 201, 204)
T = "/api/tournaments"
Q = "/api/async-qualifiers"


class Member:
    def __init__(self, member: dict[str, Any], token: str | None) -> None:
        self.name: str = member["user"]
        self.user_id: int = member["user_id"]
        self.discord_id: int | None = member.get("discord_id")
        self.roles: tuple[str, ...] = tuple(member.get("roles") or ())
        self.guild_id: int | None = member.get("guild_id")
        self.token = token


class Organization:
    def __init__(self, organization_id: int, members: list[Member]) -> None:
        self.id = organization_id
        self.members = members

    def with_token(self, *roles: str) -> list[Member]:
        """Members who have a token, with one of `roles` (any member if none given)."""
        return [m for m in self.members if m.token and (not roles or set(roles) & set(m.roles))]


def load_organizations(path: Path) -> list[Organization]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(
            f"cannot read the demo credentials {path}: {exc}; "
            "run `strangler seed --tokens-file PATH` and set STRANGLER_LOADTEST_TOKENS=PATH"
        ) from None
    tokens = {t["user_id"]: t["token"] for t in document.get("tokens", [])}
    by_organization: dict[int, list[Member]] = {}
    for member in document.get("members", []):
        by_organization.setdefault(member["organization_id"], []).append(
            Member(member, tokens.get(member["user_id"]))
        )
    organizations = [
        Organization(org, members)
        for org, members in sorted(by_organization.items())
        if any(member.token for member in members)
    ]
    if not organizations:
        raise SystemExit(f"{path} names no organization members; run `strangler seed --tokens-file {path}`")
    return organizations


ORGANIZATIONS = load_organizations(TOKENS_PATH)
_next_organization = itertools.count()


class PlatformUser(HttpUser):
    """A person of one organization, calling the API with a member's token."""

    abstract = True
    wait_time = between(0.2, 1.0)
    roles: tuple[str, ...] = ()

    def on_start(self) -> None:
        self.organization = self.pick_organization()
        self.member = random.choice(
            self.organization.with_token(*self.roles) or self.organization.with_token()
        )

    def pick_organization(self) -> Organization:
        return ORGANIZATIONS[next(_next_organization) % len(ORGANIZATIONS)]

    def call(
        self,
        method: str,
        path: str,
        name: str,
        *,
        member: Member | None = None,
        refusals: Iterable[int] = (),
        **kwargs: Any,
    ) -> Any:
        """The answer's JSON when it is a success, None when the platform refused."""
        token = (member or self.member).token
        headers = {"Authorization": f"Bearer {token}"}
        with self.client.request(
            method, path, name=name, headers=headers, catch_response=True, **kwargs
        ) as response:
            if response.status_code in OK:
                response.success()
                return response.json() if response.content else {}
            if response.status_code in set(refusals):
                response.success()
                return None
            response.failure(f"{response.status_code}: {response.text[:200]}")
            return None

    # -- what every persona reads first --------------------------------------------------

    def tournaments(self) -> list[dict[str, Any]]:
        org = self.organization.id
        return self.call("GET", f"{T}/organizations/{org}", f"{T}/organizations/{{org}}") or []

    def matches(self) -> list[dict[str, Any]]:
        org = self.organization.id
        return (
            self.call("GET", f"{T}/organizations/{org}/matches", f"{T}/organizations/{{org}}/matches") or []
        )

    def qualifiers(self) -> list[dict[str, Any]]:
        org = self.organization.id
        return self.call("GET", f"{Q}/organizations/{org}", f"{Q}/organizations/{{org}}") or []

    def qualifier(self, qid: int) -> dict[str, Any] | None:
        return self.call("GET", f"{Q}/{qid}", f"{Q}/{{qid}}")


class Spectator(PlatformUser):
    weight = 5  # any member: most traffic is people looking things up

    @task(3)
    def schedule(self) -> None:
        self.matches()

    @task(2)
    def tournament_players(self) -> None:
        for tournament in self.tournaments()[:1]:
            self.call("GET", f"{T}/{tournament['id']}/players", f"{T}/{{tid}}/players")

    @task(1)
    def stream_channels(self) -> None:
        org = self.organization.id
        path = f"/api/stream-channels/organizations/{org}"
        self.call("GET", path, "/api/stream-channels/organizations/{org}")

    @task(3)
    def leaderboard(self) -> None:
        for qualifier in self.qualifiers():
            self.qualifier(qualifier["id"])
            self.call("GET", f"{Q}/{qualifier['id']}/leaderboard", f"{Q}/{{qid}}/leaderboard")


class Organizer(PlatformUser):
    weight = 2
    roles = (TOURNAMENT_MANAGER,)

    @task(3)
    def schedule_a_match(self) -> None:
        open_schedule = [t for t in self.tournaments() if not t["speedgaming_enabled"]]
        if not open_schedule:
            return
        tournament = random.choice(open_schedule)
        players = self.call("GET", f"{T}/{tournament['id']}/players", f"{T}/{{tid}}/players") or []
        chosen = random.sample([p["user_id"] for p in players], min(2, len(players)))
        body = {
            "tournament_id": tournament["id"],
            "title": f"Load round {uuid.uuid4().hex[:8]}",
            "scheduled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86_400)),
            "player_ids": chosen,
        }
        org = self.organization.id
        match = self.call(
            "POST", f"{T}/matches?organization_id={org}", f"{T}/matches", json=body, refusals=REFUSALS
        )
        if match:
            self.run_match(match)

    def run_match(self, match: dict[str, Any]) -> None:
        mid, name = match["id"], f"{T}/matches/{{mid}}"
        status = random.choice(["checked_in", "started", "finished"])
        self.call(
            "POST", f"{T}/matches/{mid}/advance-status", name + "/advance-status", json={"status": status}
        )
        seed = {"url": f"https://alttpr.com/h/load{uuid.uuid4().hex[:10]}", "description": "Standard open"}
        self.call("PUT", f"{T}/matches/{mid}/seed", name + "/seed", json=seed, refusals=REFUSALS)
        if match["players"]:
            winner = {"user_id": random.choice(match["players"])["user_id"]}
            self.call("POST", f"{T}/matches/{mid}/winner", name + "/winner", json=winner, refusals=REFUSALS)

    @task(2)
    def crew(self) -> None:
        matches = self.matches()
        if not matches:
            return
        match = random.choice(matches)
        volunteer = random.choice(self.organization.with_token())
        role = {"role": random.choice(["commentator", "tracker", "restreamer"])}
        path, name = f"{T}/matches/{match['id']}/crew", f"{T}/matches/{{mid}}/crew"
        crew = self.call("POST", path, name, member=volunteer, json=role, refusals=REFUSALS)
        admins = self.organization.with_token(ADMIN)
        if crew and admins:
            approve = {"crew_id": crew["id"]}
            self.call(
                "POST",
                f"{T}/crew/approve",
                f"{T}/crew/approve",
                member=admins[0],
                json=approve,
                refusals=REFUSALS,
            )

    @task(1)
    def move_a_match(self) -> None:
        matches = self.matches()
        if matches:
            match = random.choice(matches)
            mid, name = match["id"], f"{T}/matches/{{mid}}"
            status = {"status": random.choice(["checked_in", "started"])}
            self.call(
                "POST",
                f"{T}/matches/{mid}/revert-status",
                name + "/revert-status",
                json=status,
                refusals=REFUSALS,
            )

    @task(1)
    def add_an_async_pool(self) -> None:
        """New seeds to play: without them the racers would soon have played everything."""
        for qualifier in self.qualifiers()[:1]:
            name = {"name": f"Load {uuid.uuid4().hex[:8]}", "description": "added under load"}
            pool = self.call(
                "POST", f"{Q}/{qualifier['id']}/pools", f"{Q}/{{qid}}/pools", json=name, refusals=REFUSALS
            )
            if pool:
                for n in range(3):
                    link = {"url": f"https://alttpr.com/h/load{uuid.uuid4().hex[:10]}", "notes": f"#{n + 1}"}
                    path = f"{Q}/pools/{pool['id']}/permalinks"
                    self.call("POST", path, f"{Q}/pools/{{pid}}/permalinks", json=link, refusals=REFUSALS)

    @task(1)
    def rescore(self) -> None:
        for qualifier in self.qualifiers()[:1]:
            path = f"{Q}/{qualifier['id']}/recalculate"
            self.call("POST", path, f"{Q}/{{qid}}/recalculate", refusals=REFUSALS)


_runs_a_qualifier: dict[int, bool] = {}


class QualifierUser(PlatformUser):
    """A persona of an organization that runs an async qualifier (found out once each)."""

    abstract = True

    def pick_organization(self) -> Organization:
        organization = super().pick_organization()
        for _ in ORGANIZATIONS:
            if organization.id not in _runs_a_qualifier:
                self.organization, self.member = organization, organization.with_token()[0]
                _runs_a_qualifier[organization.id] = bool(self.qualifiers())
            if _runs_a_qualifier[organization.id]:
                return organization
            organization = super().pick_organization()
        return organization


class Racer(QualifierUser):
    weight = 2
    roles = (ADMIN, TOURNAMENT_MANAGER, ASYNC_REVIEWER, MODERATOR)

    def on_start(self) -> None:
        super().on_start()
        self.member = random.choice(self.organization.with_token())

    @task
    def race(self) -> None:
        qualifiers = self.qualifiers()
        if not qualifiers:
            return
        detail = self.qualifier(qualifiers[0]["id"])
        if not detail or not detail["pools"]:
            return
        pool = max(detail["pools"], key=lambda p: p["id"])  # the newest: most likely unplayed
        path = f"{Q}/{detail['id']}/races"
        race = self.call("POST", path, f"{Q}/{{qid}}/races", json={"pool_id": pool["id"]}, refusals=REFUSALS)
        if not race:
            return
        rid, name = race["id"], f"{Q}/races/{{rid}}"
        if self.call("POST", f"{Q}/races/{rid}/start", name + "/start", refusals=REFUSALS) is None:
            return
        time.sleep(random.uniform(0.1, 0.5))
        outcome = "forfeit" if random.random() < 0.15 else "finish"
        self.call("POST", f"{Q}/races/{rid}/{outcome}", f"{name}/{outcome}", refusals=REFUSALS)
        if outcome == "finish":
            vod = {"runner_vod_url": f"https://youtu.be/load{uuid.uuid4().hex[:8]}", "runner_notes": "gg"}
            self.call(
                "PATCH", f"{Q}/races/{rid}/submission", name + "/submission", json=vod, refusals=REFUSALS
            )


class Reviewer(QualifierUser):
    weight = 1
    roles = (ASYNC_REVIEWER,)

    @task
    def review(self) -> None:
        for qualifier in self.qualifiers()[:1]:
            path = f"{Q}/{qualifier['id']}/review-queue?review_status=pending&limit=20"
            queue = self.call("GET", path, f"{Q}/{{qid}}/review-queue", refusals=REFUSALS) or []
            others = [race for race in queue if race["user_id"] != self.member.user_id]
            if not others:
                return
            rid, name = random.choice(others)["id"], f"{Q}/races/{{rid}}/review"
            self.call("GET", f"{Q}/races/{rid}/review", name, refusals=REFUSALS)
            verdict = {
                "review_status": random.choice(["accepted", "accepted", "rejected"]),
                "reviewer_notes": "ok",
            }
            self.call("PATCH", f"{Q}/races/{rid}/review", name, json=verdict, refusals=REFUSALS)


class DiscordRunner(QualifierUser):
    """Discord users in the qualifier's channel; interactions are signed as Discord signs them."""

    weight = 2
    abstract = not SIGNING_KEY

    def on_start(self) -> None:
        super().on_start()
        self.key = SigningKey(bytes.fromhex(SIGNING_KEY))
        self.channel_id: int | None = None
        self.pools: list[str] = []
        for qualifier in self.qualifiers()[:1]:
            detail = self.qualifier(qualifier["id"])
            self.qualifier_id = qualifier["id"]
            self.channel_id = qualifier["discord_channel_id"]
            self.pools = [p["name"] for p in sorted((detail or {}).get("pools", []), key=lambda p: -p["id"])]
        self.players = [m for m in self.organization.members if m.discord_id]
        self.managers = [m for m in self.players if {ADMIN, TOURNAMENT_MANAGER} & set(m.roles)]

    def interact(self, name: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Signature-Ed25519": self.key.sign(timestamp.encode() + body).signature.hex(),
            "X-Signature-Timestamp": timestamp,
        }
        with self.client.post(
            "/discord/interactions", data=body, headers=headers, name=name, catch_response=True
        ) as response:
            if response.status_code == 200 and "type" in response.json():
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    def payload(self, member: Member, data: dict[str, Any], interaction_type: int) -> dict[str, Any]:
        """An interaction shaped the way Discord sends one from a guild text channel."""
        user = {
            "id": str(member.discord_id),
            "username": member.name,
            "discriminator": "0",
            "global_name": member.name,
            "avatar": None,
            "public_flags": 0,
        }
        guild = str(member.guild_id or 0)
        channel = {
            "id": str(self.channel_id),
            "type": 0,
            "guild_id": guild,
            "name": "async-qualifier",
            "position": 3,
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "flags": 0,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "permissions": "2248473465835073",
        }
        return {
            "id": str(random.randrange(10**17, 10**18)),
            "application_id": APPLICATION_ID,
            "type": interaction_type,
            "token": f"load-{uuid.uuid4().hex}",
            "version": 1,
            "locale": "en-US",
            "app_permissions": "2248473465835073",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild},
            "attachment_size_limit": 10_485_760,
            "channel_id": str(self.channel_id),
            "channel": channel,
            "guild_id": guild,
            "guild": {"id": guild, "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "context": 0,
            "member": {
                "user": user,
                "roles": [],
                "nick": None,
                "avatar": None,
                "joined_at": "2024-03-01T18:00:00.000000+00:00",
                "premium_since": None,
                "deaf": False,
                "mute": False,
                "pending": False,
                "flags": 0,
                "permissions": "2248473465835073",
            },
            "data": data,
        }

    def command(self, member: Member, name: str, **options: Any) -> None:
        kinds = {str: 3, int: 4}
        data = {
            "id": str(random.randrange(10**17, 10**18)),
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()],
        }
        self.interact(f"discord /{name}", self.payload(member, data, 2))

    @task(3)
    def card(self) -> None:
        if self.channel_id and self.players:
            self.command(random.choice(self.players), "async_post_embed")

    @task(2)
    def start_button(self) -> None:
        if self.channel_id and self.players:
            data = {"custom_id": f"async_start:{self.qualifier_id}", "component_type": 2}
            self.interact(
                "discord button async_start:{qid}", self.payload(random.choice(self.players), data, 3)
            )

    @task(2)
    def start_and_forfeit(self) -> None:
        if self.channel_id and self.players and self.pools:
            runner = random.choice(self.players)
            self.command(runner, "async_start", pool=self.pools[0])
            time.sleep(random.uniform(0.1, 0.4))
            self.command(runner, "async_forfeit")

    @task(1)
    def rescore(self) -> None:
        if self.channel_id and self.managers:
            self.command(random.choice(self.managers), "async_calculate_scores")
