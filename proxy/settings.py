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
    # Shadow traffic (proxy.shadow): mirrors in modes shadow and live.
    shadow_enabled: bool = Field(
        True,
        validation_alias="STRANGLER_SHADOW_ENABLED",
        description="Off: shadow and live serve like legacy and plugin, nothing mirrored",
    )
    shadow_max_in_flight: int = Field(64, validation_alias="STRANGLER_SHADOW_MAX_IN_FLIGHT")
    shadow_timeout_s: float = Field(15.0, validation_alias="STRANGLER_SHADOW_TIMEOUT")
    shadow_request_timeout_s: float = Field(6.0, validation_alias="STRANGLER_SHADOW_REQUEST_TIMEOUT")
    shadow_capture_bytes: int = Field(1024 * 1024, validation_alias="STRANGLER_SHADOW_CAPTURE_BYTES")
    shadow_noise_warmup: int = Field(5, validation_alias="STRANGLER_SHADOW_NOISE_WARMUP")
    shadow_noise_probe_every: int = Field(20, validation_alias="STRANGLER_SHADOW_NOISE_PROBE_EVERY")
    shadow_noise_min_hits: int = Field(2, validation_alias="STRANGLER_SHADOW_NOISE_MIN_HITS")
    shadow_latency_pairs: int = Field(2048, validation_alias="STRANGLER_SHADOW_LATENCY_PAIRS")
    shadow_mismatch_retention: int = Field(10_000, validation_alias="STRANGLER_SHADOW_MISMATCH_RETENTION")
    shadow_record_body_bytes: int = Field(
        64 * 1024,
        validation_alias="STRANGLER_SHADOW_RECORD_BODY_BYTES",
        description="Each answer's body kept in a mismatch record, at most (redacted first)",
    )
    # The cutover gate and the guard (proxy.gate); budgets are defined in proxy/gate/budgets.py.
    prometheus_url: str | None = Field(
        None,
        validation_alias="PROMETHEUS_URL",
        description="Read the gate's data from this Prometheus; unset: the proxy's own samples",
    )
    gate_window_s: float = Field(900.0, validation_alias="STRANGLER_GATE_WINDOW")
    gate_min_pairs: int = Field(200, validation_alias="STRANGLER_GATE_MIN_PAIRS")
    gate_min_answers: int = Field(100, validation_alias="STRANGLER_GATE_MIN_ANSWERS")
    gate_min_memory_samples: int = Field(3, validation_alias="STRANGLER_GATE_MIN_MEMORY_SAMPLES")
    gate_latency_ratio: float = Field(1.05, validation_alias="STRANGLER_GATE_LATENCY_RATIO")
    gate_memory_ratio: float = Field(1.10, validation_alias="STRANGLER_GATE_MEMORY_RATIO")
    gate_max_mismatch_rate: float = Field(0.01, validation_alias="STRANGLER_GATE_MAX_MISMATCH_RATE")
    gate_error_rate_margin: float = Field(0.005, validation_alias="STRANGLER_GATE_ERROR_RATE_MARGIN")
    gate_bootstrap_resamples: int = Field(2000, validation_alias="STRANGLER_GATE_BOOTSTRAP_RESAMPLES")
    gate_sample_interval_s: float = Field(
        5.0,
        validation_alias="STRANGLER_GATE_SAMPLE_INTERVAL",
        description="How often the proxy samples the apps' memory and its own counters",
    )
    guard_enabled: bool = Field(True, validation_alias="STRANGLER_GUARD_ENABLED")
    guard_window_s: float = Field(300.0, validation_alias="STRANGLER_GUARD_WINDOW")
    guard_interval_s: float = Field(30.0, validation_alias="STRANGLER_GUARD_INTERVAL")
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
