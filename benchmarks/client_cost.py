"""The proxy's HTTP client alone, against the clients it could have used: CPU per request
of the client process, side by side in one run (issue 8: "pick the client that meets these
targets ... record each alternative you tried").

    .venv/bin/python -m benchmarks --only client

Each client runs in a process of its own on one CPU (uvloop), making keep-alive GETs of a
1 KB file at concurrency 16 to nginx serving it from the other CPU (nginx answers in a few
µs, so what is left is the client's own cost). The clients run back to back in a rotating
order, repeated; CPU per request is the client process's utime + stime (all its threads)
over the requests it made. A client that is not installed is left out of the table.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks import nginx
from benchmarks.processes import ROOT, on_cpus, pinned_placement
from benchmarks.results import RunOptions, SuiteResult, Table
from benchmarks.samples import Samples, paired

Log = Callable[[str], None]
Fetch = Callable[[], Awaitable[tuple[int, bytes]]]

CONCURRENCY = 16
KEPT = "proxy.http_client (kept)"
PATH = "/data.json"
BODY = b'{"players": "' + b"x" * 983 + b'"}'  # 1 KB, like the benchmark app's fast route
HEADERS = [
    ("host", "127.0.0.1"),
    ("user-agent", "wrk"),
    ("accept", "*/*"),
    ("x-forwarded-for", "127.0.0.1"),
    ("x-forwarded-proto", "http"),
]
# Shown in this order; the first is the baseline of the ratio column.
CLIENTS = {
    KEPT: "http_client",
    "aiohttp ClientSession (before)": "aiohttp",
    "pyreqwest (Rust, reqwest)": "pyreqwest",
    "aiosonic": "aiosonic",
    "httpx, default transport": "httpx",
}


# -- the client process ------------------------------------------------------------------


async def _http_client(url: str) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    from proxy.http_client import ConnectionPool

    pool = ConnectionPool(url, max_connections=512, connect_timeout_s=2, read_timeout_s=30, keepalive_s=4)
    headers = [(name.encode(), value.encode()) for name, value in HEADERS]

    async def fetch() -> tuple[int, bytes]:
        response = await pool.request("GET", PATH.encode(), headers)
        try:
            return response.status, await response.read()
        finally:
            response.release()

    return fetch, pool.close


async def _aiohttp(url: str) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    import aiohttp
    from yarl import URL

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512, limit_per_host=0, keepalive_timeout=4),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=2, sock_read=30),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        trust_env=False,
    )
    target = URL(url + PATH, encoded=True)

    async def fetch() -> tuple[int, bytes]:
        # As the proxy used it: raw headers kept, the answer's headers copied, then released.
        response = await session.request("GET", target, headers=HEADERS, allow_redirects=False)
        try:
            [(name.lower(), value) for name, value in response.raw_headers]
            return response.status, await response.read()
        finally:
            response.release()

    return fetch, session.close


async def _pyreqwest(url: str) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    from pyreqwest.client import ClientBuilder

    client = await ClientBuilder().build().__aenter__()

    async def fetch() -> tuple[int, bytes]:
        builder = client.get(url + PATH)
        for name, value in HEADERS:
            builder = builder.header(name, value)
        response = await builder.build().send()
        return response.status, await response.bytes()

    async def close() -> None:
        await client.__aexit__(None, None, None)

    return fetch, close


async def _aiosonic(url: str) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    import aiosonic

    client = aiosonic.HTTPClient()
    headers = dict(HEADERS)

    async def fetch() -> tuple[int, bytes]:
        response = await client.request(url + PATH, "GET", headers=headers)
        return response.status_code, await response.content()

    async def close() -> None:
        await client.connector.cleanup()

    return fetch, close


async def _httpx(url: str) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    import httpx

    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=512))

    async def fetch() -> tuple[int, bytes]:
        response = await client.get(url + PATH, headers=HEADERS)
        return response.status_code, response.content

    return fetch, client.aclose


async def _measure(client: str, url: str, seconds: float) -> dict[str, float]:
    fetch, close = await _CLIENTS[client](url)
    try:
        status, body = await fetch()
        if status != 200 or body != BODY:
            raise RuntimeError(f"{client}: unexpected answer {status}, {len(body)} bytes")
        done = 0
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                status, body = await fetch()
                if status != 200 or len(body) != len(BODY):
                    raise RuntimeError(f"{client}: unexpected answer {status}, {len(body)} bytes")
                done += 1

        await asyncio.gather(*(fetch() for _ in range(CONCURRENCY)))  # open the connections
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return {"cpu_us": cpu / done * 1e6, "rps": done / wall, "requests": done}
    finally:
        await close()


_CLIENTS: dict[str, Callable[[str], Awaitable[tuple[Fetch, Callable[[], Awaitable[None]]]]]] = {
    "http_client": _http_client,
    "aiohttp": _aiohttp,
    "pyreqwest": _pyreqwest,
    "aiosonic": _aiosonic,
    "httpx": _httpx,
}


def client_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("client", choices=sorted(_CLIENTS))
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    import uvloop

    print(json.dumps(uvloop.run(_measure(args.client, args.url, args.seconds))))


# -- the suite -----------------------------------------------------------------------------


def installed(client: str) -> bool:
    return importlib.util.find_spec({"http_client": "proxy.http_client"}.get(client, client)) is not None


def run_client(client: str, url: str, seconds: float, cpus: str | None) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.client_cost", client, url, "--seconds", str(seconds)]
    done = subprocess.run(
        on_cpus(command, cpus), cwd=ROOT, capture_output=True, text=True, timeout=seconds + 60
    )
    if done.returncode != 0:
        raise RuntimeError(f"client {client} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(options: RunOptions, log: Log = print) -> SuiteResult:
    seconds = max(1.0, options.duration_s - 1.0)
    result = SuiteResult(
        "client",
        "The proxy's HTTP client alone, against the alternatives",
        f"Each client in its own process on one CPU (uvloop), keep-alive GETs of a 1 KB file at "
        f"concurrency {CONCURRENCY} for {seconds:g} s, from nginx serving it on the other CPU; clients "
        f"interleaved in a rotating order, {options.repeats} repeat(s); CPU per request = the client "
        "process's utime + stime (every thread) ÷ requests; medians (min–max); ratios run by run "
        f"against {KEPT}.",
    )
    if nginx.binary() is None:
        result.notes.append("nginx is not installed (apt-get install -y nginx): nothing measured.")
        return result
    placement = pinned_placement()
    client_cpus = placement.measured_cpus if placement else None
    names = [name for name, client in CLIENTS.items() if installed(client)]
    missing = [name for name in CLIENTS if name not in names]
    cpu: dict[str, list[float]] = {name: [] for name in names}
    rps: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-client-") as scratch:
        root = Path(scratch) / "www"
        root.mkdir()
        (root / PATH.lstrip("/")).write_bytes(BODY)
        with nginx.serve_files(
            root, Path(scratch) / "nginx", placement.other_cpus if placement else None
        ) as server:
            for repeat in range(options.repeats):
                for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                    figures = run_client(CLIENTS[name], server.url, seconds, client_cpus)
                    cpu[name].append(figures["cpu_us"])
                    rps[name].append(figures["rps"])
    table = Table(
        "CPU per request of the client process (GET 1 KB, concurrency 16)",
        ["client", "CPU µs/request", f"÷ {KEPT}", "requests/s (one CPU)"],
    )
    for name in names:
        table.add(
            name,
            Samples.of(cpu[name]).format(1),
            paired(cpu[name], cpu[KEPT]).format(1, "×"),
            Samples.of(rps[name]).format(),
        )
        log(f"  {name}: {Samples.of(cpu[name]).median:,.1f} µs/request")
    result.tables.append(table)
    if missing:
        result.notes.append(
            "not installed, so not measured: " + ", ".join(missing) + " (`pip install pyreqwest aiosonic`)"
        )
    return result


if __name__ == "__main__":
    client_main(sys.argv[1:])
