"""PluginContext: what a plugin may use of the app, handed to it before `on_load`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.discord import DiscordNotifier
from core.events import Event, EventBus
from core.ownership import OwnershipResolvers
from core.settings import CoreSettings

if TYPE_CHECKING:
    from plugin_app.application.plugins.config_service import PluginConfigService
    from plugin_app.application.plugins.enablement import PluginEnablement


@dataclass(frozen=True)
class PluginContext:
    plugin_id: str
    settings: CoreSettings
    events: EventBus
    ownership: OwnershipResolvers
    # Messages to Discord on the plugin's own initiative (threads, warnings); captured in a
    # dry-run and withheld without a bot token, like everything the app sends.
    notifier: DiscordNotifier
    enablement: PluginEnablement
    config: PluginConfigService

    async def is_enabled(self, organization_id: int) -> bool:
        """Whether this plugin is enabled for the organization (cached; see enablement.py)."""
        return await self.enablement.is_enabled(self.plugin_id, organization_id)

    async def config_for(self, organization_id: int | None) -> dict[str, Any]:
        """This plugin's configuration: organization > global > schema defaults."""
        return await self.config.resolve(self.plugin_id, organization_id)

    async def publish(self, event: Event) -> None:
        await self.events.publish(event)
