"""What a mismatch record may keep: secrets and tokens redacted, bodies size-capped.

- JSON: the value of every key whose name says it holds a secret (token, secret,
  password, api key, authorization, credential, signature) becomes "[redacted]", at any
  depth; a Discord interaction's `token` is one.
- Text anywhere (JSON strings, other bodies, paths): API tokens (`stk_...`) and bearer
  credentials are redacted.
- A caller is kept only as a fingerprint of its bearer token (the first 12 hex digits of
  its SHA-256, as the routing decision hashes it), enough to tell callers apart.
- Bodies are stored as canonical JSON (sorted keys, indented) when they parse, cut at the
  byte limit on a character boundary; the record says when it was cut.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

REDACTED = "[redacted]"
TRUNCATED_MARK = "\n... [truncated]"
_SECRET_KEY = re.compile(
    r"token|secret|passw(or)?d|api[_-]?key|authori[sz]ation|credential|private[_-]?key|signature", re.I
)
_API_TOKEN = re.compile(r"\bstk_[A-Za-z0-9_\-]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]+")
_JSON_SECRET_PAIR = re.compile(
    r'("[^"\\]*(?:token|secret|passw(?:or)?d|api[_-]?key|authori[sz]ation|credential|signature)[^"\\]*"\s*:\s*)'
    r'"(?:[^"\\]|\\.)*"',
    re.I,
)


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_KEY.search(name))


def redact_text(text: str) -> str:
    text = _API_TOKEN.sub("stk_" + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _JSON_SECRET_PAIR.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)


def redact(value: Any, key: str | None = None) -> Any:
    """A JSON value with secrets redacted (`key` is the name it is stored under)."""
    if key is not None and value is not None and is_secret_key(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def bounded_body(body: bytes, limit: int) -> tuple[str, bool]:
    """A body as text to keep: redacted, canonical when JSON, at most `limit` bytes.
    True when it was cut."""
    try:
        text = orjson.dumps(
            redact(orjson.loads(body)), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        ).decode()
    except orjson.JSONDecodeError:
        text = redact_text(body.decode("utf-8", errors="replace"))
    return cut(text, limit)


def cut(text: str, limit: int) -> tuple[str, bool]:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text, False
    return encoded[: max(0, limit - len(TRUNCATED_MARK))].decode(
        "utf-8", errors="ignore"
    ) + TRUNCATED_MARK, True


def caller_fingerprint(authorization: bytes | None) -> str | None:
    if authorization is None or authorization[:7].lower() != b"bearer ":
        return None
    return "sha256:" + hashlib.sha256(authorization[7:].strip()).hexdigest()[:12]
