"""Deprecated import paths of the monolith's Discord bot: the commands live in their plugins."""
