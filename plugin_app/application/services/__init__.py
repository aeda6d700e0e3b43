"""Deprecated import paths of the built-in systems' services (plan 2.3): each package
re-exports from its plugin and warns. Import from `plugin_app.plugins.builtin.<id>.services`."""
