"""plugin_app's own tables (`plugins`, `organization_plugins`, `plugin_migrations`, app label
"plugins"). The built-in systems' models live in their plugins; the modules of the
monolith's old import paths re-export them through `plugin_app.compat`."""
