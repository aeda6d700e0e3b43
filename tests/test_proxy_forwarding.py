"""proxy.forwarding: the proxy is transparent (the same answers through it as directly),
adds and strips the headers it should, limits bodies, and turns a down or slow backend
into a JSON 502/504 that names it. Against real servers: echo apps behind a real proxy."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from proxy.modes import Surface
from tests.proxy_support import DiscordSigner, flag_document, interaction, run_echo, run_proxy, write_flags
from tests.servers import Server, free_port

MAX_BODY = 8 * 1024 * 1024
PLUGIN_ORG = 7


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy-forwarding-logs")


@pytest.fixture(scope="module")
def legacy(logs: Path) -> Iterator[Server]:
    with run_echo("legacy", logs) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(legacy: Server, logs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    flags = tmp_path_factory.mktemp("flags") / "flags.json"
    write_flags(flags, flag_document())
    with run_proxy(
        logs,
        legacy_url=legacy.url,
        plugin_url=legacy.url,
        flags_path=flags,
        extra_env={"STRANGLER_MAX_BODY_BYTES": str(MAX_BODY)},
    ) as server:
        yield server


@pytest.fixture(scope="module")
def failing_proxy(legacy: Server, logs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Legacy slow to answer (read timeout 0.5 s); plugin on a port nobody listens on."""
    flags = tmp_path_factory.mktemp("flags") / "flags.json"
    write_flags(flags, flag_document({Surface.TOURNAMENT_API: {PLUGIN_ORG: "plugin"}}))
    with run_proxy(
        logs,
        legacy_url=legacy.url,
        plugin_url=f"http://127.0.0.1:{free_port()}",
        flags_path=flags,
        extra_env={"STRANGLER_READ_TIMEOUT": "0.5", "STRANGLER_CONNECT_TIMEOUT": "0.5"},
    ) as server:
        yield server


def _echoed(response: httpx.Response) -> dict[str, object]:
    """The echo's description of the request, minus what a proxy legitimately changes."""
    described = response.json()
    described["headers"] = [
        [name, value]
        for name, value in described["headers"]
        if name not in {"host", "connection", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}
        # A bodiless POST/PUT/PATCH/DELETE is relayed with an explicit Content-Length: 0.
        and [name, value] != ["content-length", "0"]
    ]
    described.pop("backend", None)
    return described


def _comparable_headers(response: httpx.Response, *also_ignored: str) -> list[tuple[str, str]]:
    ignored = {"date", "server", "x-strangler-backend", "x-strangler-mode", *also_ignored}
    return [(name, value) for name, value in response.headers.multi_items() if name not in ignored]


RECORDED = [
    ("GET", "/plain", {}, None),
    ("GET", "/q/%E2%9C%93/a%2Fb", {"params": [("a", "1"), ("a", "2"), ("b", "é & ü"), ("empty", "")]}, None),
    ("HEAD", "/status/200", {}, 200),
    ("OPTIONS", "/options", {}, None),
    ("DELETE", "/thing/1", {}, None),
    ("POST", "/json", {"json": {"name": "Zoë", "n": [1, 2, 3]}}, None),
    ("PUT", "/binary", {"content": bytes(range(256)) * 64}, None),
    ("PATCH", "/form", {"data": {"a": "1", "b": "two words"}}, None),
    ("POST", "/headers", {"headers": {"X-Name": "Zoë Ünïcode".encode(), "X-Many": "one"}}, None),
    ("POST", "/cookies", {"headers": {"Cookie": "session=abc; theme=dark"}}, None),
    ("GET", "/redirect", {"params": {"to": "/elsewhere?x=1"}}, 302),
    ("GET", "/status/404", {}, 404),
    ("GET", "/status/500", {}, 500),
    ("GET", "/status/204", {}, 204),
    ("GET", "/stream", {"params": {"chunks": "50", "size": "4096"}}, None),
]


@pytest.mark.parametrize(
    ("method", "path", "options", "status"), RECORDED, ids=[f"{m} {p}" for m, p, _, _ in RECORDED]
)
def test_same_answer_through_the_proxy_as_directly(
    proxy: Server, legacy: Server, method: str, path: str, options: dict, status: int | None
) -> None:
    with httpx.Client(follow_redirects=False) as client:
        direct = client.request(method, legacy.url + path, **options)
        proxied = client.request(method, proxy.url + path, **options)
    assert proxied.status_code == direct.status_code == (status or proxied.status_code)
    echoed = direct.headers.get("content-type") == "application/json" and b'"backend"' in direct.content
    if echoed:
        # The request the echo describes differs by the forwarded headers, so its length does.
        assert _echoed(proxied) == _echoed(direct)
        assert _comparable_headers(proxied, "content-length") == _comparable_headers(direct, "content-length")
    else:
        assert proxied.content == direct.content
        assert _comparable_headers(proxied) == _comparable_headers(direct)
    assert proxied.headers["x-strangler-backend"] == "legacy"
    assert proxied.headers["x-strangler-mode"] == "legacy"


def test_redirects_and_cookies_pass_through(proxy: Server) -> None:
    with httpx.Client(follow_redirects=False) as client:
        redirect = client.get(proxy.url + "/redirect", params={"to": "/elsewhere"})
        cookies = client.get(proxy.url + "/cookies", headers={"Cookie": "a=b"})
    assert redirect.status_code == 302 and redirect.headers["location"] == "/elsewhere"
    assert cookies.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    assert cookies.json()["cookie"] == "a=b"


def test_chunked_and_large_bodies_stream_both_ways(proxy: Server) -> None:
    large = os.urandom(5 * 1024 * 1024)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(large), 100_000):
            yield large[start : start + 100_000]

    with httpx.Client(timeout=30) as client:
        chunked = client.post(proxy.url + "/upload", content=chunks())
        sized = client.post(proxy.url + "/upload", content=large)
        stream = client.get(proxy.url + "/stream", params={"chunks": "300", "size": "16384"})
    for response in (chunked, sized):
        assert response.status_code == 200
        assert response.json()["body_length"] == len(large)
        assert response.json()["body_sha256"] == hashlib.sha256(large).hexdigest()
    assert "transfer-encoding" in {name for name, _ in chunked.json()["headers"]}
    assert len(stream.content) == 300 * 16384


def test_forwarded_headers_are_added_and_strangler_headers_stripped(proxy: Server) -> None:
    response = httpx.get(
        proxy.url + "/anything",
        headers={
            "X-Strangler-Dry-Run": "forged",
            "X-Strangler-Backend": "plugin",
            "X-Forwarded-For": "203.0.113.9",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "dropped",
            "Keep-Alive": "timeout=5",
        },
    )
    seen = dict(response.json()["headers"])
    assert not any(name.startswith("x-strangler-") for name in seen)
    assert "x-hop" not in seen and "keep-alive" not in seen
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == seen["host"] == proxy.url.removeprefix("http://")


def test_a_body_over_the_limit_is_refused_with_413(proxy: Server) -> None:
    too_large = b"x" * (MAX_BODY + 1)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(too_large), 1_000_000):
            yield too_large[start : start + 1_000_000]

    with httpx.Client(timeout=30) as client:
        declared = client.post(proxy.url + "/upload", content=too_large)
        chunked = client.post(proxy.url + "/upload", content=chunks())
        routed = client.post(
            proxy.url + "/api/tournaments/crew/approve",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
    for response in (declared, chunked, routed):
        assert response.status_code == 413
        assert response.json() == {"detail": f"request body is larger than {MAX_BODY} bytes"}


def test_a_down_backend_gives_502_naming_it(failing_proxy: Server) -> None:
    response = httpx.get(failing_proxy.url + f"/api/tournaments/organizations/{PLUGIN_ORG}")
    assert response.status_code == 502
    assert response.json() == {"detail": "plugin backend unavailable"}
    assert response.headers["x-strangler-backend"] == "plugin"


def test_a_slow_backend_gives_504_naming_it(failing_proxy: Server) -> None:
    response = httpx.get(failing_proxy.url + "/slow", params={"seconds": "3"}, timeout=10)
    assert response.status_code == 504
    assert response.json() == {"detail": "legacy backend timed out"}
    metrics = httpx.get(failing_proxy.url + "/metrics").text
    assert 'strangler_backend_errors_total{backend="legacy",kind="timeout"} 1.0' in metrics
    assert 'strangler_backend_errors_total{backend="plugin",kind="unavailable"}' in metrics


def test_legacy_down_gives_502_naming_legacy(logs: Path, tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    write_flags(flags, flag_document())
    nowhere = f"http://127.0.0.1:{free_port()}"
    with run_proxy(logs, legacy_url=nowhere, plugin_url=nowhere, flags_path=flags) as proxy:
        response = httpx.post(proxy.url + "/api/tournaments/matches/3/winner", json={"user_id": 1})
        unrouted = httpx.get(proxy.url + "/healthz")
    assert response.status_code == unrouted.status_code == 502
    assert response.json() == unrouted.json() == {"detail": "legacy backend unavailable"}


def test_without_a_discord_key_every_interaction_is_refused(proxy: Server, legacy: Server) -> None:
    signer = DiscordSigner()  # a valid signature, but the proxy trusts no key at all
    body = interaction(command="async_start", channel_id=1, guild_id=2)
    response = httpx.post(proxy.url + "/discord/interactions", content=body, headers=signer.headers(body))
    assert response.status_code == 401
    assert httpx.get(legacy.url + "/_echo/interactions").json() == {"count": 0}
