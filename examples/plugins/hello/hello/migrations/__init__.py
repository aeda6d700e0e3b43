"""Migrations of the `plugin_hello` app label (generated with `tortoise makemigrations`)."""
