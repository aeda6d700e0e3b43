"""The async qualifier system's Discord slash commands and buttons."""

from .async_qualifier import POOL_BUTTON_PREFIX, START_BUTTON_PREFIX, AsyncQualifierCommands
from .organization import interaction_organization

__all__ = ["POOL_BUTTON_PREFIX", "START_BUTTON_PREFIX", "AsyncQualifierCommands", "interaction_organization"]
