"""DEPRECATED: import from plugin_app.plugins.builtin.async_qualifier.commands (plan phase 3)."""

from plugin_app.compat import reexport_moved

__all__ = reexport_moved(
    __name__,
    "plugin_app.plugins.builtin.async_qualifier.commands.async_qualifier",
    [
        "AsyncQualifierCommands",
        "CommandRefused",
        "Refusal",
        "Reply",
        "START_BUTTON_PREFIX",
        "POOL_BUTTON_PREFIX",
        "card_embed",
        "card_view",
    ],
)
