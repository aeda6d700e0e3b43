"""The Tournament system as a built-in plugin (plan phase 2): see plugin.py and
docs/plugins/TOURNAMENT_PLUGIN.md."""
