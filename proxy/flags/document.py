"""The flag document in the one form strangler reads and writes.

Each surface flag has the variants legacy/shadow/live/plugin (values equal to names),
`defaultVariant` legacy, and targeting that is either empty or one `if` chain:

    {"if": [
        {"in": [{"var": "organization"}, ["3", "7"]]}, "live",
        {"in": [{"var": "organization"}, ["5"]]}, {"fractional": [["shadow", 50], ["legacy", 50]]},
        null
    ]}

Organizations that share an assignment share one condition; the final `null` hands every
other organization to the default variant (legacy). The evaluation context must carry the
organization id as a decimal *string* attribute `organization`. A `fractional` split uses
flagd's shorthand, bucketing by flag key and `targetingKey`, so each caller sticks to one
side. The kill switch is a boolean flag (variants on/off) without targeting.

Organizations rolled back to legacy stay listed (explicitly "legacy"), so the status view
keeps showing every organization an operator has touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy.flags.errors import DocumentError, InvalidChange
from proxy.modes import KILL_SWITCH_FLAG, Mode, Surface

SCHEMA_URL = "https://flagd.dev/schema/v0/flags.json"
ORGANIZATION_ATTRIBUTE = "organization"
MODE_VARIANTS: dict[str, str] = {mode.value: mode.value for mode in Mode}
KILL_SWITCH_VARIANTS: dict[str, bool] = {"on": True, "off": False}
KNOWN_FLAGS: tuple[str, ...] = (*(surface.value for surface in Surface), KILL_SWITCH_FLAG)
_CANONICAL_TARGETING = (
    'strangler writes only an "if" chain of {"in": [{"var": "organization"}, [ids]]} '
    'conditions, each followed by a mode or {"fractional": [[mode, percent], ...]}, ending in null'
)


@dataclass(frozen=True)
class Split:
    """One organization's callers spread over modes by percentage (flagd `fractional`)."""

    shares: tuple[tuple[Mode, int], ...]

    @classmethod
    def parse(cls, text: str) -> Split:
        """`shadow=50,legacy=50` (the notation of the CLI, the API and the audit log)."""
        shares = []
        for part in text.split(","):
            mode_text, sep, percent_text = part.partition("=")
            if not sep or not percent_text.strip().isdigit():
                raise InvalidChange(f"split {text!r} must look like shadow=50,legacy=50")
            shares.append((parse_mode(mode_text.strip()), int(percent_text)))
        return cls(tuple(shares))

    @property
    def modes(self) -> tuple[Mode, ...]:
        return tuple(mode for mode, _ in self.shares)

    def __str__(self) -> str:
        return ",".join(f"{mode.value}={percent}" for mode, percent in self.shares)


Assignment = Mode | Split


def parse_mode(text: str) -> Mode:
    try:
        return Mode(text)
    except ValueError:
        raise InvalidChange(f"unknown mode {text!r} (expected one of {', '.join(Mode)})") from None


def parse_surface(text: str) -> Surface:
    try:
        return Surface(text)
    except ValueError:
        known = ", ".join(Surface)
        raise InvalidChange(f"unknown flag {text!r} (expected one of {known})") from None


def parse_assignment(text: str) -> Assignment:
    """A mode (`live`) or a split (`shadow=50,legacy=50`)."""
    return Split.parse(text) if "=" in text else parse_mode(text)


@dataclass(frozen=True)
class Change:
    """One organization's assignment of one flag (or the kill switch) before and after."""

    flag: str
    organization_id: int | None
    before: str
    after: str


@dataclass(frozen=True)
class FlagDocument:
    """Every surface's per-organization assignments and the kill switch. Never mutated:
    every edit returns a new document."""

    assignments: Mapping[Surface, Mapping[int, Assignment]] = field(default_factory=dict)
    kill_switch: bool = False

    def __post_init__(self) -> None:
        # A surface without organizations is the same as an absent one; equality says so.
        object.__setattr__(
            self,
            "assignments",
            {surface: dict(per_org) for surface, per_org in self.assignments.items() if per_org},
        )

    def assignment(self, surface: Surface, organization_id: int) -> Assignment:
        return self.assignments.get(surface, {}).get(organization_id, Mode.LEGACY)

    def organizations(self) -> list[int]:
        return sorted({org for per_org in self.assignments.values() for org in per_org})

    def with_assignment(self, surface: Surface, organization_id: int, assignment: Assignment) -> FlagDocument:
        per_org = {**self.assignments.get(surface, {}), organization_id: assignment}
        return FlagDocument({**self.assignments, surface: per_org}, self.kill_switch)

    def rolled_back(self, organization_id: int | None = None) -> FlagDocument:
        """Every organization (or just `organization_id`) on legacy for every flag."""
        assignments = {
            surface: {
                org: Mode.LEGACY if organization_id in (None, org) else assignment
                for org, assignment in per_org.items()
            }
            for surface, per_org in self.assignments.items()
        }
        return FlagDocument(assignments, self.kill_switch)

    def with_kill_switch(self, on: bool) -> FlagDocument:
        return FlagDocument(self.assignments, on)

    def changes_to(self, new: FlagDocument) -> list[Change]:
        """What differs in effect between this document and `new`."""
        changes = []
        for surface in Surface:
            orgs = sorted({*self.assignments.get(surface, {}), *new.assignments.get(surface, {})})
            for org in orgs:
                before, after = self.assignment(surface, org), new.assignment(surface, org)
                if before != after:
                    changes.append(Change(surface.value, org, str(before), str(after)))
        if self.kill_switch != new.kill_switch:
            changes.append(
                Change(
                    KILL_SWITCH_FLAG,
                    None,
                    kill_switch_text(self.kill_switch),
                    kill_switch_text(new.kill_switch),
                )
            )
        return changes

    # -- flagd JSON -------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        flags: dict[str, Any] = {
            surface.value: {
                "state": "ENABLED",
                "variants": dict(MODE_VARIANTS),
                "defaultVariant": Mode.LEGACY.value,
                "targeting": _render_targeting(self.assignments.get(surface, {})),
            }
            for surface in Surface
        }
        flags[KILL_SWITCH_FLAG] = {
            "state": "ENABLED",
            "variants": dict(KILL_SWITCH_VARIANTS),
            "defaultVariant": kill_switch_text(self.kill_switch),
            "targeting": {},
        }
        return {"$schema": SCHEMA_URL, "flags": flags}

    def render(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def from_json(cls, data: object) -> FlagDocument:
        """Read a document in strangler's form; anything else is a DocumentError naming
        the flag and what is wrong. A surface flag that is missing reads as all legacy."""
        if not isinstance(data, dict):
            raise DocumentError("the flag document must be a JSON object")
        unknown_keys = set(data) - {"$schema", "flags"}
        if unknown_keys:
            raise DocumentError(f"unexpected top-level keys: {', '.join(sorted(unknown_keys))}")
        flags = data.get("flags")
        if not isinstance(flags, dict):
            raise DocumentError('the flag document needs a "flags" object')
        for key in flags:
            if key not in KNOWN_FLAGS:
                raise DocumentError(f"unknown flag {key!r} (expected {', '.join(KNOWN_FLAGS)})")
        assignments = {
            surface: _parse_surface_flag(surface.value, flags[surface.value])
            for surface in Surface
            if surface.value in flags
        }
        kill_switch = _parse_kill_switch(flags.get(KILL_SWITCH_FLAG))
        return cls(assignments, kill_switch)


def kill_switch_text(on: bool) -> str:
    return "on" if on else "off"


def parse_document_text(text: str, *, source: str = "the flag document") -> FlagDocument:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{source} is not valid JSON: {exc}") from None
    return FlagDocument.from_json(data)


# -- rendering and parsing of one flag ------------------------------------------------


def _assignment_json(assignment: Assignment) -> Any:
    if isinstance(assignment, Split):
        return {"fractional": [[mode.value, percent] for mode, percent in assignment.shares]}
    return assignment.value


def _group_order(assignment: Assignment) -> tuple[int, str]:
    return (0, f"{list(Mode).index(assignment)}") if isinstance(assignment, Mode) else (1, str(assignment))


def _render_targeting(per_org: Mapping[int, Assignment]) -> dict[str, Any]:
    if not per_org:
        return {}
    groups: dict[Assignment, list[int]] = {}
    for org, assignment in per_org.items():
        groups.setdefault(assignment, []).append(org)
    chain: list[Any] = []
    for assignment in sorted(groups, key=_group_order):
        ids = [str(org) for org in sorted(groups[assignment])]
        chain += [{"in": [{"var": ORGANIZATION_ATTRIBUTE}, ids]}, _assignment_json(assignment)]
    return {"if": [*chain, None]}


def _parse_surface_flag(key: str, spec: object) -> dict[int, Assignment]:
    where = f"flag {key!r}"
    if not isinstance(spec, dict):
        raise DocumentError(f"{where} must be an object")
    _check_common(where, spec, MODE_VARIANTS, Mode.LEGACY.value)
    targeting = spec.get("targeting") or {}
    if not isinstance(targeting, dict):
        raise DocumentError(f"{where}: targeting must be an object; {_CANONICAL_TARGETING}")
    if not targeting:
        return {}
    if list(targeting) != ["if"]:
        operators = ", ".join(repr(op) for op in targeting)
        raise DocumentError(f"{where}: targeting uses operator {operators}; {_CANONICAL_TARGETING}")
    chain = targeting["if"]
    if not isinstance(chain, list) or len(chain) < 3 or len(chain) % 2 == 0 or chain[-1] is not None:
        raise DocumentError(f"{where}: malformed if chain; {_CANONICAL_TARGETING}")
    per_org: dict[int, Assignment] = {}
    for condition, outcome in _pairs(chain[:-1]):
        assignment = _parse_outcome(where, outcome)
        for org in _parse_condition(where, condition):
            if org in per_org:
                raise DocumentError(f"{where}: organization {org} appears in more than one condition")
            per_org[org] = assignment
    return per_org


def _pairs(items: list[Any]) -> Iterator[tuple[Any, Any]]:
    return zip(items[::2], items[1::2], strict=True)


def _parse_condition(where: str, condition: object) -> list[int]:
    if not (isinstance(condition, dict) and list(condition) == ["in"]):
        operators = (
            ", ".join(repr(op) for op in condition) if isinstance(condition, dict) else repr(condition)
        )
        raise DocumentError(f"{where}: targeting uses condition {operators}; {_CANONICAL_TARGETING}")
    operands = condition["in"]
    if not (
        isinstance(operands, list)
        and len(operands) == 2
        and operands[0] == {"var": ORGANIZATION_ATTRIBUTE}
        and isinstance(operands[1], list)
        and operands[1]
    ):
        raise DocumentError(f"{where}: malformed condition {json.dumps(condition)}; {_CANONICAL_TARGETING}")
    return [_parse_organization_id(where, text) for text in operands[1]]


def _parse_organization_id(where: str, text: object) -> int:
    if not (isinstance(text, str) and text.isascii() and text.isdigit() and str(int(text)) == text):
        raise DocumentError(f"{where}: organization id {text!r} must be a positive integer as a string")
    return int(text)


def _parse_outcome(where: str, outcome: object) -> Assignment:
    if isinstance(outcome, str):
        return _variant(where, outcome)
    if (
        isinstance(outcome, dict)
        and list(outcome) == ["fractional"]
        and isinstance(outcome["fractional"], list)
    ):
        shares = []
        for share in outcome["fractional"]:
            if not (isinstance(share, list) and len(share) == 2 and type(share[1]) is int):
                raise DocumentError(f"{where}: fractional share {share!r} must be [mode, percent]")
            shares.append((_variant(where, share[0]), share[1]))
        return Split(tuple(shares))
    raise DocumentError(f"{where}: targeting outcome {json.dumps(outcome)} is not a mode or a split")


def _variant(where: str, name: object) -> Mode:
    if not isinstance(name, str) or name not in MODE_VARIANTS:
        raise DocumentError(
            f"{where}: targeting names variant {name!r}, which is not one of its variants "
            f"({', '.join(MODE_VARIANTS)})"
        )
    return Mode(name)


def _check_common(
    where: str, spec: dict[str, Any], variants: Mapping[str, object], default: str | None
) -> None:
    unknown = set(spec) - {"state", "variants", "defaultVariant", "targeting"}
    if unknown:
        raise DocumentError(f"{where}: unexpected keys {', '.join(sorted(unknown))}")
    if spec.get("state") != "ENABLED":
        raise DocumentError(f"{where}: state must be ENABLED, not {spec.get('state')!r}")
    if spec.get("variants") != variants:
        raise DocumentError(f"{where}: variants must be exactly {json.dumps(variants)}")
    default_variant = spec.get("defaultVariant")
    if default_variant not in variants:
        raise DocumentError(
            f"{where}: defaultVariant {default_variant!r} is not one of its variants ({', '.join(variants)})"
        )
    if default is not None and default_variant != default:
        raise DocumentError(f"{where}: defaultVariant must be {default!r}; organizations are targeted")


def _parse_kill_switch(spec: object) -> bool:
    if spec is None:
        return False
    where = f"flag {KILL_SWITCH_FLAG!r}"
    if not isinstance(spec, dict):
        raise DocumentError(f"{where} must be an object")
    _check_common(where, spec, KILL_SWITCH_VARIANTS, None)
    if spec.get("targeting"):
        raise DocumentError(f"{where}: must have no targeting; it is on or off for everyone")
    return bool(KILL_SWITCH_VARIANTS[spec["defaultVariant"]])
