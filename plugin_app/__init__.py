"""plugin_app: the same product as legacy_app, on the plugin architecture (core + plugin
system + built-in plugins). ASGI app: `plugin_app.main:app`."""
