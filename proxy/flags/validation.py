"""Whether a candidate flag document may be written.

The flagd provider accepts valid JSON with wrong content and then answers every
evaluation with the default (facts.md), so a document is written only after it passed
two checks: the structure strangler writes (known flags, variants, organization ids,
modes, splits that add up), and the flagd core evaluator itself — the document loaded
into it and every flag resolved for every organization it mentions, one it does not, and
a caller with no organization, each resolving to the variant the document means.
"""

from __future__ import annotations

from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext

from proxy.flags.document import (
    MODE_VARIANTS,
    ORGANIZATION_ATTRIBUTE,
    Assignment,
    FlagDocument,
    Split,
    kill_switch_text,
    parse_document_text,
)
from proxy.flags.errors import DocumentError
from proxy.modes import KILL_SWITCH_FLAG, Mode, Surface

# A split is resolved for this many callers; each must land on one of its modes.
SAMPLE_CALLERS = 32


def validate_candidate(text: str) -> FlagDocument:
    """The document `text` describes, or a DocumentError saying why it must not be written."""
    document = parse_document_text(text, source="the candidate document")
    check_structure(document)
    check_with_flagd(text, document)
    return document


def check_structure(document: FlagDocument) -> None:
    for surface, per_org in document.assignments.items():
        for org, assignment in per_org.items():
            if isinstance(org, bool) or not isinstance(org, int) or org <= 0:
                raise DocumentError(
                    f"flag {surface.value!r}: organization id {org!r} must be a positive integer"
                )
            if isinstance(assignment, Split):
                _check_split(f"flag {surface.value!r}, organization {org}", assignment)
            elif not isinstance(assignment, Mode):
                raise DocumentError(
                    f"flag {surface.value!r}, organization {org}: {assignment!r} is not a mode"
                )


def _check_split(where: str, split: Split) -> None:
    if len(split.shares) < 2:
        raise DocumentError(f"{where}: a split needs at least two modes; give the mode itself instead")
    if len(set(split.modes)) != len(split.modes):
        raise DocumentError(f"{where}: split {split} names a mode twice")
    if any(not 0 < percent < 100 for _, percent in split.shares):
        raise DocumentError(f"{where}: every share of split {split} must be between 1 and 99 percent")
    if sum(percent for _, percent in split.shares) != 100:
        raise DocumentError(f"{where}: split {split} must add up to 100 percent")


def check_with_flagd(text: str, document: FlagDocument) -> None:
    """Load `text` into flagd's own evaluator and resolve every flag; the answers must be
    the ones `document` means."""
    core = FlagdCore()
    try:
        core.set_flags(text)
    except Exception as exc:
        raise DocumentError(f"flagd cannot load the document: {exc}") from None
    organizations = document.organizations()
    unlisted = max(organizations, default=0) + 1
    for surface in Surface:
        for org in [*organizations, unlisted]:
            _check_organization(core, surface, org, document.assignment(surface, org))
        _expect(core, surface, None, "caller", {Mode.LEGACY})
    try:
        details = core.resolve_boolean_value(KILL_SWITCH_FLAG, False, EvaluationContext("caller", {}))
    except Exception as exc:
        raise DocumentError(f"flagd cannot resolve flag {KILL_SWITCH_FLAG!r}: {exc}") from None
    if details.value is not document.kill_switch:
        raise DocumentError(
            f"flag {KILL_SWITCH_FLAG!r} resolves to {details.value!r} in flagd, "
            f"expected {kill_switch_text(document.kill_switch)}"
        )


def _check_organization(core: FlagdCore, surface: Surface, org: int, expected: Assignment) -> None:
    if isinstance(expected, Split):
        for n in range(SAMPLE_CALLERS):
            _expect(core, surface, org, f"caller-{n}", set(expected.modes))
    else:
        _expect(core, surface, org, "caller", {expected})


def _expect(core: FlagdCore, surface: Surface, org: int | None, caller: str, allowed: set[Mode]) -> None:
    attributes = {} if org is None else {ORGANIZATION_ATTRIBUTE: str(org)}
    whom = "a caller without organization" if org is None else f"organization {org}"
    try:
        details = core.resolve_string_value(surface.value, "", EvaluationContext(caller, attributes))
    except Exception as exc:
        raise DocumentError(f"flagd cannot resolve flag {surface.value!r} for {whom}: {exc}") from None
    if (
        details.variant not in MODE_VARIANTS
        or details.value != details.variant
        or details.value not in allowed
    ):
        expected = " or ".join(sorted(allowed))
        raise DocumentError(
            f"flag {surface.value!r} resolves to {details.variant!r} for {whom} in flagd, expected {expected}"
        )
