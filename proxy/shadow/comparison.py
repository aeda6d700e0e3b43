"""The one comparator of shadow traffic: is legacy's answer the same as plugin's?

Two answers are the same when they have the same status, the same content type, the
same number of captured outbound calls (dry runs: Discord messages and threads the
request would have sent), and the same body in canonical form:

1. Equal bytes are equal bodies (~0.06 µs); nothing is parsed.
2. Otherwise, when both are JSON, both are parsed with orjson; equal values whose
   canonical form (orjson, sorted keys) is the same bytes are equal. Key order does not
   matter; array order and value types do (a client sees both: `100` is not `100.0`).
   Only when they differ are they walked together, and every difference is located by
   a JSON path (`$.entries[2].score`).
3. A body that is not JSON differs as a whole.

Then differences are dropped when the route's ignore rules cover their location (ids
and timestamps, from the route map) or when their location is learned noise for the
route (proxy.shadow.noise). Status, content type and outbound calls are never ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from proxy.shadow.json_path import JsonPath, Location, normalise, render

MAX_DIFFERENCES = 100
"""A diff stops collecting here: enough to read, bounded work on a broken answer."""

ABSENT = "<absent>"


class DifferenceKind(StrEnum):
    STATUS = "status"
    CONTENT_TYPE = "content_type"
    OUTBOUND_CALLS = "outbound_calls"  # how many Discord calls each dry run captured
    BODY = "body"  # bodies that are not both JSON (or not parseable) differ as a whole
    CHANGED = "changed"  # a value differs (or its type)
    MISSING = "missing"  # only legacy's answer has it
    EXTRA = "extra"  # only plugin's answer has it
    LENGTH = "length"  # arrays of different lengths

    @property
    def in_body(self) -> bool:
        return self not in (DifferenceKind.STATUS, DifferenceKind.CONTENT_TYPE, DifferenceKind.OUTBOUND_CALLS)


@dataclass(frozen=True, slots=True)
class Difference:
    kind: DifferenceKind
    location: Location
    legacy: Any
    plugin: Any

    @property
    def path(self) -> str:
        return render(self.location) if self.kind.in_body else self.kind.value

    @property
    def field(self) -> str:
        """The location with array indexes as [*]: what noise is learned and kept by."""
        return normalise(self.location) if self.kind.in_body else self.kind.value

    @property
    def is_value_change(self) -> bool:
        """A scalar that changed in place: the only kind of difference noise is learned from
        (a missing key or a shorter list is structure, never noise)."""
        return self.kind is DifferenceKind.CHANGED and _scalar(self.legacy) and _scalar(self.plugin)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind.value, "legacy": self.legacy, "plugin": self.plugin}


@dataclass(frozen=True, slots=True)
class Answer:
    """One side's answer to one request, as far as the comparison looks at it."""

    status: int
    content_type: str | None
    body: bytes
    truncated: bool = False  # the body was cut at the capture limit: not comparable
    outbound_calls: int | None = None  # dry runs only
    seconds: float = 0.0


@dataclass(frozen=True)
class IgnoreRules:
    """A route's ignore rules (route_map.yaml), parsed once when the map loads."""

    paths: tuple[JsonPath, ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str]) -> IgnoreRules:
        return cls(tuple(JsonPath.parse(text) for text in texts))

    def __add__(self, other: IgnoreRules) -> IgnoreRules:
        return IgnoreRules(self.paths + other.paths)

    def covers(self, difference: Difference) -> bool:
        return difference.kind.in_body and any(rule.covers(difference.location) for rule in self.paths)

    @property
    def texts(self) -> list[str]:
        return [rule.text for rule in self.paths]


NO_RULES = IgnoreRules()


@dataclass(frozen=True)
class Comparison:
    differences: tuple[Difference, ...]  # what makes the answers differ, after the rules
    ignored: tuple[Difference, ...] = field(default=())  # dropped by a rule or as noise

    @property
    def matched(self) -> bool:
        return not self.differences


def differences(legacy: Answer, plugin: Answer, limit: int = MAX_DIFFERENCES) -> list[Difference]:
    """Every difference between two answers (up to `limit`), nothing ignored."""
    found: list[Difference] = []
    if legacy.status != plugin.status:
        found.append(Difference(DifferenceKind.STATUS, (), legacy.status, plugin.status))
    if _media(legacy.content_type) != _media(plugin.content_type):
        found.append(Difference(DifferenceKind.CONTENT_TYPE, (), legacy.content_type, plugin.content_type))
    if legacy.outbound_calls != plugin.outbound_calls:
        found.append(
            Difference(DifferenceKind.OUTBOUND_CALLS, (), legacy.outbound_calls, plugin.outbound_calls)
        )
    if legacy.body == plugin.body:
        return found
    if is_json(legacy.content_type) and is_json(plugin.content_type):
        try:
            left, right = orjson.loads(legacy.body or b"null"), orjson.loads(plugin.body or b"null")
        except orjson.JSONDecodeError:
            pass
        else:
            if not (left == right and _canonical(left) == _canonical(right)):
                _walk(left, right, (), found, limit)
            return found
    found.append(Difference(DifferenceKind.BODY, (), _text(legacy.body), _text(plugin.body)))
    return found


def compare(
    legacy: Answer,
    plugin: Answer,
    *,
    rules: IgnoreRules = NO_RULES,
    noise: Collection[str] = (),
) -> Comparison:
    """The verdict on two answers: their differences minus ignore rules and noise."""
    kept: list[Difference] = []
    ignored: list[Difference] = []
    for difference in differences(legacy, plugin):
        if rules.covers(difference) or (difference.kind.in_body and difference.field in noise):
            ignored.append(difference)
        else:
            kept.append(difference)
    return Comparison(tuple(kept), tuple(ignored))


def is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _media(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return ";".join(part.strip() for part in content_type.lower().split(";"))


def _walk(left: Any, right: Any, location: Location, found: list[Difference], limit: int) -> None:
    if len(found) >= limit:
        return
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(left.keys() | right.keys()):
            if key not in right:
                found.append(Difference(DifferenceKind.MISSING, (*location, key), left[key], ABSENT))
            elif key not in left:
                found.append(Difference(DifferenceKind.EXTRA, (*location, key), ABSENT, right[key]))
            else:
                _walk(left[key], right[key], (*location, key), found, limit)
            if len(found) >= limit:
                return
    elif isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            found.append(Difference(DifferenceKind.LENGTH, location, len(left), len(right)))
        for index in range(min(len(left), len(right))):
            _walk(left[index], right[index], (*location, index), found, limit)
        for index in range(len(right), len(left)):
            found.append(Difference(DifferenceKind.MISSING, (*location, index), left[index], ABSENT))
        for index in range(len(left), len(right)):
            found.append(Difference(DifferenceKind.EXTRA, (*location, index), ABSENT, right[index]))
        del found[limit:]
    elif not (type(left) is type(right) and left == right):
        found.append(Difference(DifferenceKind.CHANGED, location, left, right))


def _canonical(value: Any) -> bytes:
    # Python's == takes 1 for 1.0 and for True; the canonical bytes do not.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")
