"""ModelProvider: the plugin's Tortoise models, and the migrations that create their tables."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PluginModels:
    """One Tortoise app of the plugin.

    `modules` and `migrations` may be relative to the plugin's package (".models").
    With `migrations`, the app label must be `plugin_<id>`: the plugin owns those tables
    and can roll them back. Without, the plugin maps onto tables another schema owns
    (core's or legacy_app's migrations); they must exist when the app starts.
    """

    app_label: str
    modules: tuple[str, ...] = field(default_factory=tuple)
    migrations: str | None = None


class ModelProvider(ABC):
    @abstractmethod
    def get_models(self) -> PluginModels:
        """The plugin's Tortoise app: label, model modules and (optionally) its migrations."""
