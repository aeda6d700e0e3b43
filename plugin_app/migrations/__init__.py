"""Migrations of the "plugins" app label (plugin_app/models/plugin.py)."""
