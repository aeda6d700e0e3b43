"""Request and response field types shared by plugin_app's plugins."""
