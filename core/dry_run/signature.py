"""The dry-run header: how the proxy signs it and how an app checks it.

    X-Strangler-Dry-Run: v1:<unix_seconds>:<hex HMAC-SHA256(secret, message)>
    message = b"v1:<unix_seconds>:<METHOD>:" + <target>

`<target>` is the request target exactly as on the request line: the raw path, then `?`
and the query string when the query string is not empty, bytes as sent (percent-encoding
kept, nothing decoded). The signature binds the method and target, not the body: a
reused header can only turn another request into a dry run, which changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from enum import StrEnum

HEADER = "X-Strangler-Dry-Run"
SCHEME = "v1"
REPLAY_WINDOW_S = 60
"""A header is honoured while |now - unix_seconds| <= this (clock skew and replays alike)."""

_DIGEST_LENGTH = 64
_MAX_TIMESTAMP_DIGITS = 12
_HEX = frozenset(string.hexdigits)


class Verdict(StrEnum):
    """What a header is worth; only VALID makes a dry run."""

    VALID = "valid"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NO_SECRET = "no_secret"


def signature(secret: str, timestamp: int, method: str, target: bytes) -> str:
    message = f"{SCHEME}:{timestamp}:{method.upper()}:".encode("ascii") + target
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, method: str, target: bytes, *, now: float) -> str:
    """The header value for a request sent at `now` (unix seconds)."""
    timestamp = int(now)
    return f"{SCHEME}:{timestamp}:{signature(secret, timestamp, method, target)}"


def verify(value: bytes, *, secret: str, method: str, target: bytes, now: float) -> Verdict:
    """Check a received header value. The signature is checked before the time, so an
    operator reading EXPIRED knows the secret is right and the clocks are not."""
    if not secret:
        return Verdict.NO_SECRET
    try:
        parts = value.decode("ascii").strip().split(":")
    except UnicodeDecodeError:
        return Verdict.MALFORMED
    if len(parts) != 3 or parts[0] != SCHEME:
        return Verdict.MALFORMED
    raw_timestamp, digest = parts[1], parts[2].lower()
    if not (raw_timestamp.isdigit() and len(raw_timestamp) <= _MAX_TIMESTAMP_DIGITS):
        return Verdict.MALFORMED
    if len(digest) != _DIGEST_LENGTH or not _HEX.issuperset(digest):
        return Verdict.MALFORMED
    timestamp = int(raw_timestamp)
    if not hmac.compare_digest(signature(secret, timestamp, method, target), digest):
        return Verdict.BAD_SIGNATURE
    if abs(now - timestamp) > REPLAY_WINDOW_S:
        return Verdict.EXPIRED
    return Verdict.VALID
