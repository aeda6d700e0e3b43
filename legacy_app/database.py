"""The monolith's Tortoise apps. The two systems' tables are owned by these migrations;
plugin_app maps onto the same tables under the same app labels and never alters them."""

from __future__ import annotations

from core.database import tortoise_config
from core.settings import get_settings

TORTOISE_APPS = {
    "tournament": {
        "models": ["legacy_app.models.match_schedule"],
        "migrations": "legacy_app.migrations.tournament",
    },
    "async_qualifier": {
        "models": ["legacy_app.models.async_tournament"],
        "migrations": "legacy_app.migrations.async_qualifier",
    },
}

# For Tortoise's CLI: `tortoise -c legacy_app.database.TORTOISE_ORM makemigrations tournament`
TORTOISE_ORM = tortoise_config(get_settings().database_url, TORTOISE_APPS)
