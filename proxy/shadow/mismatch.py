"""A mismatch as it is kept and shown: who asked what, both answers (redacted and
size-capped) and where they differ. Built by the mirror, stored by proxy.shadow.records,
shown by `strangler mismatches` and `GET /_strangler/api/mismatches`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from proxy.shadow.comparison import Answer, Comparison
from proxy.shadow.redaction import bounded_body, cut, redact, redact_text

BODY_LIMIT = 64 * 1024
"""Each stored body keeps at most this many bytes (by default)."""
REQUEST_BODY_LIMIT = 16 * 1024
VALUE_LIMIT = 500
"""A difference's two values are kept up to this many characters each."""


class RequestKind(StrEnum):
    """How a mirrored request is compared."""

    READ = "read"  # GET/HEAD: the primary's answer vs the mirror's
    WRITE = "write"  # any other method: legacy's dry run vs plugin's
    DISCORD = "discord"  # an interaction: legacy's dry run vs plugin's

    @property
    def compares_dry_runs(self) -> bool:
        return self is not RequestKind.READ


@dataclass(frozen=True)
class Mismatch:
    flag: str
    mode: str
    organization_id: int | None
    kind: RequestKind
    route: str  # "POST /api/tournaments/organizations/{org}" or "COMMAND /async_start"
    method: str
    path: str  # the request target, redacted
    caller: str | None  # a fingerprint of the bearer token
    primary_status: int  # what the client got
    legacy_status: int
    plugin_status: int
    legacy_content_type: str | None
    plugin_content_type: str | None
    legacy_body: str
    plugin_body: str
    legacy_body_truncated: bool
    plugin_body_truncated: bool
    request_body: str | None
    differences: list[dict[str, Any]]
    legacy_seconds: float
    plugin_seconds: float
    id: int | None = None
    created_at: datetime | None = None
    ignored: list[str] = field(default_factory=list)  # paths a rule or noise dropped

    @classmethod
    def of(
        cls,
        *,
        flag: str,
        mode: str,
        organization_id: int | None,
        kind: RequestKind,
        route: str,
        method: str,
        target: str,
        caller: str | None,
        primary_status: int,
        request_body: bytes | None,
        legacy: Answer,
        plugin: Answer,
        comparison: Comparison,
        body_limit: int = BODY_LIMIT,
    ) -> Mismatch:
        legacy_body, legacy_cut = bounded_body(legacy.body, body_limit)
        plugin_body, plugin_cut = bounded_body(plugin.body, body_limit)
        return cls(
            flag=flag,
            mode=mode,
            organization_id=organization_id,
            kind=kind,
            route=route,
            method=method,
            path=redact_text(target),
            caller=caller,
            primary_status=primary_status,
            legacy_status=legacy.status,
            plugin_status=plugin.status,
            legacy_content_type=legacy.content_type,
            plugin_content_type=plugin.content_type,
            legacy_body=legacy_body,
            plugin_body=plugin_body,
            legacy_body_truncated=legacy_cut or legacy.truncated,
            plugin_body_truncated=plugin_cut or plugin.truncated,
            request_body=bounded_body(request_body, min(body_limit, REQUEST_BODY_LIMIT))[0]
            if request_body
            else None,
            differences=[_kept(d.to_json(), d.location) for d in comparison.differences],
            legacy_seconds=legacy.seconds,
            plugin_seconds=plugin.seconds,
            ignored=sorted({d.path for d in comparison.ignored}),
        )

    def unified_diff(self, context: int = 3) -> str:
        """Legacy's body against plugin's, line by line (status lines first)."""
        legacy = [
            f"HTTP {self.legacy_status} {self.legacy_content_type or ''}".rstrip(),
            *self.legacy_body.splitlines(),
        ]
        plugin = [
            f"HTTP {self.plugin_status} {self.plugin_content_type or ''}".rstrip(),
            *self.plugin_body.splitlines(),
        ]
        return "\n".join(
            difflib.unified_diff(legacy, plugin, fromfile="legacy", tofile="plugin", lineterm="", n=context)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "flag": self.flag,
            "mode": self.mode,
            "organization_id": self.organization_id,
            "kind": self.kind.value,
            "route": self.route,
            "method": self.method,
            "path": self.path,
            "caller": self.caller,
            "primary_status": self.primary_status,
            "legacy": {
                "status": self.legacy_status,
                "content_type": self.legacy_content_type,
                "body": self.legacy_body,
                "body_truncated": self.legacy_body_truncated,
                "seconds": self.legacy_seconds,
            },
            "plugin": {
                "status": self.plugin_status,
                "content_type": self.plugin_content_type,
                "body": self.plugin_body,
                "body_truncated": self.plugin_body_truncated,
                "seconds": self.plugin_seconds,
            },
            "request_body": self.request_body,
            "differences": self.differences,
            "ignored": self.ignored,
            "unified_diff": self.unified_diff(),
        }


def _kept(difference: dict[str, Any], location: tuple[str | int, ...]) -> dict[str, Any]:
    """A difference as stored: secrets redacted, each value cut to VALUE_LIMIT characters."""
    key = location[-1] if location and isinstance(location[-1], str) else None
    for side in ("legacy", "plugin"):
        value = redact(difference[side], key)
        if not isinstance(value, (int, float, bool)) and value is not None:
            text = value if isinstance(value, str) else _compact(value)
            value = cut(text, VALUE_LIMIT)[0]
        difference[side] = value
    return difference


def _compact(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
