"""Routes of the tournaments (placeholder: filled in by the system's own change)."""

from __future__ import annotations

from fastapi import APIRouter

from core.ownership import OwnershipResolvers

router = APIRouter()


def register_ownership(resolvers: OwnershipResolvers) -> None:
    """Tell the proxy-facing ownership endpoint how this system's entities map to organizations."""
