"""Support for the proxy's tests: a small echo app to stand behind the proxy as a backend,
flag documents in flagd's format, Discord request signing, and a proxy server runner.

The echo app (`tests.proxy_support:echo_app`, run with uvicorn) names itself by
ECHO_NAME and answers:
    /healthz                          {"status": "ok"}
    /_strangler/owner/{kind}/{id}     from ECHO_OWNERS, a JSON object {"kind:id": organization}
    /redirect?to=URL                  302 to URL
    /cookies                          two Set-Cookie headers, and the request's Cookie echoed
    /slow?seconds=S                   waits S seconds, then echoes
    /stream?chunks=N&size=B           N chunks of B bytes, chunked transfer encoding
    /status/{code}                    that status, with a JSON body
    POST /discord/interactions        {"type": 4, "data": {"content": "<name>: <command>"}}
    /_echo/interactions               {"count": interactions received so far}
    anything else                     the request described as JSON (method, path, query,
                                      headers, body length and SHA-256)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from nacl.signing import SigningKey

from proxy.asgi import read_body
from proxy.flags.document import FlagDocument, Split
from proxy.modes import Mode, Surface
from tests.servers import Server, run_server

TEST_BODY_LIMIT = 1 << 30
"""The test backends read any body whole (the proxy is what enforces a limit)."""

PROXY_HEALTH = "/_strangler/healthz"


# -- the echo backend -------------------------------------------------------------------


_interactions_received = [0]


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    name = os.environ.get("ECHO_NAME", "echo")
    body = await read_body(receive, TEST_BODY_LIMIT)
    path: str = scope["path"]
    query = parse_qs(scope["query_string"].decode("latin-1"))
    served_by = [(b"x-served-by", name.encode())]

    async def answer(status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        if status in (204, 304):
            await send({"type": "http.response.start", "status": status, "headers": served_by})
            await send({"type": "http.response.body", "body": b""})
            return
        data = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    *served_by,
                    *(headers or []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    if path == "/healthz":
        await answer(200, {"status": "ok"})
    elif path.startswith("/_strangler/owner/"):
        owners = json.loads(os.environ.get("ECHO_OWNERS", "{}"))
        kind, _, entity = path.removeprefix("/_strangler/owner/").partition("/")
        organization = owners.get(f"{kind}:{entity}")
        if organization is None:
            await answer(404, {"detail": f"No organization for {kind} {entity}"})
        else:
            await answer(200, {"organization_id": organization})
    elif path == "/redirect":
        await answer(302, {"to": query["to"][0]}, [(b"location", query["to"][0].encode())])
    elif path == "/cookies":
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
        await answer(
            200,
            {"cookie": cookie},
            [(b"set-cookie", b"a=1; Path=/"), (b"set-cookie", b"b=2; Path=/; HttpOnly")],
        )
    elif path == "/slow":
        await asyncio.sleep(float(query["seconds"][0]))
        await answer(200, {"slept": True})
    elif path == "/stream":
        chunks, size = int(query["chunks"][0]), int(query["size"][0])
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), *served_by],
            }
        )
        for index in range(chunks):
            await send(
                {"type": "http.response.body", "body": bytes([65 + index % 26]) * size, "more_body": True}
            )
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})
    elif path.startswith("/status/"):
        await answer(int(path.removeprefix("/status/")), {"status": int(path.removeprefix("/status/"))})
    elif path == "/_echo/interactions":
        await answer(200, {"count": _interactions_received[0]})
    elif path == "/discord/interactions" and scope["method"] == "POST":
        _interactions_received[0] += 1
        interaction = json.loads(body)
        data = interaction.get("data", {})
        label = data.get("name") or data.get("custom_id")
        await answer(200, {"type": 4, "data": {"content": f"{name}: {label}"}})
    else:
        await answer(
            200,
            {
                "backend": name,
                "method": scope["method"],
                "path": path,
                "raw_path": scope["raw_path"].decode("latin-1"),
                "query": scope["query_string"].decode("latin-1"),
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
                "body_length": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            },
        )


async def labelled_legacy_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """legacy_app itself, with `X-Served-By: $ECHO_NAME` on every answer, so a test can tell
    from the app's own word (not the proxy's headers) which instance answered."""
    from legacy_app.main import app as legacy  # imported in the server process only

    await _labelled(legacy, scope, receive, send)


async def labelled_plugin_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """plugin_app itself, labelled like `labelled_legacy_app`."""
    from plugin_app.main import app as plugin  # imported in the server process only

    await _labelled(plugin, scope, receive, send)


async def _labelled(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        await app(scope, receive, send)
        return
    label = (b"x-served-by", os.environ.get("ECHO_NAME", "echo").encode())

    async def labelled(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), label]}
        await send(message)

    await app(scope, receive, labelled)


@contextmanager
def run_echo(name: str, log_dir: Path, owners: Mapping[str, int] | None = None) -> Iterator[Server]:
    env = {"ECHO_NAME": name, "ECHO_OWNERS": json.dumps(dict(owners or {}))}
    with run_server("tests.proxy_support:echo_app", env, log_dir) as server:
        yield server


# -- flag documents ---------------------------------------------------------------------


def flag_document(
    assignments: Mapping[Surface, Mapping[int, str | Sequence[tuple[str, int]]]] | None = None,
    *,
    kill_switch: bool = False,
) -> dict[str, Any]:
    """A flag document in the store's own form (proxy.flags.document): every surface legacy
    except the given organization -> mode, or -> [(mode, percent), …] for a split."""
    parsed = {
        surface: {
            org: Mode(a) if isinstance(a, str) else Split(tuple((Mode(m), share) for m, share in a))
            for org, a in per_org.items()
        }
        for surface, per_org in (assignments or {}).items()
    }
    return FlagDocument(parsed, kill_switch).to_json()


def write_flags(path: Path, document: Mapping[str, Any] | str) -> None:
    """Replace the flag file atomically, the way every writer must (temp file + rename)."""
    text = document if isinstance(document, str) else json.dumps(document, indent=2)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, path)


# -- Discord signing --------------------------------------------------------------------


class DiscordSigner:
    """Plays Discord's part: a key pair, and signed interaction requests."""

    def __init__(self) -> None:
        self.key = SigningKey.generate()
        self.public_key = self.key.verify_key.encode().hex()

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        signature = self.key.sign(timestamp.encode() + body).signature.hex()
        return {
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": timestamp,
            "Content-Type": "application/json",
        }


def interaction(
    *,
    command: str | None = None,
    custom_id: str | None = None,
    channel_id: int | None = None,
    guild_id: int | None = None,
    user_id: int = 4242,
    interaction_type: int | None = None,
) -> bytes:
    if interaction_type is None:
        interaction_type = 2 if command else 3 if custom_id else 1
    payload: dict[str, Any] = {
        "id": "1100000000000000001",
        "application_id": "1000000000000000001",
        "type": interaction_type,
        "token": "interaction-token",
        "version": 1,
    }
    if command:
        payload["data"] = {"id": "1", "name": command, "type": 1}
    if custom_id:
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
    if channel_id is not None:
        payload["channel_id"] = str(channel_id)
        payload["channel"] = {"id": str(channel_id), "type": 0}
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["member"] = {"user": {"id": str(user_id), "username": "runner"}, "roles": []}
    else:
        payload["user"] = {"id": str(user_id), "username": "runner"}
    return json.dumps(payload).encode()


_discord_requests: list[dict[str, Any]] = []
_BOT_USER = {
    "id": "1000000000000000001",
    "username": "bridge-bot",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
}


async def fake_discord_api(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Discord's REST API as far as the bridge uses it (log in, answer an interaction);
    every request is kept, readable at GET /_fake/requests."""
    if scope["type"] != "http":
        return
    body = await read_body(receive, TEST_BODY_LIMIT)
    path, method = scope["path"], scope["method"]
    status, answer = 404, {"message": "404: Not Found", "code": 0}
    if path == "/_fake/requests":
        status, answer = 200, _discord_requests
    elif path == "/_fake/healthz":
        status, answer = 200, {"status": "ok"}
    else:
        _discord_requests.append({"method": method, "path": path, "json": json.loads(body) if body else None})
        if path == "/api/v10/users/@me":
            status, answer = 200, _BOT_USER
        elif path == "/api/v10/oauth2/applications/@me":
            status, answer = (
                200,
                {
                    "id": _BOT_USER["id"],
                    "name": "bridge",
                    "icon": None,
                    "description": "",
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "verify_key": "00" * 32,
                    "flags": 0,
                    "owner": _BOT_USER,
                    "team": None,
                },
            )
        elif method == "POST" and path.startswith("/api/v10/interactions/") and path.endswith("/callback"):
            status, answer = 204, None
    # discord.py insists on exactly this content type, without a charset.
    headers = [(b"content-type", b"application/json")] if answer is not None else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send(
        {"type": "http.response.body", "body": json.dumps(answer).encode() if answer is not None else b""}
    )


# -- the proxy --------------------------------------------------------------------------


@contextmanager
def run_proxy(
    log_dir: Path,
    *,
    legacy_url: str,
    plugin_url: str,
    flags_path: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    env = {
        "STRANGLER_LEGACY_URL": legacy_url,
        "STRANGLER_PLUGIN_URL": plugin_url,
        "STRANGLER_FLAGS_PATH": str(flags_path),
        "STRANGLER_DATABASE_URL": f"sqlite://{flags_path.parent / 'proxy-records.sqlite3'}",
        # The test client is on loopback, which uvicorn trusts for X-Forwarded-For by
        # default; the proxy must treat its callers as clients, not as proxies.
        "FORWARDED_ALLOW_IPS": "192.0.2.1",
        **(extra_env or {}),
    }
    with run_server("proxy.main:app", env, log_dir, health_path=PROXY_HEALTH) as server:
        yield server


def wait_for(predicate: Any, timeout_s: float = 5.0, interval_s: float = 0.005) -> float:
    """Seconds until `predicate()` holds; AssertionError after `timeout_s`."""
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s}s")
        time.sleep(interval_s)
    return time.perf_counter() - started


def served_by(response: httpx.Response) -> str:
    return response.headers.get("x-served-by", "")
