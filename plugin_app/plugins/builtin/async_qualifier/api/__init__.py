"""The async qualifier API (`routes`, bodies in `schemas`), mounted under /api."""

from .routes import build_router, ownership_resolvers

__all__ = ["build_router", "ownership_resolvers"]
