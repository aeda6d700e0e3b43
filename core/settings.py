"""One typed settings object, read once from the environment (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


class CoreSettings(BaseSettings):
    """Settings shared by legacy_app and plugin_app."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite://{VAR_DIR / 'strangler.sqlite3'}",
        description="Tortoise DSN; SQLite under var/ by default, postgres://… in compose",
    )
    discord_application_id: int = Field(default=1_000_000_000_000_000_001)
    discord_bot_token: str | None = Field(
        default=None, description="Only for outbound messages; without it they are logged, not sent"
    )
    discord_api_base: str = Field(default="https://discord.com/api/v10")
    scheduler_enabled: bool = Field(
        default=True, description="Run the periodic tasks (race timeouts, hourly re-score) in this process"
    )
    race_timeout_check_seconds: float = Field(
        default=30.0, gt=0, description="How often the scheduler warns and forfeits pending races"
    )
    rescore_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often the scheduler re-scores every qualifier"
    )
    dry_run_secret: str = Field(
        default="strangler-dev-dry-run-secret",
        # Pinned: the proxy reads the same variable (ProxySettings.dry_run_secret).
        validation_alias=AliasChoices("DRY_RUN_SECRET", "dry_run_secret"),
        description="Shared with the proxy: signs the dry-run header of mirrored requests; "
        "empty switches dry runs off",
    )
    dry_run_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a dry-run request may hold its transaction (on SQLite the write "
        "lock); keep it below the SQLite busy timeout (10 s)",
    )


@lru_cache(maxsize=1)
def get_settings() -> CoreSettings:
    return CoreSettings()
