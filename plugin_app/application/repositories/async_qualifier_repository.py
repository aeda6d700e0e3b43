"""DEPRECATED: import from plugin_app.plugins.builtin.async_qualifier.repositories (plan phase 3)."""

from plugin_app.compat import reexport_moved

__all__ = reexport_moved(
    __name__, "plugin_app.plugins.builtin.async_qualifier.repositories", ["AsyncQualifierRepository"]
)
