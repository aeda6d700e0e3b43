"""PageProvider: the plugin's server-rendered pages."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fastapi import APIRouter


class PageProvider(ABC):
    @abstractmethod
    def get_page_router(self) -> APIRouter:
        """HTML pages, mounted at the root; like the API they answer only where enabled."""
