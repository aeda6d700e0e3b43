"""The proxy's side of the dry-run protocol: signing the header that makes an app run a
mirrored request in a rolled-back transaction, and reading what the app did with it.

The contract is core/dry_run's (the proxy does not import core, so the signer is
written again here, and tests/test_proxy_shadow.py checks it against core's verifier):

    X-Strangler-Dry-Run: v1:<unix_seconds>:<hex HMAC-SHA256(secret, message)>
    message = b"v1:<unix_seconds>:<METHOD>:" + <target>

`<target>` is the raw path, then `?` and the query string when it is not empty, bytes as
sent. An app honours a header within 60 s of its clock and answers with
`X-Strangler-Dry-Run: applied` (or `timed_out` / `failed`, nothing committed either
way); an answer WITHOUT the header means the app ran the request for real.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from enum import StrEnum

HEADER = "X-Strangler-Dry-Run"
CAPTURED_HEADER = "X-Strangler-Dry-Run-Captured"
SCHEME = "v1"
_HEADER_KEY = HEADER.lower().encode("latin-1")
_CAPTURED_KEY = CAPTURED_HEADER.lower().encode("latin-1")


class DryRunOutcome(StrEnum):
    """What an app's answer says about a signed request."""

    APPLIED = "applied"  # ran and rolled back: the answer can be compared
    TIMED_OUT = "timed_out"  # rolled back after the app's budget ran out
    FAILED = "failed"  # no transaction could be opened; nothing ran
    NOT_HONOURED = "not_honoured"  # no header in the answer: the request ran FOR REAL


def request_target(raw_path: bytes, query_string: bytes) -> bytes:
    return raw_path + b"?" + query_string if query_string else raw_path


def dry_run_header(secret: str, method: str, target: bytes, *, now: float | None = None) -> str:
    """The header value for a request sent now (or at `now`, unix seconds)."""
    timestamp = int(time.time() if now is None else now)
    message = f"{SCHEME}:{timestamp}:{method.upper()}:".encode("ascii") + target
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}:{timestamp}:{digest}"


def dry_run_outcome(headers: list[tuple[bytes, bytes]]) -> DryRunOutcome:
    """Read an answer's headers (names lower case)."""
    for name, value in headers:
        if name == _HEADER_KEY:
            try:
                return DryRunOutcome(value.decode("latin-1").strip())
            except ValueError:
                return DryRunOutcome.FAILED
    return DryRunOutcome.NOT_HONOURED


def captured_calls(headers: list[tuple[bytes, bytes]]) -> int | None:
    """How many outbound calls (Discord messages, threads) the dry run captured."""
    for name, value in headers:
        if name == _CAPTURED_KEY:
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
