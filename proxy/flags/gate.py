"""The seam where the cutover gate (issue 6) plugs into flag changes.

A move of an organization to `live` or `plugin` (or a split with either) asks the gate
first; anything it does not pass is refused unless the operator forces it with a reason.
Until the gate exists, `not_checked` answers and the audit log records "not_checked".
Rollback and moves towards legacy never ask.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from proxy.flags.document import Assignment, Split
from proxy.modes import Backend, Surface


class GateVerdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_CHECKED = "not_checked"

    @property
    def allows(self) -> bool:
        return self in (GateVerdict.PASS, GateVerdict.NOT_CHECKED)


class Gate(Protocol):
    async def __call__(self, flag: Surface, organization_id: int, to: Assignment) -> GateVerdict: ...


async def not_checked(flag: Surface, organization_id: int, to: Assignment) -> GateVerdict:
    """The gate until issue 6 lands: lets every move through and says so in the audit log."""
    return GateVerdict.NOT_CHECKED


def needs_gate(to: Assignment) -> bool:
    """Whether `to` lets the plugin answer for some callers."""
    modes = to.modes if isinstance(to, Split) else (to,)
    return any(mode.primary is Backend.PLUGIN for mode in modes)
