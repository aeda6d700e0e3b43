"""The tournament plugin's event listeners: none.

Nothing in the tournament system reacts to an event in-process — legacy_app subscribes no
handler to its tournament events either — so the list is empty. It is where a listener
would go (an `EventListener(event_type, handler)`; the plugin system only lets it hear
events of organizations where the plugin is enabled).
"""

from __future__ import annotations

from collections.abc import Sequence

from plugin_app.application.plugins import EventListener


def get_listeners() -> Sequence[EventListener]:
    return ()
