"""DEPRECATED (since 1.1): the models moved to `.models`. Kept as an alias that warns,
the way plugin_app keeps the monolith's old import paths working."""

from plugin_app.compat import reexport_moved

__all__ = reexport_moved(__name__, __package__ + ".models", ["Greeting"])
