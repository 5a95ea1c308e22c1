"""Configuration from the function's environment, parsed at cold start (each function's app.py calls `settings()` on
import) so that a missing or malformed variable fails the init, naming it, rather than the first request."""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Tables and queues: the template gives every function all of them, so none has a default.
Resource = Annotated[str, Field(min_length=1)]


class SettingsError(ValueError):
    """The environment lacks a variable the functions need, or holds one they cannot use."""


class Settings(BaseModel):
    """Each field's alias is its environment variable; the defaults and bounds are the template parameters'."""

    model_config = ConfigDict(frozen=True)

    hooks_table: Resource = Field(alias="HOOKS_TABLE")
    tokens_table: Resource = Field(alias="TOKENS_TABLE")
    deliveries_table: Resource = Field(alias="DELIVERIES_TABLE")
    retry_queue_url: Resource = Field(alias="RETRY_QUEUE_URL")
    fanout_queue_url: Resource = Field(alias="FANOUT_QUEUE_URL")
    fanout_batch_size: int = Field(1000, alias="FANOUT_BATCH_SIZE", ge=25)
    allow_loopback_targets: bool = Field(False, alias="ALLOW_LOOPBACK_TARGETS")
    connect_timeout: float = Field(5, alias="DELIVERY_CONNECT_TIMEOUT", gt=0)
    total_timeout: float = Field(15, alias="DELIVERY_TOTAL_TIMEOUT", gt=0)
    dispatch_concurrency: int = Field(64, alias="DISPATCH_CONCURRENCY", ge=1)
    retention_days: int = Field(90, alias="DELIVERY_RETENTION_DAYS", ge=1)
    retry_resend_after_receives: int = Field(15, alias="RETRY_RESEND_AFTER_RECEIVES", ge=1)
    circuit_open_after_failures: int = Field(5, alias="CIRCUIT_OPEN_AFTER_FAILURES", ge=1)
    circuit_open_after_seconds: float = Field(60, alias="CIRCUIT_OPEN_AFTER_SECONDS", ge=0)
    circuit_probe_seconds: float = Field(30, alias="CIRCUIT_PROBE_SECONDS", ge=1)
    circuit_probe_max_seconds: float = Field(900, alias="CIRCUIT_PROBE_MAX_SECONDS", ge=1)
    auto_disable_after_seconds: float = Field(5 * 86400, alias="AUTO_DISABLE_AFTER", ge=60)
    auto_disable_min_attempts: int = Field(20, alias="AUTO_DISABLE_MIN_ATTEMPTS", ge=1)
    max_connections_per_host: int = Field(16, alias="MAX_CONNECTIONS_PER_HOST", ge=1, le=64)


@cache
def settings() -> Settings:
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as exc:
        raise SettingsError(f"the function's environment is not usable: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    """One clause per variable; a malformed value is quoted (none of these is a secret), the environment never."""
    clauses = []
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"])
        if error["type"] == "missing":
            clauses.append(f"{name} is not set")
        else:
            clauses.append(f"{name}={error['input']!r}: {error['msg']}")
    return "; ".join(clauses)
