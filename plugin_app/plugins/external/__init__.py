"""External plugins dropped into this folder (one package per plugin). The loader also
appends every folder of STRANGLER_PLUGIN_DIRS to this package's `__path__`, so a plugin
found there imports as `plugin_app.plugins.external.<id>` wherever it lives."""
