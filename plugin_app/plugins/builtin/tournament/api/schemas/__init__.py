"""Request and response bodies of the tournament plugin's routes (copied from legacy_app;
the bounded field types are shared, in `plugin_app.application.schemas.field_types`)."""
