"""Built-in plugins: one package per plugin, each with a manifest.yaml and a plugin.py.
They are discovered and loaded through the same door as external plugins."""
