"""The proxy's one settings object. The CLI's operator commands read the same object."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


class ProxySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    legacy_url: str = Field("http://127.0.0.1:8001", validation_alias="STRANGLER_LEGACY_URL")
    plugin_url: str = Field("http://127.0.0.1:8002", validation_alias="STRANGLER_PLUGIN_URL")
    flags_path: Path = Field(
        VAR_DIR / "flags.json",
        validation_alias="STRANGLER_FLAGS_PATH",
        description="The live flag document; created from flags/flags.json on first start",
    )
    seed_flags_path: Path = Field(
        PROJECT_ROOT / "flags" / "flags.json", validation_alias="STRANGLER_SEED_FLAGS"
    )
    admin_token: str = Field(
        "strangler-dev-admin-token",
        validation_alias="STRANGLER_ADMIN_TOKEN",
        description="Bearer token of the operator API",
    )
    flagd_host: str | None = Field(None, validation_alias="FLAGD_HOST")
    flagd_port: int = Field(8015, validation_alias="FLAGD_PORT", description="flagd's in-process sync port")
    flag_poll_ms: int = Field(100, validation_alias="STRANGLER_FLAG_POLL_MS")
    database_url: str = Field(
        f"sqlite://{VAR_DIR / 'proxy.sqlite3'}",
        validation_alias=AliasChoices("STRANGLER_DATABASE_URL", "STRANGLER_PROXY_DATABASE_URL"),
        description="The proxy's own records (audit log, mismatches)",
    )
    discord_public_key: str = Field(
        # A throwaway development key; compose and production set their application's key.
        "",
        validation_alias="STRANGLER_DISCORD_PUBLIC_KEY",
    )
    connect_timeout_s: float = Field(2.0, validation_alias="STRANGLER_CONNECT_TIMEOUT")
    read_timeout_s: float = Field(30.0, validation_alias="STRANGLER_READ_TIMEOUT")
    max_body_bytes: int = Field(10 * 1024 * 1024, validation_alias="STRANGLER_MAX_BODY_BYTES")
    dry_run_secret: str = Field("strangler-dev-dry-run-secret", validation_alias="DRY_RUN_SECRET")
    entity_cache_size: int = Field(50_000, validation_alias="STRANGLER_ENTITY_CACHE_SIZE")
    decision_cache_size: int = Field(100_000, validation_alias="STRANGLER_DECISION_CACHE_SIZE")
    # The data path (proxy.main, proxy.forwarding, proxy.organization, proxy.discord_*).
    entity_not_found_ttl_s: float = Field(
        2.0,
        validation_alias="STRANGLER_ENTITY_NOT_FOUND_TTL",
        description="How long an entity legacy_app does not know is remembered as unknown",
    )
    max_backend_connections: int = Field(512, validation_alias="STRANGLER_MAX_BACKEND_CONNECTIONS")
    route_map_path: Path = Field(
        PROJECT_ROOT / "proxy" / "route_map.yaml", validation_alias="STRANGLER_ROUTE_MAP"
    )
    discord_bridge_public_key: str = Field(
        "",
        validation_alias="STRANGLER_DISCORD_BRIDGE_PUBLIC_KEY",
        description="Hex Ed25519 key of `strangler discord-bridge`, trusted beside Discord's own",
    )
    # `strangler discord-bridge` (proxy.discord_bridge).
    proxy_url: str = Field("http://127.0.0.1:8000", validation_alias="STRANGLER_PROXY_URL")
    discord_bot_token: str = Field("", validation_alias="STRANGLER_DISCORD_BOT_TOKEN")
    discord_bridge_signing_key: str = Field(
        "",
        validation_alias="STRANGLER_DISCORD_BRIDGE_SIGNING_KEY",
        description="Hex Ed25519 seed the bridge signs interactions with; its public key goes to the proxy",
    )


@lru_cache(maxsize=1)
def get_settings() -> ProxySettings:
    return ProxySettings()
