"""The example plugin: greetings per organization. See docs/plugins/PLUGIN_DEVELOPMENT.md.

Every import inside the package is relative, so it works under any name: as
`plugin_app.plugins.external.hello` from a plugin folder, or as `hello` when installed.
"""
