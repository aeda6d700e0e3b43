"""Dry-run requests: how a mirrored request runs in an app without changing anything.

`create_platform_app` installs the boundary (`install_dry_run`) in front of every app,
so legacy_app and plugin_app honour the same protocol and their domain code does not
know about it. The proxy does not import this package; this docstring is its contract.

Request header (the proxy sends it; it strips any X-Strangler-* a client sent):

    X-Strangler-Dry-Run: v1:<unix_seconds>:<hex>
    <hex> = lowercase hex HMAC-SHA256(key = DRY_RUN_SECRET as UTF-8,
                                      msg = b"v1:<unix_seconds>:<METHOD>:" + <target>)

- `<unix_seconds>`: the sender's clock, decimal integer seconds.
- `<METHOD>`: upper case, as on the request line.
- `<target>`: the request target as the app receives it - raw path, then `?` and the
  query string when the query string is not empty - bytes as sent (percent-encoding
  kept, nothing decoded). The body is not signed (see "Replays" below).
- The secret is `DRY_RUN_SECRET` in both apps (`CoreSettings.dry_run_secret`) and in the
  proxy (`ProxySettings.dry_run_secret`). An empty secret switches dry runs off.

Verdicts: a header is honoured when its signature matches (`hmac.compare_digest`) and
|app's clock - unix_seconds| <= 60 s. A malformed, wrongly signed or expired header,
two such headers, or any header while the app has no secret, is IGNORED: the request
runs as an ordinary request and commits. Every header is counted in
`strangler_dry_run_requests_total{outcome}` with outcome one of `applied`, `timed_out`,
`failed`, `ignored_malformed`, `ignored_bad_signature`, `ignored_expired`,
`ignored_no_secret` (a request without the header is not counted).

A dry run (valid header):
- runs inside ONE database transaction (Tortoise `in_transaction()`, which the request's
  queries find through a context variable; the services' own `in_transaction()` blocks
  nest as savepoints on SQLite and PostgreSQL) that always ends in a rollback;
- captures every outbound Discord call instead of sending it (`capture_outbound`); a
  captured thread creation returns no thread, exactly as without a bot token;
- keeps its transaction open until tasks it started have ended (`DryRun`, scope.py): a
  Discord interaction's work after its reply (the race thread of /async_start) is part of
  the dry run;
- buffers the whole response, rolls back, and only then answers, with the app's own
  status, headers and body plus:
      X-Strangler-Dry-Run: applied
      X-Strangler-Dry-Run-Captured: <number of outbound calls captured>
  An unhandled error answers the app's own 500 body with the same headers.
- is bounded: from the moment its transaction is open, the app and its tasks get
  `DRY_RUN_TIMEOUT_SECONDS` (default 5 s); past it they are cancelled, rolled back, and
  the answer is 503 `{"detail": ...}` with `X-Strangler-Dry-Run: timed_out`. A
  transaction that cannot be opened answers 503 with `X-Strangler-Dry-Run: failed`.
  Opening the transaction itself waits as any transaction does (SQLite busy timeout,
  PostgreSQL pool).

So the proxy reads the answer as: `X-Strangler-Dry-Run` present -> a dry run, nothing
committed (`applied`: compare it; `timed_out`/`failed`: a mirror error, not a mismatch);
absent -> the app did NOT honour the header and the request was executed for real (wrong
secret or clock skew: check `strangler_dry_run_requests_total`). Generated ids in a dry
run's body are not promised to match the real request's: SQLite reuses the rolled-back
ids, PostgreSQL sequences do not roll back.

Replays: a header stays valid for 60 s and is not bound to the body, so a captured one
could be replayed with another body; that can only turn requests into dry runs, which
change nothing - the harm is the load (and the lock, below).

Costs: a dry run holds a transaction for its whole request. On SQLite that is the
database's single write lock (BEGIN IMMEDIATE) and this process's connection lock: every
other query of the process, and every writer of the other app, waits for it - keep the
budget well below the SQLite busy timeout (10 s). Sign writes and Discord interactions
only: a read changes nothing, and a signed one would still take the lock. On PostgreSQL a
dry run holds a pooled connection and the row locks its writes take.

Isolation: the transaction, the capture and the `DryRun` travel in context variables,
which belong to the request's task and the tasks it starts: concurrent requests never
see them. Code below the boundary must keep to three rules: a task started from a
request is handed to `current_dry_run().finish_before_rollback(task)` (the Discord
endpoint does); a statement whose failure is caught and survived runs in its own
`in_transaction()` (on PostgreSQL a failed statement otherwise aborts the dry run's
transaction); nothing commits explicitly or changes the schema (sqlite3's executescript
commits). Event listeners run inline in the publisher's context, so their queries roll
back and their Discord calls are captured; a listener with any other effect outside the
process checks `current_dry_run()` and skips it.

The proxy's signing function, for copying (the proxy must not import core):

    import hashlib, hmac, time

    def dry_run_header(secret: str, method: str, target: bytes) -> str:
        ts = int(time.time())
        msg = f"v1:{ts}:{method.upper()}:".encode("ascii") + target
        return f"v1:{ts}:" + hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()
"""

from __future__ import annotations

from fastapi import FastAPI

from core.dry_run.middleware import CAPTURED_HEADER, DRY_RUN_REQUESTS, DryRunMiddleware, DryRunOutcome
from core.dry_run.scope import DryRun, current_dry_run
from core.dry_run.signature import HEADER, REPLAY_WINDOW_S, Verdict, sign, verify
from core.settings import CoreSettings

__all__ = [
    "CAPTURED_HEADER",
    "DRY_RUN_REQUESTS",
    "HEADER",
    "REPLAY_WINDOW_S",
    "DryRun",
    "DryRunMiddleware",
    "DryRunOutcome",
    "Verdict",
    "current_dry_run",
    "install_dry_run",
    "sign",
    "verify",
]


def install_dry_run(app: FastAPI, settings: CoreSettings) -> None:
    """Put the dry-run boundary in front of `app`'s routes and of the middleware added
    before it (metrics); Starlette's error middleware stays outermost."""
    app.add_middleware(
        DryRunMiddleware, secret=settings.dry_run_secret, budget_s=settings.dry_run_timeout_seconds
    )
