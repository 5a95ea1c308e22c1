"""Configuration from the function's environment, read once when first needed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    hooks_table: str
    tokens_table: str
    deliveries_table: str
    retry_queue_url: str
    fanout_queue_url: str
    fanout_batch_size: int
    allow_loopback_targets: bool
    connect_timeout: float
    total_timeout: float
    dispatch_concurrency: int
    retention_days: int
    retry_resend_after_receives: int
    circuit_open_after_failures: int
    circuit_open_after_seconds: float
    circuit_probe_seconds: float
    circuit_probe_max_seconds: float
    auto_disable_after_seconds: float
    auto_disable_min_attempts: int
    max_connections_per_host: int


@cache
def settings() -> Settings:
    env = os.environ.get
    return Settings(
        hooks_table=env("HOOKS_TABLE", ""),
        tokens_table=env("TOKENS_TABLE", ""),
        deliveries_table=env("DELIVERIES_TABLE", ""),
        retry_queue_url=env("RETRY_QUEUE_URL", ""),
        fanout_queue_url=env("FANOUT_QUEUE_URL", ""),
        fanout_batch_size=int(env("FANOUT_BATCH_SIZE", "1000")),
        allow_loopback_targets=_flag("ALLOW_LOOPBACK_TARGETS"),
        connect_timeout=float(env("DELIVERY_CONNECT_TIMEOUT", "5")),
        total_timeout=float(env("DELIVERY_TOTAL_TIMEOUT", "15")),
        dispatch_concurrency=int(env("DISPATCH_CONCURRENCY", "64")),
        retention_days=int(env("DELIVERY_RETENTION_DAYS", "90")),
        retry_resend_after_receives=int(env("RETRY_RESEND_AFTER_RECEIVES", "15")),
        circuit_open_after_failures=int(env("CIRCUIT_OPEN_AFTER_FAILURES", "5")),
        circuit_open_after_seconds=float(env("CIRCUIT_OPEN_AFTER_SECONDS", "60")),
        circuit_probe_seconds=float(env("CIRCUIT_PROBE_SECONDS", "30")),
        circuit_probe_max_seconds=float(env("CIRCUIT_PROBE_MAX_SECONDS", "900")),
        auto_disable_after_seconds=float(env("AUTO_DISABLE_AFTER", str(5 * 86400))),
        auto_disable_min_attempts=int(env("AUTO_DISABLE_MIN_ATTEMPTS", "20")),
        max_connections_per_host=int(env("MAX_CONNECTIONS_PER_HOST", "16")),
    )
