"""The monolith's models of the two systems (the core models live in `core.models`)."""
