"""Deprecated import paths of the monolith's Discord commands (plan phase 3): each module
re-exports from its plugin and warns. Import from `plugin_app.plugins.builtin.<id>.commands`."""
