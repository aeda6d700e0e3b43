"""The modes a migration surface can be in for an organization (a flag's variants)."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    LEGACY = "legacy"  # legacy answers, nothing mirrored
    SHADOW = "shadow"  # legacy answers; plugin mirrored and compared
    LIVE = "live"  # plugin answers; legacy mirrored and compared
    PLUGIN = "plugin"  # plugin answers, nothing mirrored

    # Read on every request: looked up in tables built once, below.
    @property
    def primary(self) -> Backend:
        return _PRIMARY[self]

    @property
    def mirror(self) -> Backend | None:
        return _MIRROR[self]


class Backend(StrEnum):
    LEGACY = "legacy"
    PLUGIN = "plugin"


class Surface(StrEnum):
    """One flag per migration surface; the values are the flag keys in flags/flags.json."""

    TOURNAMENT_API = "tournament-api"
    ASYNC_QUALIFIER_API = "async-qualifier-api"
    ASYNC_QUALIFIER_DISCORD = "async-qualifier-discord"


KILL_SWITCH_FLAG = "kill-switch"

_PRIMARY = {
    Mode.LEGACY: Backend.LEGACY,
    Mode.SHADOW: Backend.LEGACY,
    Mode.LIVE: Backend.PLUGIN,
    Mode.PLUGIN: Backend.PLUGIN,
}
_MIRROR: dict[Mode, Backend | None] = {
    Mode.LEGACY: None,
    Mode.SHADOW: Backend.PLUGIN,
    Mode.LIVE: Backend.LEGACY,
    Mode.PLUGIN: None,
}
