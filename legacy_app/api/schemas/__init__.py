"""Request and response models of the monolith's HTTP API, one module per system."""
