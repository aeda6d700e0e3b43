"""Domain events of the monolith's systems, published on the app's `core.events.EventBus`."""
