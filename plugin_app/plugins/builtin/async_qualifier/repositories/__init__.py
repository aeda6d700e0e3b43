"""Data access of the async qualifier system."""

from .async_qualifier_repository import AsyncQualifierRepository

__all__ = ["AsyncQualifierRepository"]
