"""The tournament plugin's HTTP API: `routes.build_router(plugin)` and the ownership
resolvers; one route module per resource, request/response bodies in `schemas`."""
