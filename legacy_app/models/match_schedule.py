"""Tournament models (placeholder until the tournament system lands)."""
