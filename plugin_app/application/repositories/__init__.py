"""Deprecated import paths of the built-in systems' repositories (plan 2.4): each module
re-exports from its plugin and warns. Import from `plugin_app.plugins.builtin.<id>.repositories`."""
