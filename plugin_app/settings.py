"""plugin_app's own settings (on top of core's), read once from the environment."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENTRY_POINT_GROUP = "strangler.plugins"


class PluginSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRANGLER_", env_file=".env", extra="ignore")

    plugin_dirs: str = Field(
        default="",
        description="Extra folders of external plugins, separated by os.pathsep (':' on Linux); "
        "plugin_app/plugins/external is always searched",
    )
    plugin_entry_points: bool = Field(
        default=True, description=f"Also load plugins from the {ENTRY_POINT_GROUP!r} entry-point group"
    )
    plugin_enablement_ttl_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a cached per-organization enablement answer lives; bounds how late a "
        "change made by another replica is seen (changes made in this process apply at once)",
    )
    plugin_enablement_cache_size: int = Field(
        default=10_000, gt=0, description="Organizations whose enablement answers are cached (LRU)"
    )

    @property
    def extra_plugin_dirs(self) -> list[Path]:
        return [Path(p).expanduser().resolve() for p in self.plugin_dirs.split(os.pathsep) if p.strip()]


@lru_cache(maxsize=1)
def get_plugin_settings() -> PluginSettings:
    return PluginSettings()
