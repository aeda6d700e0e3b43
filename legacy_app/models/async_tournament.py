"""AsyncQualifier models (placeholder)."""
