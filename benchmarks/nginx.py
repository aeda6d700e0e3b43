"""nginx (Debian's package) as the reference reverse proxy: started by the benchmark in
the foreground with its own configuration in a scratch directory, one worker, keep-alive
connections to the backend (what a production nginx in front of an app would use)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from benchmarks.processes import Service, free_port, run_service

# One worker in the foreground, everything it writes in the scratch directory; `{server}`
# is what it serves.
CONFIG = """\
{user}worker_processes 1;
daemon off;
pid {scratch}/nginx.pid;
error_log {scratch}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {scratch}/client_body;
    proxy_temp_path {scratch}/proxy;
    fastcgi_temp_path {scratch}/fastcgi;
    uwsgi_temp_path {scratch}/uwsgi;
    scgi_temp_path {scratch}/scgi;
    keepalive_requests 1000000;
{server}
}}
"""
REVERSE_PROXY = """\
    upstream backend {{
        server {backend};
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 4s;  # below uvicorn's 5 s, as the proxy's pool does
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}"""
FILE_SERVER = """\
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /healthz {{ return 200 "ok"; }}
    }}"""


def binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(path, os.X_OK)), None
    )


def version() -> str:
    path = binary()
    if path is None:
        return "not installed"
    output = subprocess.run([path, "-v"], capture_output=True, text=True).stderr
    match = re.search(r"nginx/(\S+)", output)
    return match.group(1) if match else output.strip()


def serve_files(root: Path, scratch: Path, cpus: str | None) -> AbstractContextManager[Service]:
    """nginx serving the files under `root` (the server a client benchmark asks)."""
    return _run(scratch, cpus, lambda port: FILE_SERVER.format(port=port, root=root))


def run_nginx(backend_url: str, scratch: Path, cpus: str | None) -> AbstractContextManager[Service]:
    """nginx in front of the app at `backend_url`, as a production reverse proxy."""
    backend = backend_url.removeprefix("http://")
    return _run(scratch, cpus, lambda port: REVERSE_PROXY.format(port=port, backend=backend))


@contextmanager
def _run(scratch: Path, cpus: str | None, server_for: Callable[[int], str]) -> Iterator[Service]:
    path = binary()
    if path is None:
        raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
    scratch.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # As root, nginx's workers would switch to `nobody`, who cannot write the scratch dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    config = scratch / "nginx.conf"
    config.write_text(CONFIG.format(user=user, scratch=scratch, server=server_for(port)))
    command = [path, "-p", str(scratch), "-e", str(scratch / "error.log"), "-c", str(config)]
    with run_service(
        "nginx",
        command,
        url=f"http://127.0.0.1:{port}",
        health_path="/healthz",
        log_dir=scratch,
        cpus=cpus,
    ) as service:
        yield service
