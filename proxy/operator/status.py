"""What the operator sees: every flag x every known organization, and the kill switch.

There is no organization list the proxy could ask (the spec has no such API, and the proxy
does not read core's tables), so the known organizations are those the flag document
mentions — every organization ever moved stays listed, on legacy after a rollback — plus
any the operator names (`--org N`, `?organization_id=N`). Every other organization is on
legacy for every flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from proxy.flags.document import FlagDocument
from proxy.modes import Surface


@dataclass(frozen=True)
class StatusView:
    kill_switch: bool
    # organization id -> flag key -> mode or split ("legacy", "shadow=50,legacy=50")
    modes: dict[int, dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "kill_switch": self.kill_switch,
            "flags": [surface.value for surface in Surface],
            "organizations": [{"organization_id": org, "modes": modes} for org, modes in self.modes.items()],
        }


def status_view(document: FlagDocument, also: Iterable[int] = ()) -> StatusView:
    organizations = sorted({*document.organizations(), *also})
    modes = {
        org: {surface.value: str(document.assignment(surface, org)) for surface in Surface}
        for org in organizations
    }
    return StatusView(document.kill_switch, modes)
