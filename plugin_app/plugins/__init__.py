"""Plugin packages: `builtin/` ships with the app; `external/` (and any folder named in
STRANGLER_PLUGIN_DIRS, and the `strangler.plugins` entry-point group) holds the rest."""
