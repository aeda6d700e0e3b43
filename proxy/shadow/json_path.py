"""A small JSONPath subset: where in a JSON answer a difference is, and the ignore rules
of the route map that name parts of answers.

    $            the whole body
    .name        a key ("['odd key']" for keys that are not identifiers)
    .*           any key
    [3]          an array element
    [*]          any array element
    ..name       the key `name` at any depth below

A rule covers a location when it matches the location or one of its ancestors: `$.players`
covers `$.players[0].id`. A location (`Location`) is a tuple of keys and indexes;
`render` writes it as `$.entries[2].score`, `normalise` as `$.entries[*].score`, the form
learned noise is kept in (one entry per field, whatever the element).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

Location = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_STEP = re.compile(
    r"""\.\.(?P<descendant>[A-Za-z_][A-Za-z0-9_\-]*)
      | \.(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)
      | \.(?P<any_key>\*)
      | \[(?P<index>\d+)\]
      | \[(?P<any_index>\*)\]
      | \['(?P<quoted>(?:[^'\\]|\\.)*)'\]
      | \["(?P<double_quoted>(?:[^"\\]|\\.)*)"\]""",
    re.VERBOSE,
)


class JsonPathError(ValueError):
    """A rule that is not in the supported subset; the message shows where."""


class StepKind(Enum):
    KEY = "key"
    ANY_KEY = "any_key"
    INDEX = "index"
    ANY_INDEX = "any_index"
    DESCENDANT = "descendant"


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    value: str | int | None = None


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        if not text.startswith("$"):
            raise JsonPathError(f"{text!r}: a JSON path starts with '$'")
        steps: list[Step] = []
        position = 1
        while position < len(text):
            found = _STEP.match(text, position)
            if found is None:
                raise JsonPathError(f"{text!r}: cannot read from {text[position:]!r}")
            steps.append(_step(found))
            position = found.end()
        return cls(text, tuple(steps))

    def covers(self, location: Location) -> bool:
        """True when this path matches `location` or one of its ancestors."""
        return _covers(self.steps, 0, location, 0)


def _step(found: re.Match[str]) -> Step:
    groups = found.groupdict()
    if groups["descendant"] is not None:
        return Step(StepKind.DESCENDANT, groups["descendant"])
    if groups["key"] is not None:
        return Step(StepKind.KEY, groups["key"])
    if groups["any_key"] is not None:
        return Step(StepKind.ANY_KEY)
    if groups["index"] is not None:
        return Step(StepKind.INDEX, int(groups["index"]))
    if groups["any_index"] is not None:
        return Step(StepKind.ANY_INDEX)
    quoted = groups["quoted"] if groups["quoted"] is not None else groups["double_quoted"]
    return Step(StepKind.KEY, re.sub(r"\\(.)", r"\1", quoted))


def _covers(steps: tuple[Step, ...], i: int, location: Location, j: int) -> bool:
    if i == len(steps):
        return True  # the rule ended at an ancestor (or at the location itself)
    if j == len(location):
        return False
    step, segment = steps[i], location[j]
    if step.kind is StepKind.DESCENDANT:
        # The key here, or anywhere further down.
        if isinstance(segment, str) and segment == step.value and _covers(steps, i + 1, location, j + 1):
            return True
        return _covers(steps, i, location, j + 1)
    if step.kind is StepKind.KEY:
        matched = isinstance(segment, str) and segment == step.value
    elif step.kind is StepKind.ANY_KEY:
        matched = isinstance(segment, str)
    elif step.kind is StepKind.INDEX:
        matched = isinstance(segment, int) and segment == step.value
    else:
        matched = isinstance(segment, int)
    return matched and _covers(steps, i + 1, location, j + 1)


def render(location: Location) -> str:
    return _render(location, any_index=False)


def normalise(location: Location) -> str:
    """The location with every array index as [*]: one name per field of every element."""
    return _render(location, any_index=True)


def _render(location: Location, *, any_index: bool) -> str:
    parts = ["$"]
    for segment in location:
        if isinstance(segment, int):
            parts.append("[*]" if any_index else f"[{segment}]")
        elif _IDENTIFIER.fullmatch(segment):
            parts.append(f".{segment}")
        else:
            escaped = segment.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)
