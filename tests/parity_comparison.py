"""Comparing two recordings of one scenario, exchange by exchange: `compare_recordings`.

An `Exchange` is one request and its answer (an HTTP call, or a Discord interaction and
the interaction response). Two recordings of the same scenario against two apps - each
started from the same database state - must agree on every exchange: status, media type
and body, after the body has been put in canonical form. The canonical form drops only
what two correct apps cannot agree on; each rule below is listed with its reason (and in
docs/parity.md):

1. Generated ids (rows the scenario creates, and the Discord threads the stand-in for
   Discord's API hands out) are replaced by `<kind#n>`: the n-th distinct id of that kind
   in the order the recording first shows it. The two databases start as copies, so the
   ids usually coincide (the report says whether they did), but a sequence value spent
   by a refused INSERT, or a different order of writes, would shift them without any
   visible difference to a client. The kind of an `id` comes from the object's shape
   (`OBJECT_KINDS`), of an `x_id` from its key (`ID_KEYS`), and ids inside Discord texts
   and custom_ids from `TEXT_IDS`. Ids of the starting state (users, organizations,
   Discord channels and guilds the scenario names) are compared as they are.
2. Timestamps the servers take from their own clocks (`created_at`, a status timestamp,
   a race's start and end, a thread's timeout = now + 20 minutes, ...): an ISO 8601 UTC
   value with a `Z` suffix that lies between one minute before the first exchange and one
   day after the last is replaced by `<server-clock>`. Whether a timestamp is null, and
   its format, are still compared; datetimes the scenario itself sends or pins (2025,
   2031) lie outside that window and are compared exactly.
3. `elapsed_seconds` of a race whose start or end is such a server-clock timestamp is
   replaced by `<clock-derived>`: it measures the time between two requests. Once the
   scenario pins a race's times, its elapsed time is compared exactly.

Nothing else is ignored: scores, texts, embeds, list order, error details and validation
error bodies must be identical.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

CLOCK = "<server-clock>"
CLOCK_DERIVED = "<clock-derived>"
CLOCK_WINDOW_BEFORE = timedelta(minutes=1)
CLOCK_WINDOW_AFTER = timedelta(days=1)
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
MAX_DIFFERENCES = 12


class Kind(StrEnum):
    TOURNAMENT = "tournament"
    REGISTRATION = "registration"
    MATCH = "match"
    MATCH_PLAYER = "match_player"
    CREW = "crew"
    SEED = "seed"
    STREAM_CHANNEL = "stream_channel"
    QUALIFIER = "qualifier"
    POOL = "pool"
    PERMALINK = "permalink"
    RACE = "race"
    DISCORD_THREAD = "discord_thread"  # made by (the stand-in for) Discord, not the database


class Channel(StrEnum):
    """Where an exchange went."""

    HTTP = "http"  # a route of the app
    DISCORD = "discord"  # an interaction posted to the app's /discord/interactions
    OUTBOUND = "outbound"  # a call the app made to Discord's REST API


# `x_id` keys naming a generated row (user, organization, channel and guild ids are not).
ID_KEYS: dict[str, Kind] = {
    "tournament_id": Kind.TOURNAMENT,
    "match_id": Kind.MATCH,
    "crew_id": Kind.CREW,
    "stream_channel_id": Kind.STREAM_CHANNEL,
    "qualifier_id": Kind.QUALIFIER,
    "pool_id": Kind.POOL,
    "permalink_id": Kind.PERMALINK,
    "race_id": Kind.RACE,
    "discord_thread_id": Kind.DISCORD_THREAD,
}

# The kind of an object's `id`, told by a key only that kind of object has (first match).
OBJECT_KINDS: tuple[tuple[Callable[[dict[str, Any]], bool], Kind], ...] = (
    (lambda o: "tracker_enabled" in o, Kind.TOURNAMENT),
    (lambda o: "players" in o and "crew" in o, Kind.MATCH),
    (lambda o: "finish_rank" in o, Kind.MATCH_PLAYER),
    (lambda o: "approved" in o and "role" in o, Kind.CREW),
    (lambda o: "match_id" in o and "url" in o, Kind.SEED),
    (lambda o: "stream_url" in o, Kind.STREAM_CHANNEL),
    (lambda o: "tournament_id" in o and "user_id" in o, Kind.REGISTRATION),
    (lambda o: "runs_per_pool" in o and "hide_results" in o, Kind.QUALIFIER),
    (lambda o: "permalink_count" in o, Kind.POOL),
    (lambda o: "par_time" in o, Kind.PERMALINK),
    (lambda o: "permalink_url" in o, Kind.RACE),
)

# Ids inside texts: the card's button and footer, the pool buttons, outbound Discord paths.
TEXT_IDS: tuple[tuple[re.Pattern[str], tuple[Kind, ...]], ...] = (
    (re.compile(r"\basync_start_pool:(\d+):(\d+)\b"), (Kind.QUALIFIER, Kind.POOL)),
    (re.compile(r"\basync_start:(\d+)\b"), (Kind.QUALIFIER,)),
    (re.compile(r"\bQualifier ID: (\d+)\b"), (Kind.QUALIFIER,)),
    (re.compile(r"^/channels/(\d{17,20})/(?:messages|thread-members)"), (Kind.DISCORD_THREAD,)),
)
RELATIVE_DISCORD_TIME = re.compile(r"<t:(\d+):([tTdDfFR])>")
TIMES_OF_RACE = ("start_time", "end_time")


@dataclass
class Exchange:
    """One request of the scenario and the answer it got."""

    step: str  # what the scenario does, in words
    channel: Channel
    method: str  # HTTP method, "COMMAND", "BUTTON" or the outbound call's method
    route: str  # the route template, command name, button prefix or outbound path template
    target: str  # the concrete path, or the command with its options
    request: Any  # the JSON body or interaction payload sent
    expected: Any  # what the scenario expects: a status, or the reply's content
    status: int
    media_type: str
    body: Any  # parsed JSON, text, or None for an empty body
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def outcome(self) -> Any:
        """The status (HTTP), or the reply's content or `<embed>` (Discord)."""
        if self.channel is not Channel.DISCORD:
            return self.status
        data = (self.body or {}).get("data", {}) if isinstance(self.body, dict) else {}
        return data.get("content") if data.get("content") is not None else "<embed>"


@dataclass(frozen=True)
class Mismatch:
    index: int
    reference: Exchange
    candidate: Exchange | None
    differences: list[str]

    def describe(self) -> str:
        ref, cand = self.reference, self.candidate
        lines = [f"#{self.index} {ref.step}: {ref.method} {ref.target}"]
        if ref.request is not None and ref.channel is Channel.HTTP:
            lines.append(f"  request: {_short(ref.request)}")
        lines.append(f"  reference {ref.status}: {_short(ref.body)}")
        if cand is None:
            lines.append("  candidate: (no such exchange)")
        else:
            lines.append(f"  candidate {cand.status}: {_short(cand.body)}")
        lines += [f"  - {d}" for d in self.differences]
        return "\n".join(lines)


@dataclass
class ParityReport:
    compared: int
    equal: int
    mismatches: list[Mismatch]
    ids_coincided: bool

    def summary(self) -> str:
        ids = "coincided" if self.ids_coincided else "differed (compared by order of creation)"
        return (
            f"parity: {self.compared} exchanges compared, {self.equal} equal, "
            f"{len(self.mismatches)} mismatched; database-generated ids {ids}"
        )

    def details(self) -> str:
        return "\n\n".join([self.summary(), *(m.describe() for m in self.mismatches)])


def compare_recordings(reference: Sequence[Exchange], candidate: Sequence[Exchange]) -> ParityReport:
    """Compare two recordings of one scenario pairwise (reusable for any two recordings)."""
    moments = [e.sent_at for e in [*reference, *candidate]]
    window = (min(moments) - CLOCK_WINDOW_BEFORE, max(moments) + CLOCK_WINDOW_AFTER) if moments else None
    left, right = Canonicalizer(window), Canonicalizer(window)
    mismatches: list[Mismatch] = []
    for index, ref in enumerate(reference):
        cand = candidate[index] if index < len(candidate) else None
        if cand is None or (cand.step, cand.method, cand.route) != (ref.step, ref.method, ref.route):
            mismatches.append(Mismatch(index, ref, cand, ["the scenario diverged here"]))
            break
        expected = left.exchange(ref)
        actual = right.exchange(cand)
        differences = _differences(expected, actual, "$")
        if differences:
            mismatches.append(Mismatch(index, ref, cand, differences[:MAX_DIFFERENCES]))
    else:
        if len(candidate) > len(reference):
            extra = candidate[len(reference)]
            mismatches.append(Mismatch(len(reference), extra, None, ["the candidate recorded more"]))
    ids_coincided = left.database_ids() == right.database_ids()
    compared = min(len(reference), len(candidate))
    return ParityReport(compared, compared - len(mismatches), mismatches, ids_coincided)


class Canonicalizer:
    """One recording's canonical form (rules 1-3 of the module docstring); it learns the
    recording's generated ids in the order it sees them, so feed exchanges in order."""

    def __init__(self, window: tuple[datetime, datetime] | None) -> None:
        self.window = window
        self.ordinals: dict[Kind, dict[int, int]] = defaultdict(dict)
        self.raw_ids: list[tuple[Kind, int]] = []

    def database_ids(self) -> list[tuple[Kind, int]]:
        """The generated ids seen, in order, but for those the stand-in for Discord made."""
        return [(kind, raw) for kind, raw in self.raw_ids if kind is not Kind.DISCORD_THREAD]

    def exchange(self, exchange: Exchange) -> dict[str, Any]:
        return {
            "status": exchange.status,
            "media_type": exchange.media_type,
            "body": self.value(exchange.body),
        }

    def id_token(self, kind: Kind, raw: int) -> str:
        known = self.ordinals[kind]
        if raw not in known:
            known[raw] = len(known) + 1
            self.raw_ids.append((kind, raw))
        return f"<{kind}#{known[raw]}>"

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self._object(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, str):
            return self._text(value)
        return value

    def _object(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind = next((k for matches, k in OBJECT_KINDS if matches(obj)), None)
        result: dict[str, Any] = {}
        for key, item in obj.items():
            if key == "id" and kind is not None and _is_id(item):
                result[key] = self.id_token(kind, int(item))
            elif key in ID_KEYS and _is_id(item):
                result[key] = self.id_token(ID_KEYS[key], int(item))
            else:
                result[key] = self.value(item)
        if result.get("elapsed_seconds") is not None and any(result.get(t) == CLOCK for t in TIMES_OF_RACE):
            result["elapsed_seconds"] = CLOCK_DERIVED
        return result

    def _text(self, text: str) -> str:
        if ISO_UTC.match(text) and self._on_server_clock(datetime.fromisoformat(text.replace("Z", "+00:00"))):
            return CLOCK
        for pattern, kinds in TEXT_IDS:
            text = pattern.sub(lambda m, kinds=kinds: self._ids_in(m, kinds), text)
        return RELATIVE_DISCORD_TIME.sub(self._discord_time, text)

    def _ids_in(self, match: re.Match[str], kinds: tuple[Kind, ...]) -> str:
        whole, start = match.group(0), match.start(0)
        pieces, cursor = [], 0
        for group, kind in enumerate(kinds, start=1):
            pieces.append(whole[cursor : match.start(group) - start])
            pieces.append(self.id_token(kind, int(match.group(group))))
            cursor = match.end(group) - start
        pieces.append(whole[cursor:])
        return "".join(pieces)

    def _discord_time(self, match: re.Match[str]) -> str:
        moment = datetime.fromtimestamp(int(match.group(1)), UTC)
        return f"<t:{CLOCK}:{match.group(2)}>" if self._on_server_clock(moment) else match.group(0)

    def _on_server_clock(self, moment: datetime) -> bool:
        return self.window is not None and self.window[0] <= moment <= self.window[1]


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _differences(expected: Any, actual: Any, path: str) -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in [*expected, *(k for k in actual if k not in expected)]:
            if key not in actual:
                found.append(f"{path}.{key}: missing in candidate")
            elif key not in expected:
                found.append(f"{path}.{key}: only in candidate ({_short(actual[key])})")
            else:
                found += _differences(expected[key], actual[key], f"{path}.{key}")
        if list(expected) != list(actual) and not found:
            found.append(f"{path}: same keys in another order")
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items vs {len(actual)}: {_short(expected)} vs {_short(actual)}"]
        found = []
        for n, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found += _differences(left, right, f"{path}[{n}]")
        return found
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: {_short(expected)} != {_short(actual)}"]
    return []


def _short(value: Any, limit: int = 600) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"
